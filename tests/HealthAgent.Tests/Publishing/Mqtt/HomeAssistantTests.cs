using System.Text;
using System.Text.Json.Nodes;
using HealthAgent.Incidents;
using HealthAgent.Model;
using HealthAgent.Pipeline;
using HealthAgent.Publishing;
using HealthAgent.Publishing.Mqtt;
using HealthAgent.Rules;
using HealthAgent.TestSupport;

namespace HealthAgent.Tests.Publishing.Mqtt;

/// <summary>Home Assistant discovery payloads against HA's schema facts (<see cref="HomeAssistantSchema"/>), and their templates rendered by Jinja2.</summary>
/// <remarks>One problem entity per physical part (from the part topic), measurement sensors per source component (from its state topic).</remarks>
public class HomeAssistantTests
{
    private static readonly MqttTopics Topics = new("healthagent/v1", "rack7");
    private static readonly HaDevice Device = new("rack7", "Dell Inc.", "PowerEdge R650", "0.1.0", "http://rack7:8080/");

    public static ComponentStatus Status(Observation o) => new(new Evaluator(SeedRules.Rules).Evaluate(o), DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch);

    /// <summary>A Redfish temperature as RedfishParser reports it: UCUM "Cel", thresholds as readings.</summary>
    public static Observation RedfishTemp(double? celsius) => new(
        new ComponentRef("redfish:bmc:temp:1:Temp.cpu1", "temperature", "CPU1 Temp", "redfish:bmc:chassis:1", null, "redfish.temperature"),
        [new Reading("state", "Enabled"), new Reading("health", "OK"), new Reading("readingCelsius", celsius, "Cel"),
         new Reading("upperCaution", 85.0, "Cel"), new Reading("upperCritical", 95.0, "Cel"), new Reading("upperFatal", 100.0, "Cel"),
         Reading.Unknown("lowerCaution", "not reported", "Cel"), Reading.Unknown("lowerCritical", "not reported", "Cel"), Reading.Unknown("lowerFatal", "not reported", "Cel")]);

    public static Observation HwmonFan(double rpm) => new(new ComponentRef("hwmon:nct6779:fan1", "fan", "nct6779 CPU fan", Derivation: "sensor.fan"),
        [new Reading("value", rpm, "rpm"), new Reading("min", 300.0, "rpm"), new Reading("alarm", false), new Reading("label", "CPU fan")]);

    public static Observation Millivolts(double mv) => new(new ComponentRef("ipmi:vcore", "voltage", "Vcore", Derivation: "sensor.voltage"),
        [new Reading("value", mv, "mV"), new Reading("max", 1400.0, "mV"), new Reading("min", 600.0, "mV")]);

    public static Observation NvmeDrive() => new(new ComponentRef("smart:nvme0", "physical_disk", "nvme0"),
        [new Reading("temperature", 41.0, "°C"), new Reading("percentageUsed", 3.0, "%"), new Reading("availableSpare", 100.0, "%"),
         new Reading("availableSpareThreshold", 10.0, "%"), new Reading("mediaErrors", 0.0), new Reading("powerOnHours", 1234.0, "h"), new Reading("passed", true)]);

    /// <summary>The measurement sensors of one source component.</summary>
    private static List<(string Topic, JsonObject Config)> Configs(Observation o) =>
        [.. HomeAssistant.ReadingConfigs("homeassistant", Topics, Device, HaComponent.Of(Status(o), Topics)).Select(c => (c.Topic, JsonNode.Parse(c.Payload)!.AsObject()))];

    // PSU 2 as the front panel and the BMC see it (the shipped rules/parts make them one part, psu:2).
    private static readonly ComponentRef PanelPsu2 = new("panel:psu:2", "power_supply", "PSU indicator 2 (front panel)", Family: "psu");
    private static readonly ComponentRef BmcPsu2 = new("redfish:bmc:psu:1:PSU2", "power_supply", "PSU 2", Family: "psu", Derivation: "redfish.psu");

    private static PartObservation Seen(string source, ComponentRef c, string? led, string? unknown = null)
    {
        var fam = SeedRules.Rules.FindFamily(c.Family!)!;
        var e = new Evaluator(SeedRules.Rules).Evaluate(new Observation(c, [], led is null ? null : LedText.ParseIndicator(led, fam.Leds), unknown));
        return new PartObservation(source, e.Component, e.Verdict, e.Led, e.Rule?.Id, e.Readings, DateTimeOffset.UnixEpoch);
    }

