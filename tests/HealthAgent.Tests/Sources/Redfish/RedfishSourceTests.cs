using System.Text.Json.Nodes;
using HealthAgent.Model;
using HealthAgent.Rules;
using static HealthAgent.Tests.Sources.Redfish.RedfishTestKit;

namespace HealthAgent.Tests.Sources.Redfish;

/// <summary>Walks of iDRAC-style mockup trees in both schema generations, mapped through rules/derivations/redfish.*.yaml.</summary>
public class RedfishSourceTests
{
    [Theory]
    // system, chassis, BMC
    [InlineData("redfish:bmc:system:System.Embedded.1", "solid blue", "system.healthy")]
    // PowerSubsystem/PowerSupplies: every PSU state
    [InlineData("redfish:bmc:psu:System.Embedded.1:PSU.Slot.1", "solid green", "psu.operational")]
    [InlineData("redfish:bmc:psu:System.Embedded.1:PSU.Slot.2", "blinking amber", "psu.problem")]
    [InlineData("redfish:bmc:psu:System.Embedded.1:PSU.Slot.3", "off", "redfish.psu.empty-bay")]
    [InlineData("redfish:bmc:psu:System.Embedded.1:PSU.Slot.4", "off", "psu.no-power")]
    [InlineData("redfish:bmc:psu:System.Embedded.1:PSU.Slot.5", "blinking green", "psu.firmware-update")]
    [InlineData("redfish:bmc:psu:System.Embedded.1:PSU.Slot.6", "blinking green 4hz x5, then off", "psu.mismatch")]
    // Storage drives: every drive state
    [InlineData("redfish:bmc:drive:System.Embedded.1:RAID.Integrated.1-1:Disk.Bay.0", "solid green", "drive.online")]
    [InlineData("redfish:bmc:drive:System.Embedded.1:RAID.Integrated.1-1:Disk.Bay.1", "blinking green slow", "drive.rebuilding")]
    [InlineData("redfish:bmc:drive:System.Embedded.1:RAID.Integrated.1-1:Disk.Bay.2", "blinking green, blinking amber, then off", "drive.predicted-failure")]
    [InlineData("redfish:bmc:drive:System.Embedded.1:RAID.Integrated.1-1:Disk.Bay.3", "blinking amber 4hz", "drive.failed")]
    [InlineData("redfish:bmc:drive:System.Embedded.1:RAID.Integrated.1-1:Disk.Bay.4", "blinking green, blinking amber, then off", "drive.predicted-failure")]
    [InlineData("redfish:bmc:drive:System.Embedded.1:RAID.Integrated.1-1:Disk.Bay.5", "blinking green 2hz", "drive.identify")]
    // NetworkAdapters/Ports
    [InlineData("redfish:bmc:nic:System.Embedded.1:NIC.Integrated.1:NIC.Integrated.1-1", "link solid green; activity off", "nic.max-speed-idle")]
    [InlineData("redfish:bmc:nic:System.Embedded.1:NIC.Integrated.1:NIC.Integrated.1-2", "link solid amber; activity off", "nic.reduced-speed-idle")]
    [InlineData("redfish:bmc:nic:System.Embedded.1:NIC.Integrated.1:NIC.Integrated.1-3", "link off; activity off", "redfish.nic.never-connected")]
    public async Task Walk_NewSchemas_LedAndRule(string id, string led, string rule)
    {
        await using var server = await RedfishMockupServer.StartAsync("idrac9-r750-subsystems");
        await using var source = Create(server);
        var all = await PollAsync(source);
        var e = all[id];
        Assert.Equal(led, e.Led());
        Assert.Equal(rule, RowOf(e));
    }

