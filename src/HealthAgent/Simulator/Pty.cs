using System.Runtime.InteropServices;
using System.Text;

namespace HealthAgent.Simulator;

/// <summary>An errno from libc, with the call that failed and the path it was about.</summary>
public sealed class PosixException(string call, string? path, int errno)
    : IOException($"{call}{(path is null ? "" : " " + path)}: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})")
{
    public int Errno { get; } = errno;
}

/// <summary>
/// The simulator's (and the tests') side of a pseudo-terminal over libc: openpty, raw mode through the kernel's
/// termios2 ioctls, poll, read and write on the master. System.IO.Ports opens serial lines (the agent's front panel
/// source uses it) but cannot create a pty. Linux x86_64 only.
/// </summary>
public static partial class Pty
{
    private const string Libc = "libc.so.6";
    // fcntl.h (x86_64)
    private const int O_NONBLOCK = 0x800;
    private const int F_GETFL = 3, F_SETFL = 4;
    public const short POLLIN = 0x1, POLLERR = 0x8, POLLHUP = 0x10, POLLNVAL = 0x20;
    public const int EINTR = 4, EIO = 5, EAGAIN = 11;

    // asm-generic/ioctls.h: TCGETS2 = _IOR('T', 0x2A, struct termios2), TCSETS2 = _IOW('T', 0x2B, ...), sizeof = 44
    private const ulong TCGETS2 = 0x802C542A, TCSETS2 = 0x402C542B;
    // asm-generic/termbits.h (octal in the header)
    private const uint IGNBRK = 0x1, BRKINT = 0x2, PARMRK = 0x8, ISTRIP = 0x20, INLCR = 0x40, IGNCR = 0x80, ICRNL = 0x100, IXON = 0x400;
    private const uint OPOST = 0x1;
    private const uint ISIG = 0x1, ICANON = 0x2, ECHO = 0x8, ECHONL = 0x40, IEXTEN = 0x8000;
    private const uint CBAUD = 0x100F, BOTHER = 0x1000, CSIZE = 0x30, CS8 = 0x30, CSTOPB = 0x40, CREAD = 0x80, PARENB = 0x100, CLOCAL = 0x800, CRTSCTS = 0x80000000;
    private const int VTIME = 5, VMIN = 6;

