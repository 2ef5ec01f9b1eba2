using System.Text.Json.Nodes;
using HealthAgent.Model;
using HealthAgent.Publishing;
using HealthAgent.Rules;

namespace HealthAgent.Web.Api;

/// <summary>The JSON shapes of the web API (docs/web-api.md). LEDs use <see cref="LedJson"/>, so the page draws real timings.</summary>
public static class ApiJson
{
    /// <summary>
    /// The roll-up as MQTT carries it (<see cref="HealthJson.Health"/>, docs/schemas/health.json) plus the web's own
    /// fields: what the system health LED means (<c>systemMeaning</c>, <c>systemAction</c>, <c>systemRuleId</c>).
    /// </summary>
    /// <param name="problems">Only for System Health Monitoring: a viewer sees the overall status, not which part failed (<c>problems: null</c>).</param>
    public static JsonObject Rollup(IHealthState state, HealthRollup r, RuleSet rules, bool problems = true)
    {
        var o = HealthJson.Health(state.AgentId, r, HealthJson.SystemLedDerived(state.Components));
        if (!problems) o["problems"] = null;
        // What the system health LED means, from the same table `healthagent explain system` uses.
        if (r.SystemLed is { } sys && rules.FindFamily("system") is { } fam && RuleEngine.Match(fam, sys).Best is { } rule)
        {
            o["systemMeaning"] = rule.Verdict.Meaning;
            o["systemAction"] = rule.Verdict.Action;
            o["systemRuleId"] = rule.Id;
        }
        return o;
    }

    /// <summary>
    /// A component's state as MQTT and <c>snapshot --json</c> carry it (<see cref="HealthJson.State"/>,
    /// docs/schemas/state.json: nested <c>component</c>, <c>part</c>) plus the web's own fields: the group the page
    /// files it under (<c>group</c>, <c>groupTitle</c>), the family's LED names, and <c>identify</c> — a source can
    /// switch its identify LED (<see cref="IHealthState.CanIdentify"/>), so the page offers "Identify".
    /// </summary>
    public static JsonObject Component(IHealthState state, ComponentStatus cs, RuleSet rules)
    {
        var c = cs.Component;
        var part = state.Parts.PartIdOf(c.Id);
        var o = HealthJson.State(state.AgentId, cs, part);
        var family = c.Family is null ? null : rules.FindFamily(c.Family);
        // The page groups by indicator family; LED-less sensors by their hardware type.
        o["group"] = family?.Name ?? c.Family ?? c.HwType;
        o["groupTitle"] = family?.Title ?? Title(c.HwType);
        o["ledNames"] = family is null ? null : new JsonArray(family.Leds.Select(l => (JsonNode)l).ToArray());
        o["identify"] = state.CanIdentify(c.Id);
        return o;
    }

    /// <summary>Readings as the MQTT payloads carry them (one serializer for both).</summary>
    public static JsonArray Readings(IReadOnlyList<Reading> readings) => HealthJson.Readings(readings);

    /// <summary>
    /// An event as MQTT and the history store carry it (<see cref="HealthJson.Event"/>, docs/schemas/event.json: nested
    /// <c>component</c>, <c>incident</c>, <c>from</c>) plus the web's own fields: who acknowledged it, and when.
    /// </summary>
    public static JsonObject Event(HealthEvent e, Acknowledgement? ack)
    {
        var o = HealthJson.Event(e);
        o["acknowledgedBy"] = ack?.User;
        o["acknowledgedAt"] = ack?.Time;
        return o;
    }

    public static JsonObject Family(IndicatorFamily f) => new()
    {
        ["family"] = f.Name,
        ["title"] = f.Title,
        ["aliases"] = new JsonArray(f.Aliases.Select(a => (JsonNode)a).ToArray()),
        ["leds"] = new JsonArray(f.Leds.Select(a => (JsonNode)a).ToArray()),
        // per LED, the colours its table uses (in any step): "What do I see?" offers only those
        ["colors"] = new JsonObject(f.Leds.Select(led => KeyValuePair.Create(led, (JsonNode?)new JsonArray(
            f.Rules.Select(r => r.Led.LedNames.Contains(led) ? r.Led[led] : null).OfType<LedState>()
                .SelectMany(st => st.Steps).Select(step => step.Color).OfType<LedColor>().Distinct().Order()
                .Select(c => (JsonNode)c.ToString().ToLowerInvariant()).ToArray())))),
    };

    /// <summary>A group heading as people write it: "BMC", "Physical disks" — not the OpenTelemetry hw.type ("bmc", "physical_disk").</summary>
    internal static string Title(string hwType) => hwType switch
    {
        "" => "Other",
        "bmc" => "BMC",
        "cpu" => "CPU",
        "gpu" => "GPU",
        "nic" => "NIC",
        "psu" => "PSU",
        "physical_disk" => "Physical disks",
        "logical_disk" => "Logical disks (RAID)",
        "power_supply" => "Power supplies",
        "temperature" => "Temperatures",
        "voltage" => "Voltages",
        "fan" => "Fans",
        "battery" => "Batteries",
        "network" => "Network",
        "enclosure" => "Enclosure",
        _ => char.ToUpperInvariant(hwType[0]) + hwType[1..].Replace('_', ' '),
    };
}

/// <summary>Who acknowledged an event, and when.</summary>
public sealed record Acknowledgement(string User, DateTimeOffset Time);
