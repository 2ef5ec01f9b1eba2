using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using HealthAgent.Model;
using HealthAgent.Rules;
using HealthAgent.Web;
using HealthAgent.Web.Auth;
using Microsoft.Extensions.Logging;

namespace HealthAgent.Tests.Web;

/// <summary>A clock the tests move.</summary>
public sealed class ManualTime(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset _now = start;
    public override DateTimeOffset GetUtcNow() => _now;
    public void Advance(TimeSpan by) => _now += by;
}

/// <summary>Every log line the web server writes, formatted, for "no password in logs" checks.</summary>
public sealed class CapturingLoggerProvider : ILoggerProvider
{
    public ConcurrentQueue<string> Lines { get; } = new();
    public ILogger CreateLogger(string categoryName) => new L(this, categoryName);
    public void Dispose() { }

    private sealed class L(CapturingLoggerProvider p, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var values = state is IEnumerable<KeyValuePair<string, object?>> kv ? string.Join(" ", kv.Select(x => $"{x.Key}={x.Value}")) : "";
            p.Lines.Enqueue($"{logLevel} {category}: {formatter(state, exception)} [{values}] {exception}");
        }
    }
}

/// <summary>
/// A running web view over an <see cref="InMemoryHealthState"/> holding a desktop terminal's components, evaluated by the
/// real rule tables, with one user per access case.
/// </summary>
public sealed class WebTestHost : IAsyncDisposable
{
    public const int Iterations = 1000; // fast test hashes; the format and code path are the production ones

    /// <summary>The access cases of the authorization matrix: user name → description.</summary>
    public static readonly string[] Users = ["admin", "operator", "restricted", "viewer", "nocviewer"];

    public static string PasswordOf(string user) => "pw-" + user + "-Correct horse";

    private readonly ILoggerFactory _loggers;

    private WebTestHost(WebServer server, InMemoryHealthState state, ManualTime time, CapturingLoggerProvider logs, ILoggerFactory loggers, WebOptions options, string rulesDir)
    {
        Server = server; State = state; Time = time; Logs = logs; _loggers = loggers; Options = options; RulesDirectory = rulesDir;
    }

    public WebServer Server { get; }
    public InMemoryHealthState State { get; }
    public ManualTime Time { get; }
    public CapturingLoggerProvider Logs { get; }
    public WebOptions Options { get; }
    public string RulesDirectory { get; }
    public Uri BaseUri => new(Server.Addresses[0]);
    public RuleSet? Reloaded { get; private set; }

    public static RuleSet LoadRules()
    {
        var asm = typeof(RuleLoader).Assembly;
        var files = asm.GetManifestResourceNames().Where(n => n.StartsWith("rules/", StringComparison.Ordinal)).Order(StringComparer.Ordinal)
            .Select(n => { using var r = new StreamReader(asm.GetManifestResourceStream(n)!); return ("embedded:" + n, r.ReadToEnd()); })
            .Append(("test:derivations/test.temperature.yaml", TemperatureTable))
            .Append(("test:derivations/test.fan.yaml", FanTable))
            .ToList();
        var (rules, errors) = RuleLoader.Load(files);
        Assert.True(rules is not null, string.Join("\n", errors));
        return rules!;
    }

    private const string TemperatureTable = """
        derivation: test.temperature
        hwType: temperature
        inputs: { celsius: number, highCelsius: number, critCelsius: number }
        health:
          - { id: test.temperature.critical, when: { celsius: { ge: $critCelsius } }, state: failed, severity: critical, code: temperature.critical, meaning: The temperature is at or above its critical limit., action: Check the fans and airflow now. }
          - { id: test.temperature.high, when: { celsius: { ge: $highCelsius } }, state: degraded, severity: warning, code: temperature.high, meaning: The temperature is above its high limit., action: Check the fans and the room temperature. }
          - { id: test.temperature.ok, when: { celsius: { known: true } }, state: ok, severity: ok, code: temperature.ok, meaning: The temperature is within its limits., action: No action needed. }
        """;

    private const string FanTable = """
        derivation: test.fan
        hwType: fan
        inputs: { rpm: number, minRpm: number }
        health:
          - { id: test.fan.slow, when: { rpm: { lt: $minRpm } }, state: failed, severity: critical, code: fan.stalled, meaning: The fan turns slower than its minimum., action: Replace the fan. }
          - { id: test.fan.ok, when: { rpm: { known: true } }, state: ok, severity: ok, code: fan.ok, meaning: The fan turns normally., action: No action needed. }
        """;

