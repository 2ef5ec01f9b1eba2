using HealthAgent.Model;
using HealthAgent.Sources;
using HealthAgent.Sources.PowerSupply;
using static HealthAgent.Tests.Sources.SourceTestKit;

namespace HealthAgent.Tests.Sources.PowerSupply;

public class PowerSupplySourceTests
{
    private static PowerSupplySource Source(string root) => new(new PowerSupplyOptions { HostRoot = root }, Context);

    [Fact]
    public async Task Poll_AcpiAcOffline_AdapterOffNoPowerBatteryOnBatteryPeripheralSkipped()
    {
        var r = await Source(Case("acpi-ac-offline")).PollAsync(default);
        Assert.Empty(r.Errors);
        var ac = Eval(r, "powersupply:ACAD");
        Assert.Equal("off", ac.Led!.ToString());
        Assert.Equal("psu.no-power", ac.Rule!.Id);
        Assert.Equal("power_supply", ac.Component.HwType);

        var bat = Eval(r, "powersupply:BAT0");
        Assert.Equal("powersupply.battery.on-battery", bat.Trace.Single().RowId);
        Assert.Equal(Severity.Warning, bat.Verdict.Severity);
        Assert.Equal("battery", bat.Component.HwType);
        Assert.Equal("BAT0 (DELL 7FHHV62)", bat.Component.Name);
        Assert.Equal(64.0, ReadingOf(r, "powersupply:BAT0", "capacity").Value);
        Assert.DoesNotContain(r.Observations, o => o.Component.Id.Contains("hidpp"));
    }

    [Fact]
    public async Task Poll_UpsOnBattery_UpsWarningMainsAdapterGreen()
    {
        var r = await Source(Case("ups-on-battery")).PollAsync(default);
        var ups = Eval(r, "powersupply:ups0");
        Assert.Equal("powersupply.battery.on-battery", ups.Trace.Single().RowId);
        Assert.Equal("battery.on_battery", ups.Verdict.Code);
        Assert.Equal(false, ReadingOf(r, "powersupply:ups0", "online").Value);
        var ac = Eval(r, "powersupply:AC");
        Assert.Equal("psu.operational", ac.Rule!.Id);
        Assert.Equal("solid green", ac.Led!.ToString());
    }

    [Fact]
    public async Task Poll_PsuHealthFailure_BlinkingAmberProblem()
    {
        var r = await Source(Case("pmbus-psu-failed")).PollAsync(default);
        Assert.Equal("psu.problem", Eval(r, "powersupply:psu0").Rule!.Id);
        Assert.Equal("blinking amber", Eval(r, "powersupply:psu0").Led!.ToString());
        Assert.Equal("psu.operational", Eval(r, "powersupply:psu1").Rule!.Id);
    }

    [Fact]
    public async Task Poll_LowBatteryWhileDischarging_Critical()
    {
        using var t = Copy("ups-on-battery");
        File.WriteAllText(t["sys/class/power_supply/ups0/capacity"], "15\n");
        var r = await Source(t.Root).PollAsync(default);
        Assert.Equal(Severity.Critical, Eval(r, "powersupply:ups0").Verdict.Severity);
    }

    [Fact]
    public async Task Poll_NoPowerSupplyClass_NotPresent()
    {
        using var t = Copy();
        var r = await Source(t.Root).PollAsync(default);
        Assert.NotNull(r.NotPresent);
        Assert.Empty(r.Errors);
    }

    [Fact]
    public async Task Poll_BadAttributes_UnknownWithReasons()
    {
        using var t = Copy("ups-on-battery");
        var d = t["sys/class/power_supply/ups0"];
        File.WriteAllText(Path.Combine(d, "capacity"), "lots");
        File.WriteAllText(Path.Combine(d, "online"), "yes");
        File.WriteAllText(Path.Combine(d, "status"), new string('x', 70_000));
        var r = await Source(t.Root).PollAsync(default);
        Assert.Contains("not a percentage", ReadingOf(r, "powersupply:ups0", "capacity").Reason);
        Assert.Contains("not 0, 1 or 2", ReadingOf(r, "powersupply:ups0", "online").Reason);
        Assert.Contains("larger than", ReadingOf(r, "powersupply:ups0", "status").Reason);
        Assert.Contains(r.Errors, e => e.Device == "powersupply:ups0");
        Assert.Equal(HwState.Unknown, Eval(r, "powersupply:ups0").Verdict.State);
    }

    [Theory]
    [InlineData("Mains", null, SupplyKind.Adapter)]
    [InlineData("USB_PD", null, SupplyKind.Adapter)]
    [InlineData("UPS", "System", SupplyKind.Battery)]
    [InlineData("Battery", "Device", SupplyKind.Skip)]
    [InlineData("Wat", null, SupplyKind.Skip)]
    public void KindOf_TypeAndScope(string type, string? scope, SupplyKind expected) => Assert.Equal(expected, PowerSupplyParser.KindOf(type, scope));

    [Fact]
    public void Readings_AbsentAttributesLeftOut()
    {
        var r = PowerSupplyParser.Readings(new Dictionary<string, FileRead> { ["type"] = new("Mains", null), ["online"] = new("1", null) });
        Assert.Equal(["type", "online"], r.Select(x => x.Name));
    }
}
