using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Text;

namespace HealthAgent.Sources;

/// <summary>One small kernel file read: its text (trailing newline removed) or why it could not be read.</summary>
public readonly record struct FileRead(string? Text, string? Error)
{
    public bool Ok => Error is null;
    public static FileRead Fail(string error) => new(null, error);
}

/// <summary>
/// Reads sysfs/procfs files for one source with a per-file timeout. sysfs reads cannot be cancelled (a driver
/// stuck on an I²C bus blocks read() forever), so a batch of reads runs on a worker; when the worker sits in one
/// read longer than the file timeout, that read is abandoned (the thread stays blocked in the kernel), the path
/// is reported hung, and the batch restarts on a fresh worker that skips it. At most <c>maxAbandoned</c> reads
/// may be outstanding; beyond that nothing is read until one returns, so hung reads cannot pile up threads.
/// </summary>
public sealed partial class KernelFiles(TimeSpan fileTimeout, int maxAbandoned = 4, int maxBytes = KernelFiles.DefaultMaxBytes)
{
    /// <summary>Largest file read (64 KiB): sysfs attributes are at most a page; /proc/mdstat of dozens of arrays fits.</summary>
    public const int DefaultMaxBytes = 64 * 1024;

    private readonly ConcurrentDictionary<string, long> _hung = new(StringComparer.Ordinal);
    private int _abandoned;
    private byte[] _buffer = new byte[maxBytes + 1];

    public TimeSpan FileTimeout => fileTimeout;
    public int MaxBytes => maxBytes;
    public int MaxAbandoned => maxAbandoned;
    /// <summary>Reads abandoned in the kernel that have not returned yet.</summary>
    public int Abandoned => Volatile.Read(ref _abandoned);
    /// <summary>Paths whose last read hung and has not returned.</summary>
    public ICollection<string> HungPaths => _hung.Keys;

