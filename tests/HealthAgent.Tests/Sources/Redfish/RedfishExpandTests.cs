using System.Globalization;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using HealthAgent.Model;
using HealthAgent.Simulator;
using HealthAgent.Sources;
using HealthAgent.Sources.Redfish;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;
using static HealthAgent.Tests.Sources.Redfish.RedfishTestKit;

namespace HealthAgent.Tests.Sources.Redfish;

/// <summary>
/// $expand (DSP0266 "Query parameters"): a walk of a service that advertises it makes far fewer requests and yields
/// exactly what the one-GET-per-resource walk yields; whatever the expanded answers lack is read one by one.
/// </summary>
public class RedfishExpandTests(ITestOutputHelper output)
{
    /// <summary>Every observation but the service component (its walk timings differ) as comparable text.</summary>
    private static List<string> Canonical(SourceResult r) =>
        r.Observations.Where(o => o.Component.Id != "redfish:bmc")
            .Select(o => $"{o.Component.Id} | unknown: {o.UnknownReason} | " + string.Join("; ", o.Readings.OrderBy(x => x.Name, StringComparer.Ordinal)
                .Select(x => $"{x.Name}={Convert.ToString(x.Value, CultureInfo.InvariantCulture)}{x.Unit}{(x.Reason is null ? "" : " (" + x.Reason + ")")}")))
            .Order(StringComparer.Ordinal).ToList();

    private static async Task<(List<string> Observations, long Requests)> WalkSimulatorAsync(RedfishService sim, bool expandOption = true)
    {
        await using var source = new RedfishSource(
            new RedfishOptions { Enabled = true, IntervalSeconds = 3600, Endpoints = [new RedfishEndpointOptions { Name = "bmc", Url = sim.BaseAddress.ToString(), Expand = expandOption }] },
            new SourceContext(NullLoggerFactory.Instance, RedfishTestKit.Rules, TimeProvider.System));
        var before = sim.Requests;
        await source.WalkNowAsync(default);
        var requests = sim.Requests - before;
        return (Canonical(source.LatestWalks()), requests); // not PollAsync: its background walk would add requests
    }

    private static async Task<(List<string> Observations, int Requests)> WalkMockupAsync(RedfishMockupServer server, ILoggerFactory? logs = null)
    {
        await using var source = Create(server, logs: logs);
        var before = server.Requests.Count;
        await source.WalkNowAsync(default);
        var requests = server.Requests.Count - before;
        return (Canonical(source.LatestWalks()), requests);
    }

    private static async Task<Simulation> StartSimulatorAsync() =>
        await Simulation.StartAsync(new SimulationOptions(RedfishPort: 0, PanelLink: null), RedfishTestKit.Rules, NullLoggerFactory.Instance, default);

    [Theory]
    [InlineData("")] // healthy appliance
    [InlineData("psu2=fault drive1=rebuilding drive1.rebuild=40 drive3=failed nic2=downshift fan3=900 temp.cpu1=90 system.identify=true")]
    public async Task Simulator_WalkWithExpand_SameObservationsFarFewerRequests(string state)
    {
        await using var sim = await StartSimulatorAsync();
        foreach (var kv in state.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(x => x.Split('=')))
            Assert.Empty(sim.Appliance.Set(kv[0], kv[1]));
        var expanded = await WalkSimulatorAsync(sim.Redfish!);
        var expandedGets = sim.Redfish!.ExpandedRequests;
        var optedOut = await WalkSimulatorAsync(sim.Redfish!, expandOption: false);
        Assert.Empty(sim.Appliance.Set("bmc.expand", "false"));
        var plain = await WalkSimulatorAsync(sim.Redfish!);
        output.WriteLine($"requests per walk: {expanded.Requests} with $expand ({expandedGets} expanded), {plain.Requests} without (service without ExpandQuery), {optedOut.Requests} with expand=false");

        Assert.True(plain.Observations.Count > 20, string.Join("\n", plain.Observations));
        Assert.Equal(plain.Observations, expanded.Observations);
        Assert.Equal(plain.Observations, optedOut.Observations);
        Assert.True(expanded.Requests <= 15, $"{expanded.Requests} requests with $expand");
        Assert.Equal(plain.Requests, optedOut.Requests);
        Assert.True(plain.Requests >= 40, $"{plain.Requests} requests without $expand");
        Assert.Equal(0, sim.Redfish!.ExpandedRequests - expandedGets); // nothing asked for $expand once it is not advertised
    }

