using HealthAgent.Model;
using HealthAgent.Rules;
using HealthAgent.Sources.MdRaid;
using static HealthAgent.Tests.Sources.SourceTestKit;

namespace HealthAgent.Tests.Sources.MdRaid;

public class MdRaidSourceTests
{
    private static MdRaidSource Source(string root) => new(new MdRaidOptions { HostRoot = root }, Context);

    private static string Led(Evaluation e) => e.Led?.ToString() ?? "(none)";

    [Fact]
    public async Task Poll_Raid1Recovering37Pct_TargetBlinksGreenSlowArrayRebuilding()
    {
        var r = await Source(Case("md-raid1-recovering-37pct")).PollAsync(default);
        Assert.Empty(r.Errors);
        var target = Eval(r, "mdraid:md1:sdd1");
        Assert.Equal("blinking green slow", Led(target));
        Assert.Equal("drive.rebuilding", target.Rule!.Id);
        Assert.Equal(37.2, ReadingOf(r, "mdraid:md1:sdd1", "syncPercent").Value);
        Assert.Equal("drive.online", Eval(r, "mdraid:md1:sdc1").Rule!.Id);
        Assert.Equal("mdraid:md1", Obs(r, "mdraid:md1:sdd1").Component.Parent);
        Assert.Equal("drive", Obs(r, "mdraid:md1:sdd1").Component.Family);

        var array = Eval(r, "mdraid:md1");
        Assert.Equal("mdraid.array.recovering", array.Trace.Single().RowId);
        Assert.Equal(Severity.Warning, array.Verdict.Severity);
        Assert.Equal(188123.0, ReadingOf(r, "mdraid:md1", "syncSpeedKBps").Value);
        Assert.Equal(54.3, ReadingOf(r, "mdraid:md1", "finishMinutes").Value);
        Assert.Equal("logical_disk", Obs(r, "mdraid:md1").Component.HwType);

        Assert.Equal("mdraid.array.ok", Eval(r, "mdraid:md0").Trace.Single().RowId);
        Assert.Equal("solid green", Led(Eval(r, "mdraid:md0:sda1")));
        Assert.Equal("solid green", Led(Eval(r, "mdraid:md0:sdb1")));
        Assert.DoesNotContain(r.Observations, o => o.Component.Id.Contains("slot"));
    }

    [Fact]
    public async Task Poll_Raid5RebuildStopped_MemberShowsRebuildStoppedPatternArrayCritical()
    {
        var r = await Source(Case("md-raid5-rebuild-stopped")).PollAsync(default);
        var d = Eval(r, "mdraid:md127:sdd1");
        Assert.Equal("blinking green for 3s, blinking amber for 3s, then off", Led(d));
        Assert.Equal("drive.rebuild-stopped", d.Rule!.Id);
        var array = Eval(r, "mdraid:md127");
        Assert.Equal("mdraid.array.rebuild-stopped", array.Trace.Single().RowId);
        Assert.Equal(Severity.Critical, array.Verdict.Severity);
        Assert.Equal(true, ReadingOf(r, "mdraid:md127:sde1", "spare").Value);
        Assert.Equal("solid green", Led(Eval(r, "mdraid:md127:sde1")));
        Assert.Equal(1.0, ReadingOf(r, "mdraid:md127", "spareDevices").Value);
    }

    [Fact]
    public async Task Poll_RecoveryEndsWhileDegraded_RememberedAsRebuildStoppedUntilRecoveryResumes()
    {
        using var t = Copy("md-raid1-recovering-37pct");
        Directory.Delete(t["sys/block"], recursive: true); // mdstat alone: only the memory of the last poll can tell
        var src = Source(t.Root);
        var first = await src.PollAsync(default);
        Assert.Equal("drive.rebuilding", Eval(first, "mdraid:md1:sdd1").Rule!.Id);

        var mdstat = t["proc/mdstat"];
        var text = File.ReadAllText(mdstat);
        File.WriteAllText(mdstat, string.Join('\n', text.Split('\n').Where(l => !l.Contains("recovery ="))));
        var stopped = await src.PollAsync(default);
        Assert.Equal("drive.rebuild-stopped", Eval(stopped, "mdraid:md1:sdd1").Rule!.Id);
        Assert.Equal("mdraid.array.rebuild-stopped", Eval(stopped, "mdraid:md1").Trace.Single().RowId);
        Assert.Equal("drive.rebuild-stopped", Eval(await src.PollAsync(default), "mdraid:md1:sdd1").Rule!.Id); // latched

        File.WriteAllText(mdstat, text);
        Assert.Equal("drive.rebuilding", Eval(await src.PollAsync(default), "mdraid:md1:sdd1").Rule!.Id);
        File.WriteAllText(mdstat, text.Replace("[2/1] [U_]", "[2/2] [UU]").Replace("recovery = 37.2%", "resync = 0.0%").Split("      [=")[0] + "\nunused devices: <none>\n");
        var done = await src.PollAsync(default);
        Assert.Equal("drive.online", Eval(done, "mdraid:md1:sdd1").Rule!.Id);
        Assert.Equal("mdraid.array.ok", Eval(done, "mdraid:md1").Trace.Single().RowId);
    }

