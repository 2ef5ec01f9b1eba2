using System.Net.Http.Json;
using System.Text.Json.Nodes;
using HealthAgent.Rules;
using HealthAgent.Simulator;
using HealthAgent.Sources;
using HealthAgent.Sources.FrontPanel;
using Microsoft.Extensions.Logging.Abstractions;

namespace HealthAgent.Tests.Simulator;

/// <summary>A running simulator (Redfish on a free port, pty panel, host tree in a temp dir) and the real front-panel source reading it.</summary>
public sealed class SimulatorHarness : IAsyncDisposable
{
    public static readonly RuleSet Rules = RuleLoader.LoadEmbedded().Rules!;

    private SimulatorHarness(string dir, Simulation sim, FrontPanelSource panel, HttpClient http)
    {
        Dir = dir;
        Sim = sim;
        Panel = panel;
        Http = http;
    }

    public string Dir { get; }
    public Simulation Sim { get; }
    public FrontPanelSource Panel { get; }
    public HttpClient Http { get; }
    public Evaluator Evaluator { get; } = new(Rules);

    public static async Task<SimulatorHarness> StartAsync(string? scenario = null, double speed = 1, string? auth = null, bool tls = false)
    {
        var dir = Directory.CreateTempSubdirectory("sim-test-").FullName;
        var sim = await Simulation.StartAsync(
            new SimulationOptions(scenario, 0, Path.Combine(dir, "panel"), Path.Combine(dir, "host"), speed, false, auth, PanelHeartbeatSeconds: 0.1, Tls: tls, TlsCertificateFile: tls ? Path.Combine(dir, "cert.pem") : null),
            Rules, NullLoggerFactory.Instance, CancellationToken.None);
        var panel = new FrontPanelSource(new FrontPanelOptions { Enabled = true, Device = sim.Panel!.Link, HeartbeatSeconds = 0.5 },
            new SourceContext(NullLoggerFactory.Instance, Rules, TimeProvider.System));
        await panel.PollAsync(CancellationToken.None);
        // With TLS, trust exactly the simulator's certificate by its fingerprint (as a client pinning a BMC would).
        var handler = new HttpClientHandler();
        if (sim.Redfish!.Certificate is { } cert)
            handler.ServerCertificateCustomValidationCallback = (_, presented, _, _) => presented?.GetCertHashString(System.Security.Cryptography.HashAlgorithmName.SHA256) == cert.GetCertHashString(System.Security.Cryptography.HashAlgorithmName.SHA256);
        return new SimulatorHarness(dir, sim, panel, new HttpClient(handler) { BaseAddress = sim.Redfish.BaseAddress, Timeout = TimeSpan.FromSeconds(10) });
    }

    /// <summary>Rule id the panel component evaluates to now (through the front-panel source and the Evaluator), or null.</summary>
    public string? PanelRule(string componentId)
    {
        var o = Panel.Snapshot().Observations.FirstOrDefault(x => x.Component.Id == componentId);
        return o is null ? null : o.UnknownReason is not null ? "unknown" : Evaluator.Evaluate(o).Rule?.Id;
    }

    /// <summary>The value an expectation names, read the way a client would: panel via the source, host via the file, Redfish via HTTP.</summary>
    public async Task<string?> ActualAsync(string key)
    {
        if (key.StartsWith("panel:", StringComparison.Ordinal)) return PanelRule(key);
        if (key.StartsWith("host~:", StringComparison.Ordinal) || key.StartsWith("host:", StringComparison.Ordinal))
        {
            var path = Path.Combine(Sim.Host!.Root, key[(key.IndexOf(':') + 1)..]);
            return File.Exists(path) ? File.ReadAllText(path) : null;
        }
        var hash = key.IndexOf('#');
        var resource = key["redfish:".Length..hash];
        var res = await Http.GetAsync(resource);
        if (!res.IsSuccessStatusCode) return $"HTTP {(int)res.StatusCode}";
        JsonNode? node = await res.Content.ReadFromJsonAsync<JsonNode>();
        foreach (var part in key[(hash + 1)..].Split('.'))
            node = int.TryParse(part, out var i) && node is JsonArray a ? (i < a.Count ? a[i] : null) : node?[part];
        return node?.ToString();
    }

    public static bool Holds(string key, string expected, string? actual) =>
        actual is not null && (key.StartsWith("host~:", StringComparison.Ordinal) ? actual.Contains(expected, StringComparison.Ordinal)
            : key.StartsWith("host:", StringComparison.Ordinal) ? actual.TrimEnd('\n') == expected : actual == expected);

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        Panel.Dispose();
        await Sim.DisposeAsync();
        try { Directory.Delete(Dir, true); } catch (IOException) { }
    }
}
