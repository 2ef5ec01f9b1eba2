#!/usr/bin/env bash
# Regenerates src/HealthAgent/Properties/hot-code.txt, the order in which the Native AOT compiler lays out the
# managed methods the steady loop runs (IlcOrderFile in HealthAgent.csproj; issue 14, RSS).
#   bench/hot-code.sh [WARMUP_S] [WINDOW_S]          (defaults 45 and 60; needs root: uprobes)
# Publishes the AOT binary with its symbols to a temporary folder, then runs bench/run-footprint.sh's two setups with
# that binary (shipped, then all-1s) and counts, from WARMUP_S after the agent's start (past the page-out of its
# start-up code, Cli/StartMemory.cs) for WINDOW_S, which functions are entered: a uprobe on the entry of each function
# of the binary (bench/uprobe-count.py), an exact list, not a sample (the few native functions the kernel cannot probe
# are skipped, named on stderr). The managed methods entered in either run are written one mangled name a line, those
# of the shipped run first. Names the compiler no longer produces are skipped by it, so a stale list only costs RSS:
# rerun after a change to what the steady loop calls (a new source, publisher or library version), and compare the
# executable's resident text with MAPS=1 bench/run-footprint.sh.
# KEEP=DIR keeps the symbol table and the counts (hits.shipped, hits.all-1s: file offset, entries).
set -euo pipefail
cd "$(dirname "$0")/.."
WARMUP=${1:-45}
WINDOW=${2:-60}
OUT=${OUT:-src/HealthAgent/Properties/hot-code.txt}
[ "$(id -u)" = 0 ] || { echo "needs root (BPF uprobes)"; exit 1; }

work=$(mktemp -d)
bench_pid=""
# run-footprint.sh cleans up (mosquitto, simulator, agent) on TERM once its foreground sleep ends: that sleep is ended too
stop_bench() {
  kill "$bench_pid" 2>/dev/null || true
  for c in $(pgrep -P "$bench_pid" -x sleep); do kill "$c" 2>/dev/null || true; done
  wait "$bench_pid" 2>/dev/null || true; bench_pid=""
}
cleanup() { [ -n "$bench_pid" ] && stop_bench; [ -n "${KEEP:-}" ] && cp -r "$work/." "$KEEP/"; rm -rf "$work"; }
trap cleanup EXIT

# PUBLISHED=DIR: an unstripped publish already made (-p:StripSymbols=false), used in place (it must not be the folder
# run-footprint.sh measures by default: the agent's binary must be a file no other process runs)
if [ -n "${PUBLISHED:-}" ]; then
  bin="$(realpath "$PUBLISHED")/healthagent"
else
  # its own obj/ and bin/: the native link is not redone when only StripSymbols changes, and the next ordinary publish
  # would copy this unstripped binary
  echo "publishing with symbols to $work/pub"
  dotnet publish src/HealthAgent -c Release -p:PublishProfile=linux-x64-aot -p:StripSymbols=false \
    -p:IntermediateOutputPath="$work/obj/" -p:OutputPath="$work/bin/" -o "$work/pub" -nologo -v quiet >/dev/null
  bin="$work/pub/healthagent"
fi
nm "$bin" > "$work/nm"
readelf -SW "$bin" > "$work/sections"
readelf -lW "$bin" > "$work/segments"

# one probe per function entry address of the executable segment (a folded method body has several names); file
# offset = address moved by that segment's offset
python3 - "$work" <<'PY'
import sys
work = sys.argv[1]
seg = next(p for p in (l.split() for l in open(f"{work}/segments")) if p[:1] == ["LOAD"] and "E" in p[6:-1])
off, vaddr, size = int(seg[1], 16), int(seg[2], 16), int(seg[5], 16)
addrs = sorted({int(p[0], 16) for p in (l.split() for l in open(f"{work}/nm")) if len(p) == 3 and p[1] in "tT"})
open(f"{work}/offsets", "w").writelines(f"{a - vaddr + off:x}\n" for a in addrs if vaddr <= a < vaddr + size)
open(f"{work}/segment", "w").write(f"{off} {vaddr}\n")
PY

agent_pid() { for p in /proc/[0-9]*; do [ "$(readlink "$p/exe" 2>/dev/null)" = "$bin" ] && { basename "$p"; return; }; done; true; }
for mode in shipped all-1s; do
  # run-footprint's setup with this binary; its own measurement never starts (warm-up of an hour): stopped below
  RUNS=$mode AGENT="$bin" bench/run-footprint.sh 3600 1 > "$work/bench.$mode.log" 2>&1 & bench_pid=$!
  pid=""
  for _ in $(seq 300); do pid=$(agent_pid); [ -n "$pid" ] && break; sleep 0.1; done
  [ -n "$pid" ] || { echo "$mode: the agent did not start"; cat "$work/bench.$mode.log"; exit 1; }
  sleep "$WARMUP"
  kill -0 "$pid" 2>/dev/null || { echo "$mode: the agent exited"; cat "$work/bench.$mode.log"; exit 1; }
  echo "$mode: counting from $WARMUP s after the agent's start for $WINDOW s"
  python3 bench/uprobe-count.py "$bin" "$work/offsets" "$WINDOW" "$work/hits.$mode"
  kill -0 "$pid" 2>/dev/null || { echo "$mode: the agent exited during the window"; exit 1; }
  stop_bench
done

python3 - "$work" "$OUT" <<'PY'
import sys
work, out = sys.argv[1:]
names = {}
for l in open(f"{work}/nm"):
    p = l.split()
    if len(p) == 3 and p[1] in "tT":
        names.setdefault(int(p[0], 16), []).append(p[2])
sec = {p[1]: (int(p[3], 16), int(p[5], 16)) for p in (l.replace("[ ", "[").split() for l in open(f"{work}/sections")) if len(p) > 5 and p[0][1:-1].isdigit()}
mstart, msize = sec["__managedcode"]
off, vaddr = map(int, open(f"{work}/segment").read().split())
ends = sorted(names) + [max(names) + 16]
size = {a: b - a for a, b in zip(ends, ends[1:])}
def hits(mode):
    return {int(o, 16) - off + vaddr for o, n in (l.split() for l in open(f"{work}/hits.{mode}")) if int(n)}
shipped, all1s = hits("shipped"), hits("all-1s")
managed = lambda a: mstart <= a < mstart + msize
lines = []
for group in (shipped, all1s - shipped):
    lines += sorted(n for a in group if managed(a) for n in names[a] if not n.startswith("__st"))
open(out, "w").write("".join(l + "\n" for l in lines))
kb = lambda s: sum(size[a] for a in s) // 1024
for label, s in (("shipped", shipped), ("all-1s", all1s), ("either", shipped | all1s)):
    m = {a for a in s if managed(a)}
    print(f"{label:8} {len(m)} managed methods ({kb(m)} KiB of {msize // 1024}), {len(s - m)} native functions ({kb(s - m)} KiB)")
print(f"{len(lines)} names written to {out}")
PY
