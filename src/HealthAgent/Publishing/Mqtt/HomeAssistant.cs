using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using HealthAgent.Model;

namespace HealthAgent.Publishing.Mqtt;

/// <summary>
/// One physical part as Home Assistant shows it: one <c>problem</c> binary_sensor, whatever number of sources observe
/// the part (the front panel's PSU 2 indicator and the BMC's PSU 2 are one entity). Made from a fused part
/// (<see cref="PartCondition"/>); its state topic is the part's own retained topic (<c>&lt;root&gt;/part/&lt;partId&gt;</c>).
/// </summary>
/// <param name="Id">The part id (rules/parts: psu:2, drive:1, system; a component no part rule lists is its own part);
/// becomes the entity's unique_id and discovery topic level.</param>
/// <param name="Name">Human name, e.g. "PSU 2", "CPU1 Temp".</param>
/// <param name="StateTopic">The part's retained topic (healthagent/v2/part: severity, state, meaning, observations, incident).</param>
public sealed record HaPart(string Id, string Name, string StateTopic)
{
    public static HaPart Of(PartCondition part, MqttTopics topics) => new(part.Part.Id, part.Part.Name, topics.Part(part.Part.Id));
}

/// <summary>
/// One source component's measurements as Home Assistant shows them: a <c>sensor</c> per measurement (temperature, fan
/// speed, voltage, …), reading the component's retained state topic. Thresholds are attributes, never entities.
/// </summary>
/// <param name="Id">Stable component id (unique per agent); with the reading's name it becomes the sensor's unique_id.</param>
/// <param name="Name">Human name, e.g. "CPU1 Temp".</param>
/// <param name="HwType">OpenTelemetry hw.type (temperature, fan, …).</param>
/// <param name="StateTopic">The retained JSON topic carrying <c>readings[{name, value, unit}]</c>.</param>
/// <param name="Readings">The component's readings by name and unit, with what they are (measurement, limit, other).</param>
public sealed record HaComponent(string Id, string Name, string HwType, string StateTopic, IReadOnlyList<HaReading> Readings)
{
    /// <summary>The measurements of one source component (the state topic of <paramref name="topics"/>).</summary>
    public static HaComponent Of(ComponentStatus status, MqttTopics topics)
    {
        var c = status.Component;
        return new HaComponent(c.Id, c.Name, c.HwType, topics.State(c.HwType, c.Id),
            [.. status.Evaluation.Readings.Where(r => r.Value is double or null).Select(r => new HaReading(r.Name, r.Unit, HomeAssistant.RoleOf(r.Name, r.Unit)))]);
    }
}

/// <summary>What a reading is to Home Assistant.</summary>
public enum HaReadingRole
{
    /// <summary>A measured value with a unit: one sensor entity.</summary>
    Measurement,
    /// <summary>A threshold or rating (upperCritical, crit, capacityWatts, …): an attribute of the component's measurements.</summary>
    Limit,
    /// <summary>Counts, bit masks, flags without a unit: only in the state topic.</summary>
    Other,
}

/// <summary>One numeric reading of a component: its name in the state payload's <c>readings</c>, its unit as the source gives it.</summary>
public sealed record HaReading(string Name, string? Unit, HaReadingRole Role);

/// <summary>The Home Assistant device for one agent (the machine it watches).</summary>
/// <param name="Manufacturer">DMI sys_vendor when known.</param>
/// <param name="Model">DMI product_name when known.</param>
/// <param name="ConfigurationUrl">The web view, when it is enabled (HA links the device page to it).</param>
public sealed record HaDevice(string AgentId, string? Manufacturer, string? Model, string SwVersion, string? ConfigurationUrl);

/// <summary>
/// Home Assistant MQTT discovery (home-assistant.io/integrations/mqtt/#mqtt-discovery): pure — parts, components and the
/// device in, (topic, retained payload) pairs out. Per physical part one <c>binary_sensor</c> of device_class
/// <c>problem</c> (ON at warning or critical) reading the part topic; per source component a <c>sensor</c> per
/// measurement reading its state topic, thresholds as attributes; one <c>sensor</c> of device_class <c>enum</c> for the
/// agent's overall health. Entities are available while the status topic says <c>online</c> and belong to one device
/// per agent. Checked against HA's schema facts in tests/…/Publishing/Mqtt/HomeAssistantSchema.cs.
/// </summary>
public static partial class HomeAssistant
{
    /// <summary>Our overall severities, in order: the <c>options</c> of the health enum sensor.</summary>
    public static readonly IReadOnlyList<string> HealthOptions = [.. Enum.GetValues<Severity>().Select(HealthWords.Name)];

