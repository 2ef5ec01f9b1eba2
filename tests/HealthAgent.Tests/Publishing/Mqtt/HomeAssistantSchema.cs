using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace HealthAgent.Tests.Publishing.Mqtt;

/// <summary>
/// Home Assistant's MQTT discovery schema as facts, for checking every config we emit. Sources (Home Assistant Core
/// 2025.x–2026.x, home-assistant/core and home-assistant.io):
/// - components/mqtt/schemas.py MQTT_ENTITY_COMMON_SCHEMA + MQTT_AVAILABILITY_SCHEMA (availability, device, origin,
///   enabled_by_default, entity_category, icon, json_attributes_*, unique_id, object_id → default_entity_id), and
///   config.py MQTT_RO_SCHEMA (state_topic required, value_template, qos, encoding);
/// - components/mqtt/sensor.py _PLATFORM_SCHEMA_BASE and validate_sensor_state_and_device_class_config (options only
///   with device_class enum and never with state_class/unit; a unit its device class does not list is refused — a
///   warning "will stop working in HA Core 2025.7.0", an error since);
/// - components/mqtt/binary_sensor.py (payload_on/off: cv.string, default "ON"/"OFF"; off_delay, expire_after, force_update,
///   device_class); a rendered value that is neither payload_on, payload_off nor PAYLOAD_NONE ("None" → unknown) is
///   dropped with "No matching payload found for entity";
/// - integrations/binary_sensor.mqtt.markdown: availability "Must not be used together with availability_topic";
///   json_attributes_template extracts the attributes from messages on json_attributes_topic;
/// - integrations/sensor.mqtt.markdown, binary_sensor.mqtt.markdown: default_entity_id "For example, sensor.foobar";
///   entity_category "must be diagnostic for sensors"; object_id deprecated in HA 2025.10 and ignored from 2026.4;
/// - components/sensor/const.py DEVICE_CLASS_UNITS, DEVICE_CLASS_STATE_CLASSES, SensorStateClass; const.py units;
/// - core.py VALID_ENTITY_ID; helpers/config_validation.py configuration_url (http, https or homeassistant://);
/// - integrations/mqtt.markdown: discovery topic &lt;prefix&gt;/&lt;component&gt;/[&lt;node_id&gt;/]&lt;object_id&gt;/config, ids [a-zA-Z0-9_-].
/// </summary>
public static partial class HomeAssistantSchema
{
    private static readonly string[] Availability = ["availability", "availability_mode", "availability_template", "availability_topic", "payload_available", "payload_not_available"];
    private static readonly string[] EntityCommon = ["device", "origin", "enabled_by_default", "entity_category", "entity_picture", "icon", "json_attributes_topic", "json_attributes_template", "default_entity_id", "unique_id", "name"];
    private static readonly string[] ReadOnly = ["state_topic", "value_template", "qos", "encoding"];

    /// <summary>Keys each platform accepts (object_id left out on purpose: HA Core 2026.4 no longer honours it).</summary>
    public static readonly IReadOnlyDictionary<string, HashSet<string>> PlatformKeys = new Dictionary<string, HashSet<string>>
    {
        ["sensor"] = [.. Availability, .. EntityCommon, .. ReadOnly, "device_class", "expire_after", "force_update", "last_reset_value_template", "options", "suggested_display_precision", "state_class", "unit_of_measurement"],
        ["binary_sensor"] = [.. Availability, .. EntityCommon, .. ReadOnly, "device_class", "expire_after", "force_update", "off_delay", "payload_on", "payload_off"],
    };

    public static readonly HashSet<string> DeviceKeys = ["identifiers", "connections", "manufacturer", "model", "model_id", "name", "hw_version", "serial_number", "sw_version", "via_device", "suggested_area", "configuration_url"];
    public static readonly HashSet<string> OriginKeys = ["name", "sw_version", "support_url"];

    /// <summary>SensorStateClass (measurement_angle is newer and only for wind_direction).</summary>
    public static readonly HashSet<string> StateClasses = ["measurement", "total", "total_increasing"];