    [Theory]
    [InlineData("idrac9-r750-subsystems")]
    [InlineData("idrac8-r730-legacy")]
    public async Task Mockup_WalkWithExpand_SameObservationsFewerRequests(string tree)
    {
        await using var server = await RedfishMockupServer.StartAsync(tree);
        var plain = await WalkMockupAsync(server);
        Assert.Equal(0, server.ExpandRequests); // not advertised: never asked
        server.ExpandQuery = RedfishMockupServer.Idrac9Expand();
        var expanded = await WalkMockupAsync(server);
        output.WriteLine($"{tree}: {expanded.Requests} requests with $expand, {plain.Requests} without");
        Assert.Equal(plain.Observations, expanded.Observations);
        Assert.True(expanded.Requests < plain.Requests * 2 / 3, $"{expanded.Requests} with $expand vs {plain.Requests}");
    }

    [Fact]
    public async Task SlowBmc_WalkWithExpand_FewerRoundTripsFasterWalk()
    {
        await using var server = await RedfishMockupServer.StartAsync("idrac9-r750-subsystems");
        async Task<(TimeSpan Took, int Requests)> WalkAsync()
        {
            await using var source = Create(server); // maxConcurrency 2, as configured by default
            var before = server.Requests.Count;
            var sw = System.Diagnostics.Stopwatch.StartNew();
            await source.WalkNowAsync(default);
            return (sw.Elapsed, server.Requests.Count - before);
        }
        // Warm up both paths first (JIT, connections), so neither measured walk pays for it.
        await WalkAsync();
        server.ExpandQuery = RedfishMockupServer.Idrac9Expand();
        await WalkAsync();
        server.ExpandQuery = null;
        server.Latency = TimeSpan.FromMilliseconds(100); // a quick iDRAC answer; 100–500 ms is usual
        var plain = await WalkAsync();
        server.ExpandQuery = RedfishMockupServer.Idrac9Expand();
        var mark = server.Requests.Count;
        var expanded = await WalkAsync();
        output.WriteLine(string.Join(", ", server.Requests.Skip(mark).Select(r => r.Path)));
        output.WriteLine($"100 ms per answer, maxConcurrency 2: walk {plain.Took.TotalSeconds:0.00} s ({plain.Requests} requests) without $expand, {expanded.Took.TotalSeconds:0.00} s ({expanded.Requests}) with");
        Assert.True(expanded.Took < plain.Took, $"{expanded.Took} with $expand vs {plain.Took}");
    }

    [Fact]
    public async Task Mockup_OnlyExpandAllAdvertised_UsesAsteriskAndStillSame()
    {
        await using var server = await RedfishMockupServer.StartAsync("idrac9-r750-subsystems");
        var plain = await WalkMockupAsync(server);
        server.ExpandQuery = new JsonObject { ["ExpandAll"] = true }; // no NoLinks, no Levels: "$expand=*"
        var expanded = await WalkMockupAsync(server);
        Assert.Equal(plain.Observations, expanded.Observations);
        Assert.True(expanded.Requests < plain.Requests, $"{expanded.Requests} vs {plain.Requests}");
    }

    [Theory]
    [InlineData(ExpandedAs.Stub)]
    [InlineData(ExpandedAs.Error)]
    public async Task ExpandedMember_StubOrError_ReadByItsOwnGet(ExpandedAs broken)
    {
        await using var server = await RedfishMockupServer.StartAsync("idrac9-r750-subsystems");
        var plain = await WalkMockupAsync(server);
        server.ExpandQuery = RedfishMockupServer.Idrac9Expand();
        const string drive = Sto + "/Drives/Disk.Bay.3", psu = Psus + "/PSU.Slot.2";
        server.ExpandBroken[drive] = broken;
        server.ExpandBroken[psu] = broken;
        var expanded = await WalkMockupAsync(server);
        Assert.Equal(plain.Observations, expanded.Observations);
        Assert.Contains(server.Requests, r => r is { Method: "GET", Path: drive });
        Assert.Contains(server.Requests, r => r is { Method: "GET", Path: psu });
    }

