using HealthAgent.Model;
using HealthAgent.Pipeline;
using HealthAgent.Publishing;
using HealthAgent.Rules;
using HealthAgent.Sources;
using HealthAgent.Tests.Web;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;

namespace HealthAgent.Tests.Incidents;

/// <summary>
/// Parts and incidents through the real pipeline and the shipped rules (rules/parts): what the front panel and the BMC
/// report of one fault is one part and one incident — one raised event, one problem — with its consequences inside.
/// </summary>
public sealed class IncidentPipelineTests(ITestOutputHelper output) : IDisposable
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

    private HealthPipeline Create(RecordingPublisher p, ILoggerFactory? logs = null) => new("agent-1", "boot-1", Rules, _state, [], [p], logs ?? NullLoggerFactory.Instance, _time);

    /// <summary>The console's incident and component lines (the pipeline's change event id, Information and up), as the console shows them.</summary>
    private sealed class ConsoleLines : ILoggerProvider, ILogger
    {
        public readonly List<string> Lines = [];
        public ILogger CreateLogger(string categoryName) => this;
        public void Dispose() { }
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel) && eventId.Id == HealthPipeline.ComponentChangeEventId) Lines.Add(formatter(state, exception).TrimEnd());
        }
    }

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

    // The demo's overheat (deploy/scenarios/demo.yaml, t = 40 "System ID mode on", t = 44 "ID mode off; CPU 1 overheats",
    // t = 50 "Cooled down; a phone connects over Quick Sync") as the simulator plays it: the panel pushes each LED that
    // changed as its own line (system; at the cool-down system, then Quick Sync); the BMC's SSE re-reads push System,
    // Chassis and the CPU1 sensor one result each, and a walk pushes them together — a walk that straddles the change read
    // System and Chassis before it and the sensor after it. Which of the two sources reports first is a race.
    private static readonly ComponentRef Cpu1 = new("redfish:bmc:temp:1:Temp.cpu1", "temperature", "CPU1 Temp", Derivation: "redfish.temperature");

    private static Observation Cpu1At(double celsius) => new(Cpu1,
    [
        new Reading("state", "Enabled"), new Reading("health", celsius >= 95 ? "Critical" : "OK"), new Reading("readingCelsius", celsius, "Cel"),
        new Reading("upperCaution", 85.0, "Cel"), new Reading("upperCritical", 95.0, "Cel"), new Reading("upperFatal", 100.0, "Cel"),
        new Reading("lowerCaution", null, Reason: "none"), new Reading("lowerCritical", null, Reason: "none"), new Reading("lowerFatal", null, Reason: "none"),
    ]);

    private static SourceResult PanelSystem(string led) => Panel(Led(Panel("system", 1), led));

    private static (double After, SourceResult Result)[] OverheatStart(string order, string systemBefore)
    {
        var panel = PanelSystem("blinking amber");
        SourceResult system = Bmc(Led(BmcSystem, "blinking amber")), chassis = Bmc(Health(Chassis, "Critical")), sensor = Bmc(Cpu1At(97));
        var walk = Bmc(Led(BmcSystem, "blinking amber"), Health(Chassis, "Critical"), Cpu1At(97));
        return order switch
        {
            "panel, then BMC events" => [(0, panel), (0.02, system), (0.01, chassis), (0.01, sensor), (0.2, walk)],
            "BMC events, then panel" => [(0, system), (0.01, chassis), (0.01, sensor), (0.02, panel), (0.2, walk)],
            "sensor event, panel, BMC system" => [(0, sensor), (0.01, panel), (0.01, system), (0.01, chassis), (0.2, walk)],
            "straddling walk, then panel" => [(0, Bmc(Led(BmcSystem, systemBefore), Health(Chassis, "OK"), Cpu1At(97))), (0.01, panel), (0.02, system), (0.01, chassis)],
            "BMC walk, panel 0.5 s later" => [(0, walk), (0.5, panel)],
            "panel, BMC after the hold" => [(0, panel), (5, Tick), (0.5, walk)],
            _ => throw new ArgumentOutOfRangeException(nameof(order), order, null),
        };
    }

    private static (double After, SourceResult Result)[] CoolDown(string order)
    {
        SourceResult panelSystem = PanelSystem("solid blue"), panelQuickSync = Panel(Led(Panel("quicksync", 1), "blinking white fast"));
        SourceResult system = Bmc(Led(BmcSystem, "solid blue")), chassis = Bmc(Health(Chassis, "OK")), sensor = Bmc(Cpu1At(52));
        return order switch
        {
            "panel first" => [(0, panelSystem), (0.02, panelQuickSync), (0.02, system), (0.01, chassis), (0.01, sensor)],
            "BMC first" => [(0, sensor), (0.01, system), (0.01, chassis), (0.02, panelSystem), (0.02, panelQuickSync)],
            "straddling walk first" => [(0, Bmc(Led(BmcSystem, "blinking amber"), Health(Chassis, "Critical"), Cpu1At(52))), (0.01, panelSystem), (0.02, panelQuickSync), (0.02, system), (0.01, chassis)],
            _ => throw new ArgumentOutOfRangeException(nameof(order), order, null),
        };
    }

    public static TheoryData<string, string, bool> OverheatOrders()
    {
        var data = new TheoryData<string, string, bool>();
        foreach (var start in new[] { "panel, then BMC events", "BMC events, then panel", "sensor event, panel, BMC system", "straddling walk, then panel", "BMC walk, panel 0.5 s later", "panel, BMC after the hold" })
            foreach (var end in new[] { "panel first", "BMC first", "straddling walk first" })
                foreach (var idMode in new[] { true, false })
                    data.Add(start, end, idMode);
        return data;
    }

    /// <summary>
    /// One fault, one incident, whichever source reports first: the overheat raises one incident rooted at CPU1 Temp (or,
    /// when the system LED's fault was raised first — a panel alone past the hold — one changed event moves that
    /// incident's root to CPU1 Temp), and the cool-down clears it once. An ID mode before it is a notice, cleared when the
    /// fault begins. The console prints one line per event.
    /// </summary>
    [Theory]
    [MemberData(nameof(OverheatOrders))]
    public async Task CpuOverheats_AnyOrderOfPanelAndBmc_OneIncidentRootedAtCpu1_OneLinePerEvent(string start, string end, bool idModeBefore)
    {
        var pub = new RecordingPublisher();
        using var console = new ConsoleLines();
        using var logs = LoggerFactory.Create(b => b.AddProvider(console).SetMinimumLevel(LogLevel.Information));
        await using var p = Create(pub, logs);
        await StepAsync(p, 0, HealthyPanel(), HealthyBmc(), Bmc(Cpu1At(52)));
        Guid? idIncident = null;
        if (idModeBefore)
        {
            await StepAsync(p, 1, PanelSystem("blinking blue"));
            await StepAsync(p, 0.01, Bmc(Led(BmcSystem, "blinking blue")));
            var id = Assert.Single(pub.Events);
            Assert.Equal(("system", EventKind.Raised, Severity.Info), (id.Component.Id, id.Kind, id.Severity));
            idIncident = id.Incident.Id;
        }
        await StepAsync(p, 4, Tick);
        var first = pub.Events.Count;
        console.Lines.Clear();

        var steps = OverheatStart(start, idModeBefore ? "blinking blue" : "solid blue");
        foreach (var (after, result) in steps) await StepAsync(p, after, result);
        await StepAsync(p, 6 - steps.Sum(s => s.After), Tick);
        var hot = Assert.Single(p.Rollup.Problems);
        Assert.Equal((Cpu1.Id, Severity.Critical), (hot.Root.Part.Id, hot.Severity));
        foreach (var (after, result) in CoolDown(end)) await StepAsync(p, after, result);
        await StepAsync(p, 6, Tick);

        var all = pub.Events.Skip(first).Where(e => e.Component.Id != "panel:quicksync:1").ToList();
        if (idIncident is { } idmode)
        {
            // the ID mode was a notice: the overheat is another problem — the notice is cleared (first), the fault raised
            var notice = all.Where(e => e.Incident.Id == idmode).ToList();
            Assert.True(notice.Count == 1 && notice[0].Kind == EventKind.Cleared && all[0] == notice[0], "the ID mode's incident is cleared first:\n" + string.Join("\n", all.Select(e => $"{e.Kind} {e.Component.Id} {e.Incident.Id}")));
            Assert.StartsWith("ok System health indicator: cleared: blinking blue", console.Lines[0], StringComparison.Ordinal);
            console.Lines.RemoveAt(0);
        }
        var events = all.Where(e => e.Incident.Id != idIncident).ToList();
        var lines = console.Lines.Where(l => !l.Contains("quicksync", StringComparison.Ordinal)).ToList();
        var told = string.Join("\n", events.Select(e => $"{e.Kind} {e.Component.Id} {e.Code} {e.Severity} from {e.From?.Part.Id} ({e.Incident.Id})"))
            + "\nconsole:\n" + string.Join("\n", lines);
        output.WriteLine(told);
        Assert.True(events.Select(e => e.Incident.Id).Distinct().Count() == 1, "one incident:\n" + told);
        Assert.True(events.Count(e => e.Kind == EventKind.Raised) == 1, "raised once:\n" + told);
        Assert.True(events.Count(e => e.Kind == EventKind.Cleared) == 1 && events[^1].Kind == EventKind.Cleared, "cleared once, at the end:\n" + told);
        Assert.Equal((Cpu1.Id, Severity.Ok), (events[^1].Component.Id, events[^1].Severity));
        // The root moves to CPU1 Temp once and stays there.
        var atCpu = events.FindIndex(e => e.Component.Id == Cpu1.Id);
        Assert.True(atCpu >= 0 && events.Skip(atCpu).All(e => e.Component.Id == Cpu1.Id), "the root moves to CPU1 Temp once:\n" + told);
        Assert.True(events[atCpu].Kind == EventKind.Raised || events[atCpu].From?.Part.Id == "system", told);
        Assert.Contains(events[atCpu].Incident.Consequences, c => c.Part.Id == "system");
        // The console: one line per event, the cleared line says ok and the temperature it cooled down to.
        Assert.True(lines.Count == events.Count, $"{lines.Count} console lines for {events.Count} events:\n" + told);
        Assert.StartsWith("ok CPU1 Temp [bmc]: cleared: 52 °C", lines[^1], StringComparison.Ordinal);
        Assert.Empty(p.Rollup.Problems);
    }
}
