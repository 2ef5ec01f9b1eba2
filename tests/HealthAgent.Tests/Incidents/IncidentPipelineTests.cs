using HealthAgent.Model;
using HealthAgent.Pipeline;
using HealthAgent.Publishing;
using HealthAgent.Rules;
using HealthAgent.Sources;
using HealthAgent.Tests.Web;
using Microsoft.Extensions.Logging.Abstractions;

namespace HealthAgent.Tests.Incidents;

/// <summary>
/// Parts and incidents through the real pipeline and the shipped rules (rules/parts): what the front panel and the BMC
/// report of one fault is one part and one incident — one raised event, one problem — with its consequences inside.
/// </summary>
public sealed class IncidentPipelineTests : IDisposable
{
    private static readonly RuleSet Rules = RuleLoader.LoadEmbedded().Rules!;
    private readonly string _state = Directory.CreateTempSubdirectory("incident-test-").FullName;
    private readonly ManualTime _time = new(new DateTimeOffset(2026, 12, 4, 12, 0, 0, TimeSpan.Zero));

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(_state, true); } catch (IOException) { }
    }

    private sealed class RecordingPublisher : IHealthPublisher
    {
        public readonly List<HealthEvent> Events = [];
        public readonly List<HealthRollup> Rollups = [];
        public readonly List<IReadOnlyList<PartCondition>> Parts = [];
        public string Name => "recording";
        public Task StartAsync(IHealthState state, CancellationToken ct) => Task.CompletedTask;
        public ValueTask PublishEventAsync(HealthEvent e, CancellationToken ct) { Events.Add(e); return ValueTask.CompletedTask; }
        public ValueTask PublishStateAsync(ComponentStatus status, CancellationToken ct) => ValueTask.CompletedTask;
        public ValueTask PublishRollupAsync(HealthRollup rollup, CancellationToken ct) { Rollups.Add(rollup); return ValueTask.CompletedTask; }
        public ValueTask PublishPartsAsync(IReadOnlyList<PartCondition> parts, HealthRollup rollup, CancellationToken ct) { Parts.Add(parts); return ValueTask.CompletedTask; }
        public Task StopAsync(CancellationToken ct) => Task.CompletedTask;
        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    private HealthPipeline Create(RecordingPublisher p) => new("agent-1", "boot-1", Rules, _state, [], [p], NullLoggerFactory.Instance, _time);

    // The components as the front panel and the BMC name them (the BMC's ids end with the slot, as Redfish member ids do).
    private static ComponentRef Panel(string family, int n) => new($"panel:{family}:{n}", Rules.FindFamily(family)!.HwType, $"{family} {n} (front panel)", Family: family);
    private static readonly ComponentRef BmcPsu2 = new("redfish:bmc:chassis/1:psu:PSU2", "power_supply", "PSU 2", Family: "psu", Derivation: "redfish.psu");
    private static readonly ComponentRef BmcSystem = new("redfish:bmc:system:1", "enclosure", "System", Family: "system", Derivation: "redfish.system");
    private static readonly ComponentRef BmcDrive1 = new("redfish:bmc:drive:Disk.Bay.1", "physical_disk", "Physical Disk 1", Family: "drive", Derivation: "redfish.drive");
    private static readonly ComponentRef Chassis = new("redfish:bmc:chassis:1", "enclosure", "Recorder chassis", Derivation: "redfish.health");
    private static readonly ComponentRef Redundancy = new("redfish:bmc:psu-redundancy:1", "power_supply", "PSU redundancy", Derivation: "redfish.psu-redundancy");
    private static readonly ComponentRef Volume = new("redfish:bmc:volume:1", "logical_disk", "Recordings (RAID 5)", Derivation: "redfish.volume");

    private static Observation Led(ComponentRef c, string led) => new(c, [], LedText.ParseIndicator(led, Rules.FindFamily(c.Family!)!.Leds));
    private static Observation Health(ComponentRef c, string health) => new(c, [new Reading("state", "Enabled"), new Reading("health", health)]);
    private static Observation RedundancyOf(string health, double spare) =>
        new(Redundancy, [new Reading("health", health), new Reading("dellRedundancy", null, Reason: "none"), new Reading("psuBays", 2.0), new Reading("sparePsus", spare)]);
    private static Observation VolumeOf(string health) =>
        new(Volume, [new Reading("state", "Enabled"), new Reading("health", health), new Reading("rebuilding", false), new Reading("rebuildPercent", null, Reason: "none"), new Reading("rebuildStopped", false)]);

    private static SourceResult Panel(params Observation[] o) => new("frontPanel", o, []);
    private static SourceResult Bmc(params Observation[] o) => new("redfish", o, []);
    private static readonly SourceResult Tick = new(HealthPipeline.Tick, [], []);

    private static SourceResult HealthyPanel() => Panel(Led(Panel("system", 1), "solid blue"), Led(Panel("power", 1), "solid green"),
        Led(Panel("psu", 1), "solid green"), Led(Panel("psu", 2), "solid green"), Led(Panel("drive", 1), "solid green"));
    private static SourceResult HealthyBmc() => Bmc(Led(BmcPsu2, "solid green"), Led(BmcSystem, "solid blue"), Led(BmcDrive1, "solid green"),
        Health(Chassis, "OK"), RedundancyOf("OK", 1), VolumeOf("OK"));

    private async Task StepAsync(HealthPipeline p, double seconds, params SourceResult[] results)
    {
        _time.Advance(TimeSpan.FromSeconds(seconds));
        foreach (var r in results) await p.ProcessAsync(r, default);
    }

    [Fact]
    public async Task Psu2Fails_PanelThenBmc_OneRaisedEventWithRedundancyAndSystemLedInside_OneProblem()
    {
        var pub = new RecordingPublisher();
        await using var p = Create(pub);
        await StepAsync(p, 0, HealthyPanel(), HealthyBmc());
        Assert.Empty(pub.Events);

        // The panel's LEDs turn amber first; the BMC walk reports the PSU, redundancy and chassis a second later.
        await StepAsync(p, 1, Panel(Led(Panel("psu", 2), "blinking amber"), Led(Panel("system", 1), "blinking amber"), Led(Panel("power", 1), "blinking amber")));
        // Within the correlation window: no event yet, but health already says what it is — one problem, pending — and
        // its worst severity is that problem's, not more (issue 13: worst was critical while problems was empty).
        var held = Assert.Single(p.Rollup.Problems);
        Assert.True(p.Rollup.IsPending(held));
        Assert.Equal(("psu:2", Severity.Critical, Severity.Critical), (held.Root.Part.Id, held.Severity, p.Rollup.Worst));
        Assert.Equal("pending", (string?)HealthJson.Health("agent-1", p.Rollup, false)["problems"]![0]!["state"]);
        await StepAsync(p, 1, Bmc(Led(BmcPsu2, "blinking amber"), Led(BmcSystem, "blinking amber"), Health(Chassis, "Critical"), RedundancyOf("Critical", 0)));
        Assert.Empty(pub.Events); // within the correlation window
        Assert.Equal(held.Id, Assert.Single(p.Rollup.Problems).Id); // the BMC's view joins the same problem
        await StepAsync(p, 5, Tick);

        var e = Assert.Single(pub.Events);
        Assert.Equal(EventKind.Raised, e.Kind);
        Assert.Equal(("psu:2", "PSU 2", "psu.fault", Severity.Critical), (e.Component.Id, e.Component.Name, e.Code, e.Severity));
        Assert.Equal(["frontPanel", "redfish"], e.Incident.Root.Observations.Select(o => o.Source).Order());
        var consequences = e.Incident.Consequences.Select(c => c.Verdict.Code).ToList();
        Assert.Contains("psu.redundancy_lost", consequences);
        Assert.Contains("system.fault", consequences);
        Assert.Contains("power.fault", consequences);
        Assert.Contains("redfish.critical", consequences);
        Assert.Equal("system", Assert.Single(e.Incident.Consequences, c => c.Verdict.Code == "system.fault").Part.Id); // panel + BMC: one LED
        var problem = Assert.Single(p.Rollup.Problems);
        Assert.Equal(e.Incident.Id, problem.Id); // the pending problem, now open: same id
        Assert.Equal(held.Id, problem.Id);
        Assert.False(p.Rollup.IsPending(problem));
        Assert.Equal("open", (string?)HealthJson.Health("agent-1", p.Rollup, false)["problems"]![0]!["state"]);

        // Fixed: one cleared event, the problem gone.
        await StepAsync(p, 3, HealthyPanel(), HealthyBmc());
        await StepAsync(p, 6, Tick);
        Assert.Equal([EventKind.Raised, EventKind.Cleared], pub.Events.Select(x => x.Kind));
        Assert.Equal(e.Incident.Id, pub.Events[1].Incident.Id);
        Assert.Equal(Severity.Ok, pub.Events[1].Severity);
        Assert.Empty(p.Rollup.Problems);
    }

    [Fact]
    public async Task Drive1Fails_PanelAndBmc_OneIncidentOneProblemWithVolumeInside()
    {
        var pub = new RecordingPublisher();
        await using var p = Create(pub);
        await StepAsync(p, 0, HealthyPanel(), HealthyBmc());
        await StepAsync(p, 1, Panel(Led(Panel("drive", 1), "blinking amber 4hz"), Led(Panel("system", 1), "blinking amber")),
            Bmc(Led(BmcDrive1, "blinking amber 4hz"), Led(BmcSystem, "blinking amber"), Health(Chassis, "Critical"), VolumeOf("Critical")));
        await StepAsync(p, 5, Tick);

        var e = Assert.Single(pub.Events);
        Assert.Equal(("drive:1", "drive.failed"), (e.Component.Id, e.Code));
        Assert.Contains(e.Incident.Consequences, c => c.Verdict.Code == "volume.failed");
        Assert.Single(p.Rollup.Problems);
        // The parts list: Drive 1 first (most severe), seen by both sources.
        var drive = p.Parts.First();
        Assert.True(drive.Part.Id is "drive:1" or "system", drive.Part.Id);
        Assert.Equal(2, p.Parts.Single(x => x.Part.Id == "drive:1").Observations.Count);
    }

    [Fact]
    public async Task PanelGreenBmcCritical_BothObservationsShown_BmcFaultRaised()
    {
        var pub = new RecordingPublisher();
        await using var p = Create(pub);
        await StepAsync(p, 0, HealthyPanel(), HealthyBmc());
        await StepAsync(p, 1, Bmc(Led(BmcPsu2, "blinking amber")));
        await StepAsync(p, 5, Tick);

        var e = Assert.Single(pub.Events);
        Assert.Equal(("psu:2", EventKind.Raised, Severity.Critical), (e.Component.Id, e.Kind, e.Severity));
        Assert.Equal("redfish", e.Incident.Root.Chosen.Source);
        Assert.Equal(2, e.Incident.Root.Observations.Count);
        Assert.Equal("BMC says critical (blinking amber), front panel says ok (solid green)", e.Incident.Root.Disagreement);
        var part = p.Parts.Single(x => x.Part.Id == "psu:2");
        Assert.Equal(Severity.Critical, part.Severity);
        Assert.NotNull(part.Disagreement);
    }

    [Fact]
    public async Task SystemLedAmberAlone_RaisedAfterTheWindow_CauseLater_TakesItOverWithoutSecondRaise()
    {
        var pub = new RecordingPublisher();
        await using var p = Create(pub);
        await StepAsync(p, 0, HealthyPanel(), HealthyBmc());
        await StepAsync(p, 1, Panel(Led(Panel("system", 1), "blinking amber")));
        await StepAsync(p, 2, Tick);
        Assert.Empty(pub.Events); // held: its cause may be on its way
        await StepAsync(p, 4, Tick);
        var orphan = Assert.Single(pub.Events);
        Assert.Equal(("system", EventKind.Raised), (orphan.Component.Id, orphan.Kind));

        await StepAsync(p, 20, Panel(Led(Panel("psu", 2), "blinking amber")));
        Assert.Equal(2, pub.Events.Count);
        var taken = pub.Events[1];
        Assert.Equal((EventKind.Changed, "psu:2", orphan.Incident.Id), (taken.Kind, taken.Component.Id, taken.Incident.Id));
        Assert.Equal("system", taken.From!.Part.Id);
        Assert.Single(p.Rollup.Problems);
        Assert.DoesNotContain(pub.Events.Skip(1), x => x.Kind == EventKind.Raised);
    }

    [Fact]
    public async Task Restart_IncidentStillOpen_NotRaisedAgain_SameIncidentId()
    {
        var pub = new RecordingPublisher();
        Guid id;
        await using (var p = Create(pub))
        {
            await StepAsync(p, 0, HealthyPanel(), HealthyBmc());
            await StepAsync(p, 1, Panel(Led(Panel("psu", 2), "blinking amber"), Led(Panel("system", 1), "blinking amber")), Bmc(Led(BmcPsu2, "blinking amber"), RedundancyOf("Critical", 0)));
            await StepAsync(p, 5, Tick);
            id = Assert.Single(pub.Events).Incident.Id;
        }
        var pub2 = new RecordingPublisher();
        await using var again = Create(pub2);
        Assert.Equal(id, Assert.Single(again.Rollup.Problems).Id);
        await StepAsync(again, 1, Panel(Led(Panel("psu", 2), "blinking amber"), Led(Panel("system", 1), "blinking amber"), Led(Panel("power", 1), "solid green")));
        await StepAsync(again, 1, Bmc(Led(BmcPsu2, "blinking amber"), RedundancyOf("Critical", 0), Led(BmcSystem, "blinking amber")));
        await StepAsync(again, 6, Tick);
        Assert.DoesNotContain(pub2.Events, e => e.Kind == EventKind.Raised);
        Assert.Equal(id, Assert.Single(again.Rollup.Problems).Id);
    }

    [Fact]
    public async Task BmcUnreadable_IncidentNeitherClearsNorReraises()
    {
        var pub = new RecordingPublisher();
        await using var p = Create(pub);
        await StepAsync(p, 0, HealthyPanel(), HealthyBmc());
        await StepAsync(p, 1, Bmc(Led(BmcPsu2, "blinking amber")));
        await StepAsync(p, 5, Tick);
        Assert.Single(pub.Events);
        await StepAsync(p, 5, new SourceResult("redfish", [], [new SourceError(SourceRunner.WholeSource, "BMC answered 500")]));
        await StepAsync(p, 5, Bmc(Led(BmcPsu2, "blinking amber")));
        await StepAsync(p, 6, Tick);
        Assert.Single(pub.Events);
        Assert.Single(p.Rollup.Problems);
    }

    [Fact]
    public async Task OneResultWithSeveralChanges_HealthPublishedOnce()
    {
        var pub = new RecordingPublisher();
        await using var p = Create(pub);
        await StepAsync(p, 0, HealthyPanel());
        await StepAsync(p, 1, Tick);
        var before = pub.Rollups.Count;
        await StepAsync(p, 1, Panel(Led(Panel("psu", 1), "off"), Led(Panel("psu", 2), "off"), Led(Panel("drive", 1), "blinking amber 4hz")));
        await StepAsync(p, 1, Tick);
        Assert.Equal(before + 1, pub.Rollups.Count);
    }

    [Fact]
    public async Task PanelBurst_OneLedPerResult_EventsAtOnce_HealthAndPartsOncePerBurst_FinalStateKept()
    {
        var pub = new RecordingPublisher();
        await using var p = Create(pub);
        await StepAsync(p, 0, HealthyPanel(), Panel(Led(Panel("nic", 1), "link solid green; activity off"), Led(Panel("nic", 2), "link solid green; activity off")));
        await StepAsync(p, 1, Tick);
        var (rollups, parts) = (pub.Rollups.Count, pub.Parts.Count);
        Assert.True(rollups > 0 && parts > 0);

        // The panel pushes its LEDs one line at a time, 20 ms apart: NIC 1 and 2 lose their link (no hold: raised at once).
        var burst = new[]
        {
            Led(Panel("nic", 1), "link off; activity off"), Led(Panel("quicksync", 1), "solid amber"), Led(Panel("nic", 2), "link off; activity off"),
            Led(Panel("quicksync", 1), "solid white"), Led(Panel("nic", 1), "link solid amber; activity off"), Led(Panel("quicksync", 1), "off"),
        };
        foreach (var o in burst)
        {
            await StepAsync(p, 0.02, Panel(o));
            Assert.Equal(rollups, pub.Rollups.Count); // not during the burst …
        }
        Assert.Equal(["nic:1", "nic:2"], pub.Events.Where(e => e.Kind == EventKind.Raised && e.Component.Id.StartsWith("nic:", StringComparison.Ordinal))
            .Select(e => e.Component.Id)); // … while every event went out at once
        await StepAsync(p, 0.3, Tick);
        Assert.Equal(rollups + 1, pub.Rollups.Count); // once, after it
        Assert.Equal(parts + 1, pub.Parts.Count);
        Assert.Equal(p.Rollup, pub.Rollups[^1]); // the final state
        Assert.Equal("link solid amber; activity off", pub.Parts[^1].Single(x => x.Part.Id == "nic:1").Chosen.Led!.ToString());

        // A steady stream (a change every 200 ms for 3 s) still publishes: at most PublishMaxDelay after a burst began.
        var flips = 0;
        for (var i = 0; i < 15; i++) await StepAsync(p, 0.2, Panel(Led(Panel("quicksync", 1), ++flips % 2 == 0 ? "off" : "solid amber")));
        Assert.InRange(pub.Rollups.Count - (rollups + 1), 2, 4);
    }
}
