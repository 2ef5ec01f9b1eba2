using HealthAgent.Model;
using HealthAgent.Rules;

namespace HealthAgent.Pipeline;

/// <summary>
/// The condition a component is accepted to be in — what the last event (or the first observation) said. Persisted
/// in the state directory so a restart does not raise again what was already raised.
/// </summary>
public sealed record TrackedCondition(string Code, Severity Severity, HwState State, string? RuleId, string? Led, DateTimeOffset Since)
{
    /// <summary>A change is a change of (code, severity, state); another rule with the same code is not.</summary>
    public bool SameAs(Verdict v) => Code == v.Code && Severity == v.Severity && State == v.State;

    public static TrackedCondition From(Evaluation e, DateTimeOffset since) =>
        new(e.Verdict.Code, e.Verdict.Severity, e.Verdict.State, e.Rule?.Id, e.Led?.ToString(), since);
}

/// <summary>A transition the tracker accepted: raise, change or clear, from → to.</summary>
public sealed record Transition(EventKind Kind, TrackedCondition? From, TrackedCondition To, Evaluation Evaluation);

/// <summary>What one observation did.</summary>
/// <param name="StatusChanged">LED, rule, verdict or unknown-ness changed (or first seen): publish the state.</param>
/// <param name="ReadingsChanged">Only readings changed: the state may be republished at a slower pace.</param>
public sealed record TrackResult(ComponentStatus Status, bool StatusChanged, bool ReadingsChanged, Transition? Transition);

/// <summary>
/// Per component: the current evaluation and since when, and the accepted condition. Events only on change of
/// (code, severity, state), after the rule's debounce (N samples in a row and/or a hold time; rules data).
/// An unknown evaluation is shown as the state but neither raises nor clears (no flapping on a read error).
/// The first observation after start is taken as is (no debounce) and raises only what was not raised before
/// the restart (<paramref name="persisted"/>). Not thread-safe: the pipeline's single state loop owns it.
/// </summary>
public sealed class StateTracker(Evaluator evaluator, IReadOnlyDictionary<string, TrackedCondition>? persisted = null)
{
    private volatile Evaluator _evaluator = evaluator;

    /// <summary>Evaluates from now on with a reloaded rule set (web "reload rules"); a reference swap, safe from any thread.</summary>
    public void UseRules(RuleSet rules) => _evaluator = new Evaluator(rules);

    /// <summary>The rule set evaluations use now.</summary>
    public RuleSet Rules => _evaluator.Rules;

    private sealed class Entry
    {
        public Evaluation? LastKnown;          // last non-unknown evaluation: the "previous" for hysteresis
        public ComponentStatus? Status;
        public TrackedCondition? Accepted;
        public Verdict? Pending;
        public int PendingCount;
        public DateTimeOffset PendingSince;
    }

    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TrackedCondition> _persisted = persisted is null ? new(StringComparer.Ordinal) : new(persisted, StringComparer.Ordinal);

    public IEnumerable<ComponentStatus> Statuses => _entries.Values.Where(e => e.Status is not null).Select(e => e.Status!);

    public TrackedCondition? Accepted(string componentId) => _entries.TryGetValue(componentId, out var e) ? e.Accepted : null;

    public TrackResult Observe(Observation obs, DateTimeOffset now)
    {
        var id = obs.Component.Id;
        if (!_entries.TryGetValue(id, out var entry)) _entries[id] = entry = new Entry();
        var eval = _evaluator.Evaluate(obs, entry.LastKnown);
        var unknown = eval.Verdict.State == HwState.Unknown;
        if (!unknown) entry.LastKnown = eval;

        var old = entry.Status;
        Transition? transition = null;
        var shown = eval;
        var since = old is not null && SameVerdict(old.Evaluation.Verdict, eval.Verdict) ? old.Since : now;

        if (!unknown)
        {
            if (entry.Accepted is null)
            {
                // First observation since start: no debounce; raise only what the last run had not raised.
                _persisted.Remove(id, out var before);
                var to = before is not null && before.SameAs(eval.Verdict) ? before with { RuleId = eval.Rule?.Id, Led = eval.Led?.ToString() } : TrackedCondition.From(eval, now);
                entry.Accepted = to;
                if (before is null ? eval.Verdict.Severity > Severity.Ok : !before.SameAs(eval.Verdict))
                    transition = new Transition(Kind(before, to), before, to, eval);
                if (before is not null && before.SameAs(eval.Verdict)) since = before.Since;
            }
            else if (entry.Accepted.SameAs(eval.Verdict))
            {
                entry.Pending = null;
                entry.Accepted = entry.Accepted with { RuleId = eval.Rule?.Id, Led = eval.Led?.ToString() };
            }
            else
            {
                if (entry.Pending is { } p && SameVerdict(p, eval.Verdict)) entry.PendingCount++;
                else { entry.Pending = eval.Verdict; entry.PendingCount = 1; entry.PendingSince = now; }
                var d = eval.Rule?.Debounce ?? new Debounce();
                if (entry.PendingCount >= d.Samples && (now - entry.PendingSince).TotalSeconds >= d.HoldSeconds)
                {
                    var from = entry.Accepted;
                    var to = TrackedCondition.From(eval, now);
                    entry.Accepted = to;
                    entry.Pending = null;
                    transition = new Transition(Kind(from, to), from, to, eval);
                    since = now;
                }
                else
                {
                    // Not yet debounced: keep showing the accepted state (with fresh readings).
                    shown = old?.Evaluation is { } o && o.Verdict.State != HwState.Unknown ? o with { Readings = eval.Readings } : eval;
                    since = old?.Since ?? now;
                }
            }
        }

        var status = new ComponentStatus(shown, since, now);
        entry.Status = status;
        var changed = old is null || !SameShown(old.Evaluation, shown);
        var readings = !changed && !SameReadings(old!.Evaluation.Readings, shown.Readings);
        return new TrackResult(status, changed, readings, transition);
    }

    /// <summary>Every accepted condition, for persisting.</summary>
    public IReadOnlyDictionary<string, TrackedCondition> Conditions()
    {
        var d = new Dictionary<string, TrackedCondition>(_persisted, StringComparer.Ordinal);
        foreach (var (id, e) in _entries) if (e.Accepted is not null) d[id] = e.Accepted;
        return d;
    }

    private static EventKind Kind(TrackedCondition? from, TrackedCondition to) =>
        to.Severity == Severity.Ok ? (from is null || from.Severity == Severity.Ok ? EventKind.Changed : EventKind.Cleared)
        : from is null || from.Severity == Severity.Ok ? EventKind.Raised
        : EventKind.Changed;

    private static bool SameVerdict(Verdict a, Verdict b) => a.Code == b.Code && a.Severity == b.Severity && a.State == b.State;

    private static bool SameShown(Evaluation a, Evaluation b) =>
        a.Verdict == b.Verdict && a.Rule?.Id == b.Rule?.Id && Equals(a.Led, b.Led) && a.UnknownReason == b.UnknownReason;

    private static bool SameReadings(IReadOnlyList<Reading> a, IReadOnlyList<Reading> b)
    {
        if (a.Count != b.Count) return false;
        for (var i = 0; i < a.Count; i++) if (a[i] != b[i]) return false;
        return true;
    }
}
