using HealthAgent.Model;
using HealthAgent.Rules;

namespace HealthAgent.Incidents;

/// <summary>An incident event to make: raised (a new incident), changed (its root, verdict or consequences moved), cleared.</summary>
public sealed record IncidentChange(EventKind Kind, Incident Incident, Incident? Before);

/// <summary>
/// Accepted conditions (debounced per component by the StateTracker) → physical parts (<see cref="PartMap"/>) →
/// incidents: a root cause and the conditions that follow from it (rules/parts "implies"). One incident raises one
/// event; its consequences change it instead of raising their own. A condition that could be a consequence but has no
/// cause yet is held for the implication's <c>holdSeconds</c> (sources report at different times: the panel's LED
/// turns amber before the BMC walk reports the PSU); if its cause turns up later, the orphan's incident is taken over
/// by the cause (one <c>changed</c> event, no second <c>raised</c>), also when the cause was seen (and held) before the
/// part it explains turned into its consequence: a raised incident is changed, never cleared and raised again — except
/// a notice (severity info: ID mode, an unused port) that turns into a fault: the notice is cleared and the fault raised.
/// Clearing the cause clears the incident.
/// Not thread-safe: the pipeline's state loop owns it.
/// </summary>
public sealed class IncidentEngine(RuleSet rules, IEnumerable<Incident>? persisted = null)
{
    private sealed class Open(Incident incident, bool raised, DateTimeOffset? holdUntil)
    {
        public Incident Incident = incident;
        public bool Raised = raised;
        public DateTimeOffset? HoldUntil = holdUntil;
        public bool Orphan;   // its root could follow from a fault not (yet) seen
    }

    private volatile PartMap _map = new(rules);
    private List<Open> _open = (persisted ?? []).Select(i => new Open(i, true, null)).ToList();

    /// <summary>Uses a reloaded rule set from the next update on.</summary>
    public void UseRules(RuleSet r) => _map = new PartMap(r);

    public PartMap Parts => _map;

    /// <summary>The raised incidents, most severe first, then the oldest.</summary>
    public IReadOnlyList<Incident> Incidents =>
        _open.Where(o => o.Raised).Select(o => o.Incident).OrderByDescending(i => i.Severity).ThenBy(i => i.Since).ThenBy(i => i.Root.Part.Id, StringComparer.Ordinal).ToList();

    /// <summary>
    /// The held incidents (their raised event waits for the hold to end: the other sources may still report the same
    /// fault), most severe first. Shown as pending problems, so what the health says and what it lists agree.
    /// </summary>
    public IReadOnlyList<Incident> Pending =>
        _open.Where(o => !o.Raised).Select(o => o.Incident).OrderByDescending(i => i.Severity).ThenBy(i => i.Since).ThenBy(i => i.Root.Part.Id, StringComparer.Ordinal).ToList();

    /// <summary>When a held condition is due to be raised on its own (the pipeline wakes up then), or null.</summary>
    public DateTimeOffset? NextDue => _open.Where(o => !o.Raised && o.HoldUntil is not null).Select(o => o.HoldUntil).Min();

    /// <summary>Groups observations by physical part and picks each part's verdict (see <see cref="PartCondition"/>).</summary>
    public static IReadOnlyList<(PartCondition Part, PartRule? Rule)> Fuse(PartMap map, IEnumerable<PartObservation> observations)
    {
        var byPart = new Dictionary<string, (ComponentRef Part, PartRule? Rule, List<PartObservation> Obs)>(StringComparer.Ordinal);
        foreach (var o in observations)
        {
            var (part, rule) = map.PartOf(o.Component, o.Source);
            if (!byPart.TryGetValue(part.Id, out var e)) byPart[part.Id] = e = (part, rule, []);
            e.Obs.Add(o);
        }
        return byPart.Values.Select(e => (Fuse(e.Part, e.Obs), e.Rule)).ToList();
    }

    /// <summary>
    /// A part's verdict: a known observation over an unknown one, then the most severe, then the most specific (an
    /// indicator rule over a bare health row), then the freshest. Sources that disagree are named.
    /// </summary>
    public static PartCondition Fuse(ComponentRef part, IReadOnlyList<PartObservation> observations)
    {
        var ordered = observations
            .OrderByDescending(o => o.Verdict.State != HwState.Unknown)
            .ThenByDescending(o => o.Verdict.Severity)
            .ThenByDescending(o => o.RuleId is not null)
            .ThenByDescending(o => o.Since)
            .ThenBy(o => o.Component.Id, StringComparer.Ordinal)
            .ToList();
        var known = ordered.Where(o => o.Verdict.State != HwState.Unknown).ToList();
        string? disagreement = null;
        if (known.Select(o => (o.Verdict.Code, o.Verdict.Severity)).Distinct().Count() > 1)
            disagreement = string.Join(", ", known.Select(o =>
                $"{SourceWords(o.Source)} says {HealthWords.Name(o.Verdict.Severity)}{(o.Led is { } led ? $" ({led})" : $" ({o.Verdict.Code})")}"));
        return new PartCondition(part, ordered[0], ordered, disagreement);
    }

