using System.Text.Json.Nodes;
using HealthAgent.Sources;

namespace HealthAgent.Tests.Sources;

/// <summary>STYLE.md: adding a source is one folder and one line; the folder needs its catalog line, README, tests and agent.json key.</summary>
public class SourceCatalogConventionTests
{
    private static string RepoRoot()
    {
        var d = new DirectoryInfo(AppContext.BaseDirectory);
        while (d is not null && !File.Exists(Path.Combine(d.FullName, "HealthAgent.sln"))) d = d.Parent;
        return d?.FullName ?? throw new InvalidOperationException("repository root not found above " + AppContext.BaseDirectory);
    }

    public static TheoryData<string> Folders()
    {
        var data = new TheoryData<string>();
        foreach (var d in Directory.GetDirectories(Path.Combine(RepoRoot(), "src/HealthAgent/Sources")).Order(StringComparer.Ordinal)) data.Add(Path.GetFileName(d));
        return data;
    }

    [Theory]
    [MemberData(nameof(Folders))]
    public void SourceFolder_HasCatalogLineReadmeTestsAndConfigKey(string folder)
    {
        var root = RepoRoot();
        // Folder name = catalog key = agent.json key (compared without case: folder "MdRaid", key "mdraid").
        var entry = SourceCatalog.All.FirstOrDefault(d => string.Equals(d.Key, folder, StringComparison.OrdinalIgnoreCase));
        Assert.True(entry is not null, $"Sources/{folder} has no line in SourceCatalog.All");
        Assert.True(File.Exists(Path.Combine(root, "src/HealthAgent/Sources", folder, "README.md")), $"Sources/{folder}/README.md is missing");
        Assert.True(Directory.Exists(Path.Combine(root, "tests/HealthAgent.Tests/Sources", folder)), $"tests/HealthAgent.Tests/Sources/{folder} is missing");
        var sources = JsonNode.Parse(File.ReadAllText(Path.Combine(root, "agent.json")))!["sources"]!.AsObject();
        Assert.True(sources.Any(kv => string.Equals(kv.Key, entry!.Key, StringComparison.OrdinalIgnoreCase)), $"agent.json has no sources.{entry!.Key}");
    }
}
