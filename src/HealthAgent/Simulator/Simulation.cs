using System.Text.Json.Nodes;
using HealthAgent.Rules;
using Microsoft.Extensions.Logging;

namespace HealthAgent.Simulator;

/// <summary>What `healthagent simulate` runs: which parts, where, and which scenario at which speed.</summary>
/// <param name="RedfishPort">Port on 127.0.0.1 for the Redfish service (0 = any free port), or null for none.</param>
/// <param name="PanelLink">Stable symlink to the front panel's pty, or null for no panel.</param>
/// <param name="HostRoot">Directory for the sysfs/procfs-style host tree, or null for none.</param>
/// <param name="Speed">Time compression for the scenario (2 = twice as fast).</param>
/// <param name="Auth">"user:password" to require basic auth or a session; null for none.</param>
/// <param name="Tls">Serve https with a fresh self-signed certificate (as BMCs do); <see cref="TlsCertificateFile"/> receives its PEM.</param>
public sealed record SimulationOptions(
    string? Scenario = null, int? RedfishPort = 8443, string? PanelLink = SimulationOptions.DefaultPanelLink, string? HostRoot = null,
    double Speed = 1, bool Loop = false, string? Auth = null, double PanelHeartbeatSeconds = 1, bool Tls = false, string? TlsCertificateFile = null)
{
    public const string DefaultPanelLink = "/tmp/healthagent-panel";
}

/// <summary>The simulated appliance with its outputs: Redfish service, pty front panel, host tree and scenario runner.</summary>
public sealed class Simulation : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private Task? _scenarioTask, _tickTask;

    private Simulation(SimulationOptions options) => Options = options;

    public SimulationOptions Options { get; }
    public Appliance Appliance { get; } = new();
    public RedfishService? Redfish { get; private set; }
    public PanelEmulator? Panel { get; private set; }
    public HostTree? Host { get; private set; }
    public Scenario? Scenario { get; private set; }
    public ScenarioRunner? Runner { get; private set; }
    /// <summary>What the running scenario said last.</summary>
    public string? LastSay { get; private set; }

    /// <summary>Raised for every scenario step (the CLI prints the step's "say").</summary>
    public event Action<ScenarioStep>? StepApplied;

    /// <summary>Starts the configured parts; the scenario (if any) is loaded first so a bad file fails before anything listens.</summary>
    public static async Task<Simulation> StartAsync(SimulationOptions options, RuleSet? rules, ILoggerFactory logging, CancellationToken ct)
    {
        var sim = new Simulation(options);
        try
        {
            if (options.Scenario is { } name) sim.Scenario = ScenarioLoader.Resolve(name, rules);
            if (options.HostRoot is { } root)
            {
                sim.Host = new HostTree(sim.Appliance, root);
                sim.Host.Write();
                sim.Appliance.Changed += _ => sim.Host.Write();
                sim._tickTask = sim.TickAsync(sim._stop.Token);
            }
            if (options.PanelLink is { } link) sim.Panel = new PanelEmulator(sim.Appliance, link, options.PanelHeartbeatSeconds);
            if (options.RedfishPort is { } port) {
                sim.Redfish = await RedfishService.StartAsync(sim.Appliance, sim, port, options.Auth, options.Tls, logging, ct).ConfigureAwait(false);
                if (sim.Redfish.Certificate is { } cert && options.TlsCertificateFile is { } pem) File.WriteAllText(pem, cert.ExportCertificatePem() + "\n");
            }
            return sim;
        }
        catch
        {
            await sim.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Plays the scenario in the background (time-compressed by Options.Speed).</summary>
    public void StartScenario(TimeProvider? time = null)
    {
        if (Scenario is null) return;
        Runner = new ScenarioRunner(Appliance, Scenario, Options.Speed, time ?? TimeProvider.System, step =>
        {
            if (step.Say is not null) LastSay = step.Say;
            StepApplied?.Invoke(step);
        });
        _scenarioTask = Task.Run(async () =>
        {
            try { await Runner.RunAsync(Options.Loop, _stop.Token).ConfigureAwait(false); }
            catch (OperationCanceledException) { }
        });
    }

    /// <summary>Completes when a non-looping scenario has played to its end.</summary>
    public Task ScenarioCompletion => _scenarioTask ?? Task.CompletedTask;

    private async Task TickAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false))
            {
                try { Host!.Write(tick: true); } catch (IOException) { }
            }
        }
        catch (OperationCanceledException) { }
    }

    /// <summary>GET /sim/state and the interactive `state` command.</summary>
    public JsonObject StateJson()
    {
        var targets = new JsonObject();
        foreach (var (k, v) in Appliance.Values.OrderBy(kv => Appliance.Targets.ToList().FindIndex(t => t.Name == kv.Key)))
            targets[k] = v switch { bool b => JsonValue.Create(b), double d => JsonValue.Create(d), _ => JsonValue.Create((string)v) };
        return new JsonObject
        {
            ["targets"] = targets,
            ["panel"] = new JsonArray(Appliance.PanelLeds().Select(l => (JsonNode)new JsonObject { ["family"] = l.Family, ["index"] = l.Index, ["led"] = l.State }).ToArray()),
            ["panelRecent"] = Panel is null ? null : new JsonArray(Panel.Recent.TakeLast(12).Select(l => (JsonNode)l).ToArray()),
            ["scenario"] = Scenario is null ? null : new JsonObject
            {
                ["name"] = Scenario.Name, ["step"] = Runner?.Step, ["rounds"] = Runner?.Rounds, ["say"] = LastSay,
            },
            ["redfish"] = Redfish?.BaseAddress.ToString(),
            ["redfishRequests"] = Redfish?.Requests,
            ["redfishExpandedRequests"] = Redfish?.ExpandedRequests,
            ["panelLink"] = Panel?.Link,
            ["hostRoot"] = Host?.Root,
            ["help"] = new JsonObject(Appliance.Targets.Select(t => KeyValuePair.Create(t.Name, (JsonNode?)JsonValue.Create($"{t.Describe()} — {t.Help}")))),
        };
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_scenarioTask is not null) await _scenarioTask.ConfigureAwait(false);
        if (_tickTask is not null) await _tickTask.ConfigureAwait(false);
        if (Redfish is not null) await Redfish.DisposeAsync().ConfigureAwait(false);
        Panel?.Dispose();
        _stop.Dispose();
    }
}
