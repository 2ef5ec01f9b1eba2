using System.Text.RegularExpressions;

namespace HealthAgent.Sources;

/// <summary>Shell-style name globs (* and ?) for include/exclude options; case-sensitive like kernel names.</summary>
public static class NameGlob
{
    public static bool Matches(string name, string pattern) =>
        Regex.IsMatch(name, "^" + Regex.Escape(pattern).Replace(@"\*", ".*").Replace(@"\?", ".") + "$", RegexOptions.CultureInvariant);

    public static bool Any(string name, IEnumerable<string> patterns) => patterns.Any(p => Matches(name, p));
}