    [Theory]
    [InlineData("redfish:bmc:system:System.Embedded.1", "blinking blue", "system.id-mode")]
    [InlineData("redfish:bmc:psu:System.Embedded.1:PSU.Slot.1", "solid green", "psu.operational")]
    [InlineData("redfish:bmc:psu:System.Embedded.1:PSU.Slot.2", "solid green", "psu.operational")]
    [InlineData("redfish:bmc:drive:System.Embedded.1:RAID.Integrated.1-1:Disk.Bay.0", "solid green", "drive.online")]
    [InlineData("redfish:bmc:drive:System.Embedded.1:RAID.Integrated.1-1:Disk.Bay.1", "blinking green slow", "drive.rebuilding")]
    [InlineData("redfish:bmc:drive:System.Embedded.1:RAID.Integrated.1-1:Disk.Bay.2", "blinking green 2hz", "drive.identify")]
    [InlineData("redfish:bmc:nic:System.Embedded.1:NIC.Integrated.1:NIC.Integrated.1-1-1", "link solid green; activity off", "nic.max-speed-idle")]
    [InlineData("redfish:bmc:nic:System.Embedded.1:NIC.Integrated.1:NIC.Integrated.1-2-1", "link solid amber; activity off", "nic.reduced-speed-idle")]
    [InlineData("redfish:bmc:nic:System.Embedded.1:NIC.Integrated.1:NIC.Integrated.1-3-1", "link off; activity off", "redfish.nic.never-connected")]
    public async Task Walk_LegacySchemas_LedAndRule(string id, string led, string rule)
    {
        await using var server = await RedfishMockupServer.StartAsync("idrac8-r730-legacy");
        await using var source = Create(server);
        var e = (await PollAsync(source))[id];
        Assert.Equal(led, e.Led());
        Assert.Equal(rule, RowOf(e));
    }

    [Theory]
    [InlineData("Critical", "Enabled", 230.0, false, "blinking amber", "psu.problem", "psu.redundancy_lost")]
    [InlineData("Critical", "Enabled", 0.0, false, "off", "psu.no-power", "psu.redundancy_lost")]
    [InlineData("OK", "Absent", null, false, "off", "redfish.psu.empty-bay", "psu.redundancy_ok")] // an empty bay from the start: the BMC's group says OK
    [InlineData("OK", "Updating", 230.0, false, "blinking green", "psu.firmware-update", "psu.redundancy_lost")]
    [InlineData("Warning", "Enabled", 230.0, true, "blinking green 4hz x5, then off", "psu.mismatch", "psu.redundancy_lost")]
    [InlineData("Warning", "Enabled", 230.0, false, "blinking amber", "redfish.psu.warning", "psu.redundancy_ok")] // still delivers power
    public async Task Walk_LegacyPowerPsuStates_MapLikeNewSchema(string health, string state, double? volts, bool hpeMismatch, string led, string rule, string redundancy)
    {
        await using var server = await RedfishMockupServer.StartAsync("idrac8-r730-legacy");
        server.Mutate(Ch + "/Power", p =>
        {
            var psu = p["PowerSupplies"]![1]!.AsObject();
            psu["Status"] = new JsonObject { ["Health"] = health, ["State"] = state };
            psu["LineInputVoltage"] = volts is { } v ? JsonValue.Create(v) : null;
            if (hpeMismatch) psu["Oem"] = new JsonObject { ["Hpe"] = new JsonObject { ["Mismatched"] = true } };
        });
        await using var source = Create(server);
        var all = await PollAsync(source);
        Assert.Equal(led, all["redfish:bmc:psu:System.Embedded.1:PSU.Slot.2"].Led());
        Assert.Equal(rule, RowOf(all["redfish:bmc:psu:System.Embedded.1:PSU.Slot.2"]));
        // MinNumNeeded 2 (DMTF: members needed to be redundant): one PSU of two no longer delivering power loses it.
        Assert.Equal(redundancy, all["redfish:bmc:psu-redundancy:System.Embedded.1"].Verdict.Code);
    }

    [Fact]
    public async Task Redundancy_BmcSaysLostWhileEveryPsuOk_RaisesRedundancyLost()
    {
        await using var server = await RedfishMockupServer.StartAsync("idrac8-r730-legacy");
        await using var source = Create(server);
        var before = await PollAsync(source);
        Assert.Equal("psu.redundancy_ok", before["redfish:bmc:psu-redundancy:System.Embedded.1"].Verdict.Code);

        server.Mutate(Ch + "/Power", p => p["Redundancy"]![0]!["Status"] = new JsonObject { ["Health"] = "Critical", ["State"] = "Enabled" });
        await source.WalkNowAsync(CancellationToken.None);
        var after = await PollAsync(source);
        Assert.Equal("psu.ok", after["redfish:bmc:psu:System.Embedded.1:PSU.Slot.1"].Verdict.Code);
        Assert.Equal("psu.ok", after["redfish:bmc:psu:System.Embedded.1:PSU.Slot.2"].Verdict.Code);
        var rollup = after["redfish:bmc:psu-redundancy:System.Embedded.1"];
        Assert.Equal("psu.redundancy_lost", rollup.Verdict.Code);
        Assert.Equal(Severity.Warning, rollup.Verdict.Severity);
        Assert.Null(rollup.Led); // an LED-less roll-up
    }