    /// <summary>How people call a source: the front panel, the BMC.</summary>
    public static string SourceWords(string source) => source switch
    {
        "frontPanel" => "front panel", "redfish" => "BMC", "" => "the agent", _ => source,
    };

    /// <summary>
    /// Recomputes the incidents from every accepted condition (ok ones too: they show disagreement) and returns the
    /// events to make, in order. <paramref name="now"/> decides which held conditions are due.
    /// </summary>
    public IReadOnlyList<IncidentChange> Update(IEnumerable<PartObservation> accepted, DateTimeOffset now)
    {
        var all = Fuse(_map, accepted);
        var parts = all.Where(p => p.Part.Severity > Severity.Ok).ToList();
        var groups = Group(parts);
        var changes = new List<IncidentChange>();
        var next = new List<Open>();
        var matched = new HashSet<Open>();
        foreach (var (root, consequences, orphanHold, settle) in groups)
        {
            var hold = Math.Max(orphanHold, settle);
            // The open incidents this group goes on with: its root's own, and those of parts that now follow from it (an
            // orphan whose cause turned up: the cause takes its incident over). When there are several (the cause was
            // seen, and held, before the LED it turns amber was reported), a raised one goes on — what was published is
            // changed, never cleared and raised again — else the root's own; the held others fold in without an event.
            var mine = _open.Where(x => !matched.Contains(x)
                    && (x.Incident.Root.Part.Id == root.Part.Id || consequences.Any(c => c.Part.Id == x.Incident.Root.Part.Id)))
                .OrderByDescending(x => x.Raised).ThenByDescending(x => x.Incident.Root.Part.Id == root.Part.Id).ToList();
            // A raised notice (ID mode, an unused port) that turns into a fault is another problem, not a change of it:
            // the notice is cleared (as it was: the part's state now is the fault) and the fault goes on without it (its
            // own held incident, or a new one), so a consumer that acts on raised warnings and criticals sees it raised.
            var severity = new Incident(Guid.Empty, root, consequences, root.Since).Severity;
            while (mine.Count > 0 && mine[0] is { Raised: true } notice && notice.Incident.Severity <= Severity.Info && severity >= Severity.Warning)
            {
                changes.Add(new IncidentChange(EventKind.Cleared, notice.Incident with { Consequences = [] }, notice.Incident));
                matched.Add(notice);
                mine.RemoveAt(0);
            }
            var o = mine.FirstOrDefault();
            matched.UnionWith(mine.Skip(1).Where(x => !x.Raised)); // folded in: neither kept nor reported
            if (o is null)
            {
                var incident = new Incident(Guid.NewGuid(), root, consequences, root.Since);
                o = hold > 0 ? new Open(incident, false, now + TimeSpan.FromSeconds(hold)) : new Open(incident, true, null);
                if (o.Raised) changes.Add(new IncidentChange(EventKind.Raised, incident, null));
            }
            else
            {
                var before = o.Incident;
                o.Incident = new Incident(before.Id, root, consequences, before.Since);
                if (o.Raised)
                {
                    if (Worth(before, o.Incident)) changes.Add(new IncidentChange(EventKind.Changed, o.Incident, before));
                }
                else if (hold == 0) o.HoldUntil = now; // its cause is the root now: raise at once
            }
            o.Orphan = orphanHold > 0;
            matched.Add(o);
            if (!o.Raised && o.HoldUntil <= now)
            {
                o.Raised = true;
                o.HoldUntil = null;
                changes.Add(new IncidentChange(EventKind.Raised, o.Incident, null));
            }
            next.Add(o);
        }
        // A cause that went away while it waited for its consequences is still reported (raised, then cleared): a
        // short fault is never lost. A held orphan that went away was a consequence that resolved: nothing to report.
        foreach (var gone in _open.Where(x => !matched.Contains(x) && !x.Raised && !x.Orphan))
        {
            gone.Raised = true;
            changes.Add(new IncidentChange(EventKind.Raised, gone.Incident, null));
        }
        foreach (var gone in _open.Where(x => !matched.Contains(x) && x.Raised))
        {
            // Cleared: the root part as it is now (ok), nothing following from it.
            var now0 = all.FirstOrDefault(p => p.Part.Part.Id == gone.Incident.Root.Part.Id).Part;
            changes.Add(new IncidentChange(EventKind.Cleared, gone.Incident with { Root = now0 ?? gone.Incident.Root, Consequences = [] }, gone.Incident));
        }
        _open = next;
        return changes;
    }

