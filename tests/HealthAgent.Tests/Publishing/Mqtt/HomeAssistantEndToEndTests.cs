using System.Diagnostics;
using System.Text.Json.Nodes;
using HealthAgent.Cli;
using HealthAgent.Model;
using HealthAgent.Tests.Pipeline;
using HealthAgent.TestSupport;
using static HealthAgent.Tests.Pipeline.PipelineFixtures;
using static HealthAgent.Tests.Publishing.Mqtt.HomeAssistantTests;

namespace HealthAgent.Tests.Publishing.Mqtt;

/// <summary>Home Assistant discovery on a real mosquitto: what a fresh subscriber to <c>homeassistant/#</c> gets, and retiring.</summary>
public class HomeAssistantEndToEndTests
{
    /// <summary>Every retained message under the filters, as a fresh subscriber sees it (topic → payload).</summary>
    private static async Task<Dictionary<string, string>> RetainedAsync(MosquittoBroker broker, params string[] filters)
    {
        var r = await MosquittoClients.SubAsync(broker, [.. filters.SelectMany(f => new[] { "-t", f }), "-v", "--retained-only", "-W", "2"]);
        return r.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(' ', 2)).ToDictionary(p => p[0], p => p.Length > 1 ? p[1] : "", StringComparer.Ordinal);
    }

    private static async Task<Dictionary<string, string>> WaitForConfigsAsync(MosquittoBroker broker, Func<Dictionary<string, string>, bool> done)
    {
        var sw = Stopwatch.StartNew();
        while (true)
        {
            var configs = await RetainedAsync(broker, "homeassistant/#");
            if (done(configs)) return configs;
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(20), "discovery configs never settled: " + string.Join(", ", configs.Keys));
        }
    }

    private static async Task<JsonObject> CommandAsync(MosquittoBroker broker, AgentDir dir, string verb, string body)
    {
        var reply = await MosquittoClients.StartSubAsync(broker, ["-t", $"{dir.Root}/reply/{verb}", "-C", "1", "-W", "10"]);
        var pub = await MosquittoClients.PubAsync(broker, ["-t", $"{dir.Root}/cmd/{verb}", "-q", "1", "-m", body]);
        Assert.Equal(0, pub.ExitCode);
        var r = await reply;
        Assert.True(r.ExitCode == 0, "no reply: " + r.StandardError);
        return JsonNode.Parse(r.StandardOutput)!.AsObject();
    }

    private static void UseHomeAssistant(AgentDir dir, MosquittoBroker broker) => File.WriteAllText(dir.ConfigFile, $$"""
        {
          "agentId": "{{dir.AgentId}}",
          "stateDirectory": "state",
          "sources": {},
          "publishers": {
            "mqtt": { "host": "{{broker.Host}}", "port": {{broker.Port}}, "willDelaySeconds": 0, "keepAliveSeconds": 5, "reconnectMaxDelaySeconds": 1, "homeAssistantDiscovery": true }
          },
          "web": { "enabled": true, "urls": ["http://0.0.0.0:8080"], "allowRemote": true,
                   "users": [ { "name": "admin", "passwordHash": "{{HealthAgent.Web.Auth.PasswordHasher.Hash("pw", 1000)}}", "role": "administrator" } ] }
        }
        """);

    [Fact]
    public async Task Discovery_EveryRetainedConfigIsAccepted_RetirePartThenAgent_NothingLeft()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        using var dir = new AgentDir(broker, agentId: "rack7");
        UseHomeAssistant(dir, broker);
        // what HealthAgent 0.1 left on the broker: a threshold sensor (deleted now) and a reading sensor (replaced)
        foreach (var reading in new[] { "upperCritical", "readingCelsius" })
        {
            var legacy = $$$"""{"name":"CPU1 Temp {{{reading}}}","unique_id":"healthagent_rack7_redfish_bmc_temp_1_Temp_cpu1_{{{reading}}}","object_id":"healthagent_rack7_redfish_bmc_temp_1_Temp_cpu1_{{{reading}}}","state_topic":"{{{dir.Root}}}/state/temperature/redfish:bmc:temp:1:Temp.cpu1","device_class":"temperature","unit_of_measurement":"Cel","state_class":"measurement","value_template":"{{ (value_json.readings | selectattr('name', 'eq', '{{{reading}}}') | first).value }}","device":{"identifiers":["healthagent_rack7"],"name":"rack7","manufacturer":"HealthAgent"}}""";
            Assert.Equal(0, (await MosquittoClients.PubAsync(broker, ["-r", "-q", "1", "-t", $"homeassistant/sensor/healthagent_rack7/redfish_bmc_temp_1_Temp_cpu1_{reading}/config", "-m", legacy])).ExitCode);
        }
        await using (var agent = new InProcessAgent(dir, rules: SeedRules.Rules))
        {
            await agent.WaitOnlineAsync();
            agent.Source.Set(RedfishTemp(97));
            agent.Source.Set(HwmonFan(1200));
            agent.Source.Set(Millivolts(1100));
            agent.Source.Set(Psu("solid green"));

            // 4 problem binary_sensors, 3 measurement sensors (no threshold entities), 1 health sensor
            var configs = await WaitForConfigsAsync(broker, c => c.Count == 8 && !c.Values.Any(p => p.Contains("object_id", StringComparison.Ordinal)));
            Assert.Equal(8, configs.Count);
            Assert.Equal(4, configs.Keys.Count(t => t.StartsWith("homeassistant/binary_sensor/healthagent_rack7/", StringComparison.Ordinal)));
            var problems = configs.SelectMany(kv => HomeAssistantSchema.Problems(kv.Key, JsonNode.Parse(kv.Value)!.AsObject())).ToList();
            Assert.True(problems.Count == 0, string.Join("\n", problems));
            var device = JsonNode.Parse(configs["homeassistant/sensor/healthagent_rack7/health/config"])!["device"]!;
            Assert.Equal($"http://{Environment.MachineName}:8080/", (string?)device["configuration_url"]);
            Assert.StartsWith("HealthAgent ", (string?)device["sw_version"], StringComparison.Ordinal);

            // every entity reads a retained topic that is there, and is available by the status topic
            var tree = await RetainedAsync(broker, dir.Root + "/#");
            foreach (var (topic, payload) in configs)
            {
                var c = JsonNode.Parse(payload)!;
                Assert.True(tree.ContainsKey((string)c["state_topic"]!), $"{topic}: nothing retained on {c["state_topic"]}");
                Assert.Equal("online", tree[(string)c["availability_topic"]!]);
            }

            // the CLI refuses while the agent is online (it would publish everything again)
            var err = new StringWriter();
            Assert.Equal(1, await RetireCommand.RunAsync(dir.ConfigFile, [], force: false, TextWriter.Null, err));
            Assert.Contains("is online", err.ToString(), StringComparison.Ordinal);
            Assert.Equal(8, (await RetainedAsync(broker, "homeassistant/#")).Count);

            // cmd/retire: refused for a part a source still reports; done once it is gone
            var refused = await CommandAsync(broker, dir, "retire", """{"componentId":"redfish:bmc:temp:1:Temp.cpu1"}""");
            Assert.False((bool?)refused["ok"]);
            Assert.Contains("still reported", (string?)refused["message"], StringComparison.Ordinal);
            agent.Source.Set(Unreadable(RedfishTemp(0).Component));
            var sw = Stopwatch.StartNew();
            JsonObject retired;
            do retired = await CommandAsync(broker, dir, "retire", """{"componentId":"redfish:bmc:temp:1:Temp.cpu1"}""");
            while ((bool?)retired["ok"] != true && sw.Elapsed < TimeSpan.FromSeconds(10));
            Assert.True((bool?)retired["ok"], retired.ToJsonString());
            var replySchema = JsonNode.Parse(File.ReadAllText(Path.Combine(SeedRules.RepoRoot, "docs", "schemas", "reply.json")))!["properties"]!.AsObject();
            Assert.All(retired, kv => Assert.True(replySchema.ContainsKey(kv.Key), $"reply key '{kv.Key}' is not in docs/schemas/reply.json"));
            // the part (a sensor is its own part): its problem entity and part topic; the component: its sensor and state topic
            Assert.Equal([$"{dir.Root}/part/redfish:bmc:temp:1:Temp.cpu1", $"{dir.Root}/state/temperature/redfish:bmc:temp:1:Temp.cpu1",
                "homeassistant/binary_sensor/healthagent_rack7/redfish_bmc_temp_1_Temp_cpu1/config", "homeassistant/sensor/healthagent_rack7/redfish_bmc_temp_1_Temp_cpu1_readingCelsius/config"],
                retired["cleared"]!.AsArray().Select(t => (string?)t));
            configs = await WaitForConfigsAsync(broker, c => c.Count == 6);
            Assert.DoesNotContain(configs.Keys, t => t.Contains("Temp_cpu1", StringComparison.Ordinal));
            Assert.DoesNotContain((await RetainedAsync(broker, dir.Root + "/#")).Keys, t => t.Contains("Temp.cpu1", StringComparison.Ordinal));
            // a retired part stays retired: the burst that made it unknown is published after the retire, and changes nothing
            await Task.Delay(HealthAgent.Pipeline.HealthPipeline.PublishMaxDelay + TimeSpan.FromMilliseconds(500));
            Assert.Equal(6, (await RetainedAsync(broker, "homeassistant/#")).Count);
            Assert.DoesNotContain((await RetainedAsync(broker, dir.Root + "/#")).Keys, t => t.Contains("Temp.cpu1", StringComparison.Ordinal));
        }

        // stopped (status offline): `healthagent retire --component psu:1`, then the whole agent
        var output = new StringWriter();
        Assert.Equal(0, await RetireCommand.RunAsync(dir.ConfigFile, ["psu:1"], force: false, output, TextWriter.Null));
        Assert.Contains("Cleared 3 retained topic(s)", output.ToString(), StringComparison.Ordinal); // part, state, problem entity
        var left = await RetainedAsync(broker, "homeassistant/#");
        Assert.Equal(5, left.Count);
        Assert.DoesNotContain(left.Keys, t => t.Contains("psu_1", StringComparison.Ordinal));

        output = new StringWriter();
        Assert.Equal(0, await RetireCommand.RunAsync(dir.ConfigFile, [], force: false, output, TextWriter.Null));
        Assert.Contains("/status", output.ToString(), StringComparison.Ordinal);
        Assert.Empty(await RetainedAsync(broker, "homeassistant/#", dir.Root + "/#"));
        output = new StringWriter();
        Assert.Equal(0, await RetireCommand.RunAsync(dir.ConfigFile, [], force: false, output, TextWriter.Null));
        Assert.Contains("Nothing retained", output.ToString(), StringComparison.Ordinal);
    }

    private static Observation Led(string id, string family, string led, params Reading[] readings) =>
        new(new ComponentRef(id, SeedRules.Rules.FindFamily(family)!.HwType, id.StartsWith("panel:", StringComparison.Ordinal) ? "PSU indicator 2 (front panel)" : "PSU 2", Family: family),
            readings, LedText.ParseIndicator(led, SeedRules.Rules.FindFamily(family)!.Leds));

    /// <summary>Issue 15: one problem entity per physical part, not per source; it reads the part's retained topic.</summary>
    [Fact]
    public async Task PsuOnPanelAndBmc_OneProblemEntity_PartTopicOnChangeOnly_FailsAndClears_PerComponentLeftoverDeleted()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        using var dir = new AgentDir(broker, agentId: "rack7");
        UseHomeAssistant(dir, broker);
        // what the previous version left: a problem entity per source component (the panel's PSU 2 indicator)
        var leftover = $$$"""{"name":"PSU indicator 2 (front panel) problem","unique_id":"healthagent_rack7_panel_psu_2","default_entity_id":"binary_sensor.rack7_psu_indicator_2_front_panel_problem","state_topic":"{{{dir.Root}}}/state/power_supply/panel:psu:2","device_class":"problem","availability_topic":"{{{dir.Root}}}/status","device":{"identifiers":["healthagent_rack7"],"name":"rack7","model":"m","sw_version":"HealthAgent 0.2.0"}}""";
        Assert.Equal(0, (await MosquittoClients.PubAsync(broker, ["-r", "-q", "1", "-t", "homeassistant/binary_sensor/healthagent_rack7/panel_psu_2/config", "-m", leftover])).ExitCode);

        var source = new ScriptedSource("frontPanel"); // the panel's and the BMC's components, as rules/parts match them
        await using var agent = new InProcessAgent(dir, source: source, rules: SeedRules.Rules);
        await agent.WaitOnlineAsync();
        source.Set(Led("panel:psu:2", "psu", "solid green"));
        source.Set(Led("redfish:bmc:psu:1:PSU2", "psu", "solid green", new Reading("inputVoltage", 230.0, "V")));

        // one problem entity (psu:2), the BMC PSU's voltage sensor, the health sensor; the leftover deleted
        var configs = await WaitForConfigsAsync(broker, c => c.Count == 3 && c.ContainsKey("homeassistant/binary_sensor/healthagent_rack7/psu_2/config"));
        Assert.Equal(["homeassistant/binary_sensor/healthagent_rack7/psu_2/config", "homeassistant/sensor/healthagent_rack7/health/config",
            "homeassistant/sensor/healthagent_rack7/redfish_bmc_psu_1_PSU2_inputVoltage/config"], configs.Keys.Order(StringComparer.Ordinal));
        var problems = configs.SelectMany(kv => HomeAssistantSchema.Problems(kv.Key, JsonNode.Parse(kv.Value)!.AsObject())).ToList();
        Assert.True(problems.Count == 0, string.Join("\n", problems));
        var entity = JsonNode.Parse(configs["homeassistant/binary_sensor/healthagent_rack7/psu_2/config"])!;
        Assert.Equal(("PSU 2 problem", "healthagent_rack7_psu_2", $"{dir.Root}/part/psu:2"), ((string?)entity["name"], (string?)entity["unique_id"], (string?)entity["state_topic"]));

        // the part topic, retained: both sources' observations, valid against docs/schemas/part.json
        var tree = await RetainedAsync(broker, dir.Root + "/#");
        var part = JsonNode.Parse(tree[$"{dir.Root}/part/psu:2"])!;
        await PayloadSchemas.AssertValidAsync(("part.json", part));
        Assert.Equal(["panel:psu:2", "redfish:bmc:psu:1:PSU2"], part["observations"]!.AsArray().Select(o => (string?)o!["component"]!["id"]).Order());
        Assert.Equal("online", tree[(string)entity["availability_topic"]!]);

        // on change only: new readings and repeated polls publish no part message …
        var quiet = await MosquittoClients.StartSubAsync(broker, ["-t", dir.Root + "/part/#", "-v", "-R", "-W", "3"]);
        for (var v = 231; v < 236; v++) source.Set(Led("redfish:bmc:psu:1:PSU2", "psu", "solid green", new Reading("inputVoltage", (double)v, "V")));
        source.Set(Led("panel:psu:2", "psu", "solid green"));
        Assert.Equal("", (await quiet).StandardOutput);

        // … a fault does: PSU 2 fails (the panel first, then the BMC): one part, pending, then open; one raised event
        var events = await MosquittoClients.StartSubAsync(broker, ["-t", dir.Root + "/event/#", "-v", "-W", "12", "-C", "1"]);
        source.Set(Led("panel:psu:2", "psu", "blinking amber"));
        source.Set(Led("redfish:bmc:psu:1:PSU2", "psu", "blinking amber", new Reading("inputVoltage", 0.0, "V")));
        var raised = JsonNode.Parse((await events).StandardOutput.Split(' ', 2)[1])!;
        Assert.Equal(("raised", "psu:2"), ((string?)raised["kind"], (string?)raised["component"]!["id"]));
        part = await WaitForPartAsync(broker, dir, "psu:2", p => (string?)p["incident"]?["state"] == "open");
        Assert.Equal(("critical", (string?)raised["incident"]!["id"], "root"), ((string?)part["severity"], (string?)part["incident"]!["id"], (string?)part["incident"]!["role"]));
        Assert.Single((await RetainedAsync(broker, "homeassistant/binary_sensor/#")));

        source.Set(Led("panel:psu:2", "psu", "solid green"));
        source.Set(Led("redfish:bmc:psu:1:PSU2", "psu", "solid green", new Reading("inputVoltage", 230.0, "V")));
        part = await WaitForPartAsync(broker, dir, "psu:2", p => (string?)p["severity"] == "ok");
        Assert.Null(part["incident"]);
    }

    private static async Task<JsonNode> WaitForPartAsync(MosquittoBroker broker, AgentDir dir, string partId, Func<JsonNode, bool> done)
    {
        var sw = Stopwatch.StartNew();
        while (true)
        {
            var tree = await RetainedAsync(broker, $"{dir.Root}/part/{partId}");
            if (tree.TryGetValue($"{dir.Root}/part/{partId}", out var payload) && payload.Length > 0 && JsonNode.Parse(payload) is { } p && done(p)) return p;
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(20), $"part {partId} never got there: {payload}");
        }
    }

    [Fact]
    public async Task Retire_NoBroker_SaysWhyAndExits1()
    {
        var dir = Directory.CreateTempSubdirectory("healthagent-retire-").FullName;
        try
        {
            var config = Path.Combine(dir, "agent.json");
            File.WriteAllText(config, $$"""{ "agentId": "x", "publishers": { "mqtt": { "host": "127.0.0.1", "port": {{MosquittoBroker.GetFreePort()}} } } }""");
            var err = new StringWriter();
            Assert.Equal(1, await RetireCommand.RunAsync(config, [], force: false, TextWriter.Null, err));
            Assert.Contains("retire: cannot clear agent 'x' on 127.0.0.1:", err.ToString(), StringComparison.Ordinal);
            Assert.Contains("refused", err.ToString(), StringComparison.OrdinalIgnoreCase);
        }
        finally { Directory.Delete(dir, true); }
    }
}