    public static async Task<WebTestHost> StartAsync(Action<WebOptions>? configure = null)
    {
        var rules = LoadRules();
        var time = new ManualTime(DateTimeOffset.UtcNow);
        var state = new InMemoryHealthState("s9002-lab-1", rules, time);
        Seed(state);
        var logs = new CapturingLoggerProvider();
        var loggers = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(logs));
        var user = (string name, string role, bool? shm) => new WebUser { Name = name, Role = role, PasswordHash = PasswordHasher.Hash(PasswordOf(name), Iterations), SystemHealthMonitoring = shm };
        var options = new WebOptions
        {
            Enabled = true,
            Urls = ["http://127.0.0.1:0"],
            Users =
            [
                user("admin", "administrator", null),
                user("operator", "operator", null),
                user("restricted", "operator", false),
                user("viewer", "viewer", null),
                user("nocviewer", "viewer", null),
            ],
            Groups = [new WebGroup { Name = "noc", Role = "operator", Members = ["nocviewer"] }],
        };
        configure?.Invoke(options);
        var rulesDir = CopyRules();
        WebTestHost? host = null;
        var server = await WebServer.StartAsync(options, state, rules, loggers,
            new WebServerSettings { RulesDirectory = rulesDir, Time = time, RulesReloaded = r => host!.Reloaded = r }, CancellationToken.None);
        host = new WebTestHost(server!, state, time, logs, loggers, options, rulesDir);
        return host;
    }

    /// <summary>A desktop terminal as the sources would see it: front panel, two PSUs, two NIC ports, two drives, sensors.</summary>
    public static void Seed(InMemoryHealthState s)
    {
        s.Observe(Led(new ComponentRef("system", "enclosure", "System health", Family: "system"), "solid blue"));
        s.Observe(Led(Psu(1), "solid green"));
        s.Observe(Led(Psu(2), "solid green"));
        s.Observe(Led(new ComponentRef("nic:eth0", "network", "eth0 (camera VLAN)", Family: "nic"), "link solid amber; activity blinking green",
            new Reading("speedMbps", 1000.0, "Mbit/s"), new Reading("maxSpeedMbps", 10000.0, "Mbit/s")));
        s.Observe(Led(new ComponentRef("nic:eth1", "network", "eth1 (uplink)", Family: "nic"), "link solid green; activity blinking green",
            new Reading("speedMbps", 1000.0, "Mbit/s"), new Reading("maxSpeedMbps", 1000.0, "Mbit/s")));
        s.Observe(Led(new ComponentRef("drive:0", "physical_disk", "Drive 0", Family: "drive"), "solid green"));
        s.Observe(Led(new ComponentRef("drive:1", "physical_disk", "Drive 1", Family: "drive"), "blinking green for 3s, blinking amber for 3s, then off"));
        s.Observe(new Observation(new ComponentRef("temp:cpu", "temperature", "CPU package", Derivation: "test.temperature"),
            [new Reading("celsius", 47.0, "°C"), new Reading("highCelsius", 80.0, "°C"), new Reading("critCelsius", 95.0, "°C")]));
        s.Observe(new Observation(new ComponentRef("fan:1", "fan", "System fan 1", Derivation: "test.fan"),
            [new Reading("rpm", 5200.0, "rpm"), new Reading("minRpm", 900.0, "rpm")]));
        s.Identifiable.Add("system");
        s.Identifiable.Add("drive:0");
    }

    public static ComponentRef Psu(int n) => new($"psu:{n}", "power_supply", $"PSU {n}", Family: "psu");

    public static Observation Led(ComponentRef c, string led, params Reading[] readings)
    {
        var fam = LoadedFamilies.Value.FindFamily(c.Family!)!;
        return new Observation(c, readings, LedText.ParseIndicator(led, fam.Leds));
    }

    private static readonly Lazy<RuleSet> LoadedFamilies = new(LoadRules);

    /// <summary>The PSU failure of the tests: PSU 2's handle blinks amber at 4 Hz, and the system health LED blinks amber.</summary>
    public void FailPsu2()
    {
        State.ObserveAll(Led(Psu(2), "blinking amber 4hz"), Led(new ComponentRef("system", "enclosure", "System health", Family: "system"), "blinking amber"));
    }

    private static string CopyRules()
    {
        var dir = Path.Combine(Path.GetTempPath(), "ha-web-rules-" + Guid.NewGuid().ToString("N")[..8]);
        var asm = typeof(RuleLoader).Assembly;
        foreach (var n in asm.GetManifestResourceNames().Where(n => n.StartsWith("rules/", StringComparison.Ordinal)))
        {
            var path = Path.Combine(dir, n["rules/".Length..]);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            using var r = asm.GetManifestResourceStream(n)!;
            using var w = File.Create(path);
            r.CopyTo(w);
        }
        return dir;
    }

    /// <summary>An HTTP client with its own cookie jar; signed in as <paramref name="user"/> unless null.</summary>
    public async Task<Client> ClientAsync(string? user)
    {
        var handler = new HttpClientHandler { CookieContainer = new CookieContainer(), UseCookies = true };
        var http = new HttpClient(handler) { BaseAddress = BaseUri };
        string? csrf = null;
        if (user is not null)
        {
            var r = await http.PostAsJsonAsync("/api/login", new { username = user, password = PasswordOf(user) });
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            csrf = JsonNode.Parse(await r.Content.ReadAsStringAsync())!["csrfToken"]!.GetValue<string>();
        }
        return new Client(http, handler, csrf);
    }

    public sealed record Client(HttpClient Http, HttpClientHandler Handler, string? Csrf) : IDisposable
    {
        public Task<HttpResponseMessage> GetAsync(string path) => Http.GetAsync(path);

        public Task<HttpResponseMessage> PostAsync(string path, object? body = null, bool withCsrf = true)
        {
            var req = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body ?? new { }) };
            if (withCsrf && Csrf is not null) req.Headers.Add("X-CSRF-Token", Csrf);
            return Http.SendAsync(req);
        }

        public void Dispose() => Http.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        _loggers.Dispose();
        try { Directory.Delete(RulesDirectory, true); } catch (IOException) { }
    }
}
