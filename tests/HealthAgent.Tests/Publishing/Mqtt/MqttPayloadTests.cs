using System.Text.Json.Nodes;
using HealthAgent.Incidents;
using HealthAgent.Model;
using HealthAgent.Tests.Model;
using HealthAgent.Pipeline;
using HealthAgent.Publishing;
using HealthAgent.Publishing.Mqtt;
using HealthAgent.Rules;
using static HealthAgent.Tests.Pipeline.PipelineFixtures;

namespace HealthAgent.Tests.Publishing.Mqtt;

/// <summary>The payloads match the documented schemas (docs/schemas): required keys present, no undocumented keys, the schema const.</summary>
public class MqttPayloadTests
{
    private static string SchemaDir()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (Directory.Exists(Path.Combine(d.FullName, "docs", "schemas"))) return Path.Combine(d.FullName, "docs", "schemas");
        throw new DirectoryNotFoundException("docs/schemas not found above " + AppContext.BaseDirectory);
    }

    private static void AssertMatches(string schemaFile, JsonObject payload)
    {
        var schema = JsonNode.Parse(File.ReadAllText(Path.Combine(SchemaDir(), schemaFile)))!.AsObject();
        var props = schema["properties"]!.AsObject();
        foreach (var req in schema["required"]!.AsArray()) Assert.True(payload.ContainsKey((string)req!), $"{schemaFile}: missing required '{req}'");
        foreach (var (key, _) in payload) Assert.True(props.ContainsKey(key), $"{schemaFile}: '{key}' is not documented");
        Assert.Equal((string?)props["schema"]!["const"], (string?)payload["schema"]);
    }

    private static Evaluation Eval(Observation o) => new Evaluator(Seed).Evaluate(o);

    [Fact]
    public void Event_MatchesEventSchemaAndRoundTrips()
    {
        var e = TestEvents.Of(Guid.NewGuid(), "a", "b", 7, DateTimeOffset.UnixEpoch, EventKind.Changed, Psu1, Eval(Psu("off")).Led, "psu.no-power",
            "psu.no_input", HwState.Degraded, Severity.Warning, "m", "a", [new Reading("inputVoltage", 0.0, "V"), Reading.Unknown("x", "EIO")],
            Eval(Psu("blinking amber")).Led, "psu.problem", HwState.Failed, Severity.Critical);
        var json = HealthJson.Event(e);
        AssertMatches("event.json", json);
        var back = HealthJson.ParseEvent(HealthJson.Bytes(json));
        Assert.Equal(HealthJson.Event(back).ToJsonString(), json.ToJsonString());
    }

    [Fact]
    public void State_MatchesStateSchema()
    {
        var s = new ComponentStatus(Eval(Temp(85)), DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch);
        var json = HealthJson.State("a", s);
        AssertMatches("state.json", json);
        Assert.Equal("sensor.temperature_high", (string?)json["code"]);
        Assert.Equal("test.temperature.high", (string?)json["derivation"]!["health"]);
    }

    [Fact]
    public void Health_MatchesHealthSchema()
    {
        var r = HealthRollups.Of([new ComponentStatus(Eval(Psu("solid green")), DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch)], DateTimeOffset.UnixEpoch);
        var json = HealthJson.Health("a", r, systemLedDerived: true);
        AssertMatches("health.json", json);
        Assert.Equal("solid blue", (string?)json["systemLed"]!["text"]);
    }

    // PSU 2 as the front panel and the BMC see it, a NIC port without link: one held (pending) and one open incident.
    private static readonly RuleSet Shipped = SeedRules.Rules;

    private static (IReadOnlyList<ComponentStatus> Components, IReadOnlyList<PartCondition> Parts, IncidentEngine Engine) Appliance()
    {
        var now = DateTimeOffset.UnixEpoch;
        var evaluator = new Evaluator(Shipped);
        Observation Led(string id, string family, string led) =>
            new(new ComponentRef(id, Shipped.FindFamily(family)!.HwType, id, Family: family), [], LedText.ParseIndicator(led, Shipped.FindFamily(family)!.Leds));
        var observed = new[]
        {
            ("frontPanel", Led("panel:psu:2", "psu", "blinking amber")), ("redfish", Led("redfish:bmc:psu:1:PSU2", "psu", "solid green")),
            ("frontPanel", Led("panel:nic:1", "nic", "link off; activity off")), ("frontPanel", Led("panel:psu:1", "psu", "solid green")),
        };
        var evaluated = observed.Select(o => (o.Item1, Eval: evaluator.Evaluate(o.Item2))).ToList();
        var obs = evaluated.Select(e => new PartObservation(e.Item1, e.Eval.Component, e.Eval.Verdict, e.Eval.Led, e.Eval.Rule?.Id, e.Eval.Readings, now)).ToList();
        var engine = new IncidentEngine(Shipped);
        engine.Update(obs, now);
        return (evaluated.Select(e => new ComponentStatus(e.Eval, now, now)).ToList(), IncidentEngine.Fuse(engine.Parts, obs).Select(p => p.Part).ToList(), engine);
    }

    [Fact]
    public void Part_MatchesPartSchema_NoReadings_IncidentPending()
    {
        var (components, parts, engine) = Appliance();
        var rollup = HealthRollups.Of(components, DateTimeOffset.UnixEpoch, engine.Incidents, engine.Pending);
        var psu2 = parts.Single(p => p.Part.Id == "psu:2");
        var incident = rollup.IncidentOf("psu:2")!;
        var json = HealthJson.PartState("a", psu2, incident, rollup.IsPending(incident));
        AssertMatches("part.json", json);
        Assert.Equal(("psu:2", "PSU 2", "critical"), ((string?)json["part"]!["id"], (string?)json["part"]!["name"], (string?)json["severity"]));
        Assert.Equal(("pending", "root"), ((string?)json["incident"]!["state"], (string?)json["incident"]!["role"]));
        Assert.Equal(2, json["observations"]!.AsArray().Count);
        Assert.All(json["observations"]!.AsArray(), o => Assert.Null(o!["readings"])); // readings live on the component's state topic
        Assert.NotNull(json["disagreement"]);
    }

    [Fact]
    public async Task Payloads_ValidByJsonSchema_EventStateHealthWithOpenAndPendingProblemsPart()
    {
        var (components, parts, engine) = Appliance();
        var rollup = HealthRollups.Of(components, DateTimeOffset.UnixEpoch, engine.Incidents, engine.Pending);
        Assert.Equal(["open", "pending"], rollup.Problems.Select(i => rollup.IsPending(i) ? "pending" : "open").Order());
        var health = HealthJson.Health("a", rollup, systemLedDerived: true);
        var e = new HealthEvent(Guid.NewGuid(), "a", "b", 3, DateTimeOffset.UnixEpoch, EventKind.Raised, engine.Incidents[0], null);
        var items = new List<(string, JsonNode)> { ("health.json", health), ("event.json", HealthJson.Event(e)) };
        items.AddRange(components.Select(c => ("state.json", (JsonNode)HealthJson.State("a", c, parts.PartIdOf(c.Component.Id)))));
        items.AddRange(parts.Select(p => ("part.json", (JsonNode)HealthJson.PartState("a", p, rollup.IncidentOf(p.Part.Id), rollup.IncidentOf(p.Part.Id) is { } i && rollup.IsPending(i)))));
        await PayloadSchemas.AssertValidAsync([.. items]);

        // the validator does reject what the schemas forbid
        var bad = HealthJson.PartState("a", parts[0], null, false);
        bad["incident"] = new JsonObject { ["id"] = "not-a-uuid", ["state"] = "maybe" };
        health["problems"]![0]!.AsObject().Remove("state");
        var errors = await PayloadSchemas.ValidateAsync([("part.json", bad), ("health.json", health)]);
        Assert.NotEmpty(errors[0]);
        Assert.Contains(errors[1], x => x.Contains("'state' is a required property", StringComparison.Ordinal));
    }

    [Fact]
    public void ParseEvent_Garbage_ThrowsFormatException()
    {
        Assert.Throws<FormatException>(() => HealthJson.ParseEvent("{\"eventId\":1}"u8));
        Assert.Throws<FormatException>(() => HealthJson.ParseEvent("not json"u8));
    }

    [Theory]
    [InlineData("nic:eth0", "nic:eth0")]
    [InlineData("redfish:bmc/psu 1", "redfish:bmc_psu_1")]
    [InlineData("a+b#c", "a_b_c")]
    [InlineData("", "_")]
    public void Safe_Id_BecomesOneTopicLevel(string id, string expected) => Assert.Equal(expected, MqttTopics.Safe(id));

    [Fact]
    public void Topics_FollowTheDocumentedTree()
    {
        var t = new MqttTopics("healthagent/v1/", "rack 7");
        Assert.Equal("healthagent/v1/rack_7/status", t.Status);
        Assert.Equal("healthagent/v1/rack_7/state/power_supply/psu:1", t.State("power_supply", "psu:1"));
        Assert.Equal("healthagent/v1/rack_7/part/psu:2", t.Part("psu:2"));
        Assert.Equal("healthagent/v1/rack_7/event/physical_disk/drive_0", t.Event("physical_disk", "drive/0"));
        Assert.Equal("healthagent/v1/rack_7/cmd/+", t.CmdFilter);
        Assert.Equal("healthagent/v1/rack_7/reply/identify", t.Reply("identify"));
    }
}
