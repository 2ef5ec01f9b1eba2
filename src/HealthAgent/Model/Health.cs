namespace HealthAgent.Model;

/// <summary>How urgent a condition is. Ordered: a roll-up takes the worst.</summary>
public enum Severity { Ok = 0, Info = 1, Warning = 2, Critical = 3 }

/// <summary>
/// A component's hardware state. The first five are OpenTelemetry's <c>hw.state</c> values; the rest describe
/// informational LED states the seed tables have (ID mode, firmware update, a feature switched off) and
/// "unknown" when the agent cannot tell. <see cref="HealthWords.ToOtel"/> folds them onto OpenTelemetry's set.
/// </summary>
public enum HwState { Ok, Degraded, Failed, PredictedFailure, NeedsCleaning, Identifying, Updating, Standby, Unknown }

public static class HealthWords
{
    public static string Name(Severity s) => s switch
    {
        Severity.Ok => "ok", Severity.Info => "info", Severity.Warning => "warning", _ => "critical",
    };

    public static string Name(HwState s) => s switch
    {
        HwState.Ok => "ok", HwState.Degraded => "degraded", HwState.Failed => "failed",
        HwState.PredictedFailure => "predicted_failure", HwState.NeedsCleaning => "needs_cleaning",
        HwState.Identifying => "identifying", HwState.Updating => "updating", HwState.Standby => "standby",
        _ => "unknown",
    };

    public static readonly IReadOnlyDictionary<string, Severity> Severities =
        Enum.GetValues<Severity>().ToDictionary(Name, s => s);

    public static readonly IReadOnlyDictionary<string, HwState> HwStates =
        Enum.GetValues<HwState>().ToDictionary(Name, s => s);

    /// <summary>OpenTelemetry's hw.state values (semantic conventions, hardware, "Development").</summary>
    public static readonly IReadOnlyList<string> OtelStates = ["ok", "degraded", "failed", "predicted_failure", "needs_cleaning"];

    /// <summary>Our state as an OpenTelemetry hw.state, or null when the state is unknown (no one-hot is emitted).</summary>
    public static string? ToOtel(HwState s) => s switch
    {
        HwState.Degraded => "degraded", HwState.Failed => "failed", HwState.PredictedFailure => "predicted_failure",
        HwState.NeedsCleaning => "needs_cleaning", HwState.Unknown => null,
        _ => "ok", // identifying, updating, standby: working as intended
    };
}

/// <summary>Which component an observation is about. Ids are stable across polls and restarts.</summary>
/// <param name="Id">Stable id, e.g. <c>nic:eth0</c>, <c>redfish:bmc1:psu:PSU.Slot.1</c>.</param>
/// <param name="HwType">OpenTelemetry hw.type word (power_supply, physical_disk, network, temperature, fan, voltage, enclosure, …).</param>
/// <param name="Name">Human name, e.g. "PSU 1" or "eth0".</param>
/// <param name="Parent">Id of the enclosing component, if any.</param>
/// <param name="Family">Indicator family whose rule table applies (system, quicksync, nic, psu, power, drive), or null for sensors.</param>
/// <param name="Derivation">Derivation table that turns this component's readings into LED states or health, or null when the LED is observed directly.</param>
/// <param name="Slot">Where the part sits (PSU slot, drive bay, port number) when the source knows it; rules/parts match
/// observations of one physical part by it. When null, the number at the end of <see cref="Id"/> is taken.</param>
public sealed record ComponentRef(string Id, string HwType, string Name, string? Parent = null, string? Family = null, string? Derivation = null, string? Slot = null);

/// <summary>One reading. <see cref="Value"/> is a bool, double or string; null means unknown, with <see cref="Reason"/>.</summary>
public sealed record Reading(string Name, object? Value, string? Unit = null, string? Reason = null)
{
    public static Reading Unknown(string name, string reason, string? unit = null) => new(name, null, unit, reason);
}

/// <summary>What a source saw of one component in one poll (or one pushed change).</summary>
/// <param name="Readings">Named readings the derivation table can use.</param>
/// <param name="Observed">The LED state when the source reads it directly (front panel), else null (derived).</param>
/// <param name="UnknownReason">Set when the component could not be read at all (BMC answered 500, file unreadable, …).</param>
public sealed record Observation(ComponentRef Component, IReadOnlyList<Reading> Readings, IndicatorState? Observed = null, string? UnknownReason = null)
{
    public object? this[string reading]
    {
        get
        {
            foreach (var r in Readings) if (r.Name == reading) return r.Value;
            return null;
        }
    }
}
