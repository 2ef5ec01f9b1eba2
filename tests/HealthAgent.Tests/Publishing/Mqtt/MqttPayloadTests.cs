using System.Text.Json.Nodes;
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
        Assert.Equal("healthagent/v1/rack_7/event/physical_disk/drive_0", t.Event("physical_disk", "drive/0"));
        Assert.Equal("healthagent/v1/rack_7/cmd/+", t.CmdFilter);
        Assert.Equal("healthagent/v1/rack_7/reply/identify", t.Reply("identify"));
    }
}
