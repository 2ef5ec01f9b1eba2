using HealthAgent.Model;
using HealthAgent.Sources.Nic;

namespace HealthAgent.Tests.Sources.Nic;

/// <summary>Fixture trees under testcases/ (host roots), polled twice so activity is known, then evaluated by the rule set.</summary>
public class NicSourceFixtureTests
{
    private static (Observation Obs, HealthAgent.Rules.Evaluation Eval) PollTwice(string root, string ifname, Action<NicOptions>? configure = null)
    {
        using var source = NicTestKit.Source(root, configure);
        source.Poll();
        var result = source.Poll();
        Assert.Empty(result.Errors);
        var obs = result.Single(ifname);
        return (obs, NicTestKit.Evaluator.Evaluate(obs));
    }

    [Fact]
    public void Ixgbe10gOn25gPort_ExpectedSpeedConfigured_LinkAmberReducedSpeed()
    {
        var (obs, eval) = PollTwice(NicTestKit.Case("ixgbe-10g-on-25g-port"), "eth0",
            o => o.Interfaces["eth0"] = new NicInterfaceOptions { ExpectedSpeedMbps = 25000 });
        Assert.Equal(10000d, obs.R("speedMbps").Value);
        Assert.Equal(25000d, obs.R("maxSpeedMbps").Value);
        Assert.Equal("config", obs.R("maxSpeedSource").Value);
        Assert.Equal("link solid amber; activity off", eval.Led!.ToString());
        Assert.Equal("nic.reduced-speed-idle", eval.Rule!.Id);
        Assert.Equal(Severity.Warning, eval.Verdict.Severity);
        Assert.Equal("nic.linux.link.reduced", eval.Trace.Single(t => t.Led == "link").RowId);
    }

    [Fact]
    public void Ixgbe10gOn25gPort_NoConfig_MaximumUnknownWithReason()
    {
        var (obs, eval) = PollTwice(NicTestKit.Case("ixgbe-10g-on-25g-port"), "eth0");
        Assert.Null(obs.R("maxSpeedMbps").Value);
        Assert.Contains("expectedSpeedMbps", obs.R("maxSpeedMbps").Reason);
        Assert.Null(eval.Rule);
        Assert.Equal(HwState.Unknown, eval.Verdict.State);
        Assert.Contains("expectedSpeedMbps", eval.UnknownReason);
    }

    [Fact]
    public void Igb1gLinkUp_AtMaximum_LinkGreenIdleThenActive()
    {
        using var tree = SourceTestKit.Copy("igb-1g-link-up");
        var root = tree.Root;
        {
            using var source = NicTestKit.Source(root);
            var first = source.Poll().Single("eno1");
            Assert.Null(first.R("active").Value); // first poll: activity not known yet, not "idle"
            // ...but link green at maximum speed means "connected" whether or not data moves.
            var firstEval = NicTestKit.Evaluator.Evaluate(first);
            Assert.Equal("nic.connected", firstEval.Verdict.Code);
            Assert.Equal("link solid green; activity unknown", firstEval.Led!.ToString());

            var idle = source.Poll().Single("eno1");
            var eval = NicTestKit.Evaluator.Evaluate(idle);
            Assert.Equal("link solid green; activity off", eval.Led!.ToString());
            Assert.Equal("nic.max-speed-idle", eval.Rule!.Id);
            Assert.Equal("fixture", idle.R("maxSpeedSource").Value);

            File.WriteAllText(Path.Combine(root, "sys/class/net/eno1/statistics/rx_bytes"), "734100000\n");
            var busy = source.Poll().Single("eno1");
            eval = NicTestKit.Evaluator.Evaluate(busy);
            Assert.Equal("link solid green; activity blinking green", eval.Led!.ToString());
            Assert.Equal("nic.max-speed-active", eval.Rule!.Id);
            Assert.Equal(Severity.Ok, eval.Verdict.Severity);
        }
    }

    [Fact]
    public void Igb1gLinkUp_Default_WatchesOnlyInterfacesWithDevice()
    {
        using var source = NicTestKit.Source(NicTestKit.Case("igb-1g-link-up"));
        Assert.Equal(["nic:eno1"], source.Poll().Observations.Select(o => o.Component.Id));
    }

