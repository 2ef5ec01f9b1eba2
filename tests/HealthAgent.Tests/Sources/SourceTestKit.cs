using System.Runtime.InteropServices;
using HealthAgent.Model;
using HealthAgent.Rules;
using HealthAgent.Sources;
using Microsoft.Extensions.Logging.Abstractions;

namespace HealthAgent.Tests.Sources;

/// <summary>Fixture trees, the built-in rules and evaluation helpers shared by the Linux source tests.</summary>
public static class SourceTestKit
{
    public static readonly RuleSet Rules = RuleLoader.LoadEmbedded() is { Rules: { } r } ? r : throw new InvalidOperationException("built-in rules do not load");
    public static readonly Evaluator Evaluator = new(Rules);
    public static SourceContext Context => new(NullLoggerFactory.Instance, Rules, TimeProvider.System);

    /// <summary>Path of a fixture tree in the test output.</summary>
    public static string Case(string name) => Path.Combine(AppContext.BaseDirectory, "testcases", name);

    /// <summary>A writable copy of a fixture tree (or an empty directory), deleted on dispose.</summary>
    public static TempTree Copy(string? name = null)
    {
        var t = new TempTree();
        if (name is not null) CopyDir(Case(name), t.Root);
        return t;
    }

    private static void CopyDir(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var f in Directory.GetFiles(from)) File.Copy(f, Path.Combine(to, Path.GetFileName(f)));
        foreach (var d in Directory.GetDirectories(from)) CopyDir(d, Path.Combine(to, Path.GetFileName(d)));
    }

    public static Evaluation Eval(SourceResult r, string id, Evaluation? previous = null) =>
        Evaluator.Evaluate(Obs(r, id), previous);

    public static Observation Obs(SourceResult r, string id) =>
        r.Observations.FirstOrDefault(o => o.Component.Id == id)
        ?? throw new Xunit.Sdk.XunitException($"no component '{id}'; have: {string.Join(", ", r.Observations.Select(o => o.Component.Id))}");

    public static Reading ReadingOf(SourceResult r, string id, string name) =>
        Obs(r, id).Readings.FirstOrDefault(x => x.Name == name) ?? throw new Xunit.Sdk.XunitException($"{id} has no reading '{name}'");

    [DllImport("libc", EntryPoint = "mkfifo", SetLastError = true)]
    private static extern int MkFifoNative([MarshalAs(UnmanagedType.LPUTF8Str)] string path, uint mode);

    /// <summary>Creates a FIFO (git cannot store one): opening it for reading blocks until a writer comes, like a hung driver.</summary>
    public static void MkFifo(string path)
    {
        if (File.Exists(path)) File.Delete(path);
        if (MkFifoNative(path, 0x1A4 /* 0644 */) != 0) throw new IOException($"mkfifo {path}: errno {Marshal.GetLastPInvokeError()}");
    }

    [DllImport("libc", EntryPoint = "open", SetLastError = true)]
    private static extern int OpenNative([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    [DllImport("libc", EntryPoint = "close")]
    private static extern int CloseNative(int fd);

    /// <summary>
    /// Unblocks readers stuck on a FIFO: open it for writing and close it (they then read end of file). Non-blocking:
    /// with no reader waiting the open fails with ENXIO instead of waiting for one.
    /// </summary>
    public static void ReleaseFifo(string path)
    {
        var fd = OpenNative(path, 0x1 /* O_WRONLY */ | 0x800 /* O_NONBLOCK */);
        if (fd >= 0) CloseNative(fd);
    }

    public static void Write(string path, string text)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
    }
}

public sealed class TempTree : IDisposable
{
    public string Root { get; } = Directory.CreateTempSubdirectory("healthagent-test-").FullName;
    public string this[string relative] => Path.Combine(Root, relative);
    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
