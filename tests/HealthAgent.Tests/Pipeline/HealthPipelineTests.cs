using HealthAgent.Model;
using HealthAgent.Pipeline;
using HealthAgent.Publishing;
using HealthAgent.Sources;
using Microsoft.Extensions.Logging.Abstractions;
using static HealthAgent.Tests.Pipeline.PipelineFixtures;

namespace HealthAgent.Tests.Pipeline;

public sealed class HealthPipelineTests : IDisposable
{
    private readonly string _state = Directory.CreateTempSubdirectory("pipeline-test-").FullName;

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(_state, true); } catch (IOException) { }
    }

    /// <summary>Records what the pipeline hands to publishers.</summary>
    private sealed class RecordingPublisher : IHealthPublisher
    {
        public readonly List<HealthEvent> Events = [];
        public readonly List<ComponentStatus> States = [];
        public readonly List<HealthRollup> Rollups = [];
        public string Name => "recording";
        public Task StartAsync(IHealthState state, CancellationToken ct) => Task.CompletedTask;
        public ValueTask PublishEventAsync(HealthEvent e, CancellationToken ct) { Events.Add(e); return ValueTask.CompletedTask; }
        public ValueTask PublishStateAsync(ComponentStatus status, CancellationToken ct) { States.Add(status); return ValueTask.CompletedTask; }
        public ValueTask PublishRollupAsync(HealthRollup rollup, CancellationToken ct) { Rollups.Add(rollup); return ValueTask.CompletedTask; }
        public Task StopAsync(CancellationToken ct) => Task.CompletedTask;
        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    private HealthPipeline Create(RecordingPublisher p) =>
        new("agent-1", "boot-1", Seed, _state, [], [p], NullLoggerFactory.Instance);

    private static SourceResult Result(params Observation[] o) => new("test", o, []);

    [Fact]
    public async Task Process_Fault_EventCarriesIdsSeqLedReadingsAndIsInHistory()
    {
        var pub = new RecordingPublisher();
        await using var p = Create(pub);
        await p.ProcessAsync(Result(Psu("solid green")), default);
        await p.ProcessAsync(Result(Psu("blinking amber")), default);
        var e = Assert.Single(pub.Events);
        Assert.Equal(("agent-1", "boot-1", 1L, EventKind.Raised), (e.AgentId, e.BootId, e.Seq, e.Kind));
        Assert.NotEqual(Guid.Empty, e.EventId);
        Assert.Equal("blinking amber", e.Led!.ToString());
        Assert.Null(e.From); // a raised incident comes from nothing open
        var h = Assert.Single(p.History());
        Assert.Equal(e.EventId, h.EventId);
        Assert.Equal(e.Led.ToString(), h.Led!.ToString());
        Assert.True(await p.AcknowledgeAsync(e.EventId, "alice", default));
        Assert.False(await p.AcknowledgeAsync(Guid.NewGuid(), "alice", default));
    }

    [Fact]
    public async Task Process_SourceFailsAsAWhole_ItsComponentsUnknownWithoutEvents()
    {
        var pub = new RecordingPublisher();
        await using var p = Create(pub);
        await p.ProcessAsync(Result(Psu("blinking amber")), default);
        await p.ProcessAsync(new SourceResult("test", [], [new SourceError(SourceRunner.WholeSource, "source 'test' failed: BMC unreachable")]), default);
        var s = Assert.Single(p.Components);
        Assert.Equal(HwState.Unknown, s.Evaluation.Verdict.State);
        Assert.Contains("BMC unreachable", s.Evaluation.UnknownReason, StringComparison.Ordinal);
        await p.ProcessAsync(Result(Psu("blinking amber")), default);
        Assert.Single(pub.Events); // only the first raise
        Assert.Equal("psu.fault", p.Components.Single().Evaluation.Verdict.Code);
    }

    [Fact]
    public async Task Process_CompletePollWithoutAComponentItReportedBefore_ThatComponentUnknownNotLeftAtItsLastState()
    {
        var pub = new RecordingPublisher();
        await using var p = Create(pub);
        await p.ProcessAsync(Result(Psu("solid green"), Temp(40)) with { Complete = true }, default);
        // A pushed (partial) result without the PSU says nothing about it.
        await p.ProcessAsync(Result(Temp(41)), default);
        Assert.Equal("psu.ok", p.Components.Single(c => c.Component.Id == Psu1.Id).Evaluation.Verdict.Code);
        // A complete poll without it: the PSU is gone (pulled, or the device vanished) — unknown, with the reason.
        await p.ProcessAsync(Result(Temp(42)) with { Complete = true }, default);
        var psu = p.Components.Single(c => c.Component.Id == Psu1.Id);
        Assert.Equal(HwState.Unknown, psu.Evaluation.Verdict.State);
        Assert.Contains("no longer reported by source 'test'", psu.Evaluation.UnknownReason, StringComparison.Ordinal);
        Assert.NotEqual(HwState.Unknown, p.Components.Single(c => c.Component.Id == Temp1.Id).Evaluation.Verdict.State);
        Assert.Empty(pub.Events); // unknown neither raises nor clears
        // It comes back: known again.
        await p.ProcessAsync(Result(Psu("solid green"), Temp(42)) with { Complete = true }, default);
        Assert.Equal("psu.ok", p.Components.Single(c => c.Component.Id == Psu1.Id).Evaluation.Verdict.Code);
    }

    [Fact]
    public async Task Restart_SameFaultStillThere_NotRaisedAgainAndSeqContinues()
    {
        var first = new RecordingPublisher();
        await using (var p = Create(first))
        {
            await p.ProcessAsync(Result(Psu("blinking amber")), default);
            Assert.Single(first.Events);
        }
        var second = new RecordingPublisher();
        await using var again = Create(second);
        await again.ProcessAsync(Result(Psu("blinking amber")), default);
        Assert.Empty(second.Events);
        Assert.Single(second.States); // the state is still published
        await again.ProcessAsync(Result(Psu("solid green")), default);
        var cleared = Assert.Single(second.Events);
        Assert.Equal(EventKind.Cleared, cleared.Kind);
        Assert.Equal(2, cleared.Seq);
    }

    [Fact]
    public async Task Rollup_WithoutSystemComponent_DerivesSystemLedFromWorstSeverity()
    {
        var pub = new RecordingPublisher();
        await using var p = Create(pub);
        await p.ProcessAsync(Result(Psu("solid green")), default);
        Assert.Equal("solid blue", p.Rollup.SystemLed!.ToString());
        await p.ProcessAsync(Result(Psu("off")), default);
        Assert.Equal((Severity.Warning, "blinking amber"), (p.Rollup.Worst, p.Rollup.SystemLed!.ToString()));
        Assert.Equal(1, p.Rollup.Counts[Severity.Warning]);
    }

    [Fact]
    public async Task Rollup_WithSystemComponent_UsesItsLed()
    {
        var pub = new RecordingPublisher();
        await using var p = Create(pub);
        var system = new ComponentRef("panel:system:1", "enclosure", "System", Family: "system");
        await p.ProcessAsync(Result(Psu("off"), Led(system, "blinking blue")), default);
        Assert.Equal("blinking blue", p.Rollup.SystemLed!.ToString());
        Assert.Equal(Severity.Warning, p.Rollup.Worst);
    }

    [Fact]
    public async Task Rollup_TwoSystemLedReaders_MostSevereWins()
    {
        var pub = new RecordingPublisher();
        await using var p = Create(pub);
        var bmc = new ComponentRef("redfish:bmc:system:1", "enclosure", "System", Family: "system");
        var panel = new ComponentRef("panel:system:1", "enclosure", "System", Family: "system");
        await p.ProcessAsync(Result(Led(panel, "blinking amber"), Led(bmc, "solid blue")), default);
        Assert.Equal("blinking amber", p.Rollup.SystemLed!.ToString());
    }

    [Fact]
    public async Task Process_OnlyReadingsChange_StateNotRepublishedEveryPoll()
    {
        var pub = new RecordingPublisher();
        await using var p = Create(pub);
        for (var t = 60.0; t < 65; t += 0.5) await p.ProcessAsync(Result(Temp(t)), default);
        Assert.Single(pub.States);
    }

    [Fact]
    public async Task Watch_Fault_StreamsEventAndState()
    {
        var pub = new RecordingPublisher();
        await using var p = Create(pub);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        var watch = p.WatchAsync(cts.Token).GetAsyncEnumerator(cts.Token);
        var next = watch.MoveNextAsync();
        await p.ProcessAsync(Result(Psu("blinking amber")), default);
        Assert.True(await next);
        Assert.Equal("psu.fault", watch.Current.Event!.Code);
        await watch.DisposeAsync();
    }
}
