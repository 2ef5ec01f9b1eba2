using System.Runtime.CompilerServices;
using HealthAgent.Model;
using HealthAgent.Publishing;
using HealthAgent.Rules;

namespace HealthAgent.Tests.Publishing.Otlp;

/// <summary>
/// A small real <see cref="IHealthState"/>: component statuses come from the real <see cref="Evaluator"/> over the
/// seed rule tables, held as an immutable snapshot that is swapped on every change (what the publisher reads).
/// </summary>
public sealed class InMemoryHealthState(string agentId) : IHealthState
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 21, 12, 0, 0, TimeSpan.Zero);
    private readonly Evaluator _evaluator = new(RuleLoader.LoadEmbedded().Rules!);
    private volatile IReadOnlyList<ComponentStatus> _components = [];

    public string AgentId { get; } = agentId;
    public IReadOnlyList<ComponentStatus> Components => _components;
    public IReadOnlyList<PartCondition> Parts => [];
    public HealthRollup Rollup => new(Severity.Ok, new Dictionary<Severity, int>(), null, T0);

    /// <summary>Evaluates the observation and replaces the component's status (or adds it).</summary>
    public Evaluation Observe(Observation o)
    {
        var previous = _components.FirstOrDefault(c => c.Component.Id == o.Component.Id);
        var evaluation = _evaluator.Evaluate(o, previous?.Evaluation);
        var status = new ComponentStatus(evaluation, T0, T0);
        _components = [.. _components.Where(c => c.Component.Id != o.Component.Id), status];
        return evaluation;
    }

    /// <summary>The component is no longer monitored (device removed, source disabled).</summary>
    public void Remove(string componentId) => _components = [.. _components.Where(c => c.Component.Id != componentId)];

    public IReadOnlyList<HealthEvent> History(int limit = 200, Severity? minSeverity = null, string? componentId = null) => [];

    public async IAsyncEnumerable<HealthChange> WatchAsync([EnumeratorCancellation] CancellationToken ct)
    {
        await Task.Delay(Timeout.Infinite, ct).ContinueWith(_ => { }, CancellationToken.None);
        yield break;
    }

    public Task<bool> AcknowledgeAsync(Guid eventId, string user, CancellationToken ct) => Task.FromResult(false);
    public Task<bool> IdentifyAsync(string componentId, bool on, CancellationToken ct) => Task.FromResult(false);
}

/// <summary>The appliance the OTLP tests observe: a NIC, a PSU, a drive, a temperature sensor and a fan.</summary>
public static class Appliance
{
    public static readonly ComponentRef Nic = new("nic:eth0", "network", "eth0", "enclosure:chassis", Family: "nic");
    public static readonly ComponentRef Psu = new("psu:1", "power_supply", "PSU 1", "enclosure:chassis", Family: "psu");
    public static readonly ComponentRef Drive = new("drive:0", "physical_disk", "Drive 0", "enclosure:chassis", Family: "drive");
    public static readonly ComponentRef CpuTemp = new("hwmon:coretemp:temp1", "temperature", "Package id 0", "enclosure:chassis");
    public static readonly ComponentRef Fan = new("hwmon:nct6779:fan1", "fan", "CPU fan", "enclosure:chassis");

    public static Observation NicReduced() => new(Nic,
        [new("carrier", true), new("speedMbps", 1000.0, "Mbit/s"), new("maxSpeedMbps", 10000.0, "Mbit/s"), new("rxErrors", 3.0),
         new("rxBytes", 5e9, "By"), new("txBytes", 7e9, "By")],
        LedText.ParseIndicator("link solid amber; activity blinking green", ["link", "activity"]));

    public static Observation NicMax() => new(Nic,
        [new("carrier", true), new("speedMbps", 10000.0, "Mbps"), new("maxSpeedMbps", 10000.0, "Mbps"), new("rxErrors", 3.0)],
        LedText.ParseIndicator("link solid green; activity blinking green", ["link", "activity"]));

    public static Observation PsuFailed() => new(Psu,
        [new("inputVoltage", 230.0, "V"), new("power", 0.0, "W"), new("powerCapacityWatts", 750.0, "W")],
        IndicatorState.Single("status", LedText.Parse("blinking amber")));

    public static Observation DrivePredictedFailure() => new(Drive,
        [new("percentageUsed", 7.0, "%"), new("mediaErrors", 2.0), new("smart.reallocated_sector_ct", 100.0), new("temperature", 38.0, "Cel")],
        IndicatorState.Single("status", LedText.Parse("blinking green, blinking amber, then off")));

    /// <summary>No family, no derivation table: the evaluator cannot give a verdict, so the state is unknown.</summary>
    public static Observation CpuTemperature() => new(CpuTemp,
        [new("input", 45.5, "°C"), new("max", 80.0, "°C"), new("crit", 95.0, "°C"), Reading.Unknown("lcrit", "ENODATA", "°C")]);

    public static Observation FanSpinning() => new(Fan, [new("input", 2400.0, "rpm"), new("min", 600.0, "rpm")]);

    public static InMemoryHealthState State(string agentId = "rack-07")
    {
        var s = new InMemoryHealthState(agentId);
        s.Observe(NicReduced());
        s.Observe(PsuFailed());
        s.Observe(DrivePredictedFailure());
        s.Observe(CpuTemperature());
        s.Observe(FanSpinning());
        return s;
    }
}
