using System.Text.Json.Nodes;
using HealthAgent.Model;

namespace HealthAgent.Publishing.Mqtt;

/// <summary>
/// Home Assistant MQTT discovery (home-assistant.io/integrations/mqtt/#mqtt-discovery): a <c>binary_sensor</c> of
/// device_class problem per component (ON at severity warning or critical), and a <c>sensor</c> per numeric reading
/// of temperature, fan and voltage components. All read the component's retained state topic; availability is
/// the agent's status topic.
/// </summary>
internal static class HomeAssistant
{
    public static IEnumerable<(string Topic, byte[] Payload)> Configs(string prefix, string agentId, MqttTopics topics, ComponentStatus status)
    {
        var c = status.Component;
        var node = MqttTopics.ObjectId("healthagent_" + agentId);
        var obj = MqttTopics.ObjectId(c.Id);
        var stateTopic = topics.State(c.HwType, c.Id);
        JsonObject Device() => new() { ["identifiers"] = new JsonArray(node), ["name"] = agentId, ["manufacturer"] = "HealthAgent" };
        JsonObject Common(string uniqueId, string name) => new()
        {
            ["name"] = name, ["unique_id"] = uniqueId, ["object_id"] = uniqueId, ["state_topic"] = stateTopic,
            ["availability_topic"] = topics.Status, ["payload_available"] = "online", ["payload_not_available"] = "offline",
            ["device"] = Device(),
        };

        var problem = Common($"{node}_{obj}", c.Name + " problem");
        problem["device_class"] = "problem";
        problem["value_template"] = "{{ 'ON' if value_json.severity in ['warning', 'critical'] else 'OFF' }}";
        problem["json_attributes_topic"] = stateTopic;
        problem["json_attributes_template"] = "{{ {'code': value_json.code, 'meaning': value_json.meaning, 'action': value_json.action, 'led': value_json.led.text if value_json.led else none} | tojson }}";
        yield return ($"{prefix}/binary_sensor/{node}/{obj}/config", HealthJson.Bytes(problem));

        var deviceClass = c.HwType switch { "temperature" => "temperature", "voltage" => "voltage", "fan" => null, _ => "" };
        if (deviceClass == "") yield break;
        foreach (var r in status.Evaluation.Readings.Where(r => r.Value is double))
        {
            var rid = MqttTopics.ObjectId(r.Name);
            var sensor = Common($"{node}_{obj}_{rid}", $"{c.Name} {r.Name}");
            if (deviceClass is not null) sensor["device_class"] = deviceClass;
            if (r.Unit is not null) sensor["unit_of_measurement"] = r.Unit;
            sensor["state_class"] = "measurement";
            sensor["value_template"] = $"{{{{ (value_json.readings | selectattr('name', 'eq', '{r.Name}') | first).value }}}}";
            yield return ($"{prefix}/sensor/{node}/{obj}_{rid}/config", HealthJson.Bytes(sensor));
        }
    }
}