    [Fact]
    public async Task ExpandedMember_ErrorAndItsOwnGetFails_UnknownWithPath()
    {
        await using var server = await RedfishMockupServer.StartAsync("idrac9-r750-subsystems");
        server.ExpandQuery = RedfishMockupServer.Idrac9Expand();
        const string drive = Sto + "/Drives/Disk.Bay.3";
        server.Inject(drive, Fault.ServerError); // inside expanded answers it becomes an error object (the mockup's rule)
        await using var source = Create(server);
        var all = await PollAsync(source);
        var e = all["redfish:bmc:drive:System.Embedded.1:RAID.Integrated.1-1:Disk.Bay.3"];
        Assert.Equal(HwState.Unknown, e.Verdict.State);
        Assert.Contains(drive, e.UnknownReason);
        Assert.Contains("500", e.UnknownReason);
        Assert.Equal("drive.online", all["redfish:bmc:drive:System.Embedded.1:RAID.Integrated.1-1:Disk.Bay.0"].Rule?.Id);
    }

    [Fact]
    public async Task ExpandedCollection_FewerMembersThanCount_ReadWithoutExpand()
    {
        await using var server = await RedfishMockupServer.StartAsync("idrac9-r750-subsystems");
        var plain = await WalkMockupAsync(server);
        server.ExpandQuery = RedfishMockupServer.Idrac9Expand();
        // A service that drops a member from the expanded collection but still counts it.
        server.Mutate(Psus, c => c["Members@odata.count"] = c["Members"]!.AsArray().Count + 1);
        var expanded = await WalkMockupAsync(server);
        Assert.Equal(plain.Observations, expanded.Observations);
        Assert.Contains(server.Requests, r => r is { Method: "GET", Path: Psus + "/PSU.Slot.6" });
    }

