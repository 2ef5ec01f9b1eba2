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
/// <param name="Incidents">The open (raised) incidents, most severe first; those of warning or worse are problems.</param>
/// <param name="Pending">Incidents held while the other sources report the same fault (rules/parts holdSeconds): their
/// raised event follows when the hold ends. They are problems too (marked pending), so <see cref="Worst"/> never says
/// more than the problems show.</param>
public sealed record HealthRollup(Severity Worst, IReadOnlyDictionary<Severity, int> Counts, IndicatorState? SystemLed, DateTimeOffset Time,
    IReadOnlyList<Incident>? Incidents = null, IReadOnlyList<Incident>? Pending = null)
{
    /// <summary>What is wrong now: open and pending incidents of warning or worse, most severe first, then the oldest.</summary>
    public IReadOnlyList<Incident> Problems =>
        [.. (Incidents ?? []).Concat(Pending ?? []).Where(i => i.Severity >= Severity.Warning)
            .OrderByDescending(i => i.Severity).ThenBy(i => i.Since).ThenBy(i => i.Root.Part.Id, StringComparer.Ordinal)];

    /// <summary>The incident is held (no raised event yet).</summary>
    public bool IsPending(Incident i) => Pending is { Count: > 0 } p && p.Any(x => x.Id == i.Id);

    /// <summary>The open or pending incident a part is the root or a consequence of, or null.</summary>
    public Incident? IncidentOf(string partId) =>
        (Incidents ?? []).Concat(Pending ?? []).FirstOrDefault(i => i.Root.Part.Id == partId)
        ?? (Incidents ?? []).Concat(Pending ?? []).FirstOrDefault(i => i.Consequences.Any(c => c.Part.Id == partId));
}

/// <summary>Where an incident was before a change: its root part and that part's verdict and LED.</summary>
public sealed record EventFrom(ComponentRef Part, string Code, HwState State, Severity Severity, IndicatorState? Led, string? RuleId);

/// <summary>
/// An explained health event about one incident: raised, changed (its root, verdict or consequences moved) or
/// cleared, with from → to. Carries everything a NOC needs without looking anything up: the root part, its LED, the
/// rule, meaning and action, the readings behind it, what follows from it, and every source's observation.
/// </summary>
public sealed record HealthEvent(
    Guid EventId, string AgentId, string BootId, long Seq, DateTimeOffset Time, EventKind Kind, Incident Incident, EventFrom? From)
{
    /// <summary>The root part (its id, e.g. psu:2, names the event's topic).</summary>
    public ComponentRef Component => Incident.Root.Part;
    public IndicatorState? Led => Incident.Root.Chosen.Led;
    public string? RuleId => Incident.Root.Chosen.RuleId;
    public string Code => Incident.Root.Verdict.Code;
    public HwState State => Kind == EventKind.Cleared ? HwState.Ok : Incident.Root.Verdict.State;
    /// <summary>The incident's severity (the worst of root and consequences); ok when cleared.</summary>
    public Severity Severity => Kind == EventKind.Cleared ? Severity.Ok : Incident.Severity;
    public string Meaning => Incident.Root.Verdict.Meaning;
    public string Action => Incident.Root.Verdict.Action;
    public IReadOnlyList<Reading> Readings => Incident.Root.Chosen.Readings;
    public IndicatorState? FromLed => From?.Led;
    public string? FromRuleId => From?.RuleId;
    public HwState? FromState => From?.State;
    public Severity? FromSeverity => From?.Severity;
}