    [Fact]
    public void Igb1gLinkUp_IncludeGlob_WatchesVethAndExcludeDropsDevice()
    {
        using var source = NicTestKit.Source(NicTestKit.Case("igb-1g-link-up"), o => { o.Include.Add("veth*"); o.Exclude.Add("eno*"); });
        var obs = Assert.Single(source.Poll().Observations);
        Assert.Equal("nic:veth7a1b2c", obs.Component.Id);
        Assert.Equal(new ComponentRef("nic:veth7a1b2c", "network", "veth7a1b2c", null, "nic", "nic.linux"), obs.Component);
    }

    [Fact]
    public void E1000eNoCarrier_LinkOffActivityOff_NotConnected()
    {
        var (obs, eval) = PollTwice(NicTestKit.Case("e1000e-no-carrier"), "enp0s31f6");
        Assert.Equal(false, obs.R("carrier").Value);
        Assert.Null(obs.R("speedMbps").Value); // speed -1 while there is no link
        Assert.Equal("link off; activity off", eval.Led!.ToString());
        Assert.Equal("nic.not-connected", eval.Rule!.Id);
        Assert.Equal(1d, obs.R("carrierChanges").Value);
        Assert.Equal(1d, obs.R("carrierDownCount").Value);
    }

    [Fact]
    public void E1000eNoCarrier_FirstPoll_AlreadyKnownNotConnected()
    {
        using var source = NicTestKit.Source(NicTestKit.Case("e1000e-no-carrier"));
        Assert.Equal("nic.not-connected", NicTestKit.Evaluator.Evaluate(source.Poll().Single("enp0s31f6")).Rule!.Id);
    }

    [Fact]
    public void VirtioSpeedUnknown_NoMaximum_UnknownTellsToSetExpectedSpeed()
    {
        var (obs, eval) = PollTwice(NicTestKit.Case("virtio-speed-unknown"), "eth0");
        Assert.Null(obs.R("speedMbps").Value);
        Assert.Contains("-1", obs.R("speedMbps").Reason);
        Assert.Null(obs.R("duplex").Value);
        Assert.Equal(HwState.Unknown, eval.Verdict.State);
        Assert.Contains("expectedSpeedMbps", eval.UnknownReason);
    }

    [Fact]
    public void VirtioSpeedUnknown_ExpectedSpeedSet_StillUnknownBecauseSpeedUnknown()
    {
        var (_, eval) = PollTwice(NicTestKit.Case("virtio-speed-unknown"), "eth0",
            o => o.Interfaces["eth0"] = new NicInterfaceOptions { ExpectedSpeedMbps = 10000 });
        Assert.Equal(HwState.Unknown, eval.Verdict.State);
        Assert.Contains("no link speed", eval.UnknownReason);
    }

    [Fact]
    public void AdminDownEinval_ReadingsUnknownNotZero_LinkOff()
    {
        var (obs, eval) = PollTwice(NicTestKit.Case("admin-down-einval"), "eno2");
        Assert.Equal("down", obs.R("operstate").Value);
        foreach (var name in new[] { "carrier", "speedMbps", "duplex" })
        {
            Assert.Null(obs.R(name).Value);
            Assert.NotNull(obs.R(name).Reason);
        }
        Assert.Equal("link off; activity off", eval.Led!.ToString());
        Assert.Equal("nic.linux.link.admin-down", eval.Trace.Single(t => t.Led == "link").RowId);
        Assert.Equal("nic.not-connected", eval.Rule!.Id);
    }