    [Theory]
    [InlineData(400)]
    [InlineData(501)]
    [InlineData(0)] // answer over the 8 MiB cap
    [InlineData(-1)] // no answer within the request timeout
    public async Task ExpandRefusedOrTooLarge_WalkCompleteLoggedOnceThenNotAskedAgain(int status)
    {
        await using var server = await RedfishMockupServer.StartAsync("idrac9-r750-subsystems");
        var plain = await WalkMockupAsync(server);
        server.ExpandQuery = RedfishMockupServer.Idrac9Expand();
        if (status == 0) server.ExpandTooLarge = true;
        else if (status == -1) server.ExpandDelay = TimeSpan.FromSeconds(3);
        else server.ExpandRefusal = status;
        var logs = new CapturingLoggerProvider();
        using var factory = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Debug));
        await using var source = Create(server, ep => ep.TimeoutSeconds = status == -1 ? 0.5 : 5, logs: factory);
        await source.WalkNowAsync(default);
        Assert.Equal(plain.Observations, Canonical(source.LatestWalks()));
        var asked = server.ExpandRequests;
        Assert.True(asked > 0);
        var warnings = logs.Messages.Where(m => m.Contains("$expand of", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(warnings);
        Assert.Equal(warnings.Count, warnings.Distinct().Count()); // each resource once

        await source.WalkNowAsync(default);
        Assert.Equal(plain.Observations, Canonical(source.LatestWalks()));
        Assert.Equal(asked, server.ExpandRequests); // refused resources are read without $expand from then on
        Assert.Equal(warnings.Count, logs.Messages.Count(m => m.Contains("$expand of", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task ExpandOn_SseEventRereadsSingleResource()
    {
        await using var server = await RedfishMockupServer.StartAsync("idrac9-r750-subsystems");
        server.ExpandQuery = RedfishMockupServer.Idrac9Expand();
        await using var source = Create(server, intervalSeconds: 3600);
        var changes = Channel.CreateUnbounded<SourceResult>();
        using var stop = new CancellationTokenSource();
        await source.PollAsync(default);
        var run = source.RunAsync(changes.Writer, stop.Token);
        await EventuallyAsync(() => Task.FromResult(server.SseClients), n => n == 1);

        const string psu = Psus + "/PSU.Slot.1";
        server.Mutate(psu, p => p["Status"] = new JsonObject { ["State"] = "Enabled", ["Health"] = "Critical" });
        var gets = server.Requests.Count(r => r is { Method: "GET", Path: psu });
        server.PushEvent(psu);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        SourceResult pushed;
        do pushed = await changes.Reader.ReadAsync(timeout.Token);
        while (!(pushed.Observations.Count == 1 && pushed.Observations[0].Component.Id == "redfish:bmc:psu:System.Embedded.1:PSU.Slot.1"));
        Assert.Equal("psu.problem", Evaluate(pushed)["redfish:bmc:psu:System.Embedded.1:PSU.Slot.1"].Rule?.Id);
        Assert.True(server.Requests.Count(r => r is { Method: "GET", Path: psu }) > gets); // re-read by its own GET
        stop.Cancel();
        await run;
    }

    [Fact]
    public async Task ExpandOn_IdentifyDrivePatchesAndRereadsDrive()
    {
        await using var server = await RedfishMockupServer.StartAsync("idrac9-r750-subsystems");
        server.ExpandQuery = RedfishMockupServer.Idrac9Expand();
        await using var source = Create(server);
        await source.PollAsync(default);
        const string drive = Sto + "/Drives/Disk.Bay.0";
        Assert.DoesNotContain(server.Requests, r => r is { Method: "GET", Path: drive }); // came inline with its storage
        Assert.True(await source.IdentifyAsync("redfish:bmc:drive:System.Embedded.1:RAID.Integrated.1-1:Disk.Bay.0", true, default));
        Assert.Contains(server.Requests, r => r is { Method: "PATCH", Path: drive });
        Assert.Contains(server.Requests, r => r is { Method: "GET", Path: drive });
        Assert.Equal("drive.identify", (await PollAsync(source))["redfish:bmc:drive:System.Embedded.1:RAID.Integrated.1-1:Disk.Bay.0"].Rule?.Id);
    }

    [Fact]
    public async Task Simulator_ExpandOn_IdentifyAndSseWork()
    {
        await using var sim = await StartSimulatorAsync();
        await using var source = new RedfishSource(
            new RedfishOptions { Enabled = true, IntervalSeconds = 3600, Endpoints = [new RedfishEndpointOptions { Name = "sim", Url = sim.Redfish!.BaseAddress.ToString() }] },
            new SourceContext(NullLoggerFactory.Instance, RedfishTestKit.Rules, TimeProvider.System));
        var changes = Channel.CreateUnbounded<SourceResult>();
        using var stop = new CancellationTokenSource();
        await source.PollAsync(default);
        Assert.True(sim.Redfish.ExpandedRequests > 0);
        var run = source.RunAsync(changes.Writer, stop.Token);

        Assert.True(await source.IdentifyAsync("redfish:sim:drive:1:RAID1:Disk.Bay.2", true, default));
        Assert.Equal("identify", sim.Appliance.Word("drive2"));
        Assert.Equal("drive.identify", (await PollAsync(source))["redfish:sim:drive:1:RAID1:Disk.Bay.2"].Rule?.Id);

        // The stream is subscribed to once the first walk found it; a PSU failure then arrives as a pushed re-read.
        Assert.Equal(1, await EventuallyAsync(() => Task.FromResult(sim.Redfish.SseClients), n => n == 1));
        Assert.Empty(sim.Appliance.Set("psu2", "fault"));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        while (true)
        {
            var r = await changes.Reader.ReadAsync(timeout.Token);
            if (r.Observations.FirstOrDefault(o => o.Component.Id == "redfish:sim:psu:1:PSU2") is { } o && Evaluate(r)["redfish:sim:psu:1:PSU2"].Rule?.Id == "psu.problem") break;
        }
        stop.Cancel();
        await run;
    }
}