    /// <summary>Runs <paramref name="work"/> on a worker, abandoning and skipping any read that hangs. The work must be repeatable.</summary>
    public async Task<T> RunAsync<T>(Func<Session, T> work, CancellationToken ct)
    {
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            var session = new Session(this, _buffer);
            var task = Task.Run(() => work(session), CancellationToken.None);
            var abandoned = false;
            // Deadlines, not Task.WaitAsync: no timer per batch (see Deadlines).
            while (!abandoned && !await Deadlines.WhenDoneWithin(task, fileTimeout / 2, ct).ConfigureAwait(false))
            {
                // Abandon this worker if it sits in one read too long: it stays blocked in read(); a fresh session
                // continues without the hung path.
                abandoned = session.TryAbandon(fileTimeout);
            }
            if (!abandoned) return await task.ConfigureAwait(false);
            _buffer = new byte[maxBytes + 1]; // the abandoned worker keeps the old buffer
        }
    }

    internal void Returned(string path)
    {
        _hung.TryRemove(path, out _);
        Interlocked.Decrement(ref _abandoned);
    }

    /// <summary>
    /// Thrown inside an abandoned worker once its hung read returns, to unwind the stale batch. It is an
    /// OperationCanceledException so that sources' per-device <c>catch (Exception e) when (e is not OperationCanceledException)</c> lets it through.
    /// </summary>
    private sealed class AbandonedException : OperationCanceledException;

    /// <summary>The reads of one batch; used from the worker thread only.</summary>
    public sealed class Session
    {
        private readonly KernelFiles _owner;
        private readonly byte[] _buffer;
        private string? _path;
        private long _started;
        private int _abandoned; // 0 running, 1 abandoned, 2 finished a read after being abandoned

        internal Session(KernelFiles owner, byte[] buffer)
        {
            _owner = owner;
            _buffer = buffer;
        }

        /// <summary>Abandons the session when it has been in one read longer than <paramref name="timeout"/>; the bookkeeping happens under the
        /// same lock the worker takes when its read returns, so the hung path is always recorded before it is released.</summary>
        internal bool TryAbandon(TimeSpan timeout)
        {
            lock (this)
            {
                if (_path is null || Environment.TickCount64 - _started < timeout.TotalMilliseconds) return false;
                _abandoned = 1;
                _owner._hung[_path] = _started;
                Interlocked.Increment(ref _owner._abandoned);
                return true;
            }
        }

        public bool FileExists(string path) => File.Exists(path);
        public bool DirectoryExists(string path) => Directory.Exists(path);

        /// <summary>Names (not paths) of the entries of a directory that match the pattern, sorted ordinally; empty when it cannot be listed.</summary>
        public List<string> List(string directory, string pattern = "*")
        {
            var names = new List<string>();
            // A class the host lacks (no /sys/class/power_supply on many servers) is the usual case, not an error:
            // asked first, it costs a stat instead of a DirectoryNotFoundException on every poll.
            if (!Directory.Exists(directory)) return names;
            try
            {
                foreach (var p in Directory.EnumerateFileSystemEntries(directory, pattern)) names.Add(Path.GetFileName(p));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
            names.Sort(StringComparer.Ordinal);
            return names;
        }

        /// <summary>Reads a small file as text; never throws for I/O problems (they come back as <see cref="FileRead.Error"/>).</summary>
        public FileRead Read(string path)
        {
            var raw = ReadRaw(path);
            return raw.Error is { } e ? FileRead.Fail(e) : new FileRead(Encoding.UTF8.GetString(raw.Data), null);
        }

        /// <summary>Reads a small file's bytes (trailing whitespace removed) without allocating; the span is valid until the next read.</summary>
        public RawRead ReadRaw(string path)
        {
            if (_abandoned != 0) throw new AbandonedException();
            if (_owner._hung.TryGetValue(path, out var since))
                return new RawRead(default, $"an earlier read has been hung in the kernel for {(Environment.TickCount64 - since) / 1000.0:0.#} s; skipped until it returns");
            if (_owner.Abandoned >= _owner.MaxAbandoned)
                return new RawRead(default, $"{_owner.Abandoned} reads are hung in the kernel; not reading more until they return");
            lock (this) { _path = path; _started = Environment.TickCount64; }
            int length;
            string? error;
            try { (length, error) = ReadFile(path, _buffer, _owner.MaxBytes); }
            finally
            {
                bool abandoned;
                lock (this) { _path = null; abandoned = _abandoned != 0; }
                if (abandoned) _owner.Returned(path);
            }
            if (_abandoned != 0) throw new AbandonedException();
            return new RawRead(error is null ? _buffer.AsSpan(0, length) : default, error);
        }
    }

    /// <summary>
    /// Reads at most <paramref name="max"/> bytes with open/read/close (no SafeFileHandle, no allocation); more is an
    /// error, never silently truncated. Returns the length with trailing whitespace and NULs removed.
    /// </summary>
    internal static unsafe (int Length, string? Error) ReadFile(string path, byte[] buffer, int max)
    {
        Span<byte> name = stackalloc byte[Math.Min(Encoding.UTF8.GetMaxByteCount(path.Length), 8192) + 1];
        if (Encoding.UTF8.GetMaxByteCount(path.Length) > 8192) return (0, "path too long");
        var n = Encoding.UTF8.GetBytes(path, name);
        name[n] = 0;
        int fd;
        fixed (byte* p = name)
        {
            do fd = Open(p, OpenReadOnlyCloseOnExec);
            while (fd < 0 && Marshal.GetLastPInvokeError() == EINTR);
        }
        if (fd < 0) return (0, Errno(Marshal.GetLastPInvokeError()));
        try
        {
            var total = 0;
            fixed (byte* b = buffer)
            {
                while (total <= max)
                {
                    // sysfs files report a 4096-byte size whatever they hold: read until end of file.
                    var got = ReadNative(fd, b + total, max + 1 - total);
                    if (got < 0)
                    {
                        var errno = Marshal.GetLastPInvokeError();
                        if (errno == EINTR) continue;
                        return (0, Errno(errno));
                    }
                    if (got == 0) break;
                    total += (int)got;
                }
            }
            if (total > max) return (0, $"file is larger than {max / 1024} KiB; not read");
            while (total > 0 && buffer[total - 1] is (byte)'\n' or (byte)'\r' or (byte)' ' or (byte)'\t' or 0) total--;
            return (total, null);
        }
        finally { _ = Close(fd); }
    }

    private const int OpenReadOnlyCloseOnExec = 0x80000; // O_RDONLY | O_CLOEXEC (Linux x86-64 and arm64)
    private const int EINTR = 4;

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true)]
    private static unsafe partial int Open(byte* path, int flags);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static unsafe partial nint ReadNative(int fd, byte* buffer, nint count);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);

    /// <summary>What the kernel's error numbers mean for a sysfs/procfs attribute.</summary>
    internal static string Errno(int errno) => errno switch
    {
        2 or 20 => "missing",
        1 or 13 => "permission denied",
        21 => "is a directory, not a file",
        // Documentation/hwmon/sysfs-interface.rst: disabled channels read ENODATA; drivers use EINVAL/EAGAIN/EIO when the device does not answer.
        22 => "EINVAL: the driver rejected the read (channel disabled or device not ready)",
        11 => "EAGAIN: the device is busy; try again later",
        61 => "ENODATA: no data (channel disabled or not connected)",
        5 => "EIO: I/O error talking to the device",
        6 => "ENXIO: no such device",
        19 => "ENODEV: no such device",
        95 => "EOPNOTSUPP: not supported by the driver",
        110 => "ETIMEDOUT: the device did not answer",
        _ => $"errno {errno}: {Marshal.GetPInvokeErrorMessage(errno)}",
    };
}

/// <summary>A file's bytes from <see cref="KernelFiles.Session.ReadRaw"/> (valid until the session's next read), or why it could not be read.</summary>
public readonly ref struct RawRead(ReadOnlySpan<byte> data, string? error)
{
    public ReadOnlySpan<byte> Data { get; } = data;
    public string? Error { get; } = error;
}
