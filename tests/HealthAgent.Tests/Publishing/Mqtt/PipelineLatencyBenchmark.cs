using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using HealthAgent.TestSupport;
using Xunit.Abstractions;
using static HealthAgent.Tests.Pipeline.PipelineFixtures;

namespace HealthAgent.Tests.Publishing.Mqtt;

/// <summary>Runs only with RUN_BENCHMARKS=1 (figures for docs/performance-pipeline.md, never a timed assertion).</summary>
public sealed class BenchmarkFactAttribute : FactAttribute
{
    public BenchmarkFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("RUN_BENCHMARKS") != "1") Skip = "benchmark: set RUN_BENCHMARKS=1";
    }
}

public class PipelineLatencyBenchmark(ITestOutputHelper output)
{
    /// <summary>
    /// Fault-to-subscriber latency: a pushed PSU flip (scripted push source) → runner → state loop → outbox commit →
    /// MQTT QoS1 → mosquitto → a `mosquitto_sub` process, timed when its line reaches this process.
    /// </summary>
    [BenchmarkFact]
    public async Task PushedPsuFlip_ToMosquittoSub_Latency()
    {
        const int flips = 200;
        await using var broker = await MosquittoBroker.StartAsync();
        using var dir = new AgentDir(broker, "bench");
        await using var agent = new InProcessAgent(dir);
        await agent.WaitOnlineAsync();
        agent.Source.Set(Psu("solid green"));
        await Task.Delay(300);

        var lines = Channel.CreateUnbounded<(long At, string Line)>();
        var psi = new ProcessStartInfo("mosquitto_sub", ["-h", broker.Host, "-p", broker.Port.ToString(CultureInfo.InvariantCulture), "-q", "1", "-t", dir.Root + "/event/#", "-i", "bench-sub"])
        { RedirectStandardOutput = true, UseShellExecute = false };
        using var sub = Process.Start(psi)!;
        sub.OutputDataReceived += (_, e) => { if (e.Data is not null) lines.Writer.TryWrite((Stopwatch.GetTimestamp(), e.Data)); };
        sub.BeginOutputReadLine();
        await Task.Delay(500); // subscribed

        var ms = new List<double>();
        for (var i = 0; i < flips; i++)
        {
            var t0 = Stopwatch.GetTimestamp();
            agent.Source.Set(Psu(i % 2 == 0 ? "blinking amber" : "solid green"));
            var (at, line) = await lines.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Equal(i % 2 == 0 ? "raised" : "cleared", (string?)JsonNode.Parse(line)!["kind"]);
            ms.Add(Stopwatch.GetElapsedTime(t0, at).TotalMilliseconds);
            await Task.Delay(20);
        }
        sub.Kill();
        ms.Sort();
        double P(double q) => ms[(int)Math.Min(ms.Count - 1, Math.Ceiling(q * ms.Count) - 1)];
        output.WriteLine(FormattableString.Invariant($"flips={flips} p50={P(0.5):0.00} ms p90={P(0.9):0.00} ms p99={P(0.99):0.00} ms max={ms[^1]:0.00} ms min={ms[0]:0.00} ms"));
        File.WriteAllText(Path.Combine(Path.GetTempPath(), "healthagent-latency.txt"),
            FormattableString.Invariant($"p50={P(0.5):0.00} p90={P(0.9):0.00} p99={P(0.99):0.00} max={ms[^1]:0.00} min={ms[0]:0.00}\n"));
    }
}
