using HealthAgent.Sources.MdRaid;

namespace HealthAgent.Tests.Sources.MdRaid;

public class MdRaidParserTests
{
    [Fact]
    public void ParseMdstat_ProgressLines_AllActionsWithPercentFinishSpeed()
    {
        foreach (var action in new[] { "recovery", "resync", "check", "reshape", "repair" })
        {
            var a = MdRaidParser.ParseMdstat($"md9 : active raid5 sdc[2] sdb[1] sda[0]\n      100 blocks [3/3] [UUU]\n      [==>..]  {action} = 12.5% (1/8) finish=3.5min speed=2048K/sec\n").Single();
            Assert.Equal(action, a.Progress!.Action);
            Assert.Equal(12.5, a.Progress.Percent);
            Assert.Equal(3.5, a.Progress.FinishMinutes);
            Assert.Equal(2048, a.Progress.SpeedKBps);
        }
    }

    [Theory]
    [InlineData("      resync=DELAYED", "DELAYED")]
    [InlineData("      resync=PENDING", "PENDING")]
    public void ParseMdstat_DeferredResync_Recognised(string line, string expected) =>
        Assert.Equal(expected, MdRaidParser.ParseMdstat($"md1 : active raid1 sdb[1] sda[0]\n      10 blocks [2/2] [UU]\n{line}\n").Single().Deferred);

    [Fact]
    public void ParseMdstat_MemberFlagsAndInactiveArray()
    {
        var arrays = MdRaidParser.ParseMdstat("md0 : active (auto-read-only) raid1 sdb1[2](F) sda1[0] sdc1[3](S)\n      10 blocks [2/1] [U_]\n\nmd1 : inactive sdd1[0](S)\n      10 blocks\n");
        var md0 = arrays[0];
        Assert.Equal("raid1", md0.Level);
        Assert.Equal([true, false, false], md0.Members.Select(m => m.Faulty));
        Assert.Equal([false, false, true], md0.Members.Select(m => m.Spare));
        Assert.Equal((2, 1, "U_"), (md0.RaidDisks!.Value, md0.InSyncDisks!.Value, md0.SlotMap!));
        Assert.Equal("inactive", arrays[1].State);
        Assert.Null(arrays[1].Level);
    }

    [Theory]
    [InlineData("none", null)]
    [InlineData("50 / 200", 0.25)]
    [InlineData("garbage", null)]
    [InlineData("1 / 0", null)]
    public void ParseSyncCompleted_Values(string text, double? expected) => Assert.Equal(expected, MdRaidParser.ParseSyncCompleted(text));

    [Theory]
    [InlineData("raid1", 3, 2)]
    [InlineData("raid5", 4, 1)]
    [InlineData("raid6", 6, 2)]
    [InlineData("raid0", 2, 0)]
    public void Redundancy_ByLevel(string level, int disks, int expected) => Assert.Equal(expected, MdRaidParser.Redundancy(level, disks));
}