    [Fact]
    public async Task Poll_Raid1FaultyMember_FaultyBlinksAmber4HzArrayDegraded()
    {
        var r = await Source(Case("md-raid1-faulty-member")).PollAsync(default);
        var f = Eval(r, "mdraid:md0:sdb1");
        Assert.Equal("blinking amber 4hz", Led(f));
        Assert.Equal("drive.failed", f.Rule!.Id);
        Assert.Equal("drive.online", Eval(r, "mdraid:md0:sda1").Rule!.Id);
        var array = Eval(r, "mdraid:md0");
        Assert.Equal("mdraid.array.degraded", array.Trace.Single().RowId);
        Assert.Equal(Severity.Critical, array.Verdict.Severity);
        Assert.Equal(1.0, ReadingOf(r, "mdraid:md0", "failedDevices").Value);
        Assert.DoesNotContain(r.Observations, o => o.Component.Id == "mdraid:md0:slot1"); // the faulty disk still holds its slot
    }

    [Fact]
    public async Task Poll_MissingMemberMdstatOnly_EmptySlotFailedRaid6DelayedInfo()
    {
        var r = await Source(Case("md-raid1-missing-member-mdstat-only")).PollAsync(default);
        var slot = Eval(r, "mdraid:md0:slot1");
        Assert.Equal("drive.failed", slot.Rule!.Id);
        Assert.Equal("mdraid.array.degraded", Eval(r, "mdraid:md0").Trace.Single().RowId);
        Assert.Equal("drive.online", Eval(r, "mdraid:md0:sda1").Rule!.Id);
        Assert.Equal("mdraid.array.deferred", Eval(r, "mdraid:md2").Trace.Single().RowId);
        Assert.Equal(6, r.Observations.Count(o => o.Component.Parent == "mdraid:md2"));
    }

    [Fact]
    public async Task Poll_NoMdDriver_NotPresent()
    {
        using var t = Copy();
        var r = await Source(t.Root).PollAsync(default);
        Assert.NotNull(r.NotPresent);
        Assert.Empty(r.Errors);
        Write(t["proc/mdstat"], "Personalities : \nunused devices: <none>\n");
        Assert.Equal("no md arrays in /proc/mdstat", (await Source(t.Root).PollAsync(default)).NotPresent);
    }

    [Fact]
    public async Task Poll_GarbageAndHugeMdstat_NoExceptionErrorsNamed()
    {
        using var t = Copy();
        Write(t["proc/mdstat"], "md0 : \n\u0000\u0001garbage [x/y] [U?]\nmd1 : active raid1 sda1[zz] ???\n");
        var r = await Source(t.Root).PollAsync(default);
        Assert.Contains(r.Errors, e => e.Message.Contains("md0"));
        Assert.Contains(r.Errors, e => e.Message.Contains("unexpected member"));

        Write(t["proc/mdstat"], new string('x', 70_000));
        var huge = await Source(t.Root).PollAsync(default);
        Assert.Contains(huge.Errors, e => e.Message.Contains("larger than 64 KiB"));
        Assert.Empty(huge.Observations);
    }

    [Fact]
    public async Task Poll_UnreadableSysfsState_ArrayStillReportedFromMdstat()
    {
        using var t = Copy("md-raid1-faulty-member");
        File.Delete(t["sys/block/md0/md/dev-sdb1/state"]);
        Directory.CreateDirectory(t["sys/block/md0/md/dev-sdb1/state"]);
        var r = await Source(t.Root).PollAsync(default);
        Assert.Contains(r.Errors, e => e.Message.Contains("directory"));
        Assert.Equal("drive.failed", Eval(r, "mdraid:md0:sdb1").Rule!.Id); // (F) in mdstat still says so
    }
}

public class MdRaidSteadyStateTests
{
    [Fact]
    public async Task Poll_NothingChanged_PreviousResultReusedChangeNoticed()
    {
        using var t = Copy("md-raid1-faulty-member");
        var src = new MdRaidSource(new MdRaidOptions { HostRoot = t.Root }, Context);
        var first = await src.PollAsync(default);
        var second = await src.PollAsync(default);
        var third = await src.PollAsync(default);
        Assert.Same(second.Observations, third.Observations);

        File.WriteAllText(t["sys/block/md0/md/dev-sdb1/state"], "in_sync\n");
        File.WriteAllText(t["sys/block/md0/md/degraded"], "0\n");
        File.WriteAllText(t["proc/mdstat"], File.ReadAllText(t["proc/mdstat"]).Replace("(F)", "").Replace("[2/1] [U_]", "[2/2] [UU]"));
        var healed = await src.PollAsync(default);
        Assert.Equal("drive.online", Eval(healed, "mdraid:md0:sdb1").Rule!.Id);
        Assert.Equal("drive.failed", Eval(first, "mdraid:md0:sdb1").Rule!.Id);
    }
}
