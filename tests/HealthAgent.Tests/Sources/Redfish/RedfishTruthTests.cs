using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using HealthAgent.Model;
using HealthAgent.Rules;
using HealthAgent.Sources.Redfish;
using static HealthAgent.Tests.Sources.Redfish.RedfishTestKit;

namespace HealthAgent.Tests.Sources.Redfish;

/// <summary>
/// Issue #12: the shapes real BMCs serve that the source used to get wrong — repeated links, ids repeated across
/// controllers, links to the wrong kind of resource, paged collections, huge collections, wrongly typed values, ports
/// that were never connected, pulled PSUs and placeholder PSUs.
/// </summary>
public class RedfishTruthTests
{
    private const string Legacy = "idrac8-r730-legacy";
    private const string Subsystems = "idrac9-r750-subsystems";

    private static Evaluation Service(Dictionary<string, Evaluation> all) => all["redfish:bmc"];
    private static string? Reading(Evaluation e, string name) => e.Readings.FirstOrDefault(r => r.Name == name)?.Value as string;

    [Fact]
    public async Task Storage_ListsOneDrive32Times_OneComponentReadOnce()
    {
        await using var server = await RedfishMockupServer.StartAsync(Subsystems);
        server.Mutate(Sto, s => { for (var i = 0; i < 32; i++) s["Drives"]!.AsArray().Add(new JsonObject { ["@odata.id"] = Sto + "/Drives/Disk.Bay.0" }); });
        await using var source = Create(server);
        var r = await source.PollAsync(default);
        Assert.Single(r.Observations, o => o.Component.Id == "redfish:bmc:drive:System.Embedded.1:RAID.Integrated.1-1:Disk.Bay.0");
        Assert.Equal(1, server.Requests.Count(q => q.Path == Sto + "/Drives/Disk.Bay.0"));
    }

    [Fact]
    public async Task TwoControllers_SameDriveId_TwoComponentsEachWithItsOwnState()
    {
        await using var server = await RedfishMockupServer.StartAsync(Subsystems);
        const string second = Sys + "/Storage/AHCI.Embedded.1";
        server.AddResource(second, new JsonObject
        {
            ["@odata.type"] = "#Storage.v1_15_0.Storage", ["@odata.id"] = second, ["Id"] = "AHCI.Embedded.1", ["Name"] = "AHCI",
            ["Drives"] = new JsonArray(new JsonObject { ["@odata.id"] = second + "/Drives/Disk.Bay.0" }),
        });
        server.AddResource(second + "/Drives/Disk.Bay.0", new JsonObject
        {
            ["@odata.type"] = "#Drive.v1_17_0.Drive", ["@odata.id"] = second + "/Drives/Disk.Bay.0", ["Id"] = "Disk.Bay.0", ["Name"] = "Disk 0 on AHCI",
            ["Status"] = new JsonObject { ["State"] = "Enabled", ["Health"] = "Critical" },
        });
        server.Mutate(Sys + "/Storage", c => { c["Members"]!.AsArray().Add(new JsonObject { ["@odata.id"] = second }); c["Members@odata.count"] = 2; });
        await using var source = Create(server);
        var all = await PollAsync(source);
        Assert.Equal("drive.online", all["redfish:bmc:drive:System.Embedded.1:RAID.Integrated.1-1:Disk.Bay.0"].Rule?.Id);
        Assert.Equal("drive.failed", all["redfish:bmc:drive:System.Embedded.1:AHCI.Embedded.1:Disk.Bay.0"].Rule?.Id);
    }

    [Theory]
    [InlineData(Sto, "is a Storage")]                // a Drives link to the Storage itself
    [InlineData(Sys, "is a ComputerSystem")]         // … or to the system
    [InlineData("/redfish/v1/Oops", "answered an error object")] // an error object served with HTTP 200
    public async Task DrivesLink_ToWrongKindOfResource_ErrorOnThatLinkNeverAComponent(string target, string reason)
    {
        await using var server = await RedfishMockupServer.StartAsync(Subsystems);
        server.AddResource("/redfish/v1/Oops", new JsonObject { ["error"] = new JsonObject { ["code"] = "Base.1.8.GeneralError", ["message"] = "internal error" } });
        server.Mutate(Sto, s => s["Drives"]!.AsArray().Add(new JsonObject { ["@odata.id"] = target }));
        await using var source = Create(server);
        var r = await source.PollAsync(default);
        Assert.Contains(r.Errors, e => e.Message.Contains(reason, StringComparison.Ordinal) && e.Message.Contains(target, StringComparison.Ordinal));
        Assert.DoesNotContain(r.Observations, o => o.Component.Family == "drive" && (o.Readings.FirstOrDefault(x => x.Name == "path")?.Value as string) == target);
        var drives = r.Observations.Count(o => o.Component.Family == "drive");
        Assert.Equal(6, drives); // the mockup's six drives, nothing more
    }

