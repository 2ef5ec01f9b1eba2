using System.Diagnostics;
using System.Threading.Channels;
using HealthAgent.Model;
using HealthAgent.Rules;
using HealthAgent.Sources;

namespace HealthAgent.Tests.Pipeline;

/// <summary>Rule sets and observations the pipeline tests share.</summary>
public static class PipelineFixtures
{
    /// <summary>A LED-less temperature table with 2 °C hysteresis, like the hwmon tables.</summary>
    public const string TemperatureTable = """
        derivation: test.temperature
        hwType: temperature
        hysteresis: 2
        inputs: { value: number, max: number }
        health:
          - id: test.temperature.high
            when: { value: { ge: $max } }
            state: degraded
            severity: warning
            code: sensor.temperature_high
            meaning: The temperature is at or above its limit.
            action: Check cooling.
          - id: test.temperature.ok
            when: { value: { known: true } }
            state: ok
            severity: ok
            code: sensor.ok
            meaning: The temperature is within its limits.
            action: No action needed.
        """;

    public static readonly RuleSet Seed = Load();

    private static RuleSet Load()
    {
        var asm = typeof(RuleLoader).Assembly;
        var files = asm.GetManifestResourceNames().Where(n => n.StartsWith("rules/indicators/", StringComparison.Ordinal)).Order(StringComparer.Ordinal)
            .Select(n => { using var r = new StreamReader(asm.GetManifestResourceStream(n)!); return (n, r.ReadToEnd()); }).ToList();
        files.Add(("rules/derivations/test.temperature.yaml", TemperatureTable));
        var (rules, errors) = RuleLoader.Load(files);
        Assert.True(rules is not null, string.Join("\n", errors));
        return rules!;
    }

    /// <summary>The same rules with a debounce on one family.</summary>
    public static RuleSet WithDebounce(string family, Debounce d) => Seed with
    {
        Families = Seed.Families.Select(f => f.Name != family ? f : f with { Debounce = d, Rules = f.Rules.Select(r => r with { Debounce = d }).ToList() }).ToList(),
    };

    public static readonly ComponentRef Psu1 = new("psu:1", "power_supply", "PSU 1", "chassis", Family: "psu");
    public static readonly ComponentRef Nic0 = new("nic:eth0", "network", "eth0", Family: "nic");
    public static readonly ComponentRef Temp1 = new("hwmon:coretemp/temp1", "temperature", "Package id 0", Derivation: "test.temperature");

    public static Observation Led(ComponentRef c, string text)
    {
        var fam = Seed.FindFamily(c.Family!)!;
        return new Observation(c, [], LedText.ParseIndicator(text, fam.Leds));
    }

    public static Observation Psu(string led) => Led(Psu1, led);
    public static Observation Temp(double? value) => new(Temp1, [new Reading("value", value, "Cel"), new Reading("max", 80.0, "Cel")]);
    public static Observation Unreadable(ComponentRef c) => new(c, [], null, "BMC answered 500");
}

/// <summary>
/// A real source for tests: it polls the last observations it was given and pushes each new one immediately
/// (like a netlink or SSE source).
/// </summary>
public sealed class ScriptedSource(string name = "scripted") : IPushSource
{
    private readonly Channel<Observation> _pushed = Channel.CreateUnbounded<Observation>();
    private readonly Dictionary<string, Observation> _current = [];
    private readonly Lock _lock = new();

    public string Name => name;

    public void Set(Observation o)
    {
        lock (_lock) _current[o.Component.Id] = o;
        _pushed.Writer.TryWrite(o);
    }

    public Task<SourceResult> PollAsync(CancellationToken ct)
    {
        lock (_lock) return Task.FromResult(new SourceResult(Name, _current.Values.ToList(), []));
    }

    public async Task RunAsync(ChannelWriter<SourceResult> changes, CancellationToken ct)
    {
        await foreach (var o in _pushed.Reader.ReadAllAsync(ct)) await changes.WriteAsync(new SourceResult(Name, [o], []), ct);
    }
}

/// <summary>
/// A poll-only view of a source: the runner sees no <see cref="IPushSource"/>, so a change reaches the pipeline only
/// through the next poll. <see cref="PolledAsync"/> tells when (a Stopwatch timestamp) a poll first returned a result
/// that matches.
/// </summary>
public sealed class PollOnlySource(ISource inner) : ISource
{
    private readonly List<(Func<SourceResult, bool> Match, TaskCompletionSource<long> Done)> _waiting = [];
    private readonly Lock _lock = new();

    public string Name => inner.Name;

    /// <summary>Completes with the time the first poll from now on returned a result that <paramref name="match"/>es.</summary>
    public Task<long> PolledAsync(Func<SourceResult, bool> match)
    {
        var done = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lock) _waiting.Add((match, done));
        return done.Task;
    }

    public async Task<SourceResult> PollAsync(CancellationToken ct)
    {
        var result = await inner.PollAsync(ct).ConfigureAwait(false);
        var at = Stopwatch.GetTimestamp();
        lock (_lock)
            _waiting.RemoveAll(w => w.Match(result) && w.Done.TrySetResult(at));
        return result;
    }
}
