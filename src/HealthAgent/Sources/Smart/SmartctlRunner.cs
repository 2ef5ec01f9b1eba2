using System.ComponentModel;
using System.Diagnostics;
using System.Text;

namespace HealthAgent.Sources.Smart;

/// <summary>Runs smartctl. Injectable so tests replay recorded output and exit codes.</summary>
public interface ISmartctlRunner
{
    /// <summary>Runs smartctl with <paramref name="args"/>; throws <see cref="TimeoutException"/> after <paramref name="timeout"/> (the process is killed).</summary>
    Task<(int ExitCode, string Stdout)> RunAsync(IReadOnlyList<string> args, TimeSpan timeout, CancellationToken ct);
}

/// <summary>The real smartctl process. Output is capped at 4 MiB (smartctl -x of a large SAS disk is ~200 KiB).</summary>
public sealed class SmartctlRunner(string executable) : ISmartctlRunner
{
    public const int MaxOutputChars = 4 * 1024 * 1024;

    public async Task<(int ExitCode, string Stdout)> RunAsync(IReadOnlyList<string> args, TimeSpan timeout, CancellationToken ct)
    {
        var psi = new ProcessStartInfo(executable)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = false,
            UseShellExecute = false, StandardOutputEncoding = Encoding.UTF8,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["LC_ALL"] = "C";
        using var p = new Process { StartInfo = psi };
        try { p.Start(); }
        catch (Win32Exception e) { throw new FileNotFoundException($"cannot run '{executable}': {e.Message} (install smartmontools ≥ 7 or set sources.smart.smartctlPath)", e); }
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout);
        var stderr = p.StandardError.ReadToEndAsync(cts.Token);
        var buffer = new StringBuilder();
        var chunk = new char[16 * 1024];
        try
        {
            int n;
            while ((n = await p.StandardOutput.ReadAsync(chunk, cts.Token).ConfigureAwait(false)) > 0)
                if (buffer.Length < MaxOutputChars) buffer.Append(chunk, 0, Math.Min(n, MaxOutputChars - buffer.Length));
            await p.WaitForExitAsync(cts.Token).ConfigureAwait(false);
            try { await stderr.ConfigureAwait(false); } catch (OperationCanceledException) { }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            Kill(p);
            throw new TimeoutException($"smartctl {string.Join(' ', args)} did not finish within {timeout.TotalSeconds:0.#} s");
        }
        catch (OperationCanceledException)
        {
            Kill(p);
            throw;
        }
        return (p.ExitCode, buffer.ToString());
    }

    private static void Kill(Process p)
    {
        try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { } catch (Win32Exception) { }
    }
}