    /// <summary>How a source unit becomes a Home Assistant unit: HA's unit, factor, device_class, state_class, primary.</summary>
    /// <remarks>HA refuses a sensor whose unit its device class does not list (sensor/const.py DEVICE_CLASS_UNITS; an
    /// error since HA Core 2025.7): temperature takes °C/°F/K, not UCUM's "Cel". HA has no fan-speed device class; its
    /// unit constant REVOLUTIONS_PER_MINUTE is "rpm". µW and the milli units are scaled to W, V and A.</remarks>
    public sealed record UnitMap(string Unit, double Factor, string? DeviceClass, string StateClass, bool Primary);

    private static readonly Dictionary<string, UnitMap> Units = new(StringComparer.Ordinal)
    {
        ["Cel"] = new("°C", 1, "temperature", "measurement", true),
        ["°C"] = new("°C", 1, "temperature", "measurement", true),
        ["rpm"] = new("rpm", 1, null, "measurement", true),
        ["RPM"] = new("rpm", 1, null, "measurement", true),
        ["V"] = new("V", 1, "voltage", "measurement", true),
        ["mV"] = new("V", 0.001, "voltage", "measurement", true),
        ["W"] = new("W", 1, "power", "measurement", true),
        ["mW"] = new("W", 0.001, "power", "measurement", true),
        ["µW"] = new("W", 0.000001, "power", "measurement", true),
        ["uW"] = new("W", 0.000001, "power", "measurement", true),
        ["A"] = new("A", 1, "current", "measurement", true),
        ["mA"] = new("A", 0.001, "current", "measurement", true),
        ["%"] = new("%", 1, null, "measurement", false),
        ["Mbit/s"] = new("Mbit/s", 1, "data_rate", "measurement", false),
        ["KiB/s"] = new("KiB/s", 1, "data_rate", "measurement", false),
        // byte counters (NIC rx/tx): a total that restarts from zero at a reboot
        ["By"] = new("B", 1, "data_size", "total_increasing", false),
        ["s"] = new("s", 1, "duration", "measurement", false),
        ["min"] = new("min", 1, "duration", "measurement", false),
        ["h"] = new("h", 1, "duration", "measurement", false),
    };

    /// <summary>The Home Assistant form of a source unit, or null when HA gets no sensor for it.</summary>
    public static UnitMap? MapUnit(string? unit) => unit is not null && Units.TryGetValue(unit, out var m) ? m : null;

    /// <summary>
    /// Thresholds and ratings by reading name: hwmon's max/min/crit/lcrit, Redfish's upper*/lower*, SMART's
    /// *Threshold, a PSU's capacityWatts, the Redfish walk's staleAfterSeconds. Other numbers with a unit HA knows are
    /// measurements; numbers without one (counts, bit masks) stay in the state topic.
    /// </summary>
    public static HaReadingRole RoleOf(string name, string? unit)
    {
        var limit = name is "max" or "min" or "crit" or "lcrit" or "capacityWatts" or "staleAfterSeconds"
            || name.EndsWith("Threshold", StringComparison.Ordinal)
            || ((name.StartsWith("upper", StringComparison.Ordinal) || name.StartsWith("lower", StringComparison.Ordinal)) && name.Length > 5 && char.IsAsciiLetterUpper(name[5]));
        if (limit) return HaReadingRole.Limit;
        return MapUnit(unit) is null ? HaReadingRole.Other : HaReadingRole.Measurement;
    }

    /// <summary>The discovery config topic of a part's problem binary_sensor.</summary>
    public static string ProblemConfigTopic(string prefix, string agentId, string partId) => $"{prefix}/binary_sensor/{Node(agentId)}/{MqttTopics.ObjectId(partId)}/config";

