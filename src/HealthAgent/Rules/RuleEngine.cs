using HealthAgent.Model;

namespace HealthAgent.Rules;

/// <summary>The rows an LED state could mean, best first. Exact when one row agrees on every field both specify.</summary>
public sealed record RuleMatch(IndicatorFamily Family, IndicatorState Seen, IReadOnlyList<Rule> Candidates)
{
    public Rule? Best => Candidates.Count > 0 ? Candidates[0] : null;
    public bool IsAmbiguous => Candidates.Count > 1;
}

/// <summary>Maps an indicator state to the rule table's row(s).</summary>
public static class RuleEngine
{
    /// <summary>
    /// Rows compatible with what is seen, best first. A field one side leaves open (rate, count, an LED not
    /// mentioned) is a wildcard; among compatible rows those agreeing on the most fields win, and only they are kept.
    /// </summary>
    public static RuleMatch Match(IndicatorFamily family, IndicatorState seen)
    {
        var scored = new List<(Rule Rule, int Score)>();
        foreach (var rule in family.Rules)
        {
            var total = 0;
            var ok = true;
            for (var i = 0; i < family.Leds.Count && ok; i++)
            {
                if (seen.States[i] is not { } s) continue; // unknown LED: wildcard
                var a = rule.Led.States[i]!.Agreement(s);
                if (a < 0) ok = false;
                else total += a;
            }
            if (ok) scored.Add((rule, total));
        }
        if (scored.Count == 0) return new RuleMatch(family, seen, []);
        var best = scored.Max(x => x.Score);
        return new RuleMatch(family, seen, scored.Where(x => x.Score == best).Select(x => x.Rule).ToList());
    }

    /// <summary>Parses people's words for a family and matches them. Throws <see cref="LedTextException"/> on words it does not know.</summary>
    public static RuleMatch Explain(IndicatorFamily family, string whatYouSee) =>
        Match(family, LedText.ParseIndicator(whatYouSee, family.Leds));
}
