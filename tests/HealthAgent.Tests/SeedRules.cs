using HealthAgent.Rules;

namespace HealthAgent.Tests;

/// <summary>The repository's rules/ directory, loaded once.</summary>
public static class SeedRules
{
    public static string Directory { get; } = FindRulesDirectory();

    private static readonly Lazy<RuleSet> Loaded = new(() =>
    {
        var (rules, errors) = RuleLoader.LoadDirectory(Directory);
        return rules ?? throw new InvalidOperationException(string.Join("\n", errors));
    });

    public static RuleSet Rules => Loaded.Value;

    public static string RepoRoot => Path.GetDirectoryName(Directory)!;

    private static string FindRulesDirectory()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "HealthAgent.sln"))) return Path.Combine(d.FullName, "rules");
        throw new DirectoryNotFoundException("repository root (HealthAgent.sln) not found above " + AppContext.BaseDirectory);
    }
}
