using HealthAgent.Rules;

namespace HealthAgent.Model;

/// <summary>What one source says about a part (a fused part keeps one per component that observes it).</summary>
/// <param name="Source">The source key (agent.json <c>sources.&lt;key&gt;</c>): frontPanel, redfish, …</param>
/// <param name="Component">The component as the source names it (panel:psu:2, the BMC's PSU2, …).</param>
/// <param name="Since">When this source's view entered this verdict.</param>
public sealed record PartObservation(
    string Source, ComponentRef Component, Verdict Verdict, IndicatorState? Led, string? RuleId,
    IReadOnlyList<Reading> Readings, DateTimeOffset Since);

/// <summary>
/// A physical part and its verdict: that of the most severe observation, then the most specific (an indicator rule
/// over a bare health row), then the freshest. Every observation is kept; when sources disagree,
/// <see cref="Disagreement"/> says so ("front panel says ok (solid green), BMC says critical (blinking amber)").
/// </summary>
public sealed record PartCondition(ComponentRef Part, PartObservation Chosen, IReadOnlyList<PartObservation> Observations, string? Disagreement)
{
    public Verdict Verdict => Chosen.Verdict;
    public Severity Severity => Chosen.Verdict.Severity;
    public DateTimeOffset Since => Observations.Where(o => o.Verdict.Severity == Severity).Min(o => o.Since);
}

/// <summary>
/// One root cause and what follows from it (rules/parts "implies"): PSU 2 failed ⇒ PSU redundancy lost, system health
/// LED amber, chassis Critical. One incident is one event stream (raised, changed, cleared) and one problem.
/// </summary>
/// <param name="Id">Stable across restarts and across a change of root (an orphan consequence whose cause turns up).</param>
public sealed record Incident(Guid Id, PartCondition Root, IReadOnlyList<PartCondition> Consequences, DateTimeOffset Since)
{
    /// <summary>The worst of the root and its consequences: the LEDs never say more than the incident.</summary>
    public Severity Severity => Consequences.Aggregate(Root.Severity, (s, c) => c.Severity > s ? c.Severity : s);
}

public static class PartConditions
{
    /// <summary>The id of the part a component is an observation of, or null when no part lists it.</summary>
    public static string? PartIdOf(this IEnumerable<PartCondition> parts, string componentId) =>
        parts.FirstOrDefault(p => p.Observations.Any(o => o.Component.Id == componentId))?.Part.Id;
}