    [Fact]
    public void GarbageAndMissingFiles_UnknownReadingsNoThrow()
    {
        using var tree = SourceTestKit.Copy("igb-1g-link-up");
        var root = tree.Root;
        {
            var dir = Path.Combine(root, "sys/class/net/eno1");
            File.WriteAllText(Path.Combine(dir, "speed"), "banana\n");
            File.WriteAllBytes(Path.Combine(dir, "carrier"), new byte[8192]); // binary zeros: no value
            File.Delete(Path.Combine(dir, "statistics/tx_bytes"));
            File.WriteAllText(Path.Combine(dir, "operstate"), "\u0007\u0000weird");
            File.WriteAllText(Path.Combine(dir, "duplex"), new string('f', 70 * 1024)); // huge
            using var source = NicTestKit.Source(root);
            var obs = source.Poll().Single("eno1");
            Assert.Contains("unparsable 'banana'", obs.R("speedMbps").Reason);
            Assert.Null(obs.R("carrier").Value);
            Assert.Equal("statistics/tx_bytes: missing", obs.R("txBytes").Reason);
            Assert.Null(obs.R("active").Value);
            Assert.Null(obs.R("operstate").Value);
            Assert.Contains("larger than", obs.R("duplex").Reason);
            Assert.Equal(HwState.Unknown, NicTestKit.Evaluator.Evaluate(obs).Verdict.State);
        }
    }

    [Fact]
    public async Task HungSpeedRead_Fifo_TimedOutRestOfPollCompletes()
    {
        using var tree = SourceTestKit.Copy("igb-1g-link-up");
        var speed = tree["sys/class/net/eno1/speed"];
        SourceTestKit.MkFifo(speed);
        try
        {
            using var source = NicTestKit.Source(tree.Root, o => { o.FileTimeoutMs = 100; o.Include.Add("veth*"); });
            var result = await source.PollAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));
            var eno1 = result.Single("eno1");
            Assert.Null(eno1["speedMbps"]);
            Assert.Contains("speed: ", eno1.R("speedMbps").Reason);
            Assert.Equal(true, eno1["carrier"]);
            Assert.Equal(10000d, result.Single("veth7a1b2c")["speedMbps"]); // the interface after the hung one was read
        }
        finally { SourceTestKit.ReleaseFifo(speed); }
    }

    [Fact]
    public void MissingNetClass_NotPresent()
    {
        using var source = NicTestKit.Source(Path.Combine(Path.GetTempPath(), "ha-nic-none-" + Guid.NewGuid().ToString("N")));
        var result = source.Poll();
        Assert.NotNull(result.NotPresent);
        Assert.Empty(result.Observations);
    }

    [Fact]
    public async Task FixtureRoot_PushLoop_WaitsForCancellation()
    {
        using var source = NicTestKit.Source(NicTestKit.Case("igb-1g-link-up"));
        using var cts = new CancellationTokenSource();
        var channel = System.Threading.Channels.Channel.CreateUnbounded<HealthAgent.Sources.SourceResult>();
        var run = source.RunAsync(channel.Writer, cts.Token);
        Assert.False(await source.Listening.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.False(run.IsCompleted);
        cts.Cancel();
        await run.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.False(channel.Reader.TryRead(out _));
    }

    [Fact]
    public async Task Changed_LinkMessage_ObservationOnlyWhenLinkFactsChange()
    {
        using var tree = SourceTestKit.Copy("igb-1g-link-up");
        using var source = NicTestKit.Source(tree.Root);
        await source.PollAsync(CancellationToken.None);
        await source.PollAsync(CancellationToken.None);
        LinkMessage Msg(string name) => new(false, 2, 0, name, null, null);

        Assert.Empty(await source.ChangedAsync([Msg("eno1")], CancellationToken.None));  // MTU change, statistics…: nothing new
        Assert.Empty(await source.ChangedAsync([Msg("br0")], CancellationToken.None));   // not watched

        File.WriteAllText(tree["sys/class/net/eno1/carrier"], "0\n");
        File.WriteAllText(tree["sys/class/net/eno1/operstate"], "down\n");
        var obs = Assert.Single(await source.ChangedAsync([Msg("eno1"), Msg("eno1")], CancellationToken.None));
        Assert.Equal(false, obs["carrier"]);
        Assert.Equal(false, obs["active"]); // the last poll's activity, not a new comparison
        Assert.Equal("nic.not-connected", NicTestKit.Evaluator.Evaluate(obs).Rule!.Id);

        var removed = Assert.Single(await source.ChangedAsync([new LinkMessage(true, 2, 0, "eno1", null, null)], CancellationToken.None));
        Assert.Contains("RTM_DELLINK", removed.UnknownReason);
        Assert.Equal(HwState.Unknown, NicTestKit.Evaluator.Evaluate(removed).Verdict.State);
    }
}