    /// <summary>
    /// Roots and what follows from each. An edge A → B when A's part rule implies B's condition; roots are the parts
    /// nothing open implies (in a cycle, the most severe, then the oldest); a consequence may follow from several roots.
    /// </summary>
    private List<(PartCondition Root, IReadOnlyList<PartCondition> Consequences, double OrphanHold, double Settle)> Group(List<(PartCondition Part, PartRule? Rule)> parts)
    {
        var edges = parts.ToDictionary(p => p.Part.Part.Id, _ => new List<PartCondition>(), StringComparer.Ordinal);
        var implied = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (a, rule) in parts)
        {
            if (rule is null) continue;
            foreach (var imp in rule.Implies)
            {
                if (!Active(a).Any(o => imp.When.Condition(o.Component, o.Source, o.Verdict.Code, o.Verdict.Severity))) continue;
                foreach (var (b, _) in parts)
                {
                    if (b.Part.Id == a.Part.Id || edges[a.Part.Id].Contains(b)) continue;
                    if (Active(b).Any(o => imp.Then.Any(t => t.Condition(o.Component, o.Source, o.Verdict.Code, o.Verdict.Severity))))
                    {
                        edges[a.Part.Id].Add(b);
                        implied.Add(b.Part.Id);
                    }
                }
            }
        }
        var result = new List<(PartCondition, IReadOnlyList<PartCondition>, double, double)>();
        var covered = new HashSet<string>(StringComparer.Ordinal);
        var candidates = parts.Select(p => p.Part)
            .OrderBy(p => implied.Contains(p.Part.Id)).ThenByDescending(p => p.Severity).ThenBy(p => p.Since).ThenBy(p => p.Part.Id, StringComparer.Ordinal);
        foreach (var root in candidates)
        {
            // Not implied: a root. Implied but not reached from any root (a cycle): the first of the cycle is one.
            if (implied.Contains(root.Part.Id) && covered.Contains(root.Part.Id)) continue;
            var reach = new List<PartCondition>();
            var stack = new Stack<PartCondition>(edges[root.Part.Id]);
            var seen = new HashSet<string>(StringComparer.Ordinal) { root.Part.Id };
            while (stack.TryPop(out var c))
            {
                if (!seen.Add(c.Part.Id)) continue;
                reach.Add(c);
                foreach (var d in edges[c.Part.Id]) stack.Push(d);
            }
            covered.Add(root.Part.Id);
            covered.UnionWith(reach.Select(r => r.Part.Id));
            var rule = parts.First(p => p.Part.Part.Id == root.Part.Id).Rule;
            result.Add((root, reach.OrderByDescending(c => c.Severity).ThenBy(c => c.Part.Id, StringComparer.Ordinal).ToList(), HoldFor(root), SettleFor(root, rule)));
        }
        return result;
    }

    /// <summary>How long a condition that could follow from another part's fault waits for its cause (0: it is no consequence).</summary>
    private double HoldFor(PartCondition p)
    {
        var hold = 0.0;
        foreach (var rule in _map.Rules.Parts)
            foreach (var imp in rule.Implies)
                if (Active(p).Any(o => imp.Then.Any(t => t.Condition(o.Component, o.Source, o.Verdict.Code, o.Verdict.Severity))))
                    hold = Math.Max(hold, imp.HoldSeconds);
        return hold;
    }

    /// <summary>
    /// How long a new cause waits for what follows from it, so its one raised event lists the consequences the other
    /// sources report a moment later (the BMC's redundancy after the panel's PSU LED). 0 when it implies nothing.
    /// </summary>
    private static double SettleFor(PartCondition p, PartRule? rule)
    {
        var settle = 0.0;
        foreach (var imp in rule?.Implies ?? [])
            if (Active(p).Any(o => imp.When.Condition(o.Component, o.Source, o.Verdict.Code, o.Verdict.Severity)))
                settle = Math.Max(settle, imp.HoldSeconds);
        return settle;
    }

    /// <summary>
    /// A change worth an event: another root, another root verdict, another incident severity, or a consequence
    /// added or worse. A consequence that goes away (its cause is being fixed) only updates the incident.
    /// </summary>
    public static bool Worth(Incident before, Incident now) =>
        before.Root.Part.Id != now.Root.Part.Id || !SameVerdict(before.Root.Verdict, now.Root.Verdict) || before.Severity != now.Severity
        || now.Consequences.Any(c => before.Consequences.FirstOrDefault(b => b.Part.Id == c.Part.Id) is not { } b || c.Severity > b.Severity);

    private static IEnumerable<PartObservation> Active(PartCondition p) => p.Observations.Where(o => o.Verdict.Severity > Severity.Ok);

    /// <summary>What an event reports: root part, its (code, severity, state), and each consequence's.</summary>
    public static bool Same(Incident a, Incident b) =>
        a.Root.Part.Id == b.Root.Part.Id && SameVerdict(a.Root.Verdict, b.Root.Verdict) && a.Consequences.Count == b.Consequences.Count
        && a.Consequences.Zip(b.Consequences).All(p => p.First.Part.Id == p.Second.Part.Id && SameVerdict(p.First.Verdict, p.Second.Verdict));

    private static bool SameVerdict(Verdict a, Verdict b) => a.Code == b.Code && a.Severity == b.Severity && a.State == b.State;
}
