using HealthAgent.Config;
using HealthAgent.Sources.Nic;

namespace HealthAgent.Tests.Sources.Nic;

public class NicOptionsTests
{
    private static AgentConfig Load(string nicJson)
    {
        var path = Path.Combine(Path.GetTempPath(), "ha-nic-" + Guid.NewGuid().ToString("N") + ".json");
        File.WriteAllText(path, $$"""{ "sources": { "nic": {{nicJson}} } }""");
        try { return AgentConfig.Load(path); }
        finally { File.Delete(path); }
    }

    [Fact]
    public void Bind_InterfacesAndGlobs_FromAgentJson()
    {
        var o = (NicOptions)Load("""{ "include": ["veth*"], "exclude": ["eno2"], "netlink": false, "interfaces": { "eth0": { "expectedSpeedMbps": 25000 } } }""").Sources["nic"];
        Assert.Equal(["veth*"], o.Include);
        Assert.Equal(["eno2"], o.Exclude);
        Assert.False(o.Netlink);
        Assert.Equal(25000d, o.ExpectedSpeedMbps("eth0"));
        Assert.Null(o.ExpectedSpeedMbps("eth1"));
    }

    [Fact]
    public void Bind_BadValues_AllReported()
    {
        var e = Assert.Throws<ConfigException>(() => Load("""{ "include": [""], "interfaces": { "eth0": { "expectedSpeedMbps": -5 } }, "speed": 1 }"""));
        Assert.Contains(e.Errors, x => x.StartsWith("sources.nic.include[0]"));
        Assert.Contains(e.Errors, x => x.StartsWith("sources.nic.interfaces.eth0.expectedSpeedMbps"));
        Assert.Contains(e.Errors, x => x.StartsWith("sources.nic.speed: unknown key"));
    }

    [Fact]
    public void Bind_MisspelledInterfaceSetting_Reported()
    {
        var e = Assert.Throws<ConfigException>(() => Load("""{ "interfaces": { "eth0": { "expectedSpeed": 25000 } } }"""));
        Assert.Contains(e.Errors, x => x.StartsWith("sources.nic.interfaces.eth0: no expectedSpeedMbps"));
    }

    [Fact]
    public void Defaults_RepositoryAgentJson_Valid()
    {
        var repoJson = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../../agent.json"));
        var o = (NicOptions)(File.Exists(repoJson) ? AgentConfig.Load(repoJson) : AgentConfig.Load(null)).Sources["nic"];
        Assert.True(o.Enabled);
        Assert.Equal("/", o.HostRoot);
        Assert.True(o.Netlink);
        Assert.Empty(o.Include);
    }
}
