namespace HealthAgent.Sources;

/// <summary>Shell-style name globs (* and ?) for include/exclude options; case-sensitive like kernel names.</summary>
public static class NameGlob
{
    /// <summary>Whether <paramref name="name"/> matches <paramref name="pattern"/> (* any run, ? one character).</summary>
    public static bool Matches(string name, string pattern)
    {
        // greedy matching with backtracking to the last star: linear for one star, O(n·m) at worst, no allocation
        int n = 0, p = 0, starP = -1, starN = 0;
        while (n < name.Length)
        {
            if (p < pattern.Length && (pattern[p] == '?' || pattern[p] == name[n]))
            {
                n++;
                p++;
            }
            else if (p < pattern.Length && pattern[p] == '*')
            {
                starP = p++;
                starN = n;
            }
            else if (starP >= 0)
            {
                p = starP + 1;
                n = ++starN;
            }
            else return false;
        }
        while (p < pattern.Length && pattern[p] == '*') p++;
        return p == pattern.Length;
    }

    public static bool Any(string name, IEnumerable<string> patterns) => patterns.Any(p => Matches(name, p));
}
