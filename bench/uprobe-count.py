#!/usr/bin/env python3
# Counts how often each given function of an executable is entered within a time (bench/hot-code.sh).
#   bench/uprobe-count.py EXECUTABLE OFFSETS_FILE SECONDS OUT_FILE   (root; OFFSETS_FILE: hex file offsets, one a line)
# One BPF uprobe_multi link (Linux >= 6.6) with a counter per offset (the attach cookie indexes an array map): tracefs
# uprobes (uprobe_events) each wait for an RCU grace period when disabled, which took over half an hour for the
# ~50k functions of the agent; the link detaches them all with one.
import ctypes, os, struct, sys, time
libc = ctypes.CDLL(None, use_errno=True)
SYS_BPF = 321
def bpf(cmd, attr):
    buf = ctypes.create_string_buffer(attr, 128)
    r = libc.syscall(SYS_BPF, cmd, buf, 128)
    if r < 0:
        raise OSError(ctypes.get_errno(), f"bpf cmd {cmd}: {os.strerror(ctypes.get_errno())}")
    return r, buf
def insn(code, dst=0, src=0, off=0, imm=0):
    return struct.pack("<BBhi", code, (src << 4) | dst, off, imm)
def load(map_fd):
    prog = b"".join([
        insn(0x85, imm=174),                 # r0 = bpf_get_attach_cookie(ctx)
        insn(0x63, 10, 0, -4),               # *(u32 *)(r10 - 4) = r0
        insn(0x18, 1, 1, 0, map_fd), insn(0),  # r1 = map
        insn(0xbf, 2, 10),                   # r2 = r10
        insn(0x07, 2, imm=-4),               # r2 += -4
        insn(0x85, imm=1),                   # r0 = bpf_map_lookup_elem(r1, r2)
        insn(0x15, 0, off=2, imm=0),         # if r0 == 0 goto +2
        insn(0xb7, 1, imm=1),                # r1 = 1
        insn(0xdb, 0, 1, 0, 0),              # lock *(u64 *)(r0 + 0) += r1
        insn(0xb7, 0, imm=0), insn(0x95)])   # return 0
    insns = ctypes.create_string_buffer(prog, len(prog))
    lic = ctypes.create_string_buffer(b"GPL")
    log = ctypes.create_string_buffer(65536)
    attr = struct.pack("<IIQQIIQII16sII", 2, len(prog) // 8, ctypes.addressof(insns), ctypes.addressof(lic),
                       1, len(log), ctypes.addressof(log), 0, 0, b"hotcode", 0, 48)
    try:
        return bpf(5, attr)[0]
    except OSError:
        print(log.value.decode(), file=sys.stderr); raise
class Counter:
    def __init__(self, path, offsets):
        self.n = len(offsets)
        self.map = bpf(0, struct.pack("<IIIII", 2, 4, 8, self.n, 0))[0]
        self.prog = load(self.map)
        self.path = ctypes.create_string_buffer(path.encode())
        self.links = []
        self.attach(0, offsets)
    def attach(self, base, offsets):
        # an offset the kernel cannot probe fails the whole link: halve until it stands alone, then skip it
        offs = (ctypes.c_uint64 * len(offsets))(*offsets)
        cookies = (ctypes.c_uint64 * len(offsets))(*range(base, base + len(offsets)))
        attr = struct.pack("<IIIIQQQQIII", self.prog, 0, 48, 0, ctypes.addressof(self.path), ctypes.addressof(offs), 0,
                           ctypes.addressof(cookies), len(offsets), 0, 0)
        try:
            self.links.append(bpf(28, attr)[0])
        except OSError as e:
            if len(offsets) == 1:
                print(f"skipped offset {offsets[0]:#x}: {e}", file=sys.stderr); return
            h = len(offsets) // 2
            self.attach(base, offsets[:h]); self.attach(base + h, offsets[h:])
    def counts(self):
        key, val = ctypes.c_uint32(), ctypes.c_uint64()
        out = []
        for i in range(self.n):
            key.value = i
            bpf(1, struct.pack("<IIQQ", self.map, 0, ctypes.addressof(key), ctypes.addressof(val)))
            out.append(val.value)
        return out
    def close(self):
        for fd in self.links + [self.prog, self.map]: os.close(fd)
if __name__ == "__main__":
    path, offsfile, seconds, out = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
    offsets = [int(l, 16) for l in open(offsfile)]
    t0 = time.time(); c = Counter(path, offsets); t1 = time.time()
    print(f"{len(offsets)} uprobes attached in {t1 - t0:.1f} s", flush=True)
    time.sleep(seconds)
    n = c.counts(); t2 = time.time(); c.close()
    print(f"detached in {time.time() - t2:.1f} s; {sum(1 for x in n if x)} entered", flush=True)
    open(out, "w").writelines(f"{o:x} {x}\n" for o, x in zip(offsets, n))