    [Theory]
    [InlineData("Configuration error", "Full", "psu.mismatch", "redfish.psu-redundancy.lost-count")] // a mismatched PSU does not count as working
    [InlineData("AC lost", "Lost", "psu.no-power", "redfish.psu-redundancy.lost-dell")]
    public async Task DellPsuView_DetailedStateAndRedundancy_Used(string detailed, string redundancy, string rule, string rollupRow)
    {
        await using var server = await RedfishMockupServer.StartAsync("idrac8-r730-legacy");
        server.Mutate(Ch + "/Power", p =>
        {
            var psu = p["PowerSupplies"]![1]!.AsObject();
            psu["Status"] = new JsonObject { ["Health"] = "Warning", ["State"] = "Enabled" };
            psu["LineInputVoltage"] = null;
            psu["Oem"] = new JsonObject { ["Dell"] = new JsonObject { ["DellPowerSupplyView"] = new JsonObject { ["DetailedState"] = detailed, ["RedundancyStatus"] = redundancy } } };
        });
        await using var source = Create(server);
        var all = await PollAsync(source);
        Assert.Equal(rule, RowOf(all["redfish:bmc:psu:System.Embedded.1:PSU.Slot.2"]));
        Assert.Equal(rollupRow, all["redfish:bmc:psu-redundancy:System.Embedded.1"].Trace.Single().RowId);
    }

    [Fact]
    public async Task Redundancy_BmcSaysOkButOnlyOnePsuWorks_RaisesRedundancyLost()
    {
        await using var server = await RedfishMockupServer.StartAsync("idrac9-r750-subsystems");
        await using var source = Create(server);
        var r = (await PollAsync(source))["redfish:bmc:psu-redundancy:System.Embedded.1"];
        Assert.Equal("redfish.psu-redundancy.lost-count", r.Trace.Single().RowId);
        Assert.Equal(-1.0, r.Readings.Single(x => x.Name == "sparePsus").Value); // one works; MinNeededInGroup 1 + 1 are needed
    }

    [Fact]
    public async Task Walk_Sensors_ThresholdsGiveHealthRows()
    {
        await using var server = await RedfishMockupServer.StartAsync("idrac9-r750-subsystems");
        await using var source = Create(server);
        var all = await PollAsync(source);
        Assert.Equal("temperature.ok", all["redfish:bmc:temp:System.Embedded.1:SystemBoardInletTemp"].Verdict.Code);
        Assert.Equal("temperature.high", all["redfish:bmc:temp:System.Embedded.1:CPU1Temp"].Verdict.Code);
        Assert.Equal(HwState.Unknown, all["redfish:bmc:temp:System.Embedded.1:SystemBoardExhaustTemp"].Verdict.State); // null reading
        Assert.Equal("fan.ok", all["redfish:bmc:fan:System.Embedded.1:Fan.Embedded.1"].Verdict.Code);
        Assert.Equal("fan.stalled", all["redfish:bmc:fan:System.Embedded.1:Fan.Embedded.2"].Verdict.Code);
        Assert.Equal("redfish.ok", all["redfish:bmc:bmc:iDRAC.Embedded.1"].Verdict.Code);
        Assert.Equal("volume.rebuilding", all["redfish:bmc:volume:System.Embedded.1:RAID.Integrated.1-1:Disk.Virtual.0"].Verdict.Code);
        Assert.Equal("redfish.ok", all["redfish:bmc"].Verdict.Code);
    }

