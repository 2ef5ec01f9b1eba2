using HealthAgent.Model;

namespace HealthAgent.Rules;

/// <summary>What the agent concludes about one component: the LED it shows or would show, the rule, and the verdict.</summary>
/// <param name="Rule">The matched indicator row; null for sensors (verdict from derivation) or when unknown.</param>
/// <param name="Verdict">State, severity, code, meaning, action. Unknown components get an "unknown" verdict with the reason.</param>
public sealed record Evaluation(
    ComponentRef Component, IndicatorState? Led, Rule? Rule, Verdict Verdict, IReadOnlyList<Reading> Readings,
    IReadOnlyList<DerivationTrace> Trace, string? UnknownReason)
{
    public IReadOnlyDictionary<string, string> DerivationRows => Trace.ToDictionary(t => t.Led, t => t.RowId);
}

/// <summary>Observation → (derivation) → LED state → (rule table) → verdict. Shared by snapshot, the pipeline and the web view.</summary>
public sealed class Evaluator(RuleSet rules)
{
    public RuleSet Rules => rules;

    public Evaluation Evaluate(Observation obs, Evaluation? previous = null)
    {
        var c = obs.Component;
        if (obs.UnknownReason is { } why) return Unknown(obs, null, why, []);
        var family = c.Family is null ? null : rules.FindFamily(c.Family);
        if (c.Family is not null && family is null) return Unknown(obs, null, $"no indicator family '{c.Family}' in the rule set", []);

        var led = obs.Observed;
        Verdict? sensorVerdict = null;
        IReadOnlyList<string> unknownLeds = [];
        IReadOnlyList<DerivationTrace> trace = [];
        if (led is null && c.Derivation is not null)
        {
            var table = rules.FindDerivation(c.Derivation);
            if (table is null) return Unknown(obs, null, $"no derivation table '{c.Derivation}' in the rule set", []);
            var d = Deriver.Derive(table, family, obs, previous?.DerivationRows);
            trace = d.Trace;
            led = d.Led;
            sensorVerdict = d.Verdict;
            unknownLeds = d.Unknown;
            if (d.Unknown.Count > 0 && (led is null || led.States.All(s => s is null)) && sensorVerdict is null)
                return Unknown(obs, led, string.Join("; ", d.Unknown), trace);
        }
        // A family table may also have `health:` rows for states its manual's LED table has no row for (an empty bay,
        // a BMC Warning): the first that matches gives the verdict; the derived LED is still shown.
        if (family is not null && sensorVerdict is not null)
            return new Evaluation(c, led, null, sensorVerdict, obs.Readings, trace, null);
        if (family is null)
            return sensorVerdict is not null
                ? new Evaluation(c, null, null, sensorVerdict, obs.Readings, trace, null)
                : Unknown(obs, null, "no LED state and no sensor verdict for this component", trace);
        if (led is null) return Unknown(obs, null, "no LED state observed or derived", trace);

        var match = RuleEngine.Match(family, led);
        if (match.Best is not { } rule)
            return Unknown(obs, led, $"no row of the '{family.Name}' table matches '{led}'", trace);
        // Some LED unknown (a NIC's activity before the second poll): fine when every row still possible says the
        // same thing; otherwise the agent would be guessing.
        if (!led.IsKnown && match.Candidates.Any(r => !SameVerdict(r.Verdict, rule.Verdict)))
            // The guesses follow the LEDs that are known (a NIC's activity flips with traffic): they go in the meaning,
            // not the reason, so the reason stays the same while nothing new is known.
            return Unknown(obs, led, unknownLeds.Count > 0 ? string.Join("; ", unknownLeds) : $"'{led}' is not fully known", trace,
                $"it could be {string.Join(" or ", match.Candidates.Select(r => r.Verdict.Code).Distinct())}");
        return new Evaluation(c, led, rule, rule.Verdict, obs.Readings, trace, null);
    }

    private static bool SameVerdict(Verdict a, Verdict b) => a.Code == b.Code && a.Severity == b.Severity && a.State == b.State;

    private static Evaluation Unknown(Observation obs, IndicatorState? led, string reason, IReadOnlyList<DerivationTrace> trace, string? guess = null) =>
        new(obs.Component, led, null,
            new Verdict(HwState.Unknown, Severity.Info, "agent.unknown", "The agent cannot tell this component's state: " + reason + (guess is null ? "" : "; " + guess) + ".",
                "Check that the agent can read this component (permissions, BMC reachability, configuration)."),
            obs.Readings, trace, reason);
}
