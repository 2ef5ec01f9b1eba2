using HealthAgent.Model;
using HealthAgent.Rules;

namespace HealthAgent.Tests.Model;

/// <summary>Events about a one-part incident (no consequences, one observation), in the flat shape the tests spell out.</summary>
public static class TestEvents
{
    public static HealthEvent Of(Guid eventId, string agentId, string bootId, long seq, DateTimeOffset time, EventKind kind,
        ComponentRef component, IndicatorState? led, string? ruleId, string code, HwState state, Severity severity, string meaning, string action,
        IReadOnlyList<Reading> readings, IndicatorState? fromLed, string? fromRuleId, HwState? fromState, Severity? fromSeverity, string source = "frontPanel")
    {
        var obs = new PartObservation(source, component, new Verdict(state, severity, code, meaning, action), led, ruleId, readings, time);
        var incident = new Incident(eventId, new PartCondition(component, obs, [obs], null), [], time);
        var from = fromState is { } fs && fromSeverity is { } fv ? new EventFrom(component, code, fs, fv, fromLed, fromRuleId) : null;
        return new HealthEvent(eventId, agentId, bootId, seq, time, kind, incident, from);
    }
}