    /// <summary>DEVICE_CLASS_UNITS for the device classes we use (null: no unit).</summary>
    public static readonly IReadOnlyDictionary<string, HashSet<string?>> DeviceClassUnits = new Dictionary<string, HashSet<string?>>
    {
        ["temperature"] = ["°C", "°F", "K"],
        ["voltage"] = ["µV", "μV", "mV", "V", "kV", "MV"],
        ["power"] = ["mW", "W", "kW", "MW", "GW", "TW", "BTU/h"],
        ["current"] = ["mA", "A"],
        ["data_rate"] = ["bit/s", "kbit/s", "Mbit/s", "Gbit/s", "B/s", "kB/s", "MB/s", "GB/s", "KiB/s", "MiB/s", "GiB/s"],
        ["data_size"] = ["bit", "kbit", "Mbit", "Gbit", "B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"],
        ["duration"] = ["d", "h", "min", "s", "ms"],
        ["enum"] = [null],
    };

    /// <summary>DEVICE_CLASS_STATE_CLASSES for the same classes.</summary>
    public static readonly IReadOnlyDictionary<string, HashSet<string>> DeviceClassStateClasses = new Dictionary<string, HashSet<string>>
    {
        ["temperature"] = ["measurement"], ["voltage"] = ["measurement"], ["power"] = ["measurement"], ["current"] = ["measurement"],
        ["data_rate"] = ["measurement"], ["data_size"] = [.. StateClasses], ["duration"] = [.. StateClasses], ["enum"] = [],
    };

    /// <summary>Units HA knows without a device class that we use: PERCENTAGE and REVOLUTIONS_PER_MINUTE ("rpm").</summary>
    public static readonly HashSet<string> UnitsWithoutDeviceClass = ["%", "rpm"];

    public static readonly HashSet<string> BinarySensorDeviceClasses = ["battery", "battery_charging", "carbon_monoxide", "cold", "connectivity", "door", "garage_door", "gas", "heat", "light", "lock", "moisture", "motion", "moving", "occupancy", "opening", "plug", "power", "presence", "problem", "running", "safety", "smoke", "sound", "tamper", "update", "vibration", "window"];

    // core.py VALID_ENTITY_ID
    [GeneratedRegex(@"^(?!.+__)(?!_)[\da-z_]+(?<!_)\.(?!_)[\da-z_]+(?<!_)$")]
    private static partial Regex EntityId();

    [GeneratedRegex(@"^(?<prefix>.+?)/(?<component>[a-z_]+)/(?:(?<node>[a-zA-Z0-9_-]+)/)?(?<object>[a-zA-Z0-9_-]+)/config$")]
    private static partial Regex DiscoveryTopic();

    /// <summary>The rendered values a binary_sensor accepts: payload_on (default ON), payload_off (default OFF), and "None" (unknown).</summary>
    public static IReadOnlyList<string> BinarySensorStates(JsonObject config) =>
        [(string?)config["payload_on"] ?? "ON", (string?)config["payload_off"] ?? "OFF", "None"];

