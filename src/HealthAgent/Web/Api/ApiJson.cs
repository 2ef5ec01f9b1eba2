using System.Text.Json.Nodes;
using HealthAgent.Model;
using HealthAgent.Rules;

namespace HealthAgent.Web.Api;

/// <summary>The JSON shapes of the web API (docs/web-api.md). LEDs use <see cref="LedJson"/>, so the page draws real timings.</summary>
public static class ApiJson
{
    /// <param name="problems">Only for System Health Monitoring: a viewer sees the overall status, not which part failed.</param>
    public static JsonObject Rollup(string agentId, HealthRollup r, RuleSet rules, bool problems = true)
    {
        var o = new JsonObject
        {
            ["agentId"] = agentId,
            ["worst"] = HealthWords.Name(r.Worst),
            ["counts"] = Counts(r.Counts),
            ["systemLed"] = r.SystemLed is { } led ? LedJson.Indicator(led) : null,
            ["time"] = r.Time,
            // What is wrong now, one entry per incident (the MQTT health payload's problems: one serializer).
            ["problems"] = problems ? new JsonArray(r.Problems.Select(i => (JsonNode)HealthJson.Incident(i)).ToArray()) : null,
        };
        // What the system health LED means, from the same table `healthagent explain system` uses.
        if (r.SystemLed is { } sys && rules.FindFamily("system") is { } fam && RuleEngine.Match(fam, sys).Best is { } rule)
        {
            o["systemMeaning"] = rule.Verdict.Meaning;
            o["systemAction"] = rule.Verdict.Action;
            o["systemRuleId"] = rule.Id;
        }
        return o;
    }

    private static JsonObject Counts(IReadOnlyDictionary<Severity, int> counts)
    {
        var o = new JsonObject();
        foreach (var s in Enum.GetValues<Severity>()) o[HealthWords.Name(s)] = counts.TryGetValue(s, out var n) ? n : 0;
        return o;
    }

    /// <param name="canIdentify">A source can switch its identify LED (<see cref="HealthAgent.Publishing.IHealthState.CanIdentify"/>): the page offers "Identify".</param>
    public static JsonObject Component(ComponentStatus cs, RuleSet rules, bool canIdentify = false)
    {
        var e = cs.Evaluation;
        var c = cs.Component;
        var family = c.Family is null ? null : rules.FindFamily(c.Family);
        var o = new JsonObject
        {
            ["id"] = c.Id,
            ["name"] = c.Name,
            ["hwType"] = c.HwType,
            ["parent"] = c.Parent,
            ["family"] = c.Family,
            // The page groups by indicator family; LED-less sensors by their hardware type.
            ["group"] = family?.Name ?? c.Family ?? c.HwType,
            ["groupTitle"] = family?.Title ?? Title(c.HwType),
            ["ledNames"] = family is null ? null : new JsonArray(family.Leds.Select(l => (JsonNode)l).ToArray()),
            ["led"] = e.Led is { } led ? LedJson.Indicator(led) : null,
            ["ruleId"] = e.Rule?.Id,
            ["state"] = HealthWords.Name(e.Verdict.State),
            ["severity"] = HealthWords.Name(e.Verdict.Severity),
            ["code"] = e.Verdict.Code,
            ["meaning"] = e.Verdict.Meaning,
            ["action"] = e.Verdict.Action,
            ["readings"] = Readings(e.Readings),
            ["unknownReason"] = e.UnknownReason,
            ["since"] = cs.Since,
            ["lastSeen"] = cs.LastSeen,
            ["identify"] = canIdentify,
        };
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