    [Fact]
    public async Task ChassisCollection_Paged_NextLinkFollowed()
    {
        await using var server = await RedfishMockupServer.StartAsync(Subsystems);
        server.Mutate("/redfish/v1/Chassis", c =>
        {
            c["Members"] = new JsonArray();
            c["Members@odata.nextLink"] = "/redfish/v1/ChassisPage2";
        });
        server.AddResource("/redfish/v1/ChassisPage2", new JsonObject
        {
            ["@odata.type"] = "#ChassisCollection.ChassisCollection",
            ["Members"] = new JsonArray(new JsonObject { ["@odata.id"] = Ch }), ["Members@odata.count"] = 1,
        });
        await using var source = Create(server);
        var all = await PollAsync(source);
        Assert.Equal("psu.operational", all["redfish:bmc:psu:System.Embedded.1:PSU.Slot.1"].Rule?.Id);
        Assert.Equal("redfish.ok", Service(all).Verdict.Code);
    }

    [Fact]
    public async Task Collection_FailsOnFirstWalk_ServiceDegradedWithPathAndCause()
    {
        await using var server = await RedfishMockupServer.StartAsync(Subsystems);
        server.Inject(Sys + "/Storage", Fault.ServerError);
        await using var source = Create(server);
        var all = await PollAsync(source);
        var service = Service(all);
        Assert.Equal("redfish.degraded", service.Verdict.Code);
        Assert.Contains(Sys + "/Storage", Reading(service, "walkProblem"));
        Assert.Contains("HTTP 500", Reading(service, "walkProblem"));
    }

