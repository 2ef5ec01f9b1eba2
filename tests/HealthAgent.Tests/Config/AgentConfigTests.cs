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

    // One test per error kind, each with its exact message: what the operator reads.

    private static IReadOnlyList<string> Errors(string json, IDictionary<string, string?>? overrides = null) =>
        Assert.Throws<ConfigException>(() => AgentConfig.Load(Write(json), overrides)).Errors;

    [Fact]
    public void Load_UnknownKey_NamesPathAndKnownKeys() =>
        Assert.Equal("sources.hwmon.colour: unknown key (known: fileTimeoutMs, excludeChips, refreshPolls, enabled, intervalSeconds, timeoutSeconds, hostRoot)",
            Assert.Single(Errors("""{ "sources": { "hwmon": { "colour": "red" } } }""")));

    [Fact]
    public void Load_UnknownSourceAndPublisher_NameTheCatalog()
    {
        Assert.Equal(["sources.toaster: unknown source (known: redfish, frontPanel, hwmon, nic, smart, mdraid, powersupply)",
            "publishers.kafka: unknown publisher (known: mqtt, otlp)"],
            Errors("""{ "sources": { "toaster": {} }, "publishers": { "kafka": {} } }"""));
    }

    [Fact]
    public void Load_StringWhereArrayExpected_IsAnErrorNotTheDefault() =>
        Assert.Equal("web.urls: expected an array of strings, got a string",
            Assert.Single(Errors("""{ "web": { "urls": "http://127.0.0.1:9000" } }""")));

    [Fact]
    public void Load_ArrayWhereObjectExpected_OneMessageNotOnePerEntry() =>
        Assert.Equal("sources.nic.interfaces: expected an object, got an array",
            Assert.Single(Errors("""{ "sources": { "nic": { "interfaces": ["eth0"] } } }""")));

    [Fact]
    public void Load_StringWhereNumberExpected_IsAnError() =>
        Assert.Equal("sources.hwmon.intervalSeconds: expected a number, got a string",
            Assert.Single(Errors("""{ "sources": { "hwmon": { "intervalSeconds": "10" } } }""")));

    [Fact]
    public void Load_NumberWhereBooleanExpected_IsAnError() =>
        Assert.Equal("publishers.mqtt.enabled: expected true or false, got a number",
            Assert.Single(Errors("""{ "publishers": { "mqtt": { "enabled": 1 } } }""")));

    [Fact]
    public void Load_FractionWhereIntegerExpected_IsAnError() =>
        Assert.Equal("publishers.mqtt.port: expected an integer, got 1883.5",
            Assert.Single(Errors("""{ "publishers": { "mqtt": { "port": 1883.5 } } }""")));

    [Fact]
    public void Load_ObjectWhereStringExpected_IsAnError() =>
        Assert.Equal("sources.redfish.endpoints[0].url: expected a string, got an object",
            Assert.Single(Errors("""{ "sources": { "redfish": { "enabled": false, "endpoints": [ { "name": "bmc", "url": { "host": "bmc" } } ] } } }""")));

    [Fact]
    public void Load_RootNotAnObject_IsAnError() =>
        Assert.Equal("(root): expected an object, got an array", Assert.Single(Errors("[]")));

    [Fact]
    public void Load_BadValue_NamesPathAndRange() =>
        Assert.Equal("publishers.mqtt.port: must be from 1 to 65535 (is 70000)",
            Assert.Single(Errors("""{ "publishers": { "mqtt": { "port": 70000 } } }""")));

    [Fact]
    public void Load_OverrideThatDoesNotParse_NamesPathValueAndOrigin() =>
        Assert.Equal("sources.hwmon.fileTimeoutMs: expected an integer, got 'abc' (override)",
            Assert.Single(Errors("{}", new Dictionary<string, string?> { ["SOURCES:HWMON:FILETIMEOUTMS"] = "abc" })));

    [Fact]
    public void Load_OverrideOfAnArrayWithAString_IsAnError() =>
        Assert.Equal("web.urls: expected an array of strings, got a string (override)",
            Assert.Single(Errors("{}", new Dictionary<string, string?> { ["web:urls"] = "http://127.0.0.1:9000" })));

    [Fact]
    public void Load_OverrideOfAnUnknownKey_IsAnError() =>
        Assert.Equal("sources.hwmon.colour: unknown key (known: fileTimeoutMs, excludeChips, refreshPolls, enabled, intervalSeconds, timeoutSeconds, hostRoot) (override)",
            Assert.Single(Errors("{}", new Dictionary<string, string?> { ["sources:hwmon:colour"] = "red" })));

    [Fact]
    public void Load_OverrideOfAListItemAndADictionaryEntry_Binds()
    {
        var config = AgentConfig.Load(Write("{}"), new Dictionary<string, string?>
        {
            ["web:urls:0"] = "http://127.0.0.1:9001", ["sources:nic:interfaces:eth9:expectedSpeedMbps"] = "40000", ["sources:hwmon:intervalSeconds"] = "2.5",
        });
        Assert.Equal(["http://127.0.0.1:9001"], config.Web.EffectiveUrls);
        Assert.Equal(40000d, ((HealthAgent.Sources.Nic.NicOptions)config.Sources["nic"]).ExpectedSpeedMbps("eth9"));
        Assert.Equal(2.5, config.Sources["hwmon"].IntervalSeconds);
    }

    [Fact]
    public void Load_EveryKindOfErrorEverywhere_AllInOneRound()
    {
        var errors = Errors("""
            { "colour": 1, "logLevel": "Loud",
              "sources": { "hwmon": { "intervalSeconds": "10" }, "nic": { "exclude": "eth0" }, "toaster": {} },
              "publishers": { "mqtt": { "port": 70000 }, "otlp": { "enabled": true, "protocol": "carrier-pigeon" } },
              "web": { "urls": "http://127.0.0.1:9000", "sessionMinutes": 0 } }
            """, new Dictionary<string, string?> { ["sources:mdraid:fileTimeoutMs"] = "soon" });
        Assert.Equal([
            "colour: unknown key (known: agentId, stateDirectory, rulesDirectory, logLevel, sources, publishers, web)",
            "sources.hwmon.intervalSeconds: expected a number, got a string",
            "sources.nic.exclude: expected an array of strings, got a string",
            "sources.toaster: unknown source (known: redfish, frontPanel, hwmon, nic, smart, mdraid, powersupply)",
            "web.urls: expected an array of strings, got a string",
            "sources.mdraid.fileTimeoutMs: expected an integer, got 'soon' (override)",
            "logLevel: unknown level 'Loud' (Trace, Debug, Information, Warning, Error, Critical, None)",
            "publishers.mqtt.port: must be from 1 to 65535 (is 70000)",
            "publishers.otlp.protocol: must be 'grpc' or 'http/protobuf' (is 'carrier-pigeon')",
            "web.sessionMinutes: must be from 1 to 10080 (is 0)",
        ], errors);
    }

    [Fact]
    public void Load_ListsAndDictionaries_Bound()
    {
        var config = AgentConfig.Load(Write("""
            { "sources": {
                "redfish": { "enabled": true, "endpoints": [ { "name": "bmc", "url": "https://10.0.0.2", "username": "u", "password": "p", "maxConcurrency": 3 },
                                                             { "name": "bmc2", "url": "https://10.0.0.3", "username": "u", "password": "p" } ] },
                "nic": { "exclude": ["eno2", "veth*"], "interfaces": { "eth0": { "expectedSpeedMbps": 25000 }, "eth1": { "expectedSpeedMbps": 1000 } } } },
              "publishers": { "otlp": { "headers": { "x-api-key": "k" } } },
              "web": { "urls": ["http://127.0.0.1:9000", "http://[::1]:9000"] } }
            """));
        var redfish = (HealthAgent.Sources.Redfish.RedfishOptions)config.Sources["redfish"];
        Assert.Equal(["bmc", "bmc2"], redfish.Endpoints.Select(e => e.Name));
        Assert.Equal(3, redfish.Endpoints[0].MaxConcurrency);
        var nic = (HealthAgent.Sources.Nic.NicOptions)config.Sources["nic"];
        Assert.Equal(["eno2", "veth*"], nic.Exclude);
        Assert.Equal((25000d, 1000d), (nic.ExpectedSpeedMbps("eth0"), nic.ExpectedSpeedMbps("eth1")));
        Assert.Equal("k", ((HealthAgent.Publishing.Otlp.OtlpPublisherOptions)config.Publishers["otlp"]).Headers["x-api-key"]);
        Assert.Equal(["http://127.0.0.1:9000", "http://[::1]:9000"], config.Web.EffectiveUrls);
    }
}
