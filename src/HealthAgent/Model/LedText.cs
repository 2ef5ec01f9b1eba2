using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace HealthAgent.Model;

/// <summary>An LED description that could not be understood; the message names the word.</summary>
public sealed class LedTextException(string message) : FormatException(message);

/// <summary>
/// Parses the words people use for LEDs ("flashes amber four times per second", "slow green flashing",
/// "link amber, activity blinking green") and formats the one canonical text that parses back to the same state:
/// <c>off</c>, <c>solid amber</c>, <c>blinking green 2hz</c>, <c>blinking white fast x5, then off</c>,
/// <c>blinking green for 3s, blinking amber for 3s, then off</c>; several LEDs as <c>link solid green; activity off</c>.
/// </summary>
public static partial class LedText
{
    // ---- formatting -------------------------------------------------------------------------------------

    public static string Format(LedState state)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < state.Steps.Count; i++)
        {
            if (i > 0) sb.Append(", ");
            FormatStep(sb, state.Steps[i]);
        }
        if (state.End == SequenceEnd.Off) sb.Append(", then off");
        else if (state.End == SequenceEnd.Repeat) sb.Append(", then repeat");
        return sb.ToString();
    }

    public static string Format(IndicatorState indicator)
    {
        if (indicator.LedNames.Count == 1) return indicator.States[0] is { } only ? Format(only) : "unknown";
        var parts = new string[indicator.LedNames.Count];
        for (var i = 0; i < parts.Length; i++)
            parts[i] = indicator.LedNames[i] + " " + (indicator.States[i] is { } s ? Format(s) : "unknown");
        return string.Join("; ", parts);
    }

    private static void FormatStep(StringBuilder sb, LedStep step)
    {
        sb.Append(step.Pattern switch { LedPattern.Off => "off", LedPattern.Solid => "solid", _ => "blinking" });
        if (step.Color is { } c) sb.Append(' ').Append(ColorName(c));
        if (step.Rate is { } r) sb.Append(' ').Append(r.ToString());
        if (step.Count is { } n) sb.Append(" x").Append(n.ToString(CultureInfo.InvariantCulture));
        if (step.Seconds is { } s) sb.Append(" for ").Append(s.ToString("0.###", CultureInfo.InvariantCulture)).Append('s');
    }

    public static string ColorName(LedColor c) => c switch
    {
        LedColor.Green => "green", LedColor.Amber => "amber", LedColor.Blue => "blue", LedColor.White => "white", _ => "red",
    };

    // ---- parsing: one LED ------------------------------------------------------------------------------

    /// <summary>Parses one LED's state. Throws <see cref="LedTextException"/> naming the word it did not understand.</summary>
    public static LedState Parse(string text) => ParseTokens(Tokenize(text), text, Strict);

    /// <summary>How strictly to read: rule tables (every step needs its colour) or what a person describes.</summary>
    /// <param name="OpenColour">A step may leave its colour open ("the activity light is blinking"): it matches any colour.</param>
    /// <param name="ImplicitPattern">The pattern of a coloured step with no pattern word ("the drive light is amber").</param>
    /// <param name="SequenceBlinks">Several colours with no pattern word ("green, amber, then off") are a flash sequence.</param>
    public sealed record ParseMode(bool OpenColour, LedPattern ImplicitPattern, bool SequenceBlinks);

    /// <summary>Rule tables and canonical text: every lit step names its colour; a bare colour is solid.</summary>
    public static readonly ParseMode Strict = new(false, LedPattern.Solid, false);

    /// <summary>What people say in front of the LED.</summary>
    public static readonly ParseMode Description = new(true, LedPattern.Solid, true);

    /// <summary>The words of <paramref name="text"/> as the parser sees them (lowercase, punctuation dropped but for , and ;).</summary>
    public static List<string> Words(string text) => Tokenize(text);

    public static bool TryParse(string text, out LedState? state, out string? error)
    {
        try { state = Parse(text); error = null; return true; }
        catch (LedTextException e) { state = null; error = e.Message; return false; }
    }

    /// <summary>
    /// Parses what an indicator shows. With one LED the whole text is its state. With several, each LED is named
    /// ("link amber, activity blinking green"; "link and activity indicators are off"); an LED not mentioned is unknown.
    /// </summary>
    public static IndicatorState ParseIndicator(string text, IReadOnlyList<string> ledNames) =>
        ParseIndicatorWords(Tokenize(text), text, ledNames, Strict);

    /// <summary>True when the words describe no state: only filler ("the", "light") and LED names.</summary>
    public static bool IsOnlyFiller(IReadOnlyList<string> words, IReadOnlyList<string> ledNames) =>
        words.All(w => Filler.Contains(w) || w is "," or ";" or "and" or "table" or "states" or "all" || IndexOfName(ledNames, w) >= 0);

    /// <summary>Whether any of <paramref name="ledNames"/> is named in <paramref name="words"/> (see <see cref="Words"/>).</summary>
    public static bool NamesAnyLed(IReadOnlyList<string> words, IReadOnlyList<string> ledNames) => words.Any(w => IndexOfName(ledNames, w) >= 0);

    /// <summary>One LED's state from words already split by <see cref="Words"/> (a family's name taken out), read as <paramref name="how"/>.</summary>
    public static LedState ParseWords(IReadOnlyList<string> words, string text, ParseMode how) => ParseTokens(words.ToList(), text, how);

    /// <summary><see cref="ParseIndicator(string, IReadOnlyList{string})"/> on words already split by <see cref="Words"/>, read as <paramref name="how"/>.</summary>
    public static IndicatorState ParseIndicatorWords(IReadOnlyList<string> wordList, string text, IReadOnlyList<string> ledNames, ParseMode how)
    {
        var tokens = wordList.ToList();
        if (ledNames.Count == 1)
        {
            var rest = tokens.Where(t => t != ledNames[0]).ToList();
            return IndicatorState.Single(ledNames[0], ParseTokens(rest, text, how));
        }

        var states = new LedState?[ledNames.Count];
        var i = 0;
        // "the link light is off": words before the first LED named carry nothing.
        if (tokens.Any(t => IndexOfName(ledNames, t) >= 0))
            while (i < tokens.Count && IndexOfName(ledNames, tokens[i]) < 0 && Filler.Contains(tokens[i])) i++;
        var sawName = false;
        while (i < tokens.Count)
        {
            // A group of LED names ("link and activity"), then the state words up to the next name.
            var group = new List<int>();
            while (i < tokens.Count)
            {
                var idx = IndexOfName(ledNames, tokens[i]);
                if (idx >= 0) { group.Add(idx); i++; continue; }
                if (group.Count > 0 && tokens[i] == "and" && i + 1 < tokens.Count && IndexOfName(ledNames, tokens[i + 1]) >= 0) { i++; continue; }
                break;
            }
            if (group.Count == 0)
            {
                if (!sawName)
                {
                    // No LED named: "off" or "dark" means all of them; anything else is ambiguous.
                    var whole = ParseTokens(tokens, text, how);
                    if (whole.Pattern == LedPattern.Off) return new IndicatorState(ledNames, ledNames.Select(_ => (LedState?)LedState.Off).ToArray());
                    throw new LedTextException($"say which LED you mean ({string.Join(", ", ledNames)}), e.g. \"{ledNames[0]} green, {ledNames[1]} off\" — in \"{text}\"");
                }
                throw new LedTextException($"did not understand '{tokens[i]}' in \"{text}\"");
            }
            sawName = true;
            var start = i;
            while (i < tokens.Count && !StartsNameGroup(ledNames, tokens, i)) i++;
            var words = tokens.GetRange(start, i - start);
            while (words.Count > 0 && words[^1] is "," or ";" or "and") words.RemoveAt(words.Count - 1);
            if (words.Count == 0) throw new LedTextException($"no state given for '{ledNames[group[0]]}' in \"{text}\"");
            var state = ParseTokens(words, text, how);
            foreach (var g in group)
            {
                if (states[g] is not null) throw new LedTextException($"'{ledNames[g]}' is described twice in \"{text}\"");
                states[g] = state;
            }
        }
        return new IndicatorState(ledNames, states);
    }

    private static bool StartsNameGroup(IReadOnlyList<string> names, List<string> tokens, int i) => IndexOfName(names, tokens[i]) >= 0;

    private static int IndexOfName(IReadOnlyList<string> names, string token)
    {
        for (var k = 0; k < names.Count; k++) if (names[k] == token) return k;
        return -1;
    }

    [GeneratedRegex(@"\d+(?:\.\d+)?|[a-z]+|[,;]")]
    private static partial Regex TokenRegex();

    [GeneratedRegex(@"(?<=[a-z])'s\b")]
    private static partial Regex Possessive();

    [GeneratedRegex(@"\([^)]*\)")]
    private static partial Regex Parenthetical();

    private static List<string> Tokenize(string text)
    {
        // "the port's link light": a possessive is the word itself; other apostrophes go ("isn't" → "isnt").
        var lowered = Parenthetical().Replace(Possessive().Replace(text.ToLowerInvariant().Replace('×', 'x').Replace('’', '\''), "").Replace("'", ""), " ");
        var tokens = new List<string>();
        var pos = 0;
        foreach (Match m in TokenRegex().Matches(lowered))
        {
            var gap = lowered.AsSpan(pos, m.Index - pos).Trim();
            foreach (var ch in gap)
                if (ch is not ('-' or '.' or ':' or '\'' or '"' or '/' or '–' or '—' or '?' or '!'))
                    throw new LedTextException($"did not understand '{ch}' in \"{text}\"");
            tokens.Add(m.Value);
            pos = m.Index + m.Length;
        }
        return tokens;
    }

    // Words that carry no meaning here ("the link indicator is green").
    private static readonly HashSet<string> Filler =
    [
        "is", "are", "the", "a", "an", "it", "its", "indicator", "indicators", "led", "leds", "light", "lights", "lamp",
        "state", "status", "default", "turns", "turn", "turned", "goes", "go", "will", "which", "that", "shows", "show",
        "showing", "color", "colour", "in", "with", "at", "rate", "of", "by", "to", "continuously", "constantly", "now",
        "handle", "keeps", "stays", "remains", "both", "my", "our", "this", "front", "panel", "see", "i", "can",
        // the component a person names while describing its LED ("the PSU handle is flashing orange")
        "psu", "supply", "power", "drive", "disk", "hdd", "ssd", "nic", "port", "system", "server", "health", "idrac",
        "quick", "sync", "quicksync", "carrier", "tray", "bay", "unit",
        // the rest of a technician's sentence ("what does it mean when the second disk looks like it's flickering?")
        "what", "does", "do", "did", "mean", "means", "meaning", "why", "when", "was", "has", "been", "doing", "looks",
        "look", "like", "seems", "appears", "just", "very", "really", "kind", "sort", "quite", "pretty", "about",
        "around", "roughly", "maybe", "probably", "currently", "still", "also", "all", "up", "so", "there", "here",
        "went", "going", "turning", "becomes", "became", "getting", "gets", "coloured", "colored", "alternating",
        "alternates", "alternately", "between", "from", "changes", "switches", "switching", "button", "card",
        "adapter", "controller", "connector", "socket", "machine", "box", "appliance", "recorder", "terminal",
        "left", "right", "top", "bottom", "upper", "lower", "middle", "rear", "back", "first", "second", "third",
        "fourth", "last", "hard", "network", "ethernet", "lan", "id", "idrac", "slot", "number", "activity",
    ];

    private static readonly Dictionary<string, LedColor> Colors = new()
    {
        ["green"] = LedColor.Green, ["amber"] = LedColor.Amber, ["orange"] = LedColor.Amber, ["blue"] = LedColor.Blue,
        ["white"] = LedColor.White, ["red"] = LedColor.Red, ["yellow"] = LedColor.Amber,
    };

    private static readonly Dictionary<string, LedPattern> Patterns = new()
    {
        ["blinking"] = LedPattern.Blinking, ["blinks"] = LedPattern.Blinking, ["blink"] = LedPattern.Blinking,
        ["blinky"] = LedPattern.Blinking, ["flashing"] = LedPattern.Blinking, ["flashes"] = LedPattern.Blinking,
        ["flash"] = LedPattern.Blinking, ["flashy"] = LedPattern.Blinking, ["pulsing"] = LedPattern.Blinking,
        ["solid"] = LedPattern.Solid, ["steady"] = LedPattern.Solid, ["lit"] = LedPattern.Solid, ["on"] = LedPattern.Solid,
        ["illuminated"] = LedPattern.Solid, ["constant"] = LedPattern.Solid, ["glowing"] = LedPattern.Solid,
        ["glows"] = LedPattern.Solid, ["static"] = LedPattern.Solid,
        ["off"] = LedPattern.Off, ["unlit"] = LedPattern.Off, ["dark"] = LedPattern.Off, ["extinguished"] = LedPattern.Off,
        ["flickering"] = LedPattern.Blinking, ["flickers"] = LedPattern.Blinking, ["flicker"] = LedPattern.Blinking,
        ["flickery"] = LedPattern.Blinking, ["twinkling"] = LedPattern.Blinking, ["strobing"] = LedPattern.Blinking,
        ["pulses"] = LedPattern.Blinking, ["pulsating"] = LedPattern.Blinking, ["winking"] = LedPattern.Blinking,
        ["blinked"] = LedPattern.Blinking, ["flashed"] = LedPattern.Blinking, ["blinkin"] = LedPattern.Blinking,
        ["steadily"] = LedPattern.Solid, ["always"] = LedPattern.Solid, ["stable"] = LedPattern.Solid,
        ["out"] = LedPattern.Off, ["dead"] = LedPattern.Off, ["nothing"] = LedPattern.Off, ["blank"] = LedPattern.Off,
    };

    private static readonly Dictionary<string, RateKind> RateWords = new()
    {
        ["slow"] = RateKind.Slow, ["slowly"] = RateKind.Slow, ["fast"] = RateKind.Fast, ["rapid"] = RateKind.Fast,
        ["rapidly"] = RateKind.Fast, ["quick"] = RateKind.Fast, ["quickly"] = RateKind.Fast,
    };

    private static readonly Dictionary<string, int> NumberWords = new()
    {
        ["one"] = 1, ["two"] = 2, ["three"] = 3, ["four"] = 4, ["five"] = 5, ["six"] = 6, ["seven"] = 7, ["eight"] = 8,
        ["nine"] = 9, ["ten"] = 10, ["once"] = 1, ["twice"] = 2, ["thrice"] = 3,
    };

    private static readonly HashSet<string> SecondWords = ["s", "sec", "secs", "second", "seconds"];

    private sealed class Clause
    {
        public LedPattern? Pattern;
        public LedColor? Color;
        public BlinkRate? Rate;
        public int? Count;
        public double? Seconds;
        public bool Repeat;
        public bool IsEmpty => Pattern is null && Color is null && Rate is null && Count is null && Seconds is null && !Repeat;
        public bool HasLook => Pattern is not null || Color is not null;
    }

    private static LedState ParseTokens(List<string> t, string text, ParseMode how)
    {
        var clauses = new List<Clause>();
        var cur = new Clause();
        void Close() { if (!cur.IsEmpty) clauses.Add(cur); cur = new Clause(); }
        string Fail(string word) => throw new LedTextException($"did not understand '{word}' in \"{text}\"");

        for (var i = 0; i < t.Count; i++)
        {
            var w = t[i];
            string? Peek(int k) => i + k < t.Count ? t[i + k] : null;

            if (w is "," or ";" or "then" or "and" or "followed" or "after" && !(w == "after" && IsNumber(Peek(1))))
            {
                Close();
                continue;
            }
            if (w == "after" && IsNumber(Peek(1)))
            {
                // "turns off after 6 s": the total length of the sequence, implied by its steps.
                i++;
                if (SecondWords.Contains(Peek(1) ?? "")) i++;
                continue;
            }
            if (w is "not" or "isnt" or "arent" or "never" && Peek(1) is "illuminated" or "lit" or "on")
            {
                SetPattern(cur, LedPattern.Off, w, text);
                i++;
                continue;
            }
            if (w is "no" or "none" && Peek(1) is null or "light" or "lights" or "led" or "leds" or "lamp" or "indicator" or "indicators" or "at")
            {
                // "no lights", "no light at all"
                if (cur.Color is not null) Close();
                SetPattern(cur, LedPattern.Off, w, text);
                continue;
            }
            if ((w, Peek(1), Peek(2)) is ("on", "and", "off") or ("off", "and", "on") || (w, Peek(1)) is ("on", "off") or ("off", "on"))
            {
                // "going on and off": blinking
                SetPattern(cur, LedPattern.Blinking, w, text);
                i += Peek(1) == "and" ? 2 : 1;
                continue;
            }
            if (w == "on" && Peek(1) is "the" or "my" or "this" or "a" or "an" or "our" or "its" or "each" or "one")
                continue; // "on the front": a place, not a state
            if (w is "bay" or "slot" or "number" or "unit" or "port" or "psu" or "drive" or "disk" or "nic" && IsNumber(Peek(1)) && !IsUnit(Peek(2)))
            {
                i++; // "bay 3", "PSU 2": which part, not how it blinks
                continue;
            }
            if (w == "every" && SecondWords.Contains(Peek(1) ?? ""))
            {
                cur.Rate = BlinkRate.FromHz(1);
                i++;
                continue;
            }
            if (w == "every" && TryNumber(Peek(1), out var every) && every > 0 && SecondWords.Contains(Peek(2) ?? ""))
            {
                cur.Rate = BlinkRate.FromHz(1 / every);
                i += 2;
                continue;
            }
            if (Colors.TryGetValue(w, out var color))
            {
                if (cur.Color is not null && cur.Color != color) { Close(); }
                cur.Color = color;
                continue;
            }
            if (Patterns.TryGetValue(w, out var pattern))
            {
                // "green on" / "on" is solid; a second pattern word starts a new clause ("blinks, then off"), and so
                // does "off" after a colour ("green amber off": two colours, then dark).
                if (cur.Pattern is not null && cur.Pattern != pattern) Close();
                else if (pattern == LedPattern.Off && cur.Color is not null) Close();
                SetPattern(cur, pattern, w, text);
                continue;
            }
            if (RateWords.TryGetValue(w, out var rk))
            {
                cur.Rate = rk == RateKind.Slow ? BlinkRate.Slow : BlinkRate.Fast;
                continue;
            }
            if (w is "repeat" or "repeats" or "repeating" or "again" or "loops" or "cycles")
            {
                cur.Repeat = true;
                continue;
            }
            if (w == "x" && TryNumber(Peek(1), out var xn))
            {
                cur.Count = (int)xn;
                i++;
                continue;
            }
            if (w == "for" && TryNumber(Peek(1), out var secs) && SecondWords.Contains(Peek(2) ?? ""))
            {
                cur.Seconds = secs;
                i += 2;
                continue;
            }
            if (TryNumber(w, out var n))
            {
                var next = Peek(1);
                if (next is "hz" or "hertz") { cur.Rate = BlinkRate.FromHz(n); i++; continue; }
                if (next == "x" && Peek(2) is "per" or "a" or "every" && SecondWords.Contains(Peek(3) ?? "")) { cur.Rate = BlinkRate.FromHz(n); i += 3; continue; }
                if (next is "per" or "a" or "every" && SecondWords.Contains(Peek(2) ?? ""))
                {
                    cur.Rate = BlinkRate.FromHz(n); i += 2; continue;
                }
                if (next is "time" or "times")
                {
                    if (Peek(2) is "per" or "a" or "every" && SecondWords.Contains(Peek(3) ?? "")) { cur.Rate = BlinkRate.FromHz(n); i += 3; continue; }
                    cur.Count = (int)n; i++; continue;
                }
                if (SecondWords.Contains(next ?? "")) { cur.Seconds = n; i++; continue; }
                if (w is "once" or "twice" or "thrice") { cur.Count = (int)n; continue; }
                Fail(w);
            }
            if (Filler.Contains(w)) continue;
            Fail(w);
        }
        Close();

        if (clauses.Count == 0) throw new LedTextException($"no LED state in \"{text}\"");

        // "amber, blinking": a clause with only a colour and one with only a pattern describe one step.
        for (var k = 0; k + 1 < clauses.Count; k++)
        {
            var a = clauses[k];
            var b = clauses[k + 1];
            var complementary = (a.Color is not null && a.Pattern is null && b.Pattern is not null and not LedPattern.Off && b.Color is null)
                                || (a.Pattern is not null and not LedPattern.Off && a.Color is null && b.Color is not null && b.Pattern is null);
            if (complementary && Compatible(a, b)) { Merge(a, b); clauses.RemoveAt(k + 1); k--; }
        }
        // "five times" or "for 3 s" on their own refine the step before them.
        for (var k = 1; k < clauses.Count; k++)
        {
            if (!clauses[k].HasLook && !clauses[k].Repeat && Compatible(clauses[k - 1], clauses[k])) { Merge(clauses[k - 1], clauses[k]); clauses.RemoveAt(k); k--; }
        }

        // "green, amber, then off" with no pattern word at all: a sequence of colours is a flash sequence.
        var implicitPattern = how.ImplicitPattern;
        var lit = clauses.Count(c => c.Color is not null);
        if (how.SequenceBlinks && clauses.All(c => c.Pattern is null or LedPattern.Off) && lit >= 1
            && (lit >= 2 || clauses[^1].Pattern == LedPattern.Off && clauses.Count > 1))
            implicitPattern = LedPattern.Blinking;

        var steps = new List<LedStep>();
        var end = SequenceEnd.Hold;
        for (var k = 0; k < clauses.Count; k++)
        {
            var c = clauses[k];
            var last = k == clauses.Count - 1;
            if (c.Repeat)
            {
                if (!last || c.HasLook) throw new LedTextException($"'repeat' must end the description in \"{text}\"");
                end = SequenceEnd.Repeat;
                continue;
            }
            if (c.Pattern == LedPattern.Off && c.Color is null && c.Rate is null && c.Count is null && c.Seconds is null && last && steps.Count > 0)
            {
                end = SequenceEnd.Off; // "... and then turns off"
                continue;
            }
            if (!c.HasLook) throw new LedTextException($"a count or duration without a colour in \"{text}\"");
            // A rate or count says it blinks ("amber, four times a second").
            var pat = c.Pattern ?? (steps.Count > 0 ? steps[^1].Pattern : c.Rate is not null || c.Count is not null ? LedPattern.Blinking : implicitPattern);
            if (pat == LedPattern.Off)
            {
                if (c.Color is not null) throw new LedTextException($"an LED that is off has no colour ('{ColorName(c.Color.Value)}') in \"{text}\"");
                steps.Add(new LedStep(LedPattern.Off, null, null, null, c.Seconds));
                continue;
            }
            if (c.Color is null && !how.OpenColour) throw new LedTextException($"no colour given for '{(pat == LedPattern.Solid ? "solid" : "blinking")}' in \"{text}\"");
            if (pat == LedPattern.Solid && (c.Rate is not null || c.Count is not null))
                throw new LedTextException($"a solid LED has no blink rate or count in \"{text}\"");
            steps.Add(new LedStep(pat, c.Color, c.Rate, c.Count, c.Seconds));
        }
        if (steps.Count == 0) throw new LedTextException($"no LED state in \"{text}\"");
        return new LedState(steps, end);
    }

    private static void SetPattern(Clause c, LedPattern p, string word, string text)
    {
        if (c.Pattern is { } existing && existing != p) throw new LedTextException($"'{word}' contradicts the pattern before it in \"{text}\"");
        c.Pattern = p;
    }

    private static bool Compatible(Clause a, Clause b) =>
        !(a.Rate is not null && b.Rate is not null) && !(a.Count is not null && b.Count is not null)
        && !(a.Seconds is not null && b.Seconds is not null) && !(a.Color is not null && b.Color is not null)
        && !(a.Pattern is not null && b.Pattern is not null);

    private static void Merge(Clause into, Clause from)
    {
        into.Pattern ??= from.Pattern;
        into.Color ??= from.Color;
        into.Rate ??= from.Rate;
        into.Count ??= from.Count;
        into.Seconds ??= from.Seconds;
    }

    private static bool IsNumber(string? w) => TryNumber(w, out _);

    private static bool IsUnit(string? w) => w is "hz" or "hertz" or "x" or "time" or "times" or "per" || SecondWords.Contains(w ?? "");

    private static bool TryNumber(string? w, out double value)
    {
        value = 0;
        if (w is null) return false;
        if (NumberWords.TryGetValue(w, out var n)) { value = n; return true; }
        return char.IsAsciiDigit(w[0]) && double.TryParse(w, NumberStyles.Float, CultureInfo.InvariantCulture, out value);
    }
}
