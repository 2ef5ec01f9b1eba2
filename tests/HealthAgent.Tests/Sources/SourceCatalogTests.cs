using System.Text.Json.Nodes;
using HealthAgent.Sources;

namespace HealthAgent.Tests.Sources;

/// <summary>Adding a source is one folder and one line: every folder has its catalog line, README, tests and agent.json key.</summary>
public class SourceCatalogTests
{
    private static string Src => Path.Combine(SeedRules.RepoRoot, "src", "HealthAgent", "Sources");

    public static TheoryData<string> SourceFolders()
    {
        var data = new TheoryData<string>();
        foreach (var d in Directory.GetDirectories(Src).Order(StringComparer.Ordinal)) data.Add(Path.GetFileName(d));
        if (data.Count == 0) data.Add("(none)");
        return data;
    }

    [Theory]
    [MemberData(nameof(SourceFolders))]
    public void SourceFolder_HasCatalogLineReadmeTestsAndConfigKey(string folder)
    {
        if (folder == "(none)") return; // no source folders yet
        var entry = SourceCatalog.All.SingleOrDefault(d => string.Equals(d.Key, folder, StringComparison.OrdinalIgnoreCase));
        Assert.True(entry is not null, $"Sources/{folder} has no line in SourceCatalog.All");
        foreach (var f in new[] { $"{folder}Source.cs", $"{folder}Options.cs", $"{folder}Parser.cs", "README.md" })
            Assert.True(File.Exists(Path.Combine(Src, folder, f)), $"Sources/{folder}/{f} is missing");
        Assert.True(Directory.Exists(Path.Combine(SeedRules.RepoRoot, "tests", "HealthAgent.Tests", "Sources", folder)), $"tests/HealthAgent.Tests/Sources/{folder} is missing");
        Assert.StartsWith(entry.OptionsType.Name[..^"Options".Length], entry.OptionsType.Name);
        var agentJson = JsonNode.Parse(File.ReadAllText(Path.Combine(SeedRules.RepoRoot, "agent.json")))!;
        Assert.True(agentJson["sources"]?[entry.Key] is not null, $"agent.json has no sources.{entry.Key}");
    }

    [Fact]
    public void Catalog_KeysAreUniqueAndEachHasAFolder()
    {
        Assert.Equal(SourceCatalog.All.Count, SourceCatalog.All.Select(d => d.Key.ToLowerInvariant()).Distinct().Count());
        foreach (var d in SourceCatalog.All)
            Assert.True(Directory.GetDirectories(Src).Any(f => string.Equals(Path.GetFileName(f), d.Key, StringComparison.OrdinalIgnoreCase)),
                $"catalog key '{d.Key}' has no folder Sources/{d.Key}");
    }
}