    /// <summary>
    /// A part's <c>problem</c> binary_sensor: ON at warning or critical, unknown ('None') when no source can read the
    /// part; attributes: the verdict, the LED, since when, the incident it belongs to (open or pending) and what each
    /// source says (so a disagreement is visible in HA too).
    /// </summary>
    public static (string Topic, byte[] Payload) ProblemConfig(string prefix, MqttTopics topics, HaDevice device, HaPart part)
    {
        var node = Node(device.AgentId);
        // entity ids read like the part's name (binary_sensor.rack7_psu_2_problem); HA uses them only when it first adds
        // the entity and numbers a clash (…_2); the unique_id, from the part's id, is what identifies the entity
        var problem = Common("binary_sensor", $"{node}_{MqttTopics.ObjectId(part.Id)}", Slug(device.AgentId) + "_" + Slug(part.Name) + "_problem",
            part.Name + " problem", part.StateTopic, topics, device);
        problem["device_class"] = "problem";
        // HA compares the rendered value with payload_on / payload_off; 'None' sets the entity unknown
        // (components/mqtt/binary_sensor.py PAYLOAD_NONE): a part the agent cannot read is unknown, not "no problem".
        problem["payload_on"] = "ON";
        problem["payload_off"] = "OFF";
        problem["value_template"] = "{{ 'ON' if value_json.severity in ['warning', 'critical'] else ('None' if value_json.state == 'unknown' else 'OFF') }}";
        problem["json_attributes_topic"] = part.StateTopic;
        problem["json_attributes_template"] =
            "{% set o = namespace(list=[]) %}{% for x in value_json.observations %}{% set o.list = o.list + [{'source': x.source, 'component': x.component.name, "
            + "'severity': x.severity, 'state': x.state, 'led': x.led.text if x.led else none, 'meaning': x.meaning}] %}{% endfor %}"
            + "{{ {'severity': value_json.severity, 'state': value_json.state, 'code': value_json.code, 'meaning': value_json.meaning, 'action': value_json.action, "
            + "'led': value_json.led.text if value_json.led else none, 'since': value_json.since, 'disagreement': value_json.disagreement, "
            + "'incident': value_json.incident.id if value_json.incident else none, 'incident_state': value_json.incident.state if value_json.incident else none, "
            + "'observations': o.list} | tojson }}";
        return (ProblemConfigTopic(prefix, device.AgentId, part.Id), HealthJson.Bytes(problem));
    }

    /// <summary>The discovery configs of one source component: one sensor per measurement (none for an LED-only component).</summary>
    public static IEnumerable<(string Topic, byte[] Payload)> ReadingConfigs(string prefix, MqttTopics topics, HaDevice device, HaComponent component)
    {
        var node = Node(device.AgentId);
        var obj = MqttTopics.ObjectId(component.Id);
        // entity ids read like the component's name (sensor.rack7_cpu1_temp); the unique_id comes from its id
        var slug = Slug(device.AgentId) + "_" + Slug(component.Name);

        var measurements = component.Readings.Where(r => r.Role == HaReadingRole.Measurement).ToList();
        foreach (var m in measurements)
        {
            var map = MapUnit(m.Unit)!;
            var rid = MqttTopics.ObjectId(m.Name);
            var primary = IsPrimary(m.Name);
            var sensor = Common("sensor", $"{node}_{obj}_{rid}", primary ? slug : slug + "_" + Slug(Words(m.Name)), primary ? component.Name : component.Name + " " + Words(m.Name), component.StateTopic, topics, device);
            if (map.DeviceClass is not null) sensor["device_class"] = map.DeviceClass;
            sensor["unit_of_measurement"] = map.Unit;
            sensor["state_class"] = map.StateClass;
            if (!map.Primary) sensor["entity_category"] = "diagnostic";
            if (map.Unit == "rpm") sensor["icon"] = "mdi:fan";
            // A reading that is unknown (null) or not a number renders None: HA shows the sensor as unknown.
            sensor["value_template"] = $"{{% set v = {Pick(m.Name)} %}}{{{{ {Scaled("v", map.Factor)} }}}}";
            var limits = LimitsOf(component, m, measurements);
            if (limits.Count > 0)
            {
                // Thresholds as attributes of the measurement, in its unit (never entities of their own).
                var sets = new StringBuilder();
                var dict = new List<string>();
                for (var i = 0; i < limits.Count; i++)
                {
                    sets.Append(CultureInfo.InvariantCulture, $"{{% set l{i} = {Pick(limits[i].Name)} %}}");
                    dict.Add($"'{Quote(limits[i].Name)}': {Scaled("l" + i, map.Factor)}");
                }
                sensor["json_attributes_topic"] = component.StateTopic;
                sensor["json_attributes_template"] = $"{sets}{{{{ {{{string.Join(", ", dict)}}} | tojson }}}}";
            }
            yield return ($"{prefix}/sensor/{node}/{obj}_{rid}/config", HealthJson.Bytes(sensor));
        }
    }

