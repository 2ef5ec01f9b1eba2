using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace HealthAgent.TestSupport;

/// <summary>Exit code and captured output of a finished (or timed-out and killed) process.</summary>
public sealed record ProcessResult(int ExitCode, string StandardOutput, string StandardError, bool TimedOut);

/// <summary>Runs a process with arguments, optional stdin and a timeout; never throws for a non-zero exit.</summary>
public static class ProcessRunner
{
    public static async Task<ProcessResult> RunAsync(string file, IEnumerable<string> args, TimeSpan timeout, string? stdin = null, CancellationToken ct = default)
    {
        var psi = new ProcessStartInfo(file, args)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = stdin is not null,
            UseShellExecute = false,
        };
        using var p = new Process { StartInfo = psi };
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (stdout) { stdout.AppendLine(e.Data); } };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (stderr) { stderr.AppendLine(e.Data); } };
        p.Start();
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        if (stdin is not null)
        {
            await p.StandardInput.WriteAsync(stdin).ConfigureAwait(false);
            p.StandardInput.Close();
        }
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout);
        var timedOut = false;
        try { await p.WaitForExitAsync(cts.Token).ConfigureAwait(false); }
        catch (OperationCanceledException)
        {
            timedOut = true;
            try { p.Kill(true); } catch (InvalidOperationException) { }
            await p.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
        }
        p.WaitForExit(); // drain async output
        string o, e2;
        lock (stdout) { o = stdout.ToString(); }
        lock (stderr) { e2 = stderr.ToString(); }
        return new ProcessResult(timedOut ? -1 : p.ExitCode, o, e2, timedOut);
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);

    /// <summary>Sends SIGTERM (15) so the process can shut down cleanly.</summary>
    public static void SendSigterm(int pid) => _ = kill(pid, 15);
    /// <summary>SIGHUP: what `systemctl reload` sends (the unit's ExecReload).</summary>
    public static void SendSighup(int pid) => _ = kill(pid, 1);

    /// <summary>Sends a signal by number (x86-64 Linux: 9 KILL, 15 TERM, 18 CONT, 19 STOP).</summary>
    public static void SendSignal(int pid, int signal) => _ = kill(pid, signal);
}

/// <summary>Helpers around Debian's `mosquitto-clients` (mosquitto_pub / mosquitto_sub).</summary>
public static class MosquittoClients
{
    /// <summary>`mosquitto_pub -h host -p port` plus <paramref name="args"/>.</summary>
    public static Task<ProcessResult> PubAsync(MosquittoBroker broker, IEnumerable<string> args, TimeSpan? timeout = null, string? stdin = null)
        => ProcessRunner.RunAsync("mosquitto_pub", ["-h", broker.Host, "-p", broker.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), .. args], timeout ?? TimeSpan.FromSeconds(10), stdin);

    /// <summary>`mosquitto_sub -h host -p port` plus <paramref name="args"/> (use -C N and -W SECONDS to end it).</summary>
    public static Task<ProcessResult> SubAsync(MosquittoBroker broker, IEnumerable<string> args, TimeSpan? timeout = null)
        => ProcessRunner.RunAsync("mosquitto_sub", ["-h", broker.Host, "-p", broker.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), .. args], timeout ?? TimeSpan.FromSeconds(10));

    /// <summary>
    /// Starts `mosquitto_sub` and returns once it is subscribed (it prints nothing until then, so we poll the broker log
    /// for its SUBSCRIBE via a short settle delay); await the returned task for its output.
    /// </summary>
    public static async Task<Task<ProcessResult>> StartSubAsync(MosquittoBroker broker, IEnumerable<string> args, TimeSpan? timeout = null, string clientId = "")
    {
        var id = clientId.Length > 0 ? clientId : "sub-" + Guid.NewGuid().ToString("N")[..8];
        var task = SubAsync(broker, ["-i", id, .. args], timeout);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (DateTime.UtcNow < deadline && !task.IsCompleted)
        {
            var log = broker.Log;
            if (log.Contains($"Received SUBSCRIBE from {id}", StringComparison.Ordinal)) break;
            await Task.Delay(20).ConfigureAwait(false);
        }
        await Task.Delay(50).ConfigureAwait(false); // let SUBACK processing finish
        return task;
    }
}
