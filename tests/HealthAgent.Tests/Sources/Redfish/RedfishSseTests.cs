using System.Diagnostics;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using HealthAgent.Sources;
using HealthAgent.Sources.Redfish;
using Xunit.Abstractions;
using static HealthAgent.Tests.Sources.Redfish.RedfishTestKit;

namespace HealthAgent.Tests.Sources.Redfish;

/// <summary>EventService SSE: a change pushed by the BMC reaches the source without waiting for a poll.</summary>
public class RedfishSseTests(ITestOutputHelper output)
{
    private static async Task<(RedfishMockupServer Server, RedfishSource Source, Channel<SourceResult> Changes, CancellationTokenSource Stop, Task Run)> StartAsync()
    {
        var server = await RedfishMockupServer.StartAsync("idrac9-r750-subsystems");
        var source = Create(server, intervalSeconds: 3600); // polling alone would take an hour
        var changes = Channel.CreateUnbounded<SourceResult>();
        var stop = new CancellationTokenSource();
        await source.PollAsync(default);
        var run = source.RunAsync(changes.Writer, stop.Token);
        await EventuallyAsync(() => Task.FromResult(server.SseClients), n => n == 1);
        Assert.Equal(1, server.SseClients);
        return (server, source, changes, stop, run);
    }

    /// <summary>The next pushed result with that component whose evaluation has <paramref name="code"/> (earlier pushes, e.g. a walk after reconnecting, are skipped).</summary>
    private static async Task<SourceResult> NextWithAsync(ChannelReader<SourceResult> r, string componentId, string code)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (true)
        {
            var x = await r.ReadAsync(timeout.Token);
            if (x.Observations.Any(o => o.Component.Id == componentId) && Evaluate(x)[componentId] is var e && (e.Rule?.Id == code || e.Trace.Any(t => t.RowId == code))) return x;
        }
    }

    [Fact]
    public async Task Event_PsuFails_FreshObservationPushedBeforeAnyPoll()
    {
        var (server, source, changes, stop, run) = await StartAsync();
        await using (server)
        await using (source)
        {
            server.Mutate(Psus + "/PSU.Slot.1", p => p["Status"] = new JsonObject { ["State"] = "Enabled", ["Health"] = "Critical" });
            var sw = Stopwatch.StartNew();
            server.PushEvent(Psus + "/PSU.Slot.1");
            var pushed = await NextWithAsync(changes.Reader, "redfish:bmc:psu:System.Embedded.1:PSU.Slot.1", "psu.problem");
            sw.Stop();
            var walk = (await source.PollAsync(default)).Observations.Single(o => o.Component.Id == "redfish:bmc")["walkSeconds"];
            output.WriteLine($"event → pushed observation: {sw.Elapsed.TotalMilliseconds:0} ms (interval 3600 s); full walk of the mockup: {walk} s");
            var e = Evaluate(pushed)["redfish:bmc:psu:System.Embedded.1:PSU.Slot.1"];
            Assert.Equal("psu.problem", e.Rule?.Id);
            // The cached view follows the pushed change too.
            Assert.Equal("psu.problem", (await PollAsync(source))["redfish:bmc:psu:System.Embedded.1:PSU.Slot.1"].Rule?.Id);
            stop.Cancel();
            await run;
        }
    }

    [Fact]
    public async Task Event_OriginInsideLegacyResource_RereadsEnclosingResource()
    {
        var (server, source, changes, stop, run) = await StartAsync();
        await using (server)
        await using (source)
        {
            server.Mutate(Sto + "/Drives/Disk.Bay.0", d => { d["StatusIndicator"] = "Fail"; d["Status"] = new JsonObject { ["State"] = "Enabled", ["Health"] = "Critical" }; });
            server.PushEvent(Sto + "/Drives/Disk.Bay.0/Actions/Drive.SecureErase"); // an origin below the drive resource
            var pushed = await NextWithAsync(changes.Reader, "redfish:bmc:drive:System.Embedded.1:RAID.Integrated.1-1:Disk.Bay.0", "drive.failed");
            Assert.Equal("drive.failed", Evaluate(pushed)["redfish:bmc:drive:System.Embedded.1:RAID.Integrated.1-1:Disk.Bay.0"].Rule?.Id);
            stop.Cancel();
            await run;
        }
    }

    [Fact]
    public async Task Event_UnknownOrigin_TriggersWalkAndPushesIt()
    {
        var (server, source, changes, stop, run) = await StartAsync();
        await using (server)
        await using (source)
        {
            server.Mutate(Ch + "/PowerSubsystem", p => p["PowerSupplyRedundancy"]![0]!["Status"] = new JsonObject { ["State"] = "Enabled", ["Health"] = "Critical" });
            server.PushEvent("/redfish/v1/Chassis/System.Embedded.1/SomethingNew");
            var pushed = await NextWithAsync(changes.Reader, "redfish:bmc:psu-redundancy:System.Embedded.1", "redfish.psu-redundancy.lost-bmc");
            Assert.Equal("redfish.psu-redundancy.lost-bmc", Evaluate(pushed)["redfish:bmc:psu-redundancy:System.Embedded.1"].Trace.Single().RowId);
            stop.Cancel();
            await run;
        }
    }

    [Fact]
    public async Task Stream_Dropped_ReconnectsAndStillDelivers()
    {
        var (server, source, changes, stop, run) = await StartAsync();
        await using (server)
        await using (source)
        {
            server.DropSseClients();
            await EventuallyAsync(() => Task.FromResult(server.SseClients), n => n == 0);
            var reconnected = await EventuallyAsync(() => Task.FromResult(server.SseClients), n => n == 1);
            Assert.Equal(1, reconnected);
            server.Mutate(Psus + "/PSU.Slot.1", p => p["LineInputStatus"] = "LossOfInput");
            server.PushEvent(Psus + "/PSU.Slot.1");
            var pushed = await NextWithAsync(changes.Reader, "redfish:bmc:psu:System.Embedded.1:PSU.Slot.1", "psu.no-power");
            Assert.Equal("psu.no-power", Evaluate(pushed)["redfish:bmc:psu:System.Embedded.1:PSU.Slot.1"].Rule?.Id);
            stop.Cancel();
            await run;
        }
    }

    [Fact]
    public async Task NoEventService_RunAsyncJustWaits_PollingStillWorks()
    {
        await using var server = await RedfishMockupServer.StartAsync("idrac8-r730-legacy");
        await using var source = Create(server);
        var changes = Channel.CreateUnbounded<SourceResult>();
        using var stop = new CancellationTokenSource();
        var run = source.RunAsync(changes.Writer, stop.Token);
        Assert.Equal("psu.operational", (await PollAsync(source))["redfish:bmc:psu:System.Embedded.1:PSU.Slot.1"].Rule?.Id);
        Assert.DoesNotContain(server.Requests, r => r.Path.EndsWith("/SSE", StringComparison.Ordinal));
        stop.Cancel();
        await run;
    }

    [Fact]
    public async Task ReadEvents_IdDataCommentsMultiline_ParsedPerSpec()
    {
        var text = ": keep-alive\r\nid: 7\r\ndata: {\"a\":\r\ndata: 1}\r\n\r\nevent: x\ndata:plain\n\ndata: no-blank-line-at-end";
        var list = new List<SseEvent>();
        await foreach (var e in RedfishSse.ReadEventsAsync(new StringReader(text), default)) list.Add(e);
        Assert.Equal(2, list.Count);
        Assert.Equal(new SseEvent("7", null, "{\"a\":\n1}"), list[0]);
        Assert.Equal(new SseEvent("7", "x", "plain"), list[1]); // id persists, per the event-stream spec
    }

    [Theory]
    [InlineData("{\"Events\":[{\"OriginOfCondition\":{\"@odata.id\":\"/redfish/v1/A\"}},{\"OriginOfCondition\":\"/redfish/v1/B\"}]}", "/redfish/v1/A,/redfish/v1/B")]
    [InlineData("{\"Events\":[{\"MessageId\":\"X\"}]}", "")]
    [InlineData("{\"@odata.type\":\"#MetricReport.v1_5_0.MetricReport\",\"MetricValues\":[]}", "(not an event)")]
    [InlineData("{\"Events\":", "(not an event)")]
    [InlineData("not json", "(not an event)")]
    public void EventOrigins_VariousPayloads_ObjectOrStringOrNothing(string data, string expected) =>
        Assert.Equal(expected, RedfishParser.EventOrigins(data) is { } o ? string.Join(',', o) : "(not an event)");
}
