using System.Text;

namespace HealthAgent.Model;

/// <summary>
/// Shortens an action for people reading a console or a terminal: whole sentences up to a word or character budget,
/// so the first (most direct) advice is kept and the manual's long CAUTION notes are left for <c>--long</c>.
/// </summary>
public static class ActionText
{
    /// <summary>The most words an <c>advice:</c> in a rule table may have, and the default explain view shows.</summary>
    public const int MaxAdviceWords = 60;

    public static int Words(string text) => text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length;

    /// <summary>
    /// Whole sentences from the start while they fit both budgets; a first sentence that alone is too long is cut at a
    /// word and ends in "…". <paramref name="truncated"/> says whether anything was left out.
    /// </summary>
    public static string Shorten(string text, int maxWords, int maxChars, out bool truncated)
    {
        text = string.Join(' ', text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
        truncated = false;
        if (Words(text) <= maxWords && text.Length <= maxChars) return text;
        truncated = true;
        var sb = new StringBuilder();
        var words = 0;
        foreach (var sentence in Sentences(text))
        {
            var w = Words(sentence);
            if (words + w > maxWords || sb.Length + sentence.Length + 1 > maxChars) break;
            if (sb.Length > 0) sb.Append(' ');
            sb.Append(sentence);
            words += w;
        }
        if (sb.Length > 0) return sb.ToString();
        // One long sentence: cut at a word.
        foreach (var word in text.Split(' '))
        {
            if (words + 1 > maxWords - 1 || sb.Length + word.Length + 2 > maxChars) break;
            if (sb.Length > 0) sb.Append(' ');
            sb.Append(word);
            words++;
        }
        return sb.Append('…').ToString();
    }

    /// <summary>Sentences end at ". ", "! " or "? " (not after "e.g." or "i.e.").</summary>
    private static IEnumerable<string> Sentences(string text)
    {
        var start = 0;
        for (var i = 0; i < text.Length - 1; i++)
        {
            if (text[i] is not ('.' or '!' or '?') || text[i + 1] != ' ') continue;
            if (i >= 3 && text.AsSpan(i - 3, 4) is "e.g." or "i.e.") continue;
            yield return text[start..(i + 1)];
            start = i + 2;
        }
        if (start < text.Length) yield return text[start..];
    }
}
