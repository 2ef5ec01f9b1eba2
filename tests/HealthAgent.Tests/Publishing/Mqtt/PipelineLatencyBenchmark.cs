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

/// <summary>The latency benchmarks run one at a time and alone: a parallel test class would be part of the figure.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LatencyBenchmarkCollection
{
    public const string Name = "latency benchmarks";
}

[Collection(LatencyBenchmarkCollection.Name)]
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
        // As `healthagent run` does. Without it, this test process (whose mosquitto and mosquitto_sub pipe readers
        // block pool threads) showed 0.5–0.9 s outliers; set BENCH_DEFAULT_POOL=1 to see them.
        if (Environment.GetEnvironmentVariable("BENCH_DEFAULT_POOL") != "1") HealthAgent.Cli.RunCommand.ConfigureThreadPool();
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

        // Diagnostics for outliers: thread-pool queue and thread count, sampled from a dedicated thread.
        long maxPending = 0; int maxThreads = 0; var sampling = true; var gcBefore = GC.CollectionCount(2);
        var sampler = new Thread(() =>
        {
            while (Volatile.Read(ref sampling))
            {
                maxPending = Math.Max(maxPending, ThreadPool.PendingWorkItemCount);
                maxThreads = Math.Max(maxThreads, ThreadPool.ThreadCount);
                Thread.Sleep(5);
            }
        }) { IsBackground = true };
        sampler.Start();
        var ms = new List<double>();
        var toEvent = new List<double>(); // flip → event made by the state loop (wall clock, the event's "time")
        for (var i = 0; i < flips; i++)
        {
            var wall0 = DateTimeOffset.UtcNow;
            var t0 = Stopwatch.GetTimestamp();
            agent.Source.Set(Psu(i % 2 == 0 ? "blinking amber" : "solid green"));
            var (at, line) = await lines.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
            var ev = JsonNode.Parse(line)!;
            Assert.Equal(i % 2 == 0 ? "raised" : "cleared", (string?)ev["kind"]);
            ms.Add(Stopwatch.GetElapsedTime(t0, at).TotalMilliseconds);
            if (ms[^1] > 100) output.WriteLine(FormattableString.Invariant($"outlier: flip {i} took {ms[^1]:0.0} ms"));
            toEvent.Add((DateTimeOffset.Parse((string)ev["time"]!, CultureInfo.InvariantCulture) - wall0).TotalMilliseconds);
            await Task.Delay(20);
        }
        Volatile.Write(ref sampling, false);
        output.WriteLine(FormattableString.Invariant($"threadpool: max pending {maxPending}, max threads {ThreadPool.ThreadCount}/{maxThreads}, gen2 GCs {GC.CollectionCount(2) - gcBefore}"));
        toEvent.Sort();
        output.WriteLine(FormattableString.Invariant($"flip->event p50={toEvent[toEvent.Count / 2]:0.00} ms p99={toEvent[(int)(toEvent.Count * 0.99) - 1]:0.00} ms max={toEvent[^1]:0.00} ms"));
        sub.Kill();
        ms.Sort();
        double P(double q) => ms[(int)Math.Min(ms.Count - 1, Math.Ceiling(q * ms.Count) - 1)];
        output.WriteLine(FormattableString.Invariant($"flips={flips} p50={P(0.5):0.00} ms p90={P(0.9):0.00} ms p99={P(0.99):0.00} ms max={ms[^1]:0.00} ms min={ms[0]:0.00} ms"));
        File.WriteAllText(Path.Combine(Path.GetTempPath(), "healthagent-latency.txt"),
            FormattableString.Invariant($"p50={P(0.5):0.00} p90={P(0.9):0.00} p99={P(0.99):0.00} max={ms[^1]:0.00} min={ms[0]:0.00}\n"));
    }
}

public sealed class StateLoopBenchmark(ITestOutputHelper output) : IDisposable
{
    private readonly string _state = Directory.CreateTempSubdirectory("state-loop-bench-").FullName;

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(_state, true); } catch (IOException) { }
    }

    private sealed class NullPublisher : HealthAgent.Publishing.IHealthPublisher
    {
        public string Name => "null";
        public Task StartAsync(HealthAgent.Publishing.IHealthState state, CancellationToken ct) => Task.CompletedTask;
        public ValueTask PublishEventAsync(HealthAgent.Model.HealthEvent e, CancellationToken ct) => ValueTask.CompletedTask;
        public ValueTask PublishStateAsync(HealthAgent.Model.ComponentStatus status, CancellationToken ct) => ValueTask.CompletedTask;
        public ValueTask PublishRollupAsync(HealthAgent.Model.HealthRollup rollup, CancellationToken ct) => ValueTask.CompletedTask;
        public Task StopAsync(CancellationToken ct) => Task.CompletedTask;
        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    /// <summary>CPU cost of the state loop per observation when nothing changes but readings (the steady state of a 1 s poll).</summary>
    [BenchmarkFact]
    public async Task SteadyPolls_CostPerObservation()
    {
        await using var p = new HealthAgent.Pipeline.HealthPipeline("a", "b", Seed, _state, [], [new NullPublisher()], Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);
        var comps = Enumerable.Range(0, 10).Select(i => Psu1 with { Id = "psu:" + i }).ToList();
        HealthAgent.Sources.SourceResult Poll(int n) => new("bench",
            [.. comps.Select(c => Led(c, "solid green")), .. Enumerable.Range(0, 20).Select(i => Temp(50 + (n + i) % 7) with { Component = Temp1 with { Id = "t" + i } })], []);
        for (var i = 0; i < 200; i++) await p.ProcessAsync(Poll(i), default); // warm-up, JIT
        const int polls = 5000;
        var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        var alloc0 = GC.GetAllocatedBytesForCurrentThread();
        var sw = Stopwatch.StartNew();
        for (var i = 0; i < polls; i++) await p.ProcessAsync(Poll(i), default);
        sw.Stop();
        var alloc = GC.GetAllocatedBytesForCurrentThread() - alloc0;
        var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu0;
        var perObs = sw.Elapsed.TotalMicroseconds / (polls * 30.0);
        output.WriteLine(FormattableString.Invariant($"observations={polls * 30} wall/obs={perObs:0.0} us cpu/obs={cpu.TotalMicroseconds / (polls * 30.0):0.0} us alloc/obs={alloc / (polls * 30.0):0} B"));
        File.WriteAllText(Path.Combine(Path.GetTempPath(), "healthagent-stateloop.txt"),
            FormattableString.Invariant($"wall/obs={perObs:0.0}us cpu/obs={cpu.TotalMicroseconds / (polls * 30.0):0.0}us alloc/obs={alloc / (polls * 30.0):0}B\n"));
    }
}