    /// <summary>struct termios2 (asm-generic/termbits.h): 4 flag words, c_line, c_cc[19], c_ispeed, c_ospeed = 44 bytes.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private unsafe struct Termios2
    {
        public uint IFlag, OFlag, CFlag, LFlag;
        public byte Line;
        public fixed byte Cc[19];
        public uint ISpeed, OSpeed;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd { public int Fd; public short Events; public short REvents; }

    [LibraryImport(Libc, EntryPoint = "close", SetLastError = true)]
    private static partial int SysClose(int fd);
    [LibraryImport(Libc, EntryPoint = "read", SetLastError = true)]
    private static unsafe partial nint SysRead(int fd, byte* buf, nuint count);
    [LibraryImport(Libc, EntryPoint = "write", SetLastError = true)]
    private static unsafe partial nint SysWrite(int fd, byte* buf, nuint count);
    [LibraryImport(Libc, EntryPoint = "poll", SetLastError = true)]
    private static unsafe partial int SysPoll(PollFd* fds, nuint nfds, int timeoutMs);
    [LibraryImport(Libc, EntryPoint = "fcntl", SetLastError = true)]
    private static partial int SysFcntl(int fd, int cmd, int arg);
    [LibraryImport(Libc, EntryPoint = "ioctl", SetLastError = true)]
    private static unsafe partial int SysIoctl(int fd, ulong request, void* arg);
    [LibraryImport(Libc, EntryPoint = "openpty", SetLastError = true)]
    private static unsafe partial int SysOpenpty(int* master, int* slave, byte* name, void* termp, void* winp);
    [LibraryImport(Libc, EntryPoint = "ptsname_r", SetLastError = true)]
    private static unsafe partial int SysPtsnameR(int fd, byte* buf, nuint len);

    /// <summary>
    /// cfmakeraw on termios2, 8N1, no flow control, CLOCAL|CREAD, VMIN=1/VTIME=0 (poll() decides when to read),
    /// and the baud rate as a plain number with BOTHER — TCSETS2 takes the number directly, so the result is the
    /// same before and after glibc 2.42 changed speed_t.
    /// </summary>
    public static unsafe void ConfigureRaw(int fd, int baudRate, string? path = null)
    {
        Termios2 t;
        if (SysIoctl(fd, TCGETS2, &t) < 0) throw new PosixException("ioctl(TCGETS2)", path, Marshal.GetLastPInvokeError());
        t.IFlag &= ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
        t.OFlag &= ~OPOST;
        t.LFlag &= ~(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
        t.CFlag &= ~(CSIZE | PARENB | CSTOPB | CRTSCTS | CBAUD);
        t.CFlag |= CS8 | CLOCAL | CREAD | BOTHER;
        t.ISpeed = t.OSpeed = (uint)baudRate;
        t.Cc[VMIN] = 1;
        t.Cc[VTIME] = 0;
        if (SysIoctl(fd, TCSETS2, &t) < 0) throw new PosixException("ioctl(TCSETS2)", path, Marshal.GetLastPInvokeError());
    }

    /// <summary>
    /// Waits up to <paramref name="timeoutMs"/> for input on <paramref name="fd"/> or for a byte on <paramref name="wakeFd"/>
    /// (a pipe another thread writes to when it wants this one to stop; -1 for none); returns the revents of
    /// <paramref name="fd"/> (0 on timeout or wake).
    /// </summary>
    public static unsafe short Poll(int fd, int wakeFd, int timeoutMs)
    {
        var p = stackalloc PollFd[2];
        p[0] = new PollFd { Fd = fd, Events = POLLIN };
        p[1] = new PollFd { Fd = wakeFd, Events = POLLIN };
        var n = SysPoll(p, wakeFd >= 0 ? 2u : 1u, timeoutMs);
        if (n < 0)
        {
            var e = Marshal.GetLastPInvokeError();
            if (e == EINTR) return 0;
            throw new PosixException("poll", null, e);
        }
        return n == 0 ? (short)0 : p[0].REvents;
    }

    /// <summary>Reads what is there; 0 = end of file. Throws <see cref="PosixException"/> (EIO when a pty's master went away).</summary>
    public static unsafe int Read(int fd, Span<byte> buffer)
    {
        fixed (byte* b = buffer)
        {
            while (true)
            {
                var n = SysRead(fd, b, (nuint)buffer.Length);
                if (n >= 0) return (int)n;
                var e = Marshal.GetLastPInvokeError();
                if (e == EINTR) continue;
                if (e == EAGAIN) return -1;
                throw new PosixException("read", null, e);
            }
        }
    }

    /// <summary>Writes all bytes (or as many as a non-blocking descriptor takes); returns the count written.</summary>
    public static unsafe int Write(int fd, ReadOnlySpan<byte> data)
    {
        var done = 0;
        fixed (byte* b = data)
        {
            while (done < data.Length)
            {
                var n = SysWrite(fd, b + done, (nuint)(data.Length - done));
                if (n >= 0) { done += (int)n; continue; }
                var e = Marshal.GetLastPInvokeError();
                if (e == EINTR) continue;
                if (e == EAGAIN) return done;
                throw new PosixException("write", null, e);
            }
        }
        return done;
    }

    public static int Write(int fd, string text) => Write(fd, Encoding.ASCII.GetBytes(text));

    public static void Close(int fd)
    {
        if (fd >= 0) SysClose(fd);
    }

    /// <summary>Makes a descriptor non-blocking (the simulator's master side must never stall on a full buffer).</summary>
    public static void SetNonBlocking(int fd)
    {
        var fl = SysFcntl(fd, F_GETFL, 0);
        if (fl < 0 || SysFcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) throw new PosixException("fcntl", null, Marshal.GetLastPInvokeError());
    }

    /// <summary>openpty(3) from libc.so.6 (glibc ≥ 2.34): a master/slave pair; the slave's path is /dev/pts/N.</summary>
    public static unsafe (int Master, int Slave, string SlavePath) OpenPty()
    {
        int m, s;
        if (SysOpenpty(&m, &s, null, null, null) < 0) throw new PosixException("openpty", null, Marshal.GetLastPInvokeError());
        var buf = stackalloc byte[128];
        if (SysPtsnameR(m, buf, 128) != 0) { SysClose(m); SysClose(s); throw new PosixException("ptsname_r", null, Marshal.GetLastPInvokeError()); }
        return (m, s, Marshal.PtrToStringUTF8((nint)buf)!);
    }
}