    [Fact]
    public async Task Storage_5000DrivesAnd5000Volumes_BoundedClearErrorNotMinutes()
    {
        await using var server = await RedfishMockupServer.StartAsync(Subsystems);
        var drives = new JsonArray();
        var volumes = new JsonArray();
        for (var i = 0; i < 5000; i++)
        {
            var d = $"{Sto}/Drives/Gen.{i}";
            var v = $"{Sto}/Volumes/Gen.{i}";
            drives.Add(new JsonObject { ["@odata.id"] = d });
            volumes.Add(new JsonObject { ["@odata.id"] = v });
            server.AddResource(d, new JsonObject { ["@odata.type"] = "#Drive.v1_17_0.Drive", ["@odata.id"] = d, ["Id"] = $"Gen.{i}", ["Status"] = new JsonObject { ["State"] = "Enabled", ["Health"] = "OK" } });
            server.AddResource(v, new JsonObject { ["@odata.type"] = "#Volume.v1_9_0.Volume", ["@odata.id"] = v, ["Id"] = $"Gen.{i}", ["Status"] = new JsonObject { ["State"] = "Enabled", ["Health"] = "OK" } });
        }
        server.Mutate(Sto, s => s["Drives"] = drives);
        server.Mutate(Sto + "/Volumes", c => { c["Members"] = volumes; c["Members@odata.count"] = 5000; });
        await using var source = Create(server);
        var sw = Stopwatch.StartNew();
        await source.WalkNowAsync(default);
        var all = Evaluate(source.LatestWalks());
        var options = new RedfishOptions();
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(60), $"walk took {sw.Elapsed.TotalSeconds:0} s");
        Assert.True(server.Requests.Count <= options.MaxResourcesPerWalk + 10, $"{server.Requests.Count} requests");
        var service = Service(all);
        Assert.Equal("redfish.degraded", service.Verdict.Code);
        Assert.Contains("maxMembersPerCollection", Reading(service, "walkProblem"));
        Assert.Contains(Sto, Reading(service, "walkProblem"));
        Assert.Equal(options.MaxMembersPerCollection, all.Keys.Count(k => k.Contains(":drive:", StringComparison.Ordinal)));
        Assert.Equal(options.MaxMembersPerCollection, all.Keys.Count(k => k.Contains(":volume:", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task WalkBudget_Reached_StopsWithClearError()
    {
        await using var server = await RedfishMockupServer.StartAsync(Subsystems);
        var ep = new RedfishEndpointOptions { Name = "bmc", Url = server.Url, TimeoutSeconds = 5 };
        await using var source = new RedfishSource(new RedfishOptions { Enabled = true, IntervalSeconds = 3600, MaxResourcesPerWalk = 10, Endpoints = [ep] },
            new HealthAgent.Sources.SourceContext(Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance, RedfishTestKit.Rules, TimeProvider.System));
        var all = await PollAsync(source);
        Assert.True(server.Requests.Count <= 12, $"{server.Requests.Count} requests"); // the service root, the EventService and ten more
        Assert.Contains("maxResourcesPerWalk", Reading(Service(all), "walkProblem"));
        Assert.Equal("redfish.degraded", Service(all).Verdict.Code);
    }

    [Fact]
    public async Task ReadingCelsius_AString_ReasonSaysItIsAString()
    {
        await using var server = await RedfishMockupServer.StartAsync(Legacy);
        server.Mutate(Ch + "/Thermal", t => t["Temperatures"]![0]!["ReadingCelsius"] = "95");
        await using var source = Create(server);
        var all = await PollAsync(source);
        var e = all.Values.Single(x => x.Component.Id.StartsWith("redfish:bmc:temp:", StringComparison.Ordinal) && x.Component.Id.Contains("Inlet", StringComparison.Ordinal));
        Assert.Equal(HwState.Unknown, e.Verdict.State);
        Assert.Contains("ReadingCelsius is a string (\"95\")", e.UnknownReason);
    }

    [Fact]
    public void Json_NestedDeeperThan64_ReasonSaysSo()
    {
        var body = Encoding.UTF8.GetBytes(new string('[', 70) + new string(']', 70));
        var r = RedfishClient.Parse("/redfish/v1/Deep", "application/json", Encoding.UTF8.GetBytes("{\"a\":" + Encoding.UTF8.GetString(body) + "}"), 200);
        Assert.False(r.Ok);
        Assert.Contains("nested deeper than 64 levels", r.Error);
        Assert.DoesNotContain("truncated", r.Error);
    }

    [Fact]
    public async Task Port_NeverLinked_InfoNotConnected_ThenUpAndLost_Warning()
    {
        await using var server = await RedfishMockupServer.StartAsync(Subsystems);
        const string port = Ch + "/NetworkAdapters/NIC.Integrated.1/Ports/NIC.Integrated.1-3";
        const string id = "redfish:bmc:nic:System.Embedded.1:NIC.Integrated.1:NIC.Integrated.1-3";
        await using var source = Create(server);
        var never = (await PollAsync(source))[id];
        Assert.Equal(Severity.Info, never.Verdict.Severity);
        Assert.Equal("nic.not_connected", never.Verdict.Code);
        var linkDown = server.Resource(port)["LinkStatus"]!.GetValue<string>();
        server.Mutate(port, p => p["LinkStatus"] = "LinkUp");
        await source.WalkNowAsync(default);
        Assert.Equal(true, Evaluate(source.LatestWalks())[id].Readings.Single(r => r.Name == "everLinkedUp").Value);
        server.Mutate(port, p => p["LinkStatus"] = linkDown);
        await source.WalkNowAsync(default);
        var lost = Evaluate(source.LatestWalks())[id];
        Assert.Equal("nic.not-connected", lost.Rule?.Id); // the manual's row: link lost
        Assert.Equal(Severity.Warning, lost.Verdict.Severity);
    }

    [Fact]
    public async Task Port_WithoutLinkStatus_LinkUnknownNotDown()
    {
        await using var server = await RedfishMockupServer.StartAsync(Subsystems);
        server.Mutate(Ch + "/NetworkAdapters/NIC.Integrated.1/Ports/NIC.Integrated.1-1", p => p.Remove("LinkStatus"));
        await using var source = Create(server);
        var e = (await PollAsync(source))["redfish:bmc:nic:System.Embedded.1:NIC.Integrated.1:NIC.Integrated.1-1"];
        Assert.Equal(HwState.Unknown, e.Verdict.State);
        Assert.Contains("LinkStatus is missing", e.UnknownReason);
    }

    [Fact]
    public async Task Psu_PulledAfterBeingSeen_RedundancyLost_EmptyFromTheStart_NotAFault()
    {
        await using var server = await RedfishMockupServer.StartAsync(Legacy);
        await using var source = Create(server);
        Assert.Equal("psu.redundancy_ok", (await PollAsync(source))["redfish:bmc:psu-redundancy:System.Embedded.1"].Verdict.Code);
        server.Mutate(Ch + "/Power", p => p["PowerSupplies"]![1]!["Status"] = new JsonObject { ["State"] = "Absent" });
        await source.WalkNowAsync(default);
        var all = Evaluate(source.LatestWalks());
        Assert.Equal("psu.redundancy_lost", all["redfish:bmc:psu-redundancy:System.Embedded.1"].Verdict.Code);
        Assert.Equal("psu.absent", all["redfish:bmc:psu:System.Embedded.1:PSU.Slot.2"].Verdict.Code);
    }

    [Fact]
    public async Task Psu_PlaceholderNil_AndStateOnly_NotCountedAsFailed()
    {
        await using var server = await RedfishMockupServer.StartAsync(Legacy);
        server.Mutate(Ch + "/Power", p =>
        {
            p["PowerSupplies"]!.AsArray().Add(new JsonObject { ["MemberId"] = "2", ["Name"] = "nil" }); // Gigabyte/AMI empty bay
            p["PowerSupplies"]![1]!["Status"] = new JsonObject { ["State"] = "Enabled" };                // a rectifier without Health
        });
        await using var source = Create(server);
        var all = await PollAsync(source);
        Assert.DoesNotContain(all.Keys, k => k.EndsWith(":psu:System.Embedded.1:2", StringComparison.Ordinal));
        var rollup = all["redfish:bmc:psu-redundancy:System.Embedded.1"];
        Assert.Equal("psu.redundancy_ok", rollup.Verdict.Code);
        Assert.Equal(2.0, rollup.Readings.Single(r => r.Name == "psuWorking").Value);
    }

    [Fact]
    public async Task Redundancy_DmtfMinNumNeededIsFaultTolerance_BothPsusOk_NotLost()
    {
        // HPE iLO 5 (DL325): Redundancy[0].MinNumNeeded = 2, both PSUs OK, the BMC's redundancy OK.
        await using var server = await RedfishMockupServer.StartAsync(Legacy);
        await using var source = Create(server);
        var rollup = (await PollAsync(source))["redfish:bmc:psu-redundancy:System.Embedded.1"];
        Assert.Equal(2.0, rollup.Readings.Single(r => r.Name == "minNeeded").Value);
        Assert.Equal("psu.redundancy_ok", rollup.Verdict.Code);
        Assert.Equal(Severity.Ok, rollup.Verdict.Severity);
    }

    [Fact]
    public async Task NextLink_BackToAPageAlreadyRead_StopsWithAWalkProblem()
    {
        await using var server = await RedfishMockupServer.StartAsync(Subsystems);
        server.Mutate("/redfish/v1/Chassis", c => c["Members@odata.nextLink"] = "/redfish/v1/Chassis");
        await using var source = Create(server);
        var all = await PollAsync(source);
        Assert.Equal("psu.operational", all["redfish:bmc:psu:System.Embedded.1:PSU.Slot.1"].Rule?.Id); // the members of the first page still count
        Assert.Contains("repeats a page", Reading(Service(all), "walkProblem"));
        Assert.True(server.Requests.Count(r => r.Path == "/redfish/v1/Chassis") <= 2);
    }

    [Fact]
    public async Task Conditions_NamingAPart_AttachedToThatPart_OtherwiseToTheSystem()
    {
        await using var server = await RedfishMockupServer.StartAsync(Subsystems);
        server.Mutate(Sys, s => s["Status"] = new JsonObject
        {
            ["State"] = "Enabled", ["Health"] = "OK", ["HealthRollup"] = "Warning",
            ["Conditions"] = new JsonArray(
                new JsonObject { ["Severity"] = "Warning", ["Message"] = "PSU 1 input out of range.", ["OriginOfCondition"] = new JsonObject { ["@odata.id"] = Psus + "/PSU.Slot.1" } },
                new JsonObject { ["Severity"] = "Warning", ["Message"] = "Chassis intrusion detected." }),
        });
        await using var source = Create(server);
        var all = await PollAsync(source);
        Assert.Equal("Warning: PSU 1 input out of range.", Reading(all["redfish:bmc:psu:System.Embedded.1:PSU.Slot.1"], "conditions"));
        var system = all["redfish:bmc:system:System.Embedded.1"];
        Assert.Contains("Chassis intrusion detected.", Reading(system, "conditions"));
        Assert.Equal("system.warning", system.Verdict.Code); // a Warning roll-up is a warning, not the panel's critical fault
        Assert.Equal(Severity.Warning, system.Verdict.Severity);
    }
}
