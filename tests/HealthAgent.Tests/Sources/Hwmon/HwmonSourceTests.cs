using System.Diagnostics;
using HealthAgent.Model;
using HealthAgent.Sources.Hwmon;
using static HealthAgent.Tests.Sources.SourceTestKit;

namespace HealthAgent.Tests.Sources.Hwmon;

public class HwmonSourceTests
{
    private static HwmonSource Source(string root, int fileTimeoutMs = 500) =>
        new(new HwmonOptions { HostRoot = root, FileTimeoutMs = fileTimeoutMs }, Context);

    [Fact]
    public async Task Poll_Nct6779FanStalled_StalledFanCriticalUnusedHeaderIdleOthersOk()
    {
        var r = await Source(Case("nct6779-fan-stalled")).PollAsync(default);
        Assert.Empty(r.Errors);
        Assert.Null(r.NotPresent);

        var stalled = Eval(r, "hwmon:nct6779:fan2");
        Assert.Equal("sensor.fan.stalled", stalled.Trace.Single().RowId);
        Assert.Equal(Severity.Critical, stalled.Verdict.Severity);
        Assert.Equal(HwState.Failed, stalled.Verdict.State);
        Assert.Equal("nct6779 SYSFAN", Obs(r, "hwmon:nct6779:fan2").Component.Name);
        Assert.Equal("fan", Obs(r, "hwmon:nct6779:fan2").Component.HwType);

        Assert.Equal("sensor.fan.idle", Eval(r, "hwmon:nct6779:fan3").Trace.Single().RowId);
        Assert.Equal("sensor.fan.ok", Eval(r, "hwmon:nct6779:fan1").Trace.Single().RowId);
        Assert.Equal(1052.0, ReadingOf(r, "hwmon:nct6779:fan1", "value").Value);

        // in0 1.024 V within 0.912..1.104; in1 has limits 0/0 (unset): ok, not out of range.
        Assert.Equal(1.024, (double)ReadingOf(r, "hwmon:nct6779:in0", "value").Value!, 6);
        Assert.Equal("V", ReadingOf(r, "hwmon:nct6779:in0", "value").Unit);
        Assert.Equal("sensor.voltage.ok", Eval(r, "hwmon:nct6779:in0").Trace.Single().RowId);
        Assert.Equal("sensor.voltage.ok", Eval(r, "hwmon:nct6779:in1").Trace.Single().RowId);
        Assert.Equal("sensor.temperature.ok", Eval(r, "hwmon:acpitz:temp1").Trace.Single().RowId);
        Assert.Equal(27.8, (double)ReadingOf(r, "hwmon:acpitz:temp1", "value").Value!, 6);
    }

    [Fact]
    public async Task Poll_CoretempOverCrit_PackageCriticalCoreOverMaxWarning()
    {
        var r = await Source(Case("coretemp-over-crit")).PollAsync(default);
        var package = Eval(r, "hwmon:coretemp:temp1");
        Assert.Equal("sensor.temperature.over-crit", package.Trace.Single().RowId);
        Assert.Equal(Severity.Critical, package.Verdict.Severity);
        Assert.Equal(true, ReadingOf(r, "hwmon:coretemp:temp1", "critAlarm").Value);
        Assert.Equal(100.0, ReadingOf(r, "hwmon:coretemp:temp1", "crit").Value);
        var core0 = Eval(r, "hwmon:coretemp:temp2");
        Assert.Equal("sensor.temperature.over-max", core0.Trace.Single().RowId);
        Assert.Equal(Severity.Warning, core0.Verdict.Severity);
        Assert.Equal(Severity.Ok, Eval(r, "hwmon:coretemp:temp3").Verdict.Severity);
    }

    [Fact]
    public async Task Evaluate_TemperatureFallsJustBelowCrit_HysteresisHoldsCriticalUntilTwoDegreesBelow()
    {
        using var t = Copy("coretemp-over-crit");
        var src = Source(t.Root);
        var dir = t["sys/class/hwmon/hwmon1"];
        File.WriteAllText(Path.Combine(dir, "temp1_crit_alarm"), "0\n");
        var first = Eval(await src.PollAsync(default), "hwmon:coretemp:temp1");
        Assert.Equal("sensor.temperature.over-crit", first.Trace.Single().RowId);

        File.WriteAllText(Path.Combine(dir, "temp1_input"), "99000\n");
        var held = Eval(await src.PollAsync(default), "hwmon:coretemp:temp1", first);
        Assert.Equal("sensor.temperature.over-crit", held.Trace.Single().RowId);
        Assert.Equal("sensor.temperature.over-max", Eval(await src.PollAsync(default), "hwmon:coretemp:temp1").Trace.Single().RowId); // without history

        File.WriteAllText(Path.Combine(dir, "temp1_input"), "97500\n");
        var released = Eval(await src.PollAsync(default), "hwmon:coretemp:temp1", held);
        Assert.Equal("sensor.temperature.over-max", released.Trace.Single().RowId);
    }

