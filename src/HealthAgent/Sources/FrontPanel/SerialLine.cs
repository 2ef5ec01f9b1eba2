using System.Globalization;
using System.IO.Ports;
using System.Runtime.InteropServices;

namespace HealthAgent.Sources.FrontPanel;

/// <summary>
/// The panel's serial line. System.IO.Ports opens it, configures it (termios: 8N1, no flow control), writes SYNC and
/// closes it; waiting for input and reading it are a blocking poll(2) on the port's descriptor and read(2), so an idle
/// panel costs no wake-up until a byte arrives or the caller's timeout ends. Not thread-safe: the reader thread owns it.
/// </summary>
/// <remarks>
/// Why not <see cref="SerialPort.Read(byte[], int, int)"/>: System.IO.Ports 10.0 on Unix serves every read and write
/// through an internal I/O-loop thread that polls the descriptor with a 1 ms timeout while a request is pending and
/// sleeps in 1 ms steps otherwise; it stops only after 2 s with no pending request and no DataReceived/PinChanged
/// subscriber (dotnet/runtime#2379). A reader that always has a read pending keeps it at ~1,000 wake-ups/s. Opening
/// the port starts no loop, so this class never calls Read, subscribes to no event, and writes only SYNC once per open
/// (the loop runs for that write's 2 s idle time, then ends).
/// Why /proc/self/fd: SerialPort exposes no descriptor. Its handle is a private field of an internal type, which
/// UnsafeAccessor cannot reach in .NET 10 (UnsafeAccessorType is refused on a field's type: dotnet/runtime#114881), and
/// reflection would tie us to a private name. The port's descriptor is the one that appeared during Open() and names
/// the device: /proc/self/fd/N links to the path of the opened file with every symlink resolved (proc(5)).
/// </remarks>
public sealed partial class SerialLine : IDisposable
{
    private readonly SerialPort _port;

    private SerialLine(SerialPort port, int descriptor)
    {
        _port = port;
        Descriptor = descriptor;
    }

    /// <summary>The descriptor System.IO.Ports opened (O_RDWR | O_NOCTTY | O_NONBLOCK, then TIOCEXCL); polled and read here, closed by the port.</summary>
    public int Descriptor { get; }

    /// <summary>
    /// Opens the line 8N1 without flow control. The modem-line properties (DtrEnable, RtsEnable, CtsHolding, DsrHolding,
    /// CDHolding) are never touched: they throw IOException on a pty and the protocol does not use them. Parity stays
    /// None (setting Even throws on a pty). A failure after Open closes the port again.
    /// </summary>
    public static SerialLine Open(string device, int baudRate)
    {
        var port = new SerialPort(device, baudRate, Parity.None, 8, StopBits.One) { Handshake = Handshake.None, WriteTimeout = 1000 };
        try
        {
            var target = RealPath(device);
            var before = DescriptorsNaming(target);
            port.Open();
            port.DiscardInBuffer(); // drop whatever queued up before we listened
            var opened = DescriptorsNaming(target);
            opened.ExceptWith(before);
            if (opened.Count != 1)
                throw new IOException($"cannot tell which descriptor System.IO.Ports opened for {device} ({target ?? "no real path"}): {opened.Count} new ones name it in /proc/self/fd");
            return new SerialLine(port, opened.Single());
        }
        catch
        {
            port.Dispose();
            throw;
        }
    }

    /// <summary>Writes through System.IO.Ports (WriteTimeout 1 s; its I/O loop ends 2 s after the write).</summary>
    public void Write(string text) => _port.Write(text);

    /// <summary>
    /// Blocks in poll(2) until input, a hang-up or error on the line, a signal on <paramref name="wake"/>, or
    /// <paramref name="timeoutMs"/>; returns what it saw (<see cref="LineEvents.None"/> on timeout or EINTR).
    /// </summary>
    public unsafe LineEvents Wait(Wakeup wake, int timeoutMs)
    {
        var fds = stackalloc PollFd[2];
        fds[0] = new PollFd { Fd = Descriptor, Events = POLLIN };
        fds[1] = new PollFd { Fd = wake.Descriptor, Events = POLLIN };
        if (Poll(fds, 2, timeoutMs) < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (errno == EINTR) return LineEvents.None; // a signal interrupted the wait: the caller's loop waits again
            throw Error("poll", errno);
        }
        var seen = LineEvents.None;
        if ((fds[0].REvents & POLLIN) != 0) seen |= LineEvents.Input;
        // poll(2): POLLHUP, POLLERR and POLLNVAL are reported whether asked for or not. A pty whose master closed, or a
        // USB adapter unplugged, reports POLLHUP (with POLLIN: read then returns 0 or fails with EIO).
        if ((fds[0].REvents & (POLLHUP | POLLERR | POLLNVAL)) != 0) seen |= LineEvents.HangUp;
        if (fds[1].REvents != 0) seen |= LineEvents.Woken;
        return seen;
    }