    [Fact]
    public async Task Walk_LegacyThermal_ThresholdsAndFans()
    {
        await using var server = await RedfishMockupServer.StartAsync("idrac8-r730-legacy");
        await using var source = Create(server);
        var all = await PollAsync(source);
        Assert.Equal("temperature.ok", all["redfish:bmc:temp:System.Embedded.1:iDRAC.Embedded.1_SystemBoardInletTemp"].Verdict.Code);
        Assert.Equal("temperature.high_critical", all["redfish:bmc:temp:System.Embedded.1:iDRAC.Embedded.1_CPU1Temp"].Verdict.Code);
        Assert.Equal("fan.ok", all["redfish:bmc:fan:System.Embedded.1:0x17||Fan.Embedded.1A"].Verdict.Code);
        Assert.Equal("fan.slow_critical", all["redfish:bmc:fan:System.Embedded.1:0x17||Fan.Embedded.1B"].Verdict.Code);
        Assert.Equal("redfish.warning", all["redfish:bmc:bmc:iDRAC.Embedded.1"].Verdict.Code);
    }

    [Fact]
    public async Task Temperature_JustBelowCautionAfterCaution_HeldByHysteresis()
    {
        await using var server = await RedfishMockupServer.StartAsync("idrac9-r750-subsystems");
        await using var source = Create(server);
        const string id = "redfish:bmc:temp:System.Embedded.1:CPU1Temp";
        var ev = new HealthAgent.Rules.Evaluator(RedfishTestKit.Rules);
        var first = ev.Evaluate((await source.PollAsync(default)).Observations.Single(o => o.Component.Id == id));
        Assert.Equal("temperature.high", first.Verdict.Code);
        server.Mutate(Ch + "/Sensors/CPU1Temp", s => s["Reading"] = 84); // caution 85, hysteresis 2
        await source.WalkNowAsync(default);
        var held = ev.Evaluate((await source.PollAsync(default)).Observations.Single(o => o.Component.Id == id), first);
        Assert.Equal("temperature.high", held.Verdict.Code);
        server.Mutate(Ch + "/Sensors/CPU1Temp", s => { s["Reading"] = 80; s["Status"] = new JsonObject { ["State"] = "Enabled", ["Health"] = "OK" }; });
        await source.WalkNowAsync(default);
        var cleared = ev.Evaluate((await source.PollAsync(default)).Observations.Single(o => o.Component.Id == id), held);
        Assert.Equal("temperature.ok", cleared.Verdict.Code);
    }

    [Fact]
    public async Task Rebuild_OperationGoneWhileDriveNotOk_RebuildStoppedThenClearsWhenOk()
    {
        await using var server = await RedfishMockupServer.StartAsync("idrac9-r750-subsystems");
        await using var source = Create(server);
        const string drive = "redfish:bmc:drive:System.Embedded.1:RAID.Integrated.1-1:Disk.Bay.1", volume = "redfish:bmc:volume:System.Embedded.1:RAID.Integrated.1-1:Disk.Virtual.0";
        Assert.Equal("drive.rebuilding", (await PollAsync(source))[drive].Rule?.Id);

        server.Mutate(Sto + "/Drives/Disk.Bay.1", d => { d.Remove("Operations"); d["StatusIndicator"] = "OK"; });
        server.Mutate(Sto + "/Volumes/Disk.Virtual.0", v => v.Remove("Operations"));
        await source.WalkNowAsync(default);
        var stopped = await PollAsync(source);
        Assert.Equal("blinking green for 3s, blinking amber for 3s, then off", stopped[drive].Led());
        Assert.Equal("drive.rebuild-stopped", stopped[drive].Rule?.Id);
        Assert.Equal("volume.rebuild_stopped", stopped[volume].Verdict.Code);

        await source.WalkNowAsync(default); // still stopped on the next walk: the inference is sticky
        Assert.Equal("drive.rebuild-stopped", (await PollAsync(source))[drive].Rule?.Id);

        server.Mutate(Sto + "/Drives/Disk.Bay.1", d => d["Status"] = new JsonObject { ["State"] = "Enabled", ["Health"] = "OK" });
        server.Mutate(Sto + "/Volumes/Disk.Virtual.0", v => v["Status"] = new JsonObject { ["State"] = "Enabled", ["Health"] = "OK" });
        await source.WalkNowAsync(default);
        var done = await PollAsync(source);
        Assert.Equal("drive.online", done[drive].Rule?.Id);
        Assert.Equal("volume.ok", done[volume].Verdict.Code);
    }