    /// <summary>The agent's overall health: a sensor of device_class enum (ok/info/warning/critical) from the health topic.</summary>
    public static (string Topic, byte[] Payload) HealthConfig(string prefix, MqttTopics topics, HaDevice device)
    {
        var node = Node(device.AgentId);
        var health = Common("sensor", node + "_health", Slug(device.AgentId) + "_health", "Health", topics.Health, topics, device);
        health["device_class"] = "enum";
        health["options"] = new JsonArray([.. HealthOptions.Select(o => (JsonNode)JsonValue.Create(o))]);
        health["value_template"] = "{{ value_json.worst }}";
        health["icon"] = "mdi:server";
        health["json_attributes_topic"] = topics.Health;
        // problems: the incident roll-up's list when the health payload carries one
        health["json_attributes_template"] = "{{ {'counts': value_json.counts, 'system_led': value_json.systemLed.text if value_json.systemLed else none, "
            + "'problems': value_json.problems if value_json.problems is defined else []} | tojson }}";
        return ($"{prefix}/sensor/{node}/health/config", HealthJson.Bytes(health));
    }

    /// <summary>The discovery-topic level of the agent's entities: <c>healthagent_&lt;agentId&gt;</c>.</summary>
    public static string Node(string agentId) => MqttTopics.ObjectId("healthagent_" + agentId);

    /// <summary>
    /// A threshold sensor written by HealthAgent 0.1: it set <c>object_id</c> (this version never does) and its
    /// value_template picks a limit reading (…_upperCritical, …_max). Other 0.1 configs are left alone: this version
    /// publishes the same topics with its own config, and replacing (not deleting) keeps HA's entity and history.
    /// </summary>
    public static bool IsLegacyThresholdConfig(ReadOnlySpan<byte> payload)
    {
        try
        {
            return JsonNode.Parse(payload) is JsonObject o && o.ContainsKey("object_id")
                && (string?)o["value_template"] is { } t && LegacyReading().Match(t) is { Success: true } m
                && RoleOf(m.Groups[1].Value, null) == HaReadingRole.Limit;
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException) { return false; }
    }

    /// <summary>
    /// A problem binary_sensor of one source component, as HealthAgent published before parts (it reads a
    /// <c>&lt;root&gt;/state/…</c> topic; a part's reads <c>&lt;root&gt;/part/…</c>): the state topic it reads, else null.
    /// </summary>
    public static string? LegacyProblemStateTopic(ReadOnlySpan<byte> payload, MqttTopics topics)
    {
        try
        {
            return JsonNode.Parse(payload) is JsonObject o && (string?)o["device_class"] == "problem"
                && (string?)o["state_topic"] is { } t && t.StartsWith(topics.Root + "/state/", StringComparison.Ordinal) ? t : null;
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException) { return null; }
    }

    [GeneratedRegex(@"selectattr\('name', 'eq', '([^']*)'\)")]
    private static partial Regex LegacyReading();

    /// <summary>Topic filter matching every discovery config this agent publishes (for retiring it).</summary>
    public static string ConfigFilter(string prefix, string agentId) => $"{prefix}/+/{Node(agentId)}/+/config";

    /// <summary>
    /// An entity id's object part as HA's entity-id rule wants it (homeassistant/core.py VALID_ENTITY_ID: lower-case
    /// letters, digits and '_', not starting or ending with '_'): other characters become '_', runs collapse.
    /// </summary>
    public static string Slug(string text)
    {
        var sb = new StringBuilder(text.Length);
        foreach (var ch in text.ToLowerInvariant())
        {
            var c = char.IsAsciiLetterOrDigit(ch) ? ch : '_';
            if (c == '_' && (sb.Length == 0 || sb[^1] == '_')) continue;
            sb.Append(c);
        }
        while (sb.Length > 0 && sb[^1] == '_') sb.Length--;
        return sb.Length == 0 ? "x" : sb.ToString();
    }