    /// <summary>Every way <paramref name="payload"/> on <paramref name="topic"/> breaks the facts above; empty when HA accepts it.</summary>
    public static List<string> Problems(string topic, JsonObject payload)
    {
        var p = new List<string>();
        var m = DiscoveryTopic().Match(topic);
        if (!m.Success) { p.Add($"{topic}: not <prefix>/<component>/[<node_id>/]<object_id>/config with [a-zA-Z0-9_-] ids"); return p; }
        var platform = m.Groups["component"].Value;
        if (!PlatformKeys.TryGetValue(platform, out var keys)) { p.Add($"{topic}: platform '{platform}' is not one we check"); return p; }
        foreach (var (k, _) in payload) if (!keys.Contains(k)) p.Add($"{topic}: key '{k}' is not in the {platform} discovery schema");
        if (payload["state_topic"] is null) p.Add($"{topic}: state_topic is required");

        // ours on top of HA's: every entity has a unique id, a default entity id, availability and the device
        if (string.IsNullOrEmpty((string?)payload["unique_id"])) p.Add($"{topic}: no unique_id");
        var defaultId = (string?)payload["default_entity_id"];
        if (defaultId is null || !EntityId().IsMatch(defaultId) || !defaultId.StartsWith(platform + ".", StringComparison.Ordinal))
            p.Add($"{topic}: default_entity_id '{defaultId}' is not '{platform}.<object id>' (lower-case a-z, 0-9, _)");
        if (payload["availability_topic"] is null && payload["availability"] is null) p.Add($"{topic}: no availability");
        if (payload["availability_topic"] is not null && payload["availability"] is not null) p.Add($"{topic}: availability_topic and availability must not be used together");
        if (payload["json_attributes_template"] is not null && payload["json_attributes_topic"] is null) p.Add($"{topic}: json_attributes_template without json_attributes_topic (it has nothing to read)");
        foreach (var k in new[] { "state_topic", "json_attributes_topic", "availability_topic", "value_template", "json_attributes_template" })
            if (payload[k] is { } v && v.GetValueKind() != System.Text.Json.JsonValueKind.String) p.Add($"{topic}: {k} must be a string");
        if (payload["device"] is not JsonObject device) p.Add($"{topic}: no device");
        else
        {
            foreach (var (k, _) in device) if (!DeviceKeys.Contains(k)) p.Add($"{topic}: device key '{k}' is not in the schema");
            if (device["identifiers"] is not JsonArray { Count: > 0 } && device["connections"] is not JsonArray { Count: > 0 }) p.Add($"{topic}: device needs identifiers or connections");
            foreach (var k in new[] { "name", "model", "sw_version" }) if (string.IsNullOrEmpty((string?)device[k])) p.Add($"{topic}: device has no {k}");
            if ((string?)device["configuration_url"] is { } url && !(Uri.TryCreate(url, UriKind.Absolute, out var u) && u.Scheme is "http" or "https" or "homeassistant"))
                p.Add($"{topic}: configuration_url '{url}' is not http(s):// or homeassistant://");
        }
        if (payload["origin"] is JsonObject origin)
        {
            foreach (var (k, _) in origin) if (!OriginKeys.Contains(k)) p.Add($"{topic}: origin key '{k}' is not in the schema");
            if (string.IsNullOrEmpty((string?)origin["name"])) p.Add($"{topic}: origin needs a name");
        }

        var deviceClass = (string?)payload["device_class"];
        var unit = (string?)payload["unit_of_measurement"];
        var stateClass = (string?)payload["state_class"];
        if (platform == "binary_sensor")
        {
            if (deviceClass is not null && !BinarySensorDeviceClasses.Contains(deviceClass)) p.Add($"{topic}: binary_sensor device_class '{deviceClass}' unknown");
            foreach (var k in new[] { "payload_on", "payload_off" })
                if (payload[k] is { } v && v.GetValueKind() != System.Text.Json.JsonValueKind.String) p.Add($"{topic}: {k} must be a string");
            if (payload["unit_of_measurement"] is not null || payload["state_class"] is not null) p.Add($"{topic}: a binary_sensor has no unit or state class");
            return p;
        }
        if ((string?)payload["entity_category"] is { } cat && cat != "diagnostic") p.Add($"{topic}: a sensor's entity_category must be diagnostic, not '{cat}'");
        if (stateClass is not null && !StateClasses.Contains(stateClass)) p.Add($"{topic}: state_class '{stateClass}' unknown");
        if (payload["options"] is { } options)
        {
            if (options is not JsonArray { Count: > 0 }) p.Add($"{topic}: options must be a non-empty list");
            if (deviceClass != "enum") p.Add($"{topic}: options need device_class enum");
            if (stateClass is not null || unit is not null) p.Add($"{topic}: options exclude state_class and unit_of_measurement");
        }
        if (deviceClass is not null)
        {
            if (!DeviceClassUnits.TryGetValue(deviceClass, out var units)) p.Add($"{topic}: device_class '{deviceClass}' is not one we checked");
            else
            {
                if (!units.Contains(unit)) p.Add($"{topic}: unit '{unit}' is not valid with device_class {deviceClass} (HA accepts {string.Join(", ", units.Select(x => x ?? "none"))})");
                if (stateClass is not null && !DeviceClassStateClasses[deviceClass].Contains(stateClass)) p.Add($"{topic}: state_class {stateClass} is not valid with device_class {deviceClass}");
            }
        }
        else if (unit is not null && !UnitsWithoutDeviceClass.Contains(unit)) p.Add($"{topic}: unit '{unit}' without a device class is not one HA defines");
        return p;
    }
}
