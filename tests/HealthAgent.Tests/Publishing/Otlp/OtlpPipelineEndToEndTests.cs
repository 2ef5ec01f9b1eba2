using HealthAgent.Model;
using HealthAgent.Pipeline;
using HealthAgent.Publishing.Otlp;
using HealthAgent.Sources;
using HealthAgent.Tests.Publishing.Otlp.Proto;
using Microsoft.Extensions.Logging.Abstractions;
using static HealthAgent.Tests.Pipeline.PipelineFixtures;

namespace HealthAgent.Tests.Publishing.Otlp;

/// <summary>The real pipeline (evaluator, state tracker, store) feeding the OTLP publisher, into the in-test receiver.</summary>
[Collection(OtlpCollection.Name)]
public sealed class OtlpPipelineEndToEndTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);
    private readonly string _state = Directory.CreateTempSubdirectory("otlp-pipeline-").FullName;

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(_state, true); } catch (IOException) { }
    }

    [Theory]
    [InlineData("grpc")]
    [InlineData("http/protobuf")]
    public async Task Pipeline_PsuFails_EventRecordAndHwStatusReachTheCollector(string protocol)
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        var publisher = OtlpPublisher.Create(
            new OtlpPublisherOptions { Enabled = true, Endpoint = receiver.Endpoint(protocol), Protocol = protocol, ExportIntervalSeconds = 3600 },
            NullLoggerFactory.Instance);
        await using var pipeline = new HealthPipeline("agent-1", "boot-1", Seed, _state, [], [publisher], NullLoggerFactory.Instance);
        await publisher.StartAsync(pipeline, CancellationToken.None);

        await pipeline.ProcessAsync(new SourceResult("test", [Psu("solid green"), Temp(45)], []), CancellationToken.None);
        await pipeline.ProcessAsync(new SourceResult("test", [Psu("blinking amber")], []), CancellationToken.None);
        Assert.True(publisher.Flush(Wait));
        await OtlpReceiver.WaitUntilAsync(() => receiver.MetricRequests.Count > 0 && receiver.LogRequests.Count > 0, Wait, "metrics and logs");

        var record = Assert.Single(receiver.LogRequests.SelectMany(r => r.ResourceLogs).SelectMany(r => r.ScopeLogs).SelectMany(s => s.LogRecords));
        Assert.Equal(OtlpPublisher.EventName, record.EventName);
        Assert.Equal(17, record.SeverityNumber);
        Assert.Equal("psu:1", record.Attributes.Str("hw.id"));
        Assert.Equal("failed", record.Attributes.Str("hw.state"));
        Assert.Equal("psu.problem", record.Attributes.Str("healthagent.rule.id"));
        Assert.Null(record.Attributes.Str("healthagent.from.rule.id")); // a raised incident comes from nothing open
        Assert.Equal("1", record.Attributes.Str("healthagent.event.seq"));

        var metrics = receiver.MetricRequests.LatestMetrics();
        var psu = metrics["hw.status"].Points().Where(p => p.Attributes.Str("hw.id") == "psu:1").ToList();
        Assert.Equal(1, psu.Single(p => p.Attributes.Str("hw.state") == "failed").Value());
        Assert.Equal(1, psu.Sum(p => p.Value()));
        // the temperature sensor got its verdict from a derivation table: ok, with its reading and limit
        var temp = metrics["hw.status"].Points().Where(p => p.Attributes.Str("hw.id") == Temp1.Id).ToList();
        Assert.Equal(1, temp.Single(p => p.Attributes.Str("hw.state") == "ok").Value());
        Assert.Equal(45, metrics["hw.temperature"].Points().Single(p => p.Attributes.Str("hw.id") == Temp1.Id).Value());
        var limit = metrics["hw.temperature.limit"].Points().Single(p => p.Attributes.Str("hw.id") == Temp1.Id);
        Assert.Equal((80.0, "high.degraded"), (limit.Value(), limit.Attributes.Str("hw.limit_type")));
        // solid green lasted between two exports: never exported, so there is no old series to end
        var led = Assert.Single(metrics["hw.led.state"].Points(), p => p.Attributes.Str("hw.id") == "psu:1:led:status");
        Assert.Equal(("blinking amber", 1.0), (led.Attributes.Str("hw.led.text"), led.Value()));

        await publisher.StopAsync(CancellationToken.None);
    }
}