    /// <summary>Reads what is there: the byte count, 0 at end of file, -1 when nothing was there after all (EAGAIN: the descriptor is non-blocking).</summary>
    /// <exception cref="IOException">read(2) failed (EIO: the device is gone).</exception>
    public unsafe int Read(Span<byte> buffer)
    {
        fixed (byte* b = buffer)
        {
            while (true)
            {
                var n = ReadNative(Descriptor, b, buffer.Length);
                if (n >= 0) return (int)n;
                var errno = Marshal.GetLastPInvokeError();
                if (errno == EINTR) continue;
                if (errno == EAGAIN) return -1;
                throw Error("read", errno);
            }
        }
    }

    /// <summary>Closes the port (System.IO.Ports: drains output, clears TIOCEXCL, closes the descriptor).</summary>
    public void Dispose() => _port.Dispose();

    /// <summary>The descriptors of this process that name <paramref name="target"/> (none when it is null).</summary>
    private static HashSet<int> DescriptorsNaming(string? target)
    {
        var fds = new HashSet<int>();
        if (target is null) return fds;
        foreach (var entry in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
        {
            try
            {
                if (new FileInfo(entry).LinkTarget == target
                    && int.TryParse(Path.GetFileName(entry), NumberStyles.None, CultureInfo.InvariantCulture, out var fd))
                    fds.Add(fd);
            }
            catch (IOException) { } // closed by another thread while we looked
        }
        return fds;
    }

    /// <summary>realpath(3): the path with every symlink resolved, or null when it does not resolve.</summary>
    private static unsafe string? RealPath(string path)
    {
        var p = RealPathNative(path, 0);
        if (p == 0) return null;
        try { return Marshal.PtrToStringUTF8(p); }
        finally { NativeMemory.Free((void*)p); } // realpath allocated it with malloc
    }

    private static IOException Error(string call, int errno) =>
        new($"{call}: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");

    // poll.h / errno.h (Linux, every architecture)
    private const short POLLIN = 0x1, POLLERR = 0x8, POLLHUP = 0x10, POLLNVAL = 0x20;
    private const int EINTR = 4, EAGAIN = 11;

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd { public int Fd; public short Events; public short REvents; }

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static unsafe partial int Poll(PollFd* fds, nuint count, int timeoutMs);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static unsafe partial nint ReadNative(int fd, byte* buffer, nint count);

    [LibraryImport("libc", EntryPoint = "realpath", StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint RealPathNative(string path, nint resolved);
}

/// <summary>What <see cref="SerialLine.Wait"/> saw.</summary>
[Flags]
public enum LineEvents
{
    /// <summary>Nothing: the timeout ended (or a signal interrupted the wait).</summary>
    None = 0,
    /// <summary>Bytes (or end of file) to read.</summary>
    Input = 1,
    /// <summary>The line hung up or failed (POLLHUP, POLLERR, POLLNVAL).</summary>
    HangUp = 2,
    /// <summary>Someone signalled the <see cref="Wakeup"/> (stop).</summary>
    Woken = 4,
}

/// <summary>An eventfd(2) the reader polls beside its line, so that stopping wakes it at once instead of at its next timeout.</summary>
public sealed partial class Wakeup : IDisposable
{
    // eventfd(2): EFD_CLOEXEC = O_CLOEXEC, EFD_NONBLOCK = O_NONBLOCK (x86-64 and arm64)
    private const int EFD_CLOEXEC = 0x80000, EFD_NONBLOCK = 0x800;
    private int _closed;

    public Wakeup()
    {
        Descriptor = EventFd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (Descriptor < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new IOException($"eventfd: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
        }
    }

    public int Descriptor { get; }

    /// <summary>Makes the descriptor readable for good (nobody reads the counter back: a wake-up here means stop).</summary>
    public unsafe void Set()
    {
        ulong one = 1;
        _ = WriteNative(Descriptor, &one, sizeof(ulong)); // fails only when the counter is full, i.e. already set
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _closed, 1) == 0) _ = Close(Descriptor);
    }

    [LibraryImport("libc", EntryPoint = "eventfd", SetLastError = true)]
    private static partial int EventFd(uint initial, int flags);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    private static unsafe partial nint WriteNative(int fd, void* buffer, nint count);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}
