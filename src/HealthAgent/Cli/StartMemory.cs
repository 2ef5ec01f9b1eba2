using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;

namespace HealthAgent.Cli;

/// <summary>
/// What `run` gives back once its start is over. Loading agent.json and the rule tables, the first poll of every
/// source and the first MQTT publishes allocate ~10 MB and run code the steady agent does not run again; without
/// this both stay resident (docs/performance.md, issue 14: RSS at the shipped intervals):
/// <list type="bullet">
/// <item>one full compacting collection: what survived a gen0/gen1 collection during the start sits in gen2, which
/// a steady agent (~6 KB/s at the shipped intervals) would not collect for hours; Aggressive mode also hands the
/// emptied regions back to the OS;</item>
/// <item>MADV_RANDOM, then MADV_PAGEOUT, of the read-only file mappings (the executable's code and read-only data,
/// the native libraries). The kernel maps every page in 64 KiB around each one touched that is in the page cache
/// (fault-around) and reads 128 KiB around each one that is not (read-around), so the start leaves most of the 22 MB
/// executable resident; paged out alone, its pages stay cached and the steady loop maps them back 64 KiB at a time.
/// MADV_RANDOM first turns read-around off and lets the page-out drop the pages from the page cache too (their
/// accessed bits no longer count), so a page of read-only data comes back alone when it is read: 3.5 MB of it
/// resident with every source at 1 s became 1.5 MB. Code is read around whatever the advice (Linux 6.x reads
/// executable mappings in whole windows): its 64 KiB windows stay what the steady loop touches. Only clean file
/// pages are advised (a writable mapping may hold changed data); pages another process maps too (libc) stay where
/// they are (madvise(2): MADV_PAGEOUT, Linux 5.4; older kernels refuse it and nothing is paged out).</item>
/// </list>
/// </summary>
internal static partial class StartMemory
{
    /// <summary>When the start is over: every source's first poll has ended or timed out (default timeouts are at most 30 s).</summary>
    public static readonly TimeSpan Settled = TimeSpan.FromSeconds(30);

    public static async Task ReleaseAfterStartAsync(ILogger log, CancellationToken ct)
    {
        try { await Task.Delay(Settled, ct).ConfigureAwait(false); }
        catch (OperationCanceledException) { return; }
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        var advised = PageOutReadOnlyFileMappings("/proc/self/maps");
        LogReleased(log, GC.GetGCMemoryInfo().HeapSizeBytes / 1024, advised / 1024);
    }

    /// <summary>Advises MADV_RANDOM and MADV_PAGEOUT for every read-only mapping of a regular file listed in <paramref name="mapsPath"/> (proc(5) maps); returns the bytes advised.</summary>
    internal static long PageOutReadOnlyFileMappings(string mapsPath)
    {
        long advised = 0;
        try
        {
            foreach (var line in File.ReadLines(mapsPath))
            {
                if (ReadOnlyFileMapping(line) is not var (start, length)) continue;
                MAdvise((nint)start, (nuint)length, MadvRandom);
                if (MAdvise((nint)start, (nuint)length, MadvPageout) == 0) advised += (long)length;
                else if (Marshal.GetLastPInvokeError() == EINVAL) break; // a kernel before 5.4: no MADV_PAGEOUT
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        return advised;
    }

    /// <summary>
    /// The address range of a maps line ("start-end perms offset dev inode path") when it maps a file read-only:
    /// not writable (a private writable mapping holds changed copies: relocations, data), a path that is a file
    /// (not [heap]/[stack]/[vdso], anonymous, /dev/*, memfd or SysV shared memory, which would go to swap).
    /// </summary>
    internal static (ulong Start, ulong Length)? ReadOnlyFileMapping(string line)
    {
        var f = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
        if (f.Length < 6 || f[1].Length < 2 || f[1][0] != 'r' || f[1][1] != '-') return null;
        var path = f[5].Trim();
        if (!path.StartsWith('/') || path.StartsWith("/dev/", StringComparison.Ordinal)
            || path.StartsWith("/memfd:", StringComparison.Ordinal) || path.StartsWith("/SYSV", StringComparison.Ordinal)) return null;
        var dash = f[0].IndexOf('-', StringComparison.Ordinal);
        if (dash < 0
            || !ulong.TryParse(f[0].AsSpan(0, dash), System.Globalization.NumberStyles.AllowHexSpecifier, System.Globalization.CultureInfo.InvariantCulture, out var start)
            || !ulong.TryParse(f[0].AsSpan(dash + 1), System.Globalization.NumberStyles.AllowHexSpecifier, System.Globalization.CultureInfo.InvariantCulture, out var end)
            || end <= start) return null;
        return (start, end - start);
    }

    private const int MadvRandom = 1; // MADV_RANDOM (include/uapi/asm-generic/mman-common.h)
    private const int MadvPageout = 21; // MADV_PAGEOUT
    private const int EINVAL = 22;

    [LibraryImport("libc", EntryPoint = "madvise", SetLastError = true)]
    private static partial int MAdvise(nint address, nuint length, int advice);

    [LoggerMessage(Level = LogLevel.Debug, Message = "start over: GC heap {HeapKb} KiB after a full collection; {AdvisedKb} KiB of read-only file mappings paged out")]
    private static partial void LogReleased(ILogger logger, long heapKb, long advisedKb);
}
