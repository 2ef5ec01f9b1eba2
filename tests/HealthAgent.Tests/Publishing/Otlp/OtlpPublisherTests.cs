using System.Net;
using System.Net.Sockets;
using HealthAgent.Model;
using HealthAgent.Tests.Model;
using HealthAgent.Pipeline;
using HealthAgent.Publishing.Otlp;
using HealthAgent.Tests.Publishing.Otlp.Proto;
using Microsoft.Extensions.Logging;

namespace HealthAgent.Tests.Publishing.Otlp;

/// <summary>The meter name and the OTLP exporter's EventSource are process-wide: these tests run one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class OtlpCollection
{
    public const string Name = "otlp";
}

[Collection(OtlpCollection.Name)]
public sealed class OtlpPublisherTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);
    private const string MachineId = "0123456789abcdef0123456789abcdef";
    private readonly string _machineIdFile = Path.Combine(Path.GetTempPath(), $"otlp-machine-id-{Guid.NewGuid():N}");
    private readonly ListLoggerProvider _logs = new();
    private readonly ILoggerFactory _loggerFactory;

    public OtlpPublisherTests()
    {
        File.WriteAllText(_machineIdFile, MachineId + "\n");
        _loggerFactory = LoggerFactory.Create(b => b.AddProvider(_logs).SetMinimumLevel(LogLevel.Debug));
    }

    public void Dispose()
    {
        _loggerFactory.Dispose();
        File.Delete(_machineIdFile);
    }

    private async Task<OtlpPublisher> StartAsync(string? protocol, string? endpoint, InMemoryHealthState state, Dictionary<string, string>? headers = null,
        Func<IReadOnlyList<SourceStats>>? sourceStats = null)
    {
        var options = new OtlpPublisherOptions
        {
            Enabled = true, Endpoint = endpoint, Protocol = protocol, ExportIntervalSeconds = 3600, TimeoutSeconds = 5,
            Headers = headers ?? new Dictionary<string, string>(),
        };
        var errors = new List<string>();
        options.Validate("publishers.otlp", errors);
        Assert.Empty(errors);
        var publisher = OtlpPublisher.Create(options, _loggerFactory, sourceStats, _machineIdFile);
        await publisher.StartAsync(state, CancellationToken.None);
        return publisher;
    }

    private static async Task<Dictionary<string, Metric>> ExportAsync(OtlpPublisher publisher, OtlpReceiver receiver)
    {
        var before = receiver.MetricRequests.Count;
        Assert.True(publisher.Flush(Wait), "the metric export did not complete");
        await OtlpReceiver.WaitUntilAsync(() => receiver.MetricRequests.Count > before, Wait, "a metrics export");
        return receiver.MetricRequests.LatestMetrics();
    }

    private static List<NumberDataPoint> PointsOf(Dictionary<string, Metric> metrics, string name, string hwId) =>
        metrics.TryGetValue(name, out var m) ? m.Points().Where(p => p.Attributes.Str("hw.id") == hwId).ToList() : [];

    private static double Single(Dictionary<string, Metric> metrics, string name, string hwId, string? key = null, string? value = null) =>
        Assert.Single(PointsOf(metrics, name, hwId), p => key is null || p.Attributes.Str(key) == value).Value();

    [Theory]
    [InlineData("grpc")]
    [InlineData("http/protobuf")]
    public async Task Export_Appliance_MetricNamesKindsAndUnitsFollowHardwareConventions(string protocol)
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        await using var publisher = await StartAsync(protocol, receiver.Endpoint(protocol), Appliance.State());

        var metrics = await ExportAsync(publisher, receiver);

        // name → (kind, unit): gauge, non-monotonic sum (UpDownCounter) or monotonic sum (Counter)
        var expected = new (string Name, string Kind, string Unit)[]
        {
            ("hw.status", "updowncounter", "1"), ("hw.temperature", "gauge", "Cel"), ("hw.temperature.limit", "gauge", "Cel"),
            ("hw.fan.speed", "gauge", "rpm"), ("hw.fan.speed.limit", "gauge", "rpm"), ("hw.voltage", "gauge", "V"),
            ("hw.power", "gauge", "W"), ("hw.power_supply.limit", "gauge", "W"), ("hw.network.up", "updowncounter", "1"),
            ("hw.network.bandwidth.limit", "updowncounter", "By/s"), ("hw.network.bandwidth.max", "updowncounter", "By/s"),
            ("hw.errors", "counter", "{error}"), ("hw.network.io", "counter", "By"), ("hw.physical_disk.endurance_utilization", "gauge", "1"),
            ("hw.physical_disk.smart", "gauge", "1"), ("hw.led.state", "gauge", "1"),
        };
        foreach (var (name, kind, unit) in expected)
        {
            Assert.True(metrics.TryGetValue(name, out var m), $"{name} was not exported (got {string.Join(", ", metrics.Keys)})");
            Assert.Equal(unit, m.Unit);
            var actual = m.DataCase == Metric.DataOneofCase.Gauge ? "gauge" : m.Sum.IsMonotonic ? "counter" : "updowncounter";
            Assert.True(kind == actual, $"{name}: expected {kind}, got {actual}");
            if (m.DataCase == Metric.DataOneofCase.Sum) Assert.Equal(AggregationTemporality.Cumulative, m.Sum.AggregationTemporality);
        }

        Assert.Equal(45.5, Single(metrics, "hw.temperature", Appliance.CpuTemp.Id));
        Assert.Equal(80, Single(metrics, "hw.temperature.limit", Appliance.CpuTemp.Id, "hw.limit_type", "high.degraded"));
        Assert.Equal(95, Single(metrics, "hw.temperature.limit", Appliance.CpuTemp.Id, "hw.limit_type", "high.critical"));
        Assert.Equal(2, PointsOf(metrics, "hw.temperature.limit", Appliance.CpuTemp.Id).Count); // lcrit is unknown: no point
        Assert.Equal(38, Single(metrics, "hw.temperature", Appliance.Drive.Id));
        Assert.Equal(2400, Single(metrics, "hw.fan.speed", Appliance.Fan.Id));
        Assert.Equal(600, Single(metrics, "hw.fan.speed.limit", Appliance.Fan.Id, "hw.limit_type", "low.degraded"));
        Assert.Equal(230, Single(metrics, "hw.voltage", Appliance.Psu.Id));
        Assert.Equal(0, Single(metrics, "hw.power", Appliance.Psu.Id));
        Assert.Equal(750, Single(metrics, "hw.power_supply.limit", Appliance.Psu.Id, "hw.limit_type", "max"));
        Assert.Equal(1, Single(metrics, "hw.network.up", Appliance.Nic.Id));
        Assert.Equal(125_000_000, Single(metrics, "hw.network.bandwidth.limit", Appliance.Nic.Id)); // 1000 Mb/s in bytes/s
        Assert.Equal(1_250_000_000, Single(metrics, "hw.network.bandwidth.max", Appliance.Nic.Id));
        Assert.Equal(3, Single(metrics, "hw.errors", Appliance.Nic.Id, "error.type", "rxErrors"));
        Assert.Equal(7e9, Single(metrics, "hw.network.io", Appliance.Nic.Id, "network.io.direction", "transmit"));
        Assert.Equal(2, Single(metrics, "hw.errors", Appliance.Drive.Id, "error.type", "mediaErrors"));
        Assert.Equal(0.93, Single(metrics, "hw.physical_disk.endurance_utilization", Appliance.Drive.Id, "hw.physical_disk.state", "remaining"), 6);
        Assert.Equal(100, Single(metrics, "hw.physical_disk.smart", Appliance.Drive.Id, "hw.physical_disk.smart_attribute", "reallocated_sector_ct"));

        // integer instruments arrive as as_int
        Assert.All(metrics["hw.status"].Points(), p => Assert.Equal(NumberDataPoint.ValueOneofCase.AsInt, p.ValueCase));
        Assert.All(metrics["hw.errors"].Points(), p => Assert.Equal(NumberDataPoint.ValueOneofCase.AsInt, p.ValueCase));

        // every reading metric carries the common hw.* attributes of its component
        var nicUp = Assert.Single(PointsOf(metrics, "hw.network.up", Appliance.Nic.Id));
        Assert.Equal("network", nicUp.Attributes.Str("hw.type"));
        Assert.Equal("eth0", nicUp.Attributes.Str("hw.name"));
        Assert.Equal("enclosure:chassis", nicUp.Attributes.Str("hw.parent"));
    }

    [Theory]
    [InlineData("grpc")]
    [InlineData("http/protobuf")]
    public async Task Export_Appliance_HwStatusIsOneHotPerComponentAndUnknownEmitsNothing(string protocol)
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        await using var publisher = await StartAsync(protocol, receiver.Endpoint(protocol), Appliance.State());

        var metrics = await ExportAsync(publisher, receiver);

        foreach (var (c, state) in new[] { (Appliance.Nic, "degraded"), (Appliance.Psu, "failed"), (Appliance.Drive, "predicted_failure") })
        {
            var points = PointsOf(metrics, "hw.status", c.Id);
            Assert.Equal(["degraded", "failed", "needs_cleaning", "ok", "predicted_failure"], points.Select(p => p.Attributes.Str("hw.state")).Order());
            Assert.Equal(1, points.Sum(p => p.Value()));
            Assert.Equal(1, points.Single(p => p.Attributes.Str("hw.state") == state).Value());
            Assert.All(points, p =>
            {
                Assert.Equal(c.HwType, p.Attributes.Str("hw.type"));
                Assert.Equal(c.Name, p.Attributes.Str("hw.name"));
                Assert.Equal(c.Parent, p.Attributes.Str("hw.parent"));
            });
        }
        // the evaluator has no verdict for the bare sensors: state unknown → no hw.status at all, readings still exported
        Assert.Empty(PointsOf(metrics, "hw.status", Appliance.CpuTemp.Id));
        Assert.Empty(PointsOf(metrics, "hw.status", Appliance.Fan.Id));
        Assert.Equal(15, metrics["hw.status"].Points().Count());
    }

    [Theory]
    [InlineData("grpc")]
    [InlineData("http/protobuf")]
    public async Task Export_StateChanges_ValuesAreCurrentAtExport(string protocol)
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        var state = Appliance.State();
        await using var publisher = await StartAsync(protocol, receiver.Endpoint(protocol), state);
        var before = await ExportAsync(publisher, receiver);
        Assert.Equal(1, Single(before, "hw.status", Appliance.Nic.Id, "hw.state", "degraded"));

        state.Observe(Appliance.NicMax()); // the port renegotiated to its maximum speed: link LED turns green

        var after = await ExportAsync(publisher, receiver);
        Assert.Equal(1, Single(after, "hw.status", Appliance.Nic.Id, "hw.state", "ok"));
        Assert.Equal(0, Single(after, "hw.status", Appliance.Nic.Id, "hw.state", "degraded"));
        Assert.Equal(1_250_000_000, Single(after, "hw.network.bandwidth.limit", Appliance.Nic.Id));
        // the LED's old state is reported as 0, its new one as 1
        var link = after["hw.led.state"].Points().Where(p => p.Attributes.Str("hw.id") == "nic:eth0:led:link").ToList();
        Assert.Equal(1, link.Single(p => p.Attributes.Str("hw.led.text") == "solid green").Value());
        Assert.Equal(0, link.Single(p => p.Attributes.Str("hw.led.text") == "solid amber").Value());
    }

    [Fact]
    public async Task Export_MoreSeriesThanTheSdkDefaultLimit_AllExportedWithoutOverflow()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        var state = new InMemoryHealthState("rack-07");
        for (var i = 0; i < 450; i++) state.Observe(Appliance.PsuFailed() with { Component = Appliance.Psu with { Id = $"psu:{i}" } });
        await using var publisher = await StartAsync("grpc", receiver.GrpcEndpoint, state);

        var metrics = await ExportAsync(publisher, receiver);

        Assert.Equal(2250, metrics["hw.status"].Points().Count()); // above the SDK's default 2000 series per metric
        Assert.DoesNotContain(metrics["hw.status"].Points(), p => p.Attributes.Str("otel.metric.overflow") is not null);
    }

    [Fact]
    public async Task Export_ComponentRemoved_ItsSeriesAreNoLongerExported()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        var state = Appliance.State();
        await using var publisher = await StartAsync("grpc", receiver.GrpcEndpoint, state);
        await ExportAsync(publisher, receiver);

        state.Remove(Appliance.Psu.Id);

        var after = await ExportAsync(publisher, receiver);
        Assert.Empty(PointsOf(after, "hw.status", Appliance.Psu.Id));
        Assert.Empty(PointsOf(after, "hw.voltage", Appliance.Psu.Id));
        Assert.Empty(PointsOf(after, "hw.led.state", "psu:1:led:status"));
        Assert.Equal(5, PointsOf(after, "hw.status", Appliance.Nic.Id).Count);
    }

    [Theory]
    [InlineData("grpc")]
    [InlineData("http/protobuf")]
    public async Task Export_Indicators_AreLedComponentsWithColourAndPattern(string protocol)
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        await using var publisher = await StartAsync(protocol, receiver.Endpoint(protocol), Appliance.State());

        var metrics = await ExportAsync(publisher, receiver);

        var link = Assert.Single(PointsOf(metrics, "hw.led.state", "nic:eth0:led:link"));
        Assert.Equal(1, link.Value());
        Assert.Equal("led", link.Attributes.Str("hw.type"));
        Assert.Equal("nic:eth0", link.Attributes.Str("hw.parent"));
        Assert.Equal("eth0 link LED", link.Attributes.Str("hw.name"));
        Assert.Equal("link", link.Attributes.Str("hw.led.name"));
        Assert.Equal("amber", link.Attributes.Str("hw.led.color"));
        Assert.Equal("solid", link.Attributes.Str("hw.led.pattern"));
        var activity = Assert.Single(PointsOf(metrics, "hw.led.state", "nic:eth0:led:activity"));
        Assert.Equal("blinking", activity.Attributes.Str("hw.led.pattern"));
        Assert.Equal("green", activity.Attributes.Str("hw.led.color"));
        var drive = Assert.Single(PointsOf(metrics, "hw.led.state", "drive:0:led:status"));
        Assert.Equal("sequence", drive.Attributes.Str("hw.led.pattern"));
        Assert.Equal("none", drive.Attributes.Str("hw.led.color"));
        Assert.Equal("blinking green, blinking amber, then off", drive.Attributes.Str("hw.led.text"));
    }

    [Theory]
    [InlineData("grpc", "application/grpc", "HTTP/2")]
    [InlineData("http/protobuf", "application/x-protobuf", "HTTP/1.1")]
    public async Task Export_ResourceAndHeaders_IdentifyHostServiceAndAgent(string protocol, string contentType, string httpVersion)
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        await using var publisher = await StartAsync(protocol, receiver.Endpoint(protocol), Appliance.State("rack-07"),
            new Dictionary<string, string> { ["x-api-key"] = "k-123" });

        await ExportAsync(publisher, receiver);

        var resource = receiver.MetricRequests[^1].ResourceMetrics.Single().Resource.Attributes;
        Assert.Equal("healthagent", resource.Str("service.name"));
        Assert.False(string.IsNullOrEmpty(resource.Str("service.version")));
        Assert.Equal(Environment.MachineName, resource.Str("host.name"));
        Assert.Equal(MachineId, resource.Str("host.id"));
        Assert.Equal("rack-07", resource.Str("healthagent.agent.id"));
        Assert.Equal(["HealthAgent.Agent", "HealthAgent.Hardware"], receiver.MetricRequests[^1].ResourceMetrics.Single().ScopeMetrics.Select(s => s.Scope.Name).Order());
        var request = receiver.Requests.Last();
        Assert.Equal(contentType, request.ContentType);
        Assert.Equal(httpVersion, request.Protocol);
        Assert.Equal("k-123", request.Headers["x-api-key"]);
        Assert.Equal(protocol == "grpc" ? "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export" : "/v1/metrics", request.Path);
    }

    [Theory]
    [InlineData("grpc")]
    [InlineData("http/protobuf")]
    public async Task PublishEvent_PsuFailed_IsOneLogRecordWithEventNameSeverityAndAttributes(string protocol)
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        var state = Appliance.State();
        await using var publisher = await StartAsync(protocol, receiver.Endpoint(protocol), state);
        var psu = state.Components.Single(c => c.Component.Id == Appliance.Psu.Id).Evaluation;
        var seen = new DateTimeOffset(2026, 11, 21, 18, 30, 0, TimeSpan.FromHours(1));
        var e = TestEvents.Of(Guid.NewGuid(), "rack-07", "boot-1", 42, seen, EventKind.Raised, psu.Component, psu.Led,
            psu.Rule!.Id, psu.Verdict.Code, psu.Verdict.State, psu.Verdict.Severity, psu.Verdict.Meaning, psu.Verdict.Action, psu.Readings,
            IndicatorState.Single("status", LedState.Solid(LedColor.Green)), "psu.operational", HwState.Ok, Severity.Ok);

        await publisher.PublishEventAsync(e, CancellationToken.None);
        Assert.True(publisher.Flush(Wait));
        await OtlpReceiver.WaitUntilAsync(() => receiver.LogRequests.Count > 0, Wait, "a logs export");

        var scope = receiver.LogRequests.SelectMany(r => r.ResourceLogs).SelectMany(r => r.ScopeLogs).Single(s => s.Scope.Name == OtlpPublisher.EventCategory);
        var record = Assert.Single(scope.LogRecords);
        Assert.Equal("healthagent.hw.state_change", record.EventName);
        Assert.Equal(17, record.SeverityNumber); // critical → Error → SEVERITY_NUMBER_ERROR
        Assert.Equal("Error", record.SeverityText);
        var a = record.Attributes;
        Assert.Equal("psu:1", a.Str("hw.id"));
        Assert.Equal("power_supply", a.Str("hw.type"));
        Assert.Equal("PSU 1", a.Str("hw.name"));
        Assert.Equal("failed", a.Str("hw.state"));
        Assert.Equal("critical", a.Str("healthagent.severity"));
        Assert.Equal(psu.Verdict.Code, a.Str("healthagent.code"));
        Assert.Equal(psu.Verdict.Meaning, a.Str("healthagent.meaning"));
        Assert.Equal(psu.Verdict.Action, a.Str("healthagent.action"));
        Assert.Equal("psu.problem", a.Str("healthagent.rule.id"));
        Assert.Equal("blinking amber", a.Str("healthagent.led"));
        Assert.Equal("ok", a.Str("healthagent.from.state"));
        Assert.Equal("ok", a.Str("healthagent.from.severity"));
        Assert.Equal("psu.operational", a.Str("healthagent.from.rule.id"));
        Assert.Equal("solid green", a.Str("healthagent.from.led"));
        Assert.Equal("raised", a.Str("healthagent.event.kind"));
        Assert.Equal(e.EventId.ToString(), a.Str("healthagent.event.id"));
        Assert.Equal("42", a.Str("healthagent.event.seq"));
        Assert.Equal("rack-07", a.Str("healthagent.agent.id"));
        Assert.Equal(18, a.Count); // exactly the documented attributes: no raw placeholder names, no template, no time
        Assert.Equal((ulong)(seen.ToUnixTimeMilliseconds() * 1_000_000), record.TimeUnixNano); // the event's time, not the logging time
        Assert.Contains("PSU 1 (psu:1) raised: failed, critical", record.Body.StringValue, StringComparison.Ordinal);
        Assert.Contains("at 2026-11-21T18:30:00.0000000+01:00", record.Body.StringValue, StringComparison.Ordinal);
        Assert.Equal(MachineId, receiver.LogRequests[0].ResourceLogs[0].Resource.Attributes.Str("host.id"));
    }

    [Fact]
    public async Task PublishEvent_ClearedAndWarning_MapSeverityNumbers()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        var state = Appliance.State();
        await using var publisher = await StartAsync("http/protobuf", receiver.HttpEndpoint, state);
        var nic = state.Components.Single(c => c.Component.Id == Appliance.Nic.Id).Evaluation;
        HealthEvent Event(EventKind kind, long seq) => TestEvents.Of(Guid.NewGuid(), "rack-07", "boot-1", seq, DateTimeOffset.UtcNow, kind, nic.Component, nic.Led,
            nic.Rule?.Id, nic.Verdict.Code, nic.Verdict.State, nic.Verdict.Severity, nic.Verdict.Meaning, nic.Verdict.Action, nic.Readings,
            null, null, null, null);

        await publisher.PublishEventAsync(Event(EventKind.Raised, 1), CancellationToken.None);
        await publisher.PublishEventAsync(Event(EventKind.Cleared, 2), CancellationToken.None);
        Assert.True(publisher.Flush(Wait));
        await OtlpReceiver.WaitUntilAsync(() => receiver.LogRequests.SelectMany(r => r.ResourceLogs).SelectMany(r => r.ScopeLogs).Sum(s => s.LogRecords.Count) >= 2, Wait, "two log records");

        var records = receiver.LogRequests.SelectMany(r => r.ResourceLogs).SelectMany(r => r.ScopeLogs).SelectMany(s => s.LogRecords)
            .OrderBy(r => r.Attributes.Str("healthagent.event.seq")).ToList();
        Assert.Equal(13, records[0].SeverityNumber); // warning → WARN
        Assert.Equal("Warning", records[0].SeverityText);
        Assert.Equal(9, records[1].SeverityNumber);  // cleared → INFO
        Assert.Equal("Information", records[1].SeverityText);
        Assert.Null(records[0].Attributes.Str("healthagent.from.state")); // no previous state: attribute left out
    }

    [Fact]
    public async Task Export_CollectorUnreachable_NeverThrowsAndCountsErrorsLoggingOnce()
    {
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0)) { probe.Start(); port = ((IPEndPoint)probe.LocalEndpoint).Port; }
        await using var publisher = await StartAsync("http/protobuf", $"http://127.0.0.1:{port}", Appliance.State());
        var psu = Appliance.State().Components.Single(c => c.Component.Id == Appliance.Psu.Id).Evaluation;

        await publisher.PublishEventAsync(TestEvents.Of(Guid.NewGuid(), "rack-07", "boot-1", 1, DateTimeOffset.UtcNow, EventKind.Raised, psu.Component,
            psu.Led, psu.Rule?.Id, psu.Verdict.Code, psu.Verdict.State, psu.Verdict.Severity, psu.Verdict.Meaning, psu.Verdict.Action, [], null, null, null, null),
            CancellationToken.None);
        publisher.Flush(Wait);
        publisher.Flush(Wait);
        await OtlpReceiver.WaitUntilAsync(() => publisher.ExportErrors >= 2, Wait, "export errors to be counted");

        Assert.True(1 == _logs.Messages.Count(m => m.StartsWith("OTLP export failing", StringComparison.Ordinal)), string.Join("\n", _logs.Messages));
        await publisher.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Export_CollectorUnreachableWithCredentialsInUrl_LogNeverShowsThem()
    {
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0)) { probe.Start(); port = ((IPEndPoint)probe.LocalEndpoint).Port; }
        await using var publisher = await StartAsync("http/protobuf", $"http://agent:s3cret@127.0.0.1:{port}", Appliance.State());

        publisher.Flush(Wait);
        await OtlpReceiver.WaitUntilAsync(() => publisher.ExportErrors >= 1, Wait, "an export error");

        Assert.Contains(_logs.Messages, m => m.StartsWith("OTLP export failing", StringComparison.Ordinal));
        Assert.DoesNotContain(_logs.Messages, m => m.Contains("s3cret", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("grpc")]
    [InlineData("http/protobuf")]
    public async Task Export_CollectorFailsThenRecovers_LogsFailureAndRecovery(string protocol)
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        await using var publisher = await StartAsync(protocol, receiver.Endpoint(protocol), Appliance.State());
        receiver.FailNext = 1;

        publisher.Flush(Wait);
        await OtlpReceiver.WaitUntilAsync(() => publisher.ExportErrors >= 1, Wait, "the failed export to be counted");
        await ExportAsync(publisher, receiver);

        await OtlpReceiver.WaitUntilAsync(() => _logs.Messages.Any(m => m.StartsWith("OTLP export recovered", StringComparison.Ordinal)), Wait, "the recovery log");
        Assert.Single(_logs.Messages, m => m.StartsWith("OTLP export failing", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Export_OptionsEmpty_StandardOtelVariablesApply()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        using var env = new EnvironmentScope(
            ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.HttpEndpoint), ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"), ("OTEL_SERVICE_NAME", "nvr-health"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "x-tenant=t1"));
        await using var publisher = await StartAsync(null, null, Appliance.State());

        await ExportAsync(publisher, receiver);

        Assert.Equal("/v1/metrics", receiver.Requests.Last().Path); // the SDK appends the signal path to the variable's URL
        Assert.Equal("t1", receiver.Requests.Last().Headers["x-tenant"]);
        Assert.Equal("nvr-health", receiver.MetricRequests[^1].ResourceMetrics[0].Resource.Attributes.Str("service.name"));
    }

    [Fact]
    public async Task Export_OptionsSet_BeatStandardOtelVariables()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        using var env = new EnvironmentScope(
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9"), ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"), ("OTEL_SERVICE_NAME", "nvr-health"));
        await using var publisher = await StartAsync("grpc", receiver.GrpcEndpoint, Appliance.State());

        await ExportAsync(publisher, receiver);

        Assert.Equal("HTTP/2", receiver.Requests.Last().Protocol);
        Assert.Equal("nvr-health", receiver.MetricRequests[^1].ResourceMetrics[0].Resource.Attributes.Str("service.name"));
    }

    [Fact]
    public async Task Export_SourceStats_AreAgentSelfMetrics()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        var hwmon = new SourceStats("hwmon") { Up = true, LastDuration = TimeSpan.FromMilliseconds(12) };
        hwmon.CountRun();
        hwmon.CountErrors(2);
        var redfish = new SourceStats("redfish") { Hung = true };
        await using var publisher = await StartAsync("grpc", receiver.GrpcEndpoint, Appliance.State(), sourceStats: () => [hwmon, redfish]);

        var metrics = await ExportAsync(publisher, receiver);

        double Of(string metric, string source) =>
            metrics[metric].Points().Single(p => p.Attributes.Str("healthagent.source") == source).Value();
        Assert.Equal(1, Of("healthagent.source.up", "hwmon"));
        Assert.Equal(0, Of("healthagent.source.up", "redfish"));
        Assert.Equal(1, Of("healthagent.source.hung", "redfish"));
        Assert.Equal(0.012, Of("healthagent.source.duration", "hwmon"), 6);
        Assert.Equal(1, Of("healthagent.source.runs", "hwmon"));
        Assert.Equal(2, Of("healthagent.source.errors", "hwmon"));
        Assert.True(metrics["healthagent.source.errors"].Sum.IsMonotonic);
        Assert.Equal("s", metrics["healthagent.source.duration"].Unit);
        Assert.Equal(0, Assert.Single(metrics["healthagent.otlp.export.errors"].Points()).Value());
    }

    [Fact]
    public async Task PublishEvent_BeforeStart_IsDroppedAndCounted()
    {
        await using var publisher = OtlpPublisher.Create(new OtlpPublisherOptions { Enabled = true }, _loggerFactory);
        var nic = Appliance.State().Components[0].Evaluation;

        await publisher.PublishEventAsync(TestEvents.Of(Guid.NewGuid(), "a", "b", 1, DateTimeOffset.UtcNow, EventKind.Raised, nic.Component, null, null,
            "c", HwState.Ok, Severity.Ok, "m", "a", [], null, null, null, null), CancellationToken.None);

        Assert.Equal(1, publisher.DroppedEvents);
    }
}

/// <summary>Sets environment variables for one test and restores them (only inside the serialised OTLP collection).</summary>
public sealed class EnvironmentScope : IDisposable
{
    private readonly List<(string Name, string? Old)> _saved = [];

    public EnvironmentScope(params (string Name, string? Value)[] variables)
    {
        foreach (var (name, value) in variables)
        {
            _saved.Add((name, Environment.GetEnvironmentVariable(name)));
            Environment.SetEnvironmentVariable(name, value);
        }
    }

    public void Dispose()
    {
        foreach (var (name, old) in _saved) Environment.SetEnvironmentVariable(name, old);
    }
}

/// <summary>Collects formatted log messages (the agent's own log, not OTLP).</summary>
public sealed class ListLoggerProvider : ILoggerProvider
{
    private readonly List<string> _messages = [];
    public IReadOnlyList<string> Messages { get { lock (_messages) return _messages.ToList(); } }
    public ILogger CreateLogger(string categoryName) => new ListLogger(this);
    public void Dispose() { }

    private sealed class ListLogger(ListLoggerProvider owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (owner._messages) owner._messages.Add(formatter(state, exception));
        }
    }
}