    [Fact]
    public async Task Poll_NoHwmonClass_NotPresentWithoutErrors()
    {
        using var t = Copy();
        var r = await Source(t.Root).PollAsync(default);
        Assert.NotNull(r.NotPresent);
        Assert.Empty(r.Errors);
        Assert.Empty(r.Observations);

        Directory.CreateDirectory(t["sys/class/hwmon"]);
        Assert.Contains("no hwmon chips", (await Source(t.Root).PollAsync(default)).NotPresent);
    }

    [Fact]
    public async Task Poll_BadFiles_UnknownWithReasonsNeverZeroNeverThrows()
    {
        using var t = Copy();
        var d = t["sys/class/hwmon/hwmon0"];
        Write(Path.Combine(d, "name"), "it8728\n");
        Write(Path.Combine(d, "temp1_input"), "garbage\n");
        Write(Path.Combine(d, "temp2_input"), "");
        Write(Path.Combine(d, "temp3_input"), new string('7', 70_000));       // huge: over the 64 KiB cap
        Directory.CreateDirectory(Path.Combine(d, "temp4_input"));            // unreadable: a directory
        File.CreateSymbolicLink(Path.Combine(d, "temp5_input"), "/sys/class/net/lo/speed"); // the real kernel answers EINVAL
        Write(Path.Combine(d, "temp6_input"), "41000");
        Write(Path.Combine(d, "temp6_max"), "eighty");
        Write(Path.Combine(d, "temp6_alarm"), "2");
        Write(Path.Combine(d, "fan1_input"), "123");
        Write(Path.Combine(d, "fan1_fault"), "1");

        var r = await Source(t.Root).PollAsync(default);
        string Reason(string id) => ReadingOf(r, id, "value").Reason ?? "";
        Assert.Null(ReadingOf(r, "hwmon:it8728:temp1", "value").Value);
        Assert.Contains("not a number", Reason("hwmon:it8728:temp1"));
        Assert.Contains("empty", Reason("hwmon:it8728:temp2"));
        Assert.Contains("larger than 64 KiB", Reason("hwmon:it8728:temp3"));
        Assert.Contains("directory", Reason("hwmon:it8728:temp4"));
        if (File.Exists("/sys/class/net/lo/speed")) Assert.StartsWith("EINVAL", Reason("hwmon:it8728:temp5"));
        foreach (var i in new[] { 1, 2, 3, 4, 5 })
            Assert.Equal(HwState.Unknown, Eval(r, $"hwmon:it8728:temp{i}").Verdict.State);

        Assert.Equal(41.0, ReadingOf(r, "hwmon:it8728:temp6", "value").Value);
        Assert.Contains("not a number", ReadingOf(r, "hwmon:it8728:temp6", "max").Reason);
        Assert.Contains("not 0 or 1", ReadingOf(r, "hwmon:it8728:temp6", "alarm").Reason);
        Assert.Equal(Severity.Ok, Eval(r, "hwmon:it8728:temp6").Verdict.Severity);

        var fan = Eval(r, "hwmon:it8728:fan1");
        Assert.Equal(HwState.Unknown, fan.Verdict.State);
        Assert.Contains("faulty", fan.UnknownReason);
        Assert.NotEmpty(r.Errors); // garbage is reported as a per-device error, the poll still completes
    }

    [Fact]
    public async Task Poll_HungSensorFile_TimedOutRestOfPollCompletes()
    {
        using var t = Copy("coretemp-over-crit");
        var fifo = t["sys/class/hwmon/hwmon1/temp2_input"];
        MkFifo(fifo);
        var src = Source(t.Root, fileTimeoutMs: 200);
        try
        {
            var sw = Stopwatch.StartNew();
            var r = await src.PollAsync(default);
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), $"poll took {sw.Elapsed}");
            Assert.Null(ReadingOf(r, "hwmon:coretemp:temp2", "value").Value);
            Assert.Contains("hung", ReadingOf(r, "hwmon:coretemp:temp2", "value").Reason);
            Assert.Equal(101.0, ReadingOf(r, "hwmon:coretemp:temp1", "value").Value);
            Assert.Equal(45.0, ReadingOf(r, "hwmon:coretemp:temp3", "value").Value);
            Assert.Contains(r.Errors, e => e.Device == "hwmon:coretemp:temp2");
            Assert.Equal(1, src.Files.Abandoned);