    /// <summary>
    /// The web view's address for the device's configuration_url: <paramref name="explicitUrl"/> when set, else the
    /// first listen URL with a wildcard host (0.0.0.0, [::], *, +) replaced by <paramref name="hostName"/>; null when
    /// the web view is off or listens on port 0 (the port is not known in advance).
    /// </summary>
    public static string? WebUrl(bool webEnabled, IReadOnlyList<string> listenUrls, string hostName, string? explicitUrl)
    {
        if (explicitUrl is { Length: > 0 }) return explicitUrl;
        if (!webEnabled || listenUrls.Count == 0) return null;
        var m = ListenUrl().Match(listenUrls[0].Trim());
        if (!m.Success || m.Groups["port"].Value == "0") return null;
        var host = m.Groups["host"].Value;
        if (host is "0.0.0.0" or "[::]" or "*" or "+") host = hostName;
        return $"{m.Groups["scheme"].Value.ToLowerInvariant()}://{host}:{m.Groups["port"].Value}/";
    }

    [GeneratedRegex(@"^(?<scheme>https?)://(?<host>\[[^\]]+\]|[^/:]+):(?<port>\d+)/?$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex ListenUrl();

    // ───────────── helpers ─────────────

    private static JsonObject Common(string platform, string uniqueId, string objectSlug, string name, string stateTopic, MqttTopics topics, HaDevice device)
    {
        var o = new JsonObject
        {
            ["name"] = name,
            ["unique_id"] = uniqueId,
            // object_id is ignored since HA Core 2026.4; default_entity_id is "<platform>.<object id>" (HA 2025.10+)
            ["default_entity_id"] = platform + "." + objectSlug,
            ["state_topic"] = stateTopic,
            ["availability_topic"] = topics.Status,
            ["payload_available"] = "online",
            ["payload_not_available"] = "offline",
            ["device"] = Device(device),
            ["origin"] = new JsonObject { ["name"] = "HealthAgent", ["sw_version"] = device.SwVersion },
        };
        return o;
    }

    private static JsonObject Device(HaDevice d)
    {
        var o = new JsonObject
        {
            ["identifiers"] = new JsonArray(Node(d.AgentId)),
            ["name"] = d.AgentId,
            ["manufacturer"] = d.Manufacturer ?? "HealthAgent",
            ["model"] = d.Model ?? "HealthAgent hardware health",
            ["sw_version"] = "HealthAgent " + d.SwVersion,
        };
        if (d.ConfigurationUrl is not null) o["configuration_url"] = d.ConfigurationUrl;
        return o;
    }

    /// <summary>The limits shown on measurement <paramref name="m"/>: those named after it (availableSpareThreshold →
    /// availableSpare), else those not named after another measurement, in its unit or without one.</summary>
    private static List<HaReading> LimitsOf(HaComponent component, HaReading m, List<HaReading> measurements) =>
        [.. component.Readings.Where(l => l.Role == HaReadingRole.Limit
            && (l.Unit is null || MapUnit(l.Unit)?.Unit == MapUnit(m.Unit)?.Unit && MapUnit(l.Unit)?.Factor == MapUnit(m.Unit)?.Factor)
            && (l.Name.StartsWith(m.Name, StringComparison.Ordinal) || !measurements.Any(o => o != m && l.Name.StartsWith(o.Name, StringComparison.Ordinal))))];

    /// <summary>The part's own measurement (hwmon "value", Redfish "reading"/"readingCelsius"): the sensor is named after the component.</summary>
    private static bool IsPrimary(string reading) => reading is "value" or "reading" or "readingCelsius";

    /// <summary>"percentageUsed" → "percentage used".</summary>
    private static string Words(string camel)
    {
        var sb = new StringBuilder(camel.Length + 4);
        foreach (var ch in camel)
        {
            if (char.IsAsciiLetterUpper(ch) && sb.Length > 0) sb.Append(' ');
            sb.Append(char.ToLowerInvariant(ch));
        }
        return sb.ToString();
    }

    // The value of a named reading in the state payload's readings[]: undefined → none.
    private static string Pick(string reading) =>
        $"value_json.readings | selectattr('name', 'eq', '{Quote(reading)}') | map(attribute='value') | first | default(none)";

    private static string Scaled(string v, double factor) => factor == 1
        ? $"{v} if {v} is number else none"
        : $"({v} * {factor.ToString("0.############", CultureInfo.InvariantCulture)}) | round(9) if {v} is number else none";

    private static string Quote(string s) => s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal);
}
