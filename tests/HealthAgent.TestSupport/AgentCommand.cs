using System.Diagnostics;

namespace HealthAgent.TestSupport;

/// <summary>
/// How process-level tests start the agent: <c>dotnet exec healthagent.dll</c> beside the test assembly, or the
/// executable named by <c>HA_TEST_AGENT</c> — deploy/test.sh sets it to the trimmed publish's apphost and runs
/// the tests marked <see cref="Category"/> = <see cref="Process"/> a second time against it.
/// </summary>
public static class AgentCommand
{
    // Not HEALTHAGENT_…: the agent binds every HEALTHAGENT_* variable as configuration and refuses unknown keys.
    public const string Variable = "HA_TEST_AGENT";
    public const string Category = "Category", Process = "Process";

    /// <summary>The executable under test when overridden, else null (the framework-dependent build).</summary>
    public static string? Executable => Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } path
        ? File.Exists(path) ? path : throw new FileNotFoundException($"{Variable} names no file", path)
        : null;

    /// <summary>File and arguments that run `healthagent &lt;args&gt;`.</summary>
    public static (string File, string[] Args) Command(IEnumerable<string> args) => Executable is { } exe
        ? (exe, args.ToArray())
        : ("dotnet", ["exec", Path.Combine(AppContext.BaseDirectory, "healthagent.dll"), .. args]);

    public static ProcessStartInfo StartInfo(IEnumerable<string> args)
    {
        var (file, a) = Command(args);
        return new ProcessStartInfo(file, a) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
    }

    /// <summary>Runs `healthagent &lt;args&gt;` to its end (or the timeout); never throws for a non-zero exit.</summary>
    public static Task<ProcessResult> RunAsync(IEnumerable<string> args, TimeSpan timeout, string? stdin = null, CancellationToken ct = default)
    {
        var (file, a) = Command(args);
        return ProcessRunner.RunAsync(file, a, timeout, stdin, ct);
    }
}
