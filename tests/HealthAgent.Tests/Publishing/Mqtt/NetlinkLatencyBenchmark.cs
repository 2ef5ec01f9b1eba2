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
public class NetlinkLatencyBenchmark(ITestOutputHelper output)
{
    private static double Ms(long from, long to) => Stopwatch.GetElapsedTime(from, to).TotalMilliseconds;

    /// <summary>
    /// The peer end is set down and up again 100 times with SIOCSIFFLAGS in-process (what `ip link set … down` does,
    /// through netlink, without a process start); the watched end loses carrier. Time from just before the ioctl to
    /// the event line reaching this process.
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

        var down = new List<double>(); // ioctl (down) → "raised" at the subscriber
        var up = new List<double>(); // ioctl (up) → "cleared"
        var ioctl = new List<double>();
        var extra = 0; // further events of the interface after the first one of a toggle
        for (var i = 0; i < toggles; i++)
        {
            foreach (var (goingDown, samples) in new[] { (true, down), (false, up) })
            {
                var t0 = Stopwatch.GetTimestamp();
                VethPair.SetUp(veth.B, up: !goingDown);
                ioctl.Add(Ms(t0, Stopwatch.GetTimestamp()));
                var (at, ev) = await sub.NextAsync(TimeSpan.FromSeconds(10));
                Assert.Equal(id, (string?)ev["component"]!["id"]);
                Assert.Equal(goingDown ? "raised" : "cleared", (string?)ev["kind"]);
                if (goingDown) Assert.Equal("nic.not-connected", (string?)ev["ruleId"]);
                samples.Add(Ms(t0, at));
                await Task.Delay(Random.Shared.Next(20, 60));
                extra += sub.Drain();
            }
        }
        output.WriteLine($"{toggles} down/up toggles of {veth.B} watching {veth.A}; {extra} further events");
        output.WriteLine(LatencyFigures.Summary("link down -> subscriber", down));
        output.WriteLine(LatencyFigures.Summary("link up -> subscriber", up));
        output.WriteLine(LatencyFigures.Summary("ioctl itself", ioctl));
        Assert.Equal(0, extra);
    }
}
