using HealthAgent.Rules;

namespace HealthAgent.Model;

/// <summary>Raised: a condition appeared; Changed: it moved to another rule/severity; Cleared: back to ok.</summary>
public enum EventKind { Raised, Changed, Cleared }

/// <summary>A component's current state as the agent publishes it (retained MQTT state, web view, hw.status).</summary>
/// <param name="Since">When the component entered its current verdict.</param>
public sealed record ComponentStatus(Evaluation Evaluation, DateTimeOffset Since, DateTimeOffset LastSeen)
{
    public ComponentRef Component => Evaluation.Component;
}

/// <summary>The machine's roll-up: worst severity, counts, and the system health LED.</summary>
public sealed record HealthRollup(Severity Worst, IReadOnlyDictionary<Severity, int> Counts, IndicatorState? SystemLed, DateTimeOffset Time);

/// <summary>
/// An explained health event. Raised only on change (with from → to); carries everything a NOC needs without
/// looking anything up: the LED, the rule, meaning, action and the readings behind it.
/// </summary>
public sealed record HealthEvent(
    Guid EventId, string AgentId, string BootId, long Seq, DateTimeOffset Time, EventKind Kind,
    ComponentRef Component, IndicatorState? Led, string? RuleId, string Code, HwState State, Severity Severity,
    string Meaning, string Action, IReadOnlyList<Reading> Readings,
    IndicatorState? FromLed, string? FromRuleId, HwState? FromState, Severity? FromSeverity);
