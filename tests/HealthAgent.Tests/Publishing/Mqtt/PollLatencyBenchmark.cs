using System.Diagnostics;
using HealthAgent.Config;
using HealthAgent.Model;
using HealthAgent.Rules;
using HealthAgent.Sources;
using HealthAgent.Sources.Redfish;
using HealthAgent.TestSupport;
using HealthAgent.Tests.Pipeline;
using HealthAgent.Tests.Simulator;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;
using static HealthAgent.Tests.Pipeline.PipelineFixtures;

namespace HealthAgent.Tests.Publishing.Mqtt;

/// <summary>
/// Fault-to-subscriber latency of changes only a poll can see: flip → the runner's next poll (fixed rate, at most one
/// interval away) → state loop → outbox → MQTT QoS 1 → mosquitto → `mosquitto_sub`. Figures for docs/performance-pipeline.md;
/// asserts only that every flip arrived as the right event.
/// </summary>
[Collection(LatencyBenchmarkCollection.Name)]
public class PollLatencyBenchmark(ITestOutputHelper output)
{
    private static double Ms(long from, long to) => Stopwatch.GetElapsedTime(from, to).TotalMilliseconds;

    /// <summary>A scripted PSU behind a poll-only view, polled every 250 ms; each flip at a random phase to the polls.</summary>
    [BenchmarkFact]
    public async Task PolledPsuFlip_ToMosquittoSub_Latency()
    {
        const int flips = 200;
        const double interval = 0.25;
        HealthAgent.Cli.RunCommand.ConfigureThreadPool();
        await using var broker = await MosquittoBroker.StartAsync();
        using var dir = new AgentDir(broker, "bench-poll");
        var scripted = new ScriptedSource();
        var polled = new PollOnlySource(scripted);
        await using var agent = new InProcessAgent(dir, source: polled, options: new SourceOptions { IntervalSeconds = interval });
        await agent.WaitOnlineAsync();
        scripted.Set(Psu("solid green"));
        await polled.PolledAsync(r => r.Observations.Count == 1);
        await Task.Delay(500);
        using var sub = await TimedSubscriber.StartAsync(broker, dir.Root + "/event/#", "bench-poll-sub");

        var phase = new Random(6);
        var total = new List<double>(); // flip → arrival
        var afterPoll = new List<double>(); // the poll that returned the flip → arrival: the pipeline's own share
        var toPoll = new List<double>(); // flip → that poll
        for (var i = 0; i < flips; i++)
        {
            await Task.Delay(TimeSpan.FromSeconds(phase.NextDouble() * interval * 1.1));
            var o = Psu(i % 2 == 0 ? "blinking amber" : "solid green");
            var seen = polled.PolledAsync(r => r.Observations.Any(x => ReferenceEquals(x, o)));
            var t0 = Stopwatch.GetTimestamp();
            scripted.Set(o);
            var (at, ev) = await sub.NextAsync(TimeSpan.FromSeconds(10));
            Assert.Equal(Psu1.Id, (string?)ev["component"]!["id"]);
            Assert.Equal(i % 2 == 0 ? "raised" : "cleared", (string?)ev["kind"]);
            var polledAt = await seen.WaitAsync(TimeSpan.FromSeconds(1));
            total.Add(Ms(t0, at));
            afterPoll.Add(Ms(polledAt, at));
            toPoll.Add(Ms(t0, polledAt));
        }
        Assert.Equal(0, sub.Drain()); // one event per flip, no more
        output.WriteLine(FormattableString.Invariant($"interval {interval * 1000:0} ms (fixed rate, random phase), {flips} flips"));
        output.WriteLine(LatencyFigures.Summary("flip -> subscriber", total));
        output.WriteLine(LatencyFigures.Summary("poll that saw it -> subscriber", afterPoll));
        output.WriteLine(LatencyFigures.Summary("flip -> poll that saw it", toPoll));
    }

    /// <summary>
    /// The real Redfish source walking the simulator's Redfish service every second, on a BMC without working SSE
    /// (its event stream answers 404, so only walks can see a change): PSU 2 fails and recovers 30 times at a random
    /// phase to the walks. Every completed walk is pushed to the pipeline, so a change waits for at most one walk
    /// interval plus the walk itself.
    /// </summary>
    [BenchmarkFact]
    public async Task PolledRedfishPsuFlip_FromSimulator_ToMosquittoSub_Latency()
    {
        const int flips = 30;
        const string psu = "redfish:bmc:psu:1:PSU2";
        HealthAgent.Cli.RunCommand.ConfigureThreadPool();
        await using var sim = await SimulatorHarness.StartAsync();
        await using var broker = await MosquittoBroker.StartAsync();
        using var dir = new AgentDir(broker, "bench-redfish");
        var options = new RedfishOptions
        {
            Enabled = true,
            IntervalSeconds = 1,
            Endpoints = [new RedfishEndpointOptions { Name = "bmc", Url = sim.Sim.Redfish!.BaseAddress.ToString().TrimEnd('/'), TimeoutSeconds = 5 }],
        };
        var errors = new List<string>();
        options.Validate("sources.redfish", errors);
        Assert.Empty(errors);
        await using var redfish = new RedfishSource(options, new SourceContext(NullLoggerFactory.Instance, SimulatorHarness.Rules, TimeProvider.System),
            _ => new NoEventStream());
        await using var agent = new InProcessAgent(dir, source: redfish, options: options, rules: SimulatorHarness.Rules);
        await agent.WaitOnlineAsync();
        await Task.Delay(2500);
        using var sub = await TimedSubscriber.StartAsync(broker, dir.Root + "/event/#", "bench-redfish-sub");

        var phase = new Random(6);
        var total = new List<double>();
        var others = 0; // events of other components a PSU flip causes (redundancy, chassis, system roll-ups)
        for (var i = 0; i < flips; i++)
        {
            var fail = i % 2 == 0;
            await Task.Delay(TimeSpan.FromSeconds(1.5 + phase.NextDouble()));
            others += sub.Drain();
            var t0 = Stopwatch.GetTimestamp();
            sim.Sim.Appliance.Set("psu2", fail ? "fault" : "ok");
            while (true)
            {
                var (at, ev) = await sub.NextAsync(TimeSpan.FromSeconds(15));
                if ((string?)ev["component"]!["id"] != psu) { others++; continue; }
                Assert.Equal(fail ? "raised" : "cleared", (string?)ev["kind"]);
                total.Add(Ms(t0, at));
                break;
            }
        }
        output.WriteLine($"redfish walks every 1 s, SSE refused (404), {flips} flips of PSU 2; {others} events of other components alongside");
        output.WriteLine(LatencyFigures.Summary("flip -> subscriber", total));
    }

    /// <summary>A BMC whose event stream is missing: the SSE URI answers 404, everything else goes to the simulator.</summary>
    private sealed class NoEventStream() : DelegatingHandler(new SocketsHttpHandler())
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct) =>
            request.RequestUri!.AbsolutePath.EndsWith("/SSE", StringComparison.Ordinal)
                ? Task.FromResult(new HttpResponseMessage(System.Net.HttpStatusCode.NotFound) { RequestMessage = request })
                : base.SendAsync(request, ct);
    }
}