    /// <summary>The physical part the panel's and the BMC's PSU 2 are (fused as the pipeline does).</summary>
    public static PartCondition Psu2(string? panelLed, string? bmcLed) =>
        Assert.Single(IncidentEngine.Fuse(new PartMap(SeedRules.Rules), [
            Seen("frontPanel", PanelPsu2, panelLed, panelLed is null ? "panel silent" : null),
            Seen("redfish", BmcPsu2, bmcLed, bmcLed is null ? "BMC answered 500" : null)])).Part;

    private static (string Topic, JsonObject Config) Problem(PartCondition part)
    {
        var (topic, payload) = HomeAssistant.ProblemConfig("homeassistant", Topics, Device, HaPart.Of(part, Topics));
        return (topic, JsonNode.Parse(payload)!.AsObject());
    }

    private static byte[] PartPayload(PartCondition part, Incident? incident = null, bool pending = false) =>
        HealthJson.Bytes(HealthJson.PartState("rack7", part, incident, pending));

    private static void AssertAccepted(IEnumerable<(string Topic, JsonObject Config)> configs)
    {
        var problems = configs.SelectMany(c => HomeAssistantSchema.Problems(c.Topic, c.Config)).ToList();
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void PsuSeenByPanelAndBmc_OneProblemEntityForThePart_ReadingThePartTopic()
    {
        var part = Psu2("blinking amber", "blinking amber");
        Assert.Equal(("psu:2", "PSU 2", 2), (part.Part.Id, part.Part.Name, part.Observations.Count));
        var (topic, problem) = Problem(part);
        AssertAccepted([(topic, problem)]);
        Assert.Equal("homeassistant/binary_sensor/healthagent_rack7/psu_2/config", topic);
        Assert.Equal("healthagent_rack7_psu_2", (string?)problem["unique_id"]); // from the part id: stable across sources and restarts
        Assert.Equal("binary_sensor.rack7_psu_2_problem", (string?)problem["default_entity_id"]);
        Assert.Equal("PSU 2 problem", (string?)problem["name"]);
        Assert.Equal("problem", (string?)problem["device_class"]);
        Assert.Equal(("ON", "OFF"), ((string?)problem["payload_on"], (string?)problem["payload_off"]));
        Assert.Equal("healthagent/v1/rack7/part/psu:2", (string?)problem["state_topic"]);
        Assert.Equal(Topics.Part("psu:2"), (string?)problem["json_attributes_topic"]);
        Assert.Equal(Topics.Status, (string?)problem["availability_topic"]);
        Assert.Null(problem["object_id"]);

        // the same part whichever source reports it, or both: the same entity (topic and unique_id)
        var bmcOnly = Assert.Single(IncidentEngine.Fuse(new PartMap(SeedRules.Rules), [Seen("redfish", BmcPsu2, "solid green")])).Part;
        Assert.Equal(topic, Problem(bmcOnly).Topic);
        Assert.Equal((string?)problem["unique_id"], (string?)Problem(bmcOnly).Config["unique_id"]);
    }

    [Fact]
    public void RedfishTemperature_OneCelsiusSensor_ThresholdsAsAttributes_ProblemEntityFromItsPart()
    {
        var configs = Configs(RedfishTemp(97));
        AssertAccepted(configs);
        Assert.Single(configs); // the reading; no …_upperCritical entity, no problem entity (the part has it)
        var part = Assert.Single(IncidentEngine.Fuse(new PartMap(SeedRules.Rules), [new PartObservation("redfish", RedfishTemp(97).Component,
            Status(RedfishTemp(97)).Evaluation.Verdict, null, null, [], DateTimeOffset.UnixEpoch)])).Part;
        var (problemTopic, problem) = Problem(part);
        // a BMC sensor is its own part (rules/parts/sensors.yaml key: each): the entity HealthAgent made per component before
        Assert.Equal("homeassistant/binary_sensor/healthagent_rack7/redfish_bmc_temp_1_Temp_cpu1/config", problemTopic);
        Assert.Equal("healthagent_rack7_redfish_bmc_temp_1_Temp_cpu1", (string?)problem["unique_id"]);
        Assert.Equal("binary_sensor.rack7_cpu1_temp_problem", (string?)problem["default_entity_id"]);
        var (_, sensor) = configs[0];
        Assert.Equal("temperature", (string?)sensor["device_class"]);
        Assert.Equal("°C", (string?)sensor["unit_of_measurement"]);
        Assert.Equal("measurement", (string?)sensor["state_class"]);
        Assert.Equal("CPU1 Temp", (string?)sensor["name"]);
        Assert.Equal("sensor.rack7_cpu1_temp", (string?)sensor["default_entity_id"]);
        Assert.Equal("healthagent_rack7_redfish_bmc_temp_1_Temp_cpu1_readingCelsius", (string?)sensor["unique_id"]); // unchanged: HA keeps the entity
        Assert.Equal(Topics.Status, (string?)sensor["availability_topic"]);
        Assert.Contains("upperCritical", (string?)sensor["json_attributes_template"], StringComparison.Ordinal);
        Assert.DoesNotContain(configs, c => c.Topic.Contains("upper", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public void Device_HasModelSoftwareVersionAndWebViewLink_OnEveryEntity()
    {
        Assert.Equal(Configs(RedfishTemp(40))[0].Config["device"]!.ToJsonString(), Problem(Psu2("solid green", "solid green")).Config["device"]!.ToJsonString());
        var device = Problem(Psu2("solid green", "solid green")).Config["device"]!;
        Assert.Equal("healthagent_rack7", (string?)device["identifiers"]![0]);
        Assert.Equal("rack7", (string?)device["name"]);
        Assert.Equal("Dell Inc.", (string?)device["manufacturer"]);
        Assert.Equal("PowerEdge R650", (string?)device["model"]);
        Assert.Equal("HealthAgent 0.1.0", (string?)device["sw_version"]);
        Assert.Equal("http://rack7:8080/", (string?)device["configuration_url"]);
    }

    [Fact]
    public void FanVoltageDrive_UnitsHaAccepts_MilliVoltsScaled_DiagnosticsCategorised()
    {
        var fan = Configs(HwmonFan(1200));
        var volts = Configs(Millivolts(1100));
        var drive = Configs(NvmeDrive());
        AssertAccepted([.. fan, .. volts, .. drive]);
        Assert.All([.. fan, .. volts, .. drive], c => Assert.Contains("/sensor/", c.Topic, StringComparison.Ordinal));

        var rpm = fan.Single(c => c.Topic.Contains("/sensor/", StringComparison.Ordinal)).Config;
        Assert.Null(rpm["device_class"]); // HA has no fan-speed device class
        Assert.Equal("rpm", (string?)rpm["unit_of_measurement"]);
        Assert.Null(rpm["entity_category"]);

        var v = volts.Single(c => c.Topic.Contains("/sensor/", StringComparison.Ordinal)).Config;
        Assert.Equal("V", (string?)v["unit_of_measurement"]);
        Assert.Contains("0.001", (string?)v["value_template"], StringComparison.Ordinal);

        // drive: temperature, percentage used, available spare, power-on hours — not media errors (a count) or passed (a flag)
        var names = drive.Where(c => c.Topic.Contains("/sensor/", StringComparison.Ordinal)).Select(c => (string?)c.Config["name"]).ToList();
        Assert.Equal(["nvme0 temperature", "nvme0 percentage used", "nvme0 available spare", "nvme0 power on hours"], names);
        var spare = drive.Single(c => (string?)c.Config["name"] == "nvme0 available spare").Config;
        Assert.Equal("sensor.rack7_nvme0_available_spare", (string?)spare["default_entity_id"]);
        Assert.Equal("diagnostic", (string?)spare["entity_category"]);
        Assert.Contains("availableSpareThreshold", (string?)spare["json_attributes_template"], StringComparison.Ordinal);
        var used = drive.Single(c => (string?)c.Config["name"] == "nvme0 percentage used").Config;
        Assert.Null(used["json_attributes_template"]); // the spare threshold is the spare's, not the wear's
    }

    [Fact]
    public void Health_EnumSensorFromTheHealthTopic()
    {
        var (topic, payload) = HomeAssistant.HealthConfig("homeassistant", Topics, Device);
        var health = JsonNode.Parse(payload)!.AsObject();
        AssertAccepted([(topic, health)]);
        Assert.Equal("homeassistant/sensor/healthagent_rack7/health/config", topic);
        Assert.Equal("enum", (string?)health["device_class"]);
        Assert.Equal(["ok", "info", "warning", "critical"], health["options"]!.AsArray().Select(o => (string?)o));
        Assert.Equal(Topics.Health, (string?)health["state_topic"]);
        Assert.Equal("sensor.rack7_health", (string?)health["default_entity_id"]);
    }

    [Fact]
    public void Schema_CatchesWhatHomeAssistantRefuses()
    {
        // the configs this agent published before: Cel with device_class temperature, object_id
        var old = JsonNode.Parse("""
            {"name":"CPU1 Temp readingCelsius","unique_id":"u","object_id":"u","state_topic":"s","availability_topic":"a",
             "device":{"identifiers":["d"],"name":"rack7","manufacturer":"HealthAgent"},"device_class":"temperature","unit_of_measurement":"Cel","state_class":"measurement"}
            """)!.AsObject();
        var problems = HomeAssistantSchema.Problems("homeassistant/sensor/n/o/config", old);
        Assert.Contains(problems, p => p.Contains("key 'object_id'", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("unit 'Cel' is not valid with device_class temperature", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("default_entity_id", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("device has no model", StringComparison.Ordinal));
        // a problem binary_sensor: attributes template without its topic, both availability forms, a payload that is no string
        var badProblem = JsonNode.Parse("""
            {"name":"p","unique_id":"u","default_entity_id":"binary_sensor.u","state_topic":"s","availability_topic":"a","availability":[{"topic":"a"}],
             "device":{"identifiers":["d"],"name":"n","model":"m","sw_version":"1"},"device_class":"problem","payload_on":true,"json_attributes_template":"{{ value_json | tojson }}"}
            """)!.AsObject();
        var bp = HomeAssistantSchema.Problems("homeassistant/binary_sensor/n/o/config", badProblem);
        Assert.Contains(bp, p => p.Contains("json_attributes_template without json_attributes_topic", StringComparison.Ordinal));
        Assert.Contains(bp, p => p.Contains("availability_topic and availability", StringComparison.Ordinal));
        Assert.Contains(bp, p => p.Contains("payload_on must be a string", StringComparison.Ordinal));
        var enumWithUnit = JsonNode.Parse("""{"unique_id":"u","default_entity_id":"sensor.u","state_topic":"s","availability_topic":"a","device":{"identifiers":["d"],"name":"n","model":"m","sw_version":"1"},"device_class":"enum","options":["a"],"unit_of_measurement":"%"}""")!.AsObject();
        Assert.Contains(HomeAssistantSchema.Problems("homeassistant/sensor/n/o/config", enumWithUnit), p => p.Contains("options exclude", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("upperCritical", true)]
    [InlineData("max", true)]
    [InlineData("readingCelsius", false)]
    [InlineData("value", false)]
    public void LegacyThresholdConfig_OnlyThe01ThresholdSensors(string reading, bool legacy)
    {
        var old = $$$"""{"unique_id":"u","object_id":"u","state_topic":"s","value_template":"{{ (value_json.readings | selectattr('name', 'eq', '{{{reading}}}') | first).value }}"}""";
        Assert.Equal(legacy, HomeAssistant.IsLegacyThresholdConfig(Encoding.UTF8.GetBytes(old)));
        var current = Configs(RedfishTemp(40)).Append(Problem(Psu2("solid green", "solid green"))).Select(c => c.Config.ToJsonString());
        Assert.All(current, c => Assert.False(HomeAssistant.IsLegacyThresholdConfig(Encoding.UTF8.GetBytes(c))));
    }

    [Fact]
    public void LegacyProblemConfig_PerComponentStateTopicOnly()
    {
        var old = $$"""{"unique_id":"u","state_topic":"{{Topics.State("power_supply", "panel:psu:2")}}","device_class":"problem"}""";
        Assert.Equal(Topics.State("power_supply", "panel:psu:2"), HomeAssistant.LegacyProblemStateTopic(Encoding.UTF8.GetBytes(old), Topics));
        var (_, now) = HomeAssistant.ProblemConfig("homeassistant", Topics, Device, HaPart.Of(Psu2("solid green", "solid green"), Topics));
        Assert.Null(HomeAssistant.LegacyProblemStateTopic(now, Topics)); // a part's reads part/…
        var sensor = Configs(RedfishTemp(40))[0].Config.ToJsonString(); // a measurement sensor reads state/… but is no problem entity
        Assert.Null(HomeAssistant.LegacyProblemStateTopic(Encoding.UTF8.GetBytes(sensor), Topics));
        var otherAgent = $$"""{"state_topic":"healthagent/v1/rack70/state/power_supply/psu:1","device_class":"problem"}""";
        Assert.Null(HomeAssistant.LegacyProblemStateTopic(Encoding.UTF8.GetBytes(otherAgent), Topics));
    }

    [Theory]
    [InlineData("rack7", "rack7")]
    [InlineData("Rack 7", "rack_7")]
    [InlineData("redfish:bmc:temp:1:Temp.cpu1", "redfish_bmc_temp_1_temp_cpu1")]
    [InlineData("__a//b__", "a_b")]
    [InlineData("äöü", "x")]
    public void Slug_IsAValidEntityObjectId(string text, string slug) => Assert.Equal(slug, HomeAssistant.Slug(text));

    [Theory]
    [InlineData(true, "http://0.0.0.0:8080", null, "http://rack7:8080/")]
    [InlineData(true, "https://[::]:8443", null, "https://rack7:8443/")]
    [InlineData(true, "http://*:8080", null, "http://rack7:8080/")]
    [InlineData(true, "http://192.0.2.7:8080/", null, "http://192.0.2.7:8080/")]
    [InlineData(true, "http://127.0.0.1:0", null, null)]
    [InlineData(false, "http://0.0.0.0:8080", null, null)]
    [InlineData(false, "http://0.0.0.0:8080", "https://nvr.example/health", "https://nvr.example/health")]
    public void WebUrl_FromTheWebViewsListenUrl(bool enabled, string listen, string? explicitUrl, string? expected) =>
        Assert.Equal(expected, HomeAssistant.WebUrl(enabled, [listen], "rack7", explicitUrl));

    [Fact]
    public void RetirementPlan_WholeAgent_ItsTreeAndItsConfigsOnly()
    {
        var retained = Retained(
            ("healthagent/v1/rack7/status", "offline"), ("healthagent/v1/rack7/health", "{}"), ("healthagent/v1/rack7/state/power_supply/psu:1", "{}"),
            ("healthagent/v1/rack70/status", "online"), // another agent whose id starts the same
            ("homeassistant/binary_sensor/healthagent_rack7/psu_1/config", """{"state_topic":"healthagent/v1/rack7/state/power_supply/psu:1"}"""),
            ("homeassistant/sensor/healthagent_rack7/health/config", """{"state_topic":"healthagent/v1/rack7/health"}"""),
            ("homeassistant/sensor/healthagent_rack70/health/config", """{"state_topic":"healthagent/v1/rack70/health"}"""),
            ("healthagent/v1/rack7/state/fan/gone", "")); // already cleared
        Assert.Equal([
            "healthagent/v1/rack7/health", "healthagent/v1/rack7/state/power_supply/psu:1", "healthagent/v1/rack7/status",
            "homeassistant/binary_sensor/healthagent_rack7/psu_1/config", "homeassistant/sensor/healthagent_rack7/health/config"],
            Retirement.Plan(retained, Topics, "homeassistant", "rack7", []));
    }

    [Fact]
    public void RetirementPlan_OnePart_ItsStateAndTheConfigsReadingIt()
    {
        var retained = Retained(
            ("healthagent/v1/rack7/state/physical_disk/smart:sda", "{}"), ("healthagent/v1/rack7/state/physical_disk/smart:sdab", "{}"),
            ("homeassistant/binary_sensor/healthagent_rack7/smart_sda/config", """{"state_topic":"healthagent/v1/rack7/state/physical_disk/smart:sda"}"""),
            ("homeassistant/sensor/healthagent_rack7/smart_sda_temperature/config", """{"state_topic":"healthagent/v1/rack7/state/physical_disk/smart:sda"}"""),
            ("homeassistant/sensor/healthagent_rack7/smart_sdab_temperature/config", """{"state_topic":"healthagent/v1/rack7/state/physical_disk/smart:sdab"}"""),
            ("homeassistant/sensor/healthagent_rack7/broken/config", "not json"));
        Assert.Equal([
            "healthagent/v1/rack7/state/physical_disk/smart:sda",
            "homeassistant/binary_sensor/healthagent_rack7/smart_sda/config", "homeassistant/sensor/healthagent_rack7/smart_sda_temperature/config"],
            Retirement.Plan(retained, Topics, "homeassistant", "rack7", ["smart:sda"]));
    }

    [Fact]
    public void RetirementPlan_APart_ItsTopicItsComponentsAndEveryConfigReadingThem()
    {
        var part = Encoding.UTF8.GetString(PartPayload(Psu2("off", "off")));
        var retained = Retained(
            ("healthagent/v1/rack7/part/psu:2", part), ("healthagent/v1/rack7/part/psu:1", "{}"),
            ("healthagent/v1/rack7/state/power_supply/panel:psu:2", "{}"), ("healthagent/v1/rack7/state/power_supply/redfish:bmc:psu:1:PSU2", "{}"),
            ("healthagent/v1/rack7/state/power_supply/panel:psu:1", "{}"),
            ("homeassistant/binary_sensor/healthagent_rack7/psu_2/config", """{"state_topic":"healthagent/v1/rack7/part/psu:2"}"""),
            ("homeassistant/sensor/healthagent_rack7/redfish_bmc_psu_1_PSU2_inputVoltage/config", """{"state_topic":"healthagent/v1/rack7/state/power_supply/redfish:bmc:psu:1:PSU2"}"""),
            ("homeassistant/binary_sensor/healthagent_rack7/psu_1/config", """{"state_topic":"healthagent/v1/rack7/part/psu:1"}"""));
        Assert.Equal([
            "healthagent/v1/rack7/part/psu:2", "healthagent/v1/rack7/state/power_supply/panel:psu:2", "healthagent/v1/rack7/state/power_supply/redfish:bmc:psu:1:PSU2",
            "homeassistant/binary_sensor/healthagent_rack7/psu_2/config", "homeassistant/sensor/healthagent_rack7/redfish_bmc_psu_1_PSU2_inputVoltage/config"],
            Retirement.Plan(retained, Topics, "homeassistant", "rack7", ["psu:2"]));
    }

    private static Dictionary<string, byte[]> Retained(params (string Topic, string Payload)[] items) =>
        items.ToDictionary(i => i.Topic, i => Encoding.UTF8.GetBytes(i.Payload), StringComparer.Ordinal);

    // ───────────── templates, rendered by Jinja2 (the engine Home Assistant renders them with) ─────────────

    [Fact]
    public async Task SensorTemplates_RenderTheStateTopic_ValueUnitThresholdsAndUnknown()
    {
        var hot = HealthJson.Bytes(HealthJson.State("rack7", Status(RedfishTemp(97))));
        var unknown = HealthJson.Bytes(HealthJson.State("rack7", Status(RedfishTemp(null))));
        var sensor = Configs(RedfishTemp(97))[0].Config;
        var volts = Configs(Millivolts(1100)).Single(c => c.Topic.Contains("/sensor/", StringComparison.Ordinal)).Config;
        var voltsState = HealthJson.Bytes(HealthJson.State("rack7", Status(Millivolts(1100))));

        var r = await Jinja.RenderAsync([
            ((string)sensor["value_template"]!, hot), ((string)sensor["json_attributes_template"]!, hot),
            ((string)sensor["value_template"]!, unknown), ((string)volts["value_template"]!, voltsState),
            ((string)volts["json_attributes_template"]!, voltsState)]);

        Assert.Equal("97", r[0]);
        var limits = JsonNode.Parse(r[1])!.AsObject();
        Assert.Equal(95.0, (double?)limits["upperCritical"]);
        Assert.Equal(85.0, (double?)limits["upperCaution"]);
        Assert.Null(limits["lowerCritical"]); // unknown limit → null, not 0
        Assert.Equal("None", r[2]); // HA: 'None' sets the sensor to unknown
        Assert.Equal("1.1", r[3]); // scaled and rounded: not 1.1000000000000001
        Assert.Equal(1.4, (double)JsonNode.Parse(r[4])!["max"]!, 6);
    }

    [Fact]
    public async Task ProblemTemplates_RenderThePartTopic_OnOffUnknown_WhatEachSourceSays()
    {
        var (_, problem) = Problem(Psu2("solid green", "blinking amber"));
        var value = (string)problem["value_template"]!;
        var attributes = (string)problem["json_attributes_template"]!;
        var failing = Psu2("solid green", "blinking amber"); // the sources disagree: the BMC's fault wins, both are shown
        var incident = new Incident(Guid.Parse("0b7d6c1e-7c39-4a8e-9d57-3f1f2b1c9a10"), failing, [], DateTimeOffset.UnixEpoch);

        var r = await Jinja.RenderAsync([
            (value, PartPayload(failing, incident, pending: true)), (attributes, PartPayload(failing, incident, pending: true)),
            (value, PartPayload(Psu2("solid green", "solid green"))), (attributes, PartPayload(Psu2("solid green", "solid green"))),
            (value, PartPayload(Psu2(null, null))), (value, PartPayload(Psu2(null, "solid green")))]);

        // HA matches the rendered value against payload_on, payload_off or 'None' (unknown): anything else is dropped
        Assert.All([r[0], r[2], r[4], r[5]], v => Assert.Contains(v, HomeAssistantSchema.BinarySensorStates(problem)));
        Assert.Equal("ON", r[0]);
        var attrs = JsonNode.Parse(r[1])!.AsObject();
        Assert.Equal(("critical", "psu.fault"), ((string?)attrs["severity"], (string?)attrs["code"]));
        Assert.Equal("blinking amber", (string?)attrs["led"]);
        Assert.Equal("BMC says critical (blinking amber), front panel says ok (solid green)", (string?)attrs["disagreement"]);
        Assert.Equal(("0b7d6c1e-7c39-4a8e-9d57-3f1f2b1c9a10", "pending"), ((string?)attrs["incident"], (string?)attrs["incident_state"]));
        var sources = attrs["observations"]!.AsArray().Select(o => ((string?)o!["source"], (string?)o["severity"], (string?)o["led"])).ToList();
        Assert.Equal([("redfish", "critical", "blinking amber"), ("frontPanel", "ok", "solid green")], sources);
        Assert.Equal("OFF", r[2]);
        Assert.Null((string?)JsonNode.Parse(r[3])!["incident"]);
        Assert.Equal("None", r[4]); // no source can read it: unknown in HA, not "no problem"
        Assert.Equal("OFF", r[5]); // one source that can read it is enough
    }

    [Fact]
    public async Task HealthTemplates_RenderTheHealthTopic()
    {
        var (_, payload) = HomeAssistant.HealthConfig("homeassistant", Topics, Device);
        var health = JsonNode.Parse(payload)!;
        var rollup = HealthRollups.Of([Status(RedfishTemp(97)), Status(HwmonFan(1200))], DateTimeOffset.UnixEpoch);
        var state = HealthJson.Bytes(HealthJson.Health("rack7", rollup, systemLedDerived: true));
        var r = await Jinja.RenderAsync([((string)health["value_template"]!, state), ((string)health["json_attributes_template"]!, state)]);
        Assert.Equal("critical", r[0]);
        var attrs = JsonNode.Parse(r[1])!;
        Assert.Equal(1, (int?)attrs["counts"]!["critical"]);
        Assert.Equal("blinking amber", (string?)attrs["system_led"]);
        Assert.Empty(attrs["problems"]!.AsArray());
    }

    /// <summary>
    /// Renders templates the way HA's MQTT integration does (helpers/template.py: an ImmutableSandboxedEnvironment;
    /// `value` the payload text, `value_json` the parsed JSON) with Debian's python3-jinja2 (deploy/test.sh installs it).
    /// </summary>
    private static class Jinja
    {
        private const string Script = """
            import json, sys
            from jinja2.sandbox import ImmutableSandboxedEnvironment
            env = ImmutableSandboxedEnvironment()
            out = []
            for item in json.load(sys.stdin):
                payload = item["payload"]
                out.append(env.from_string(item["template"]).render(value=payload, value_json=json.loads(payload)))
            print(json.dumps(out))
            """;

        public static async Task<List<string>> RenderAsync(IReadOnlyList<(string Template, byte[] Payload)> items)
        {
            var input = new JsonArray([.. items.Select(i => (JsonNode)new JsonObject { ["template"] = i.Template, ["payload"] = Encoding.UTF8.GetString(i.Payload) })]);
            var r = await ProcessRunner.RunAsync("/usr/bin/python3", ["-c", Script], TimeSpan.FromSeconds(30), input.ToJsonString());
            Assert.True(r.ExitCode == 0, "Jinja2 could not render (apt-get install python3-jinja2): " + r.StandardError);
            return [.. JsonNode.Parse(r.StandardOutput)!.AsArray().Select(n => (string)n!)];
        }
    }
}