            // Next poll: the hung path is skipped at once, nothing more is abandoned.
            var again = await src.PollAsync(default);
            Assert.Contains("hung", ReadingOf(again, "hwmon:coretemp:temp2", "value").Reason);
            Assert.Equal(1, src.Files.Abandoned);
        }
        finally { ReleaseFifo(fifo); }
        // Once the read returns, the path is read again.
        for (var i = 0; i < 100 && src.Files.Abandoned > 0; i++) await Task.Delay(20);
        Assert.Equal(0, src.Files.Abandoned);
        File.Delete(fifo);
        File.WriteAllText(fifo, "50000\n");
        var after = await src.PollAsync(default);
        Assert.Equal(50.0, ReadingOf(after, "hwmon:coretemp:temp2", "value").Value);
    }

    [Fact]
    public async Task Poll_TwoChipsWithTheSameName_IdsCarryTheDevice()
    {
        using var t = Copy();
        foreach (var (hw, dev, v) in new[] { ("hwmon0", "coretemp.0", "40000"), ("hwmon1", "coretemp.1", "42000") })
        {
            var d = t[$"sys/class/hwmon/{hw}"];
            Write(Path.Combine(d, "name"), "coretemp");
            Write(Path.Combine(d, "temp1_input"), v);
            Directory.CreateDirectory(t[$"sys/devices/platform/{dev}"]);
            File.CreateSymbolicLink(Path.Combine(d, "device"), $"../../../devices/platform/{dev}");
        }
        var r = await Source(t.Root).PollAsync(default);
        Assert.Equal(["hwmon:coretemp.coretemp.0:temp1", "hwmon:coretemp.coretemp.1:temp1"], r.Observations.Select(o => o.Component.Id).Order());
    }
}

public class HwmonSteadyStateTests
{
    [Fact]
    public async Task Poll_NothingChanged_SameObservationsReusedChangedValueNoticed()
    {
        using var t = Copy("coretemp-over-crit");
        var src = new HwmonSource(new HwmonOptions { HostRoot = t.Root }, Context);
        var first = await src.PollAsync(default);
        var second = await src.PollAsync(default);
        Assert.Same(Obs(first, "hwmon:coretemp:temp1"), Obs(second, "hwmon:coretemp:temp1"));

        File.WriteAllText(t["sys/class/hwmon/hwmon1/temp3_input"], "46000\n");
        var third = await src.PollAsync(default);
        Assert.Equal(46.0, ReadingOf(third, "hwmon:coretemp:temp3", "value").Value);
        Assert.Same(Obs(first, "hwmon:coretemp:temp2"), Obs(third, "hwmon:coretemp:temp2"));
    }
}

public class HwmonPowerAndCurrentTests
{
    [Fact]
    public async Task Poll_PowerAverageAndCurrent_ScaledAndDerived()
    {
        using var t = Copy();
        var d = t["sys/class/hwmon/hwmon0"];
        Write(Path.Combine(d, "name"), "amdgpu");
        Write(Path.Combine(d, "power1_average"), "45250000");
        Write(Path.Combine(d, "power1_cap"), "220000000");
        Write(Path.Combine(d, "curr1_input"), "12500");
        Write(Path.Combine(d, "curr1_crit"), "12000");
        Write(Path.Combine(d, "in0_input"), "850");
        Write(Path.Combine(d, "in0_enable"), "0");
        var r = await new HwmonSource(new HwmonOptions { HostRoot = t.Root }, Context).PollAsync(default);
        Assert.Equal(45.25, ReadingOf(r, "hwmon:amdgpu:power1", "value").Value);
        Assert.Equal("W", ReadingOf(r, "hwmon:amdgpu:power1", "value").Unit);
        Assert.Equal("sensor.power.ok", Eval(r, "hwmon:amdgpu:power1").Trace.Single().RowId);
        Assert.Equal(12.5, ReadingOf(r, "hwmon:amdgpu:curr1", "value").Value);
        Assert.Equal("sensor.current.over-crit", Eval(r, "hwmon:amdgpu:curr1").Trace.Single().RowId);
        Assert.DoesNotContain(r.Observations, o => o.Component.Id == "hwmon:amdgpu:in0"); // in0_enable = 0
    }
}
