using HealthAgent.Config;

namespace HealthAgent.Tests.Config;

public class AgentConfigTests
{
    private static string Write(string json)
    {
        var dir = Directory.CreateTempSubdirectory("agentcfg-");
        var path = Path.Combine(dir.FullName, "agent.json");
        File.WriteAllText(path, json);
        return path;
    }

    [Fact]
    public void Load_RepositoryAgentJson_IsValid()
    {
        var config = AgentConfig.Load(Path.Combine(SeedRules.RepoRoot, "agent.json"));
        Assert.Equal(Environment.MachineName, config.Agent.EffectiveAgentId);
        Assert.Equal(33, config.Rules.Families.Sum(f => f.Rules.Count));
    }

    [Fact]
    public void Load_NoFile_UsesEmbeddedDefaults()
    {
        var cwd = Environment.CurrentDirectory;
        var config = AgentConfig.Load(null);
        Assert.True(config.Source is "embedded:agent.json" || File.Exists(config.Source));
        Assert.Equal(cwd, Environment.CurrentDirectory);
    }

    [Fact]
    public void Load_SeveralProblems_AllReportedAtOnce()
    {
        var path = Write("""{ "agentId": "bad/id", "colour": 1, "logLevel": "Loud", "sources": { "toaster": {} } }""");
        var e = Assert.Throws<ConfigException>(() => AgentConfig.Load(path));
        Assert.Contains(e.Errors, m => m.StartsWith("agentId:", StringComparison.Ordinal));
        Assert.Contains(e.Errors, m => m.StartsWith("colour: unknown key", StringComparison.Ordinal));
        Assert.Contains(e.Errors, m => m.StartsWith("logLevel:", StringComparison.Ordinal));
        Assert.Contains(e.Errors, m => m.StartsWith("sources.toaster: unknown source", StringComparison.Ordinal));
    }

    [Fact]
    public void Load_MalformedJson_NamesTheFile()
    {
        var path = Write("{ \"agentId\": ");
        var e = Assert.Throws<ConfigException>(() => AgentConfig.Load(path));
        Assert.Contains(path, Assert.Single(e.Errors));
    }

    [Fact]
    public void Load_MissingFile_Refused()
    {
        var e = Assert.Throws<ConfigException>(() => AgentConfig.Load("/nonexistent/agent.json"));
        Assert.Contains("not found", Assert.Single(e.Errors));
    }

    [Fact]
    public void Load_OverrideLikeEnvironment_WinsOverFile()
    {
        var path = Write("""{ "agentId": "from-file" }""");
        var config = AgentConfig.Load(path, new Dictionary<string, string?> { ["agentId"] = "from-env" });
        Assert.Equal("from-env", config.Agent.EffectiveAgentId);
    }

    [Fact]
    public void Load_EnvironmentVariable_OverridesFile()
    {
        // Environment variables are process-wide: use a key no other test reads.
        var path = Write("""{ "logLevel": "Information" }""");
        Environment.SetEnvironmentVariable("HEALTHAGENT_LOGLEVEL", "Debug");
        try { Assert.Equal("Debug", AgentConfig.Load(path).Agent.LogLevel); }
        finally { Environment.SetEnvironmentVariable("HEALTHAGENT_LOGLEVEL", null); }
    }

    [Fact]
    public void Load_RulesDirectoryWithErrors_RefusesToStartListingThem()
    {
        var path = Write("""{ "rulesDirectory": "rules" }""");
        var rules = Path.Combine(Path.GetDirectoryName(path)!, "rules");
        Directory.CreateDirectory(rules);
        File.WriteAllText(Path.Combine(rules, "x.yaml"), "family: x\n");
        var e = Assert.Throws<ConfigException>(() => AgentConfig.Load(path));
        Assert.Contains(e.Errors, m => m.Contains("x.yaml:1:1", StringComparison.Ordinal));
    }

    [Fact]
    public void Load_RulesDirectoryMissing_Refused()
    {
        var path = Write("""{ "rulesDirectory": "no-such-rules" }""");
        var e = Assert.Throws<ConfigException>(() => AgentConfig.Load(path));
        Assert.Contains(e.Errors, m => m.Contains("does not exist", StringComparison.Ordinal));
    }
}
