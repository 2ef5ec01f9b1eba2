using System.Diagnostics;
using HealthAgent.Sources.Nic;
using HealthAgent.TestSupport;
using HealthAgent.Tests.Sources;
using HealthAgent.Tests.Sources.Nic;
using Xunit.Abstractions;

namespace HealthAgent.Tests.Publishing.Mqtt;

/// <summary>
/// Link-down to subscriber: a real veth pair, the real NIC source (rtnetlink push) in the real pipeline and MQTT
/// publisher → mosquitto → `mosquitto_sub`. Needs root (CAP_NET_ADMIN); figures for docs/performance-pipeline.md,
/// asserts only that every toggle arrived as the right event.
/// </summary>
[Collection(LatencyBenchmarkCollection.Name)]
public class NetlinkLatencyBenchmark(ITestOutputHelper output)
{
    private static double Ms(long from, long to) => Stopwatch.GetElapsedTime(from, to).TotalMilliseconds;

    /// <summary>
    /// The peer end is set down and up again 100 times with SIOCSIFFLAGS in-process (what `ip link set … down` does
    /// through netlink, without a process start); the watched end loses carrier. Time from just before the ioctl, and
    /// from its return, to the event line reaching this process. BENCH_IP_LINK=1 runs `ip link set` instead.
    /// </summary>
    [BenchmarkFact]
    public async Task VethLinkDown_Netlink_ToMosquittoSub_Latency()
    {
        if (!VethPair.Possible)
        {
            output.WriteLine("not root: veth benchmark not run");
            return;
        }
        const int toggles = 100;
        HealthAgent.Cli.RunCommand.ConfigureThreadPool();
        using var veth = new VethPair();
        // A long interval: every event below comes from the netlink push, not from a poll that happened to run first.
        using var nic = NicTestKit.Source("/", o =>
        {
            o.IntervalSeconds = 600;
            o.Exclude.Add("*");
            o.Include.Add(veth.GlobA);
            o.Interfaces[veth.A] = new NicInterfaceOptions { ExpectedSpeedMbps = 10000 };
        });
        await using var broker = await MosquittoBroker.StartAsync();
        using var dir = new AgentDir(broker, "bench-nic");
        await using var agent = new InProcessAgent(dir, source: nic, options: new HealthAgent.Config.SourceOptions { IntervalSeconds = 600 }, rules: SourceTestKit.Rules);
        await agent.WaitOnlineAsync();
        Assert.True(await nic.Listening.WaitAsync(TimeSpan.FromSeconds(10)));
        await Task.Delay(1000); // first poll's state published
        using var sub = await TimedSubscriber.StartAsync(broker, dir.Root + "/event/#", "bench-nic-sub");
        var id = "nic:" + veth.A;

        var ipLink = Environment.GetEnvironmentVariable("BENCH_IP_LINK") == "1";
        var down = new List<double>(); // just before the call (down) → "raised" at the subscriber
        var downFromReturn = new List<double>(); // the call's return → "raised"
        var up = new List<double>(); // just before the call (up) → "cleared"
        var call = new List<double>();
        var extra = 0; // further events of the interface after the first one of a toggle
        for (var i = 0; i < toggles; i++)
        {
            foreach (var goingDown in new[] { true, false })
            {
                var t0 = Stopwatch.GetTimestamp();
                if (ipLink) VethPair.Ip($"link set {veth.B} {(goingDown ? "down" : "up")}");
                else VethPair.SetUp(veth.B, up: !goingDown);
                var t1 = Stopwatch.GetTimestamp();
                call.Add(Ms(t0, t1));
                var (at, ev) = await sub.NextAsync(TimeSpan.FromSeconds(10));
                Assert.Equal(id, (string?)ev["component"]!["id"]);
                Assert.Equal(goingDown ? "raised" : "cleared", (string?)ev["kind"]);
                if (goingDown)
                {
                    Assert.Equal("nic.not-connected", (string?)ev["ruleId"]);
                    down.Add(Ms(t0, at));
                    downFromReturn.Add(Ms(t1, at));
                }
                else up.Add(Ms(t0, at));
                await Task.Delay(Random.Shared.Next(20, 60));
                extra += sub.Drain();
            }
        }
        var how = ipLink ? "`ip link set`" : "SIOCSIFFLAGS";
        output.WriteLine($"{toggles} down/up toggles of {veth.B} with {how}, watching {veth.A}; {extra} further events");
        output.WriteLine(LatencyFigures.Summary("link down (before the call) -> subscriber", down));
        output.WriteLine(LatencyFigures.Summary("link down (call returned) -> subscriber", downFromReturn));
        output.WriteLine(LatencyFigures.Summary("link up (before the call) -> subscriber", up));
        output.WriteLine(LatencyFigures.Summary("the call itself", call));
        Assert.Equal(0, extra);
    }
}
