using System.Text.Json.Nodes;
using HealthAgent.Model;
using static HealthAgent.Tests.Sources.Redfish.RedfishTestKit;

namespace HealthAgent.Tests.Sources.Redfish;

/// <summary>Bad BMC answers make the affected component unknown, with the reason; everything else is unaffected.</summary>
public class RedfishBrokenAnswerTests
{
    [Theory]
    [InlineData(Fault.Unauthorized, "HTTP 401")]
    [InlineData(Fault.NotFound, "HTTP 404")]
    [InlineData(Fault.ServerError, "HTTP 500")]
    [InlineData(Fault.Html, "HTML")]
    [InlineData(Fault.Truncated, "truncated JSON")]
    [InlineData(Fault.Slow, "no answer within")]
    public async Task PsuAnswer_Broken_OnlyThatPsuUnknownWithReason(Fault fault, string reason)
    {
        await using var server = await RedfishMockupServer.StartAsync("idrac9-r750-subsystems");
        server.Inject(Psus + "/PSU.Slot.2", fault, TimeSpan.FromSeconds(5));
        await using var source = Create(server, e => e.TimeoutSeconds = 0.5);
        var result = await source.PollAsync(default);
        var all = Evaluate(result);
        var broken = all["redfish:bmc:psu:System.Embedded.1:PSU.Slot.2"];
        Assert.Equal(HwState.Unknown, broken.Verdict.State);
        Assert.Contains(reason, broken.UnknownReason);
        Assert.Contains("PSU.Slot.2", broken.UnknownReason);
        Assert.Contains(result.Errors, e => e.Message.Contains(reason, StringComparison.Ordinal));
        // Unaffected: the other PSUs, the drives and the system.
        Assert.Equal("psu.operational", all["redfish:bmc:psu:System.Embedded.1:PSU.Slot.1"].Rule?.Id);
        Assert.Equal("drive.online", all["redfish:bmc:drive:System.Embedded.1:RAID.Integrated.1-1:Disk.Bay.0"].Rule?.Id);
        Assert.Equal("system.healthy", all["redfish:bmc:system:System.Embedded.1"].Rule?.Id);
        // With one PSU unreadable the roll-up cannot count, and says so rather than guessing (the BMC's own status still counts).
        var spare = all["redfish:bmc:psu-redundancy:System.Embedded.1"].Readings.Single(r => r.Name == "sparePsus");
        Assert.Null(spare.Value);
        Assert.Contains("could not be read", spare.Reason);
    }

    [Fact]
    public async Task DriveLink_PointsNowhere_DriveUnknownWith404()
    {
        await using var server = await RedfishMockupServer.StartAsync("idrac9-r750-subsystems");
        server.Mutate(Sto, s => s["Drives"]!.AsArray().Add(new JsonObject { ["@odata.id"] = Sto + "/Drives/Disk.Bay.9" }));
        await using var source = Create(server);
        var all = await PollAsync(source);
        Assert.Contains("HTTP 404", all["redfish:bmc:drive:System.Embedded.1:RAID.Integrated.1-1:Disk.Bay.9"].UnknownReason);
        Assert.Equal("drive.online", all["redfish:bmc:drive:System.Embedded.1:RAID.Integrated.1-1:Disk.Bay.0"].Rule?.Id);
    }

    [Fact]
    public async Task Properties_MissingOrNull_ComponentUnknownNamingTheProperty()
    {
        await using var server = await RedfishMockupServer.StartAsync("idrac9-r750-subsystems");
        server.Mutate(Psus + "/PSU.Slot.1", p => p.Remove("Status"));
        await using var source = Create(server);
        var result = await source.PollAsync(default);
        var all = Evaluate(result);
        var psu = all["redfish:bmc:psu:System.Embedded.1:PSU.Slot.1"];
        Assert.Equal(HwState.Unknown, psu.Verdict.State);
        Assert.Contains("Status.Health", psu.UnknownReason);
        Assert.Contains("Status.Health is missing", psu.Readings.Single(r => r.Name == "health").Reason);
        // LinkStatus missing on port 1-4 (in the fixture).
        var port = all["redfish:bmc:nic:System.Embedded.1:NIC.Integrated.1:NIC.Integrated.1-4"];
        Assert.Equal(HwState.Unknown, port.Verdict.State);
        Assert.Contains("LinkStatus", port.UnknownReason);
        // Null reading on the exhaust sensor.
        var exhaust = result.Observations.Single(o => o.Component.Id.EndsWith("SystemBoardExhaustTemp", StringComparison.Ordinal));
        Assert.Equal("Reading is null", exhaust.Readings.Single(r => r.Name == "readingCelsius").Reason);
    }

    [Fact]
    public async Task Collection_FailsAfterGoodWalk_PreviousMembersKeptAsUnknown()
    {
        await using var server = await RedfishMockupServer.StartAsync("idrac9-r750-subsystems");
        await using var source = Create(server);
        Assert.Equal("drive.online", (await PollAsync(source))["redfish:bmc:drive:System.Embedded.1:RAID.Integrated.1-1:Disk.Bay.0"].Rule?.Id);
        server.Inject(Sto, Fault.ServerError);
        await source.WalkNowAsync(default);
        var all = await PollAsync(source);
        var d = all["redfish:bmc:drive:System.Embedded.1:RAID.Integrated.1-1:Disk.Bay.0"];
        Assert.Equal(HwState.Unknown, d.Verdict.State);
        Assert.Contains("HTTP 500", d.UnknownReason);
        Assert.Equal("psu.operational", all["redfish:bmc:psu:System.Embedded.1:PSU.Slot.1"].Rule?.Id);
    }

