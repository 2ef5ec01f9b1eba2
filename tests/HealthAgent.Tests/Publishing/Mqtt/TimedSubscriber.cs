using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using HealthAgent.TestSupport;

namespace HealthAgent.Tests.Publishing.Mqtt;

/// <summary>
/// A `mosquitto_sub -q 1` process on one filter, for the latency benchmarks: each output line (one JSON payload) is
/// stamped with <see cref="Stopwatch.GetTimestamp"/> when it reaches this process.
/// </summary>
public sealed class TimedSubscriber : IDisposable
{
    private readonly Process _process;
    private readonly Channel<(long At, string Line)> _lines = Channel.CreateUnbounded<(long, string)>();

    private TimedSubscriber(MosquittoBroker broker, string filter, string clientId)
    {
        var psi = new ProcessStartInfo("mosquitto_sub", ["-h", broker.Host, "-p", broker.Port.ToString(CultureInfo.InvariantCulture), "-q", "1", "-t", filter, "-i", clientId])
        { RedirectStandardOutput = true, UseShellExecute = false };
        _process = Process.Start(psi)!;
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) _lines.Writer.TryWrite((Stopwatch.GetTimestamp(), e.Data)); };
        _process.BeginOutputReadLine();
    }

    /// <summary>Starts the subscriber and gives it time to subscribe (there is no SUBACK to wait for from outside).</summary>
    public static async Task<TimedSubscriber> StartAsync(MosquittoBroker broker, string filter, string clientId)
    {
        var s = new TimedSubscriber(broker, filter, clientId);
        await Task.Delay(500);
        return s;
    }

    /// <summary>The next line, parsed, with the time it arrived.</summary>
    public async Task<(long At, JsonNode Json)> NextAsync(TimeSpan timeout)
    {
        var (at, line) = await _lines.Reader.ReadAsync().AsTask().WaitAsync(timeout);
        return (at, JsonNode.Parse(line)!);
    }

    /// <summary>Lines that have already arrived, discarded; returns how many.</summary>
    public int Drain()
    {
        var n = 0;
        while (_lines.Reader.TryRead(out _)) n++;
        return n;
    }

    public void Dispose()
    {
        try { _process.Kill(); _process.WaitForExit(5000); } catch (InvalidOperationException) { }
        _process.Dispose();
    }
}

/// <summary>Nearest-rank percentiles of latency samples in milliseconds, formatted for the benchmark output.</summary>
public static class LatencyFigures
{
    public static double Percentile(IReadOnlyList<double> sorted, double q) => sorted[(int)Math.Min(sorted.Count - 1, Math.Ceiling(q * sorted.Count) - 1)];

    public static string Summary(string label, IEnumerable<double> samples)
    {
        var s = samples.Order().ToList();
        return FormattableString.Invariant(
            $"{label}: n={s.Count} p50={Percentile(s, 0.5):0.00} ms p90={Percentile(s, 0.9):0.00} ms p99={Percentile(s, 0.99):0.00} ms max={s[^1]:0.00} ms min={s[0]:0.00} ms");
    }
}
