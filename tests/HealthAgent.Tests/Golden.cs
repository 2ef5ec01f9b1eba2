namespace HealthAgent.Tests;

/// <summary>Golden files: the test compares with a committed file; UPDATE_GOLDEN=1 rewrites it instead.</summary>
public static class Golden
{
    public static void Assert(string repoRelativePath, string actual)
    {
        var path = Path.Combine(SeedRules.RepoRoot, repoRelativePath);
        actual = actual.ReplaceLineEndings("\n");
        if (Environment.GetEnvironmentVariable("UPDATE_GOLDEN") == "1")
        {
            File.WriteAllText(path, actual);
            return;
        }
        var expected = File.Exists(path) ? File.ReadAllText(path).ReplaceLineEndings("\n") : "";
        Xunit.Assert.True(expected == actual, $"{repoRelativePath} is out of date; run the tests with UPDATE_GOLDEN=1 and commit the result.");
    }
}