    [Fact]
    public async Task ServiceRoot_Unauthorized_ServiceFailedAndNoCrash()
    {
        await using var server = await RedfishMockupServer.StartAsync("idrac9-r750-subsystems");
        server.Inject("/redfish/v1", Fault.Unauthorized);
        await using var source = Create(server);
        var all = await PollAsync(source);
        var svc = all["redfish:bmc"];
        Assert.Equal("redfish.unreachable", svc.Verdict.Code);
        Assert.Contains("HTTP 401", (string)svc.Readings.Single(r => r.Name == "lastError").Value!);
    }

    [Fact]
    public async Task SlowBmc_UnderTheSourceRunner_ReportedHungAndWalksNeverStacked()
    {
        // One scheduling model (issue #12): the runner polls the Redfish source like any other, bounds each poll by its
        // timeout, reports a poll stuck past it as hung and starts no second one while it runs.
        await using var server = await RedfishMockupServer.StartAsync("idrac9-r750-subsystems");
        await using var source = Create(server, e => e.TimeoutSeconds = 30, intervalSeconds: 0.4);
        var options = new HealthAgent.Config.SourceOptions { IntervalSeconds = 0.4, TimeoutSeconds = 0.3 };
        var output = System.Threading.Channels.Channel.CreateUnbounded<HealthAgent.Sources.SourceResult>();
        var runner = new HealthAgent.Pipeline.SourceRunner(source, options, output.Writer, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, TimeProvider.System);
        using var stop = new CancellationTokenSource();
        var run = runner.RunAsync(stop.Token);
        // A first complete walk arrives through the runner.
        using (var first = new CancellationTokenSource(TimeSpan.FromSeconds(10)))
            while (true)
            {
                var r = await output.Reader.ReadAsync(first.Token);
                if (r.Complete && r.Observations.Any(o => o.Component.Id == "redfish:bmc:psu:System.Embedded.1:PSU.Slot.1")) break;
            }
        server.Inject("/redfish/v1", Fault.Slow, TimeSpan.FromSeconds(3));
        using (var hung = new CancellationTokenSource(TimeSpan.FromSeconds(10)))
            while (true)
            {
                var r = await output.Reader.ReadAsync(hung.Token);
                if (r.Errors.Any(e => e.Device == HealthAgent.Pipeline.SourceRunner.WholeSource && e.Message.Contains("hung", StringComparison.Ordinal))) break;
            }
        Assert.True(runner.Stats.Hung);
        await Task.Delay(1000); // several intervals pass while the walk hangs: no second walk is started beside it
        Assert.True(server.SlowInFlight <= 1, $"{server.SlowInFlight} walks in flight");
        stop.Cancel();
        await run;
    }

    [Fact]
    public async Task ManyRequests_NeverMoreInFlightThanMaxConcurrency()
    {
        await using var server = await RedfishMockupServer.StartAsync("idrac9-r750-subsystems");
        foreach (var bay in Enumerable.Range(0, 6)) server.Inject($"{Sto}/Drives/Disk.Bay.{bay}", Fault.Slow, TimeSpan.FromMilliseconds(100));
        await using var source = Create(server, e => e.MaxConcurrency = 2);
        var all = await PollAsync(source);
        Assert.Equal("drive.online", all["redfish:bmc:drive:System.Embedded.1:RAID.Integrated.1-1:Disk.Bay.0"].Rule?.Id);
        Assert.InRange(server.MaxInFlight, 1, 2);
    }

    [Fact]
    public async Task BmcGone_LastGoodViewKeptThenUnknownWhenStale()
    {
        await using var server = await RedfishMockupServer.StartAsync("idrac9-r750-subsystems");
        var ep = new HealthAgent.Sources.Redfish.RedfishEndpointOptions { Name = "bmc", Url = server.Url, TimeoutSeconds = 5 };
        var o = new HealthAgent.Sources.Redfish.RedfishOptions { Enabled = true, IntervalSeconds = 3600, StaleAfterSeconds = 3601, Endpoints = [ep] };
        await using var source = new HealthAgent.Sources.Redfish.RedfishSource(o, new HealthAgent.Sources.SourceContext(
            Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance, RedfishTestKit.Rules, TimeProvider.System));
        await source.PollAsync(default);
        server.Inject("/redfish/v1", Fault.ServerError);
        await source.WalkNowAsync(default);
        var cached = await PollAsync(source);
        Assert.Equal("redfish.unreachable", cached["redfish:bmc"].Verdict.Code);
        Assert.Equal("psu.operational", cached["redfish:bmc:psu:System.Embedded.1:PSU.Slot.1"].Rule?.Id); // last good view, not yet stale

        o.StaleAfterSeconds = 0.05; // the same view, now older than the limit
        await Task.Delay(100);
        var stale = await PollAsync(source);
        Assert.Equal(HwState.Unknown, stale["redfish:bmc:psu:System.Embedded.1:PSU.Slot.1"].Verdict.State);
        Assert.Contains("HTTP 500", stale["redfish:bmc:psu:System.Embedded.1:PSU.Slot.1"].UnknownReason);
    }

    [Fact]
    public async Task NothingListening_ServiceUnreachableWithReason()
    {
        var server = await RedfishMockupServer.StartAsync("idrac9-r750-subsystems");
        var url = server.Url;
        await server.DisposeAsync();
        await using var source = Create(server, url: url);
        var result = await source.PollAsync(default);
        var svc = Evaluate(result)["redfish:bmc"];
        Assert.Equal("redfish.unreachable", svc.Verdict.Code);
        Assert.Contains("/redfish/v1", Assert.Single(result.Errors).Message);
        Assert.Single(result.Observations); // only the service: nothing was ever read
    }
}
