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

    /// <summary>
    /// Parses people's words for a family and matches them (<see cref="LedText.Description"/>: a colour may be left
    /// open, "green amber off" is a flash sequence, the family's own names are ignored). Throws
    /// <see cref="LedTextException"/> on words it does not know.
    /// </summary>
    public static RuleMatch Explain(IndicatorFamily family, string whatYouSee)
    {
        var words = LedText.Words(whatYouSee);
        var mentions = FindMentions([family], words);
        return ExplainWords(family, Without(words, mentions, family), whatYouSee);
    }

    /// <summary>
    /// A whole sentence with the family anywhere in it ("the disk light is blinking orange fast", "power supply blinks
    /// green five times then goes off", "activity light blinking, link green"). Never throws on people's words: an
    /// unknown word, no family or two families come back as <see cref="SentenceMatch.Error"/>.
    /// </summary>
    public static SentenceMatch ExplainSentence(RuleSet rules, string sentence)
    {
        List<string> words;
        try { words = LedText.Words(sentence); }
        catch (LedTextException e) { return new SentenceMatch(null, null, e.Message, false); }
        var mentions = FindMentions(rules.Families, words);
        var named = mentions.Select(m => m.Family).Distinct().ToList();
        IndicatorFamily? family = named.Count switch { 0 => null, 1 => named[0], _ => HeadFamily(mentions, words) };
        if (family is null && named.Count == 0)
        {
            // No indicator named ("green amber off"): when only one family has a row for it, that is the one.
            var fits = rules.Families.Select(f =>
            {
                try { return (Family: f, Match: ExplainWords(f, words, sentence)); }
                catch (LedTextException) { return (Family: f, Match: (RuleMatch?)null); }
            }).Where(x => x.Match?.Best is not null).ToList();
            if (fits.Count == 1) return new SentenceMatch(fits[0].Family, fits[0].Match, null, false);
            if (fits.Count > 1)
                return new SentenceMatch(null, null, $"\"{sentence}\" fits the {string.Join(", ", fits.Select(x => x.Family.Name))} indicators; say which one you are looking at (e.g. \"the disk light is {sentence}\")", false);
        }
        if (family is null)
        {
            var which = named.Count == 0
                ? $"say which indicator you mean: {string.Join(", ", rules.Families.Select(f => f.Name))} (e.g. \"the disk light is blinking amber\")"
                : $"\"{sentence}\" names {string.Join(" and ", named.Select(f => f.Name))}; say which one you are looking at";
            return new SentenceMatch(null, null, which, false);
        }
        var rest = Without(words, mentions, family);
        if (LedText.IsOnlyFiller(rest, family.Leds)) return new SentenceMatch(family, null, null, true);
        try { return new SentenceMatch(family, ExplainWords(family, rest, sentence), null, false); }
        catch (LedTextException e) { return new SentenceMatch(family, null, e.Message, false); }
    }

    private static RuleMatch ExplainWords(IndicatorFamily family, List<string> words, string text)
    {
        var match = MatchDescription(family, words, text, LedText.Description);
        // "the drive light is amber": no steady amber in the table, so a bare colour may mean it blinks.
        if (match.Best is null) match = Better(match, MatchDescription(family, words, text, LedText.Description with { ImplicitPattern = LedPattern.Blinking }));
        // "flashes green then amber": a sequence whose end was not said may end dark.
        if (match.Best is null && match.Seen.States.Any(s => s is { Steps.Count: > 1, End: SequenceEnd.Hold }))
        {
            var ended = new IndicatorState(match.Seen.LedNames, match.Seen.States
                .Select(s => s is { Steps.Count: > 1, End: SequenceEnd.Hold } ? new LedState(s.Steps, SequenceEnd.Off) : s).ToList());
            match = Better(match, Match(family, ended));
        }
        return match;
    }

    private static RuleMatch Better(RuleMatch a, RuleMatch b) => a.Best is null && b.Best is not null ? b : a;

    private static RuleMatch MatchDescription(IndicatorFamily family, List<string> words, string text, LedText.ParseMode how)
    {
        if (family.Leds.Count == 1 || LedText.NamesAnyLed(words, family.Leds))
            return Match(family, LedText.ParseIndicatorWords(words, text, family.Leds, how));
        // Several LEDs and none named ("nic light amber"): off means all of them; otherwise try the state on each LED
        // and keep the rows any of them fits (the activity LED is never amber, so "amber" is the link LED).
        var state = LedText.ParseWords(words, text, how);
        if (state.Pattern == LedPattern.Off)
            return Match(family, new IndicatorState(family.Leds, family.Leds.Select(_ => (LedState?)LedState.Off).ToList()));
        RuleMatch? first = null;
        var candidates = new List<Rule>();
        for (var k = 0; k < family.Leds.Count; k++)
        {
            var states = new LedState?[family.Leds.Count];
            states[k] = state;
            var m = Match(family, new IndicatorState(family.Leds, states));
            if (m.Best is null) continue;
            first ??= m;
            candidates.AddRange(m.Candidates.Where(r => !candidates.Contains(r)));
        }
        return first is null
            ? new RuleMatch(family, new IndicatorState(family.Leds, [state, .. Enumerable.Repeat<LedState?>(null, family.Leds.Count - 1)]), [])
            : first with { Candidates = candidates };
    }

    /// <summary>A family named in a sentence: where, and how many words.</summary>
    private sealed record Mention(IndicatorFamily Family, int Start, int Length);

    /// <summary>
    /// Family names and aliases in the words, longest first at each position ("power supply" is the PSU, not the
    /// power indicator); an alias "hard-drive" is the words "hard drive". A part number right after ("PSU 2") belongs to it.
    /// </summary>
    private static List<Mention> FindMentions(IReadOnlyList<IndicatorFamily> families, List<string> words)
    {
        var phrases = families
            .SelectMany(f => new[] { f.Name }.Concat(f.Aliases).Select(a => (Family: f, Words: LedText.Words(a.Replace('-', ' ')))))
            .Where(p => p.Words.Count > 0)
            .OrderByDescending(p => p.Words.Count)
            .ToList();
        var found = new List<Mention>();
        for (var i = 0; i < words.Count;)
        {
            var hit = phrases.FirstOrDefault(p => i + p.Words.Count <= words.Count && p.Words.Select((w, k) => words[i + k] == w).All(x => x));
            if (hit.Family is null) { i++; continue; }
            var len = hit.Words.Count;
            if (i + len < words.Count && char.IsAsciiDigit(words[i + len][0])
                && (i + len + 1 >= words.Count || words[i + len + 1] is not ("hz" or "hertz" or "x" or "time" or "times" or "per" or "s" or "sec" or "secs" or "second" or "seconds")))
                len++;
            found.Add(new Mention(hit.Family, i, len));
            i += len;
        }
        return found;
    }

    private static readonly HashSet<string> LedNouns = ["light", "lights", "led", "leds", "lamp", "indicator", "indicators", "handle", "button", "status"];

    /// <summary>Several families named: the one followed by "light"/"LED"/"indicator" is the one looked at ("the system power light").</summary>
    private static IndicatorFamily? HeadFamily(List<Mention> mentions, List<string> words)
    {
        var heads = mentions.Where(m => LedNouns.Contains(words[m.Start + m.Length - 1]) // an alias such as "power light"
                || m.Start + m.Length < words.Count && LedNouns.Contains(words[m.Start + m.Length]))
            .Select(m => m.Family).Distinct().ToList();
        if (heads.Count == 1) return heads[0];
        // A compound with no LED noun ("system power blinking"): the last word names the thing.
        var contiguous = mentions.Zip(mentions.Skip(1)).All(p => p.First.Start + p.First.Length == p.Second.Start);
        return contiguous && heads.Count == 0 ? mentions[^1].Family : null;
    }

    /// <summary>The words without the families' names, keeping the chosen family's LED names ("link" is a NIC alias and its LED).</summary>
    private static List<string> Without(List<string> words, List<Mention> mentions, IndicatorFamily family)
    {
        var drop = new bool[words.Count];
        foreach (var m in mentions)
            for (var k = m.Start; k < m.Start + m.Length; k++)
                if (!family.Leds.Contains(words[k])) drop[k] = true;
        return words.Where((_, k) => !drop[k]).ToList();
    }
}

/// <summary>What a technician's sentence came to: the family and the matching rows, the family alone (show its table), or an error.</summary>
public sealed record SentenceMatch(IndicatorFamily? Family, RuleMatch? Match, string? Error, bool FamilyOnly);
