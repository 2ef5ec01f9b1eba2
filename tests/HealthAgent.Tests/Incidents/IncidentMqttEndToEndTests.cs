using System.Text.Json.Nodes;
using HealthAgent.Model;
using HealthAgent.Rules;
using HealthAgent.Sources;
using HealthAgent.TestSupport;
using HealthAgent.Tests.Pipeline;
using HealthAgent.Tests.Publishing.Mqtt;

namespace HealthAgent.Tests.Incidents;

/// <summary>One PSU failure seen by the front panel and the BMC, against a real mosquitto, watched with mosquitto_sub.</summary>
public class IncidentMqttEndToEndTests
{
    private static readonly RuleSet Rules = RuleLoader.LoadEmbedded().Rules!;

    private static Observation Led(string id, string family, string led, string? derivation = null) =>
        new(new ComponentRef(id, Rules.FindFamily(family)!.HwType, id, Family: family, Derivation: derivation), [], LedText.ParseIndicator(led, Rules.FindFamily(family)!.Leds));

    private static Observation Redundancy(string health, double spare) =>
        new(new ComponentRef("redfish:bmc:psu-redundancy:1", "power_supply", "PSU redundancy", Derivation: "redfish.psu-redundancy"),
            [new Reading("health", health), new Reading("dellRedundancy", null, Reason: "none"), new Reading("psuBays", 2.0), new Reading("sparePsus", spare)]);

    [Fact]
    public async Task Psu2Fails_PanelAndBmc_ExactlyOneRaisedEventOnTheBroker_HealthHasOneProblem_ReloadRepublishesInfo()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        using var dir = new AgentDir(broker);
        var source = new ScriptedSource("frontPanel");
        await using var agent = new InProcessAgent(dir, source: source, rules: Rules);
        await agent.WaitOnlineAsync();
        source.Set(Led("panel:psu:2", "psu", "solid green"));
        source.Set(Led("panel:system:1", "system", "solid blue"));
        source.Set(Led("redfish:bmc:psu:PSU2", "psu", "solid green"));
        source.Set(Redundancy("OK", 1));
        await Task.Delay(500);

        var sub = await MosquittoClients.StartSubAsync(broker, ["-t", dir.Root + "/event/#", "-C", "1", "-W", "12", "-q", "1"]);
        source.Set(Led("panel:system:1", "system", "blinking amber"));   // the panel first …
        source.Set(Led("panel:psu:2", "psu", "blinking amber"));
        await Task.Delay(800);
        source.Set(Led("redfish:bmc:psu:PSU2", "psu", "blinking amber")); // … the BMC a moment later
        source.Set(Redundancy("Critical", 0));

        var r = await sub;
        Assert.True(r.ExitCode == 0, $"no event on the broker: {r.StandardError}");
        var ev = JsonNode.Parse(r.StandardOutput)!.AsObject();
        await Task.Delay(1500);
        Assert.Single(agent.Pipeline.History()); // one fault, one event (the history holds what was published)
        Assert.Equal(("healthagent/v2/event", "raised", "psu:2", "critical"),
            ((string?)ev["schema"], (string?)ev["kind"], (string?)ev["component"]!["id"], (string?)ev["severity"]));
        var codes = ev["incident"]!["consequences"]!.AsArray().Select(c => (string?)c!["code"]).ToList();
        Assert.Contains("psu.redundancy_lost", codes);
        Assert.Contains("system.fault", codes);

        var health = JsonNode.Parse((await MosquittoClients.SubAsync(broker, ["-t", dir.Root + "/health", "-C", "1", "-W", "5"])).StandardOutput)!;
        var problem = Assert.Single(health["problems"]!.AsArray())!;
        Assert.Equal("PSU 2", (string?)problem["root"]!["part"]!["name"]);

        // Rules held once: a reload reaches the retained info.
        agent.Config.RuleHolder.Replace(Rules with { Version = "reloaded-0001" });
        var info = JsonNode.Parse((await MosquittoClients.SubAsync(broker, ["-t", dir.Root + "/info", "-C", "1", "-W", "5"])).StandardOutput)!;
        Assert.Equal("reloaded-0001", (string?)info["rulesVersion"]);
    }
}