    [Fact]
    public async Task Rebuild_StopsLeavingDriveCriticalInCriticalArray_RebuildStoppedNotFailed()
    {
        await using var server = await RedfishMockupServer.StartAsync("idrac9-r750-subsystems");
        await using var source = Create(server);
        await source.PollAsync(default);
        server.Mutate(Sto + "/Drives/Disk.Bay.1", d =>
        {
            d.Remove("Operations");
            d["StatusIndicator"] = "InACriticalArray";
            d["Status"] = new JsonObject { ["State"] = "Enabled", ["Health"] = "Critical" };
        });
        await source.WalkNowAsync(default);
        Assert.Equal("drive.rebuild-stopped", (await PollAsync(source))["redfish:bmc:drive:System.Embedded.1:RAID.Integrated.1-1:Disk.Bay.1"].Rule?.Id);
    }

    [Fact]
    public async Task Rebuild_CompletesNormally_NoRebuildStopped()
    {
        await using var server = await RedfishMockupServer.StartAsync("idrac9-r750-subsystems");
        await using var source = Create(server);
        await source.PollAsync(default);
        server.Mutate(Sto + "/Drives/Disk.Bay.1", d =>
        {
            d.Remove("Operations");
            d["StatusIndicator"] = "OK";
            d["Status"] = new JsonObject { ["State"] = "Enabled", ["Health"] = "OK" };
        });
        await source.WalkNowAsync(default);
        Assert.Equal("drive.online", (await PollAsync(source))["redfish:bmc:drive:System.Embedded.1:RAID.Integrated.1-1:Disk.Bay.1"].Rule?.Id);
    }

    [Fact]
    public async Task System_HealthRollupCritical_BlinksAmberEvenInIdMode()
    {
        await using var server = await RedfishMockupServer.StartAsync("idrac9-r750-subsystems");
        server.Mutate(Sys, s => { s["Status"] = new JsonObject { ["State"] = "Enabled", ["Health"] = "OK", ["HealthRollup"] = "Critical" }; s["LocationIndicatorActive"] = true; });
        await using var source = Create(server);
        var e = (await PollAsync(source))["redfish:bmc:system:System.Embedded.1"];
        Assert.Equal("blinking amber", e.Led());
        Assert.Equal("system.fault", e.Rule?.Id);
    }

    [Fact]
    public async Task Nic_NoPortsAnywhere_FallsBackToEthernetInterfaces()
    {
        await using var server = await RedfishMockupServer.StartAsync("idrac9-r750-subsystems");
        server.Mutate(Ch, c => c.Remove("NetworkAdapters"));
        await using var source = Create(server);
        var all = await PollAsync(source);
        var e = all["redfish:bmc:ethernet:System.Embedded.1:NIC.Integrated.1-1-1"];
        Assert.Equal(HwState.Unknown, e.Verdict.State); // no maximum speed in EthernetInterface: said, not guessed
        Assert.Contains("maximum speed", e.UnknownReason);
        Assert.DoesNotContain(all.Keys, k => k.Contains(":nic:", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Walk_NoMemberIdsHardCoded_FollowsLinksToRenamedMembers()
    {
        await using var server = await RedfishMockupServer.StartAsync("idrac8-r730-legacy");
        // Move the system to another id: only the collection's link knows it.
        var sys = server.Resource(Sys).DeepClone().AsObject();
        sys["Id"] = "Node7";
        server.Remove(Sys);
        server.Mutate("/redfish/v1/Systems", c => c["Members"] = new JsonArray(new JsonObject { ["@odata.id"] = "/redfish/v1/Systems/Node7" }));
        server.AddResource("/redfish/v1/Systems/Node7", sys);
        await using var source = Create(server);
        var all = await PollAsync(source);
        Assert.Contains("redfish:bmc:system:Node7", all.Keys);
    }

    /// <summary>The indicator row, or (when a health row of the derivation decided) that row's id.</summary>
    internal static string? RowOf(Evaluation e) => e.Rule?.Id ?? e.Trace.FirstOrDefault(t => t.Led == "health")?.RowId;
}
