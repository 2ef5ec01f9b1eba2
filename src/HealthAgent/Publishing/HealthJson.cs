using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using HealthAgent.Model;

namespace HealthAgent.Publishing;

/// <summary>
/// The documented JSON payloads (docs/schemas/*.json), shared by MQTT, the history store and the web view.
/// Every payload names its schema and version: <c>"schema": "healthagent/v1/event"</c>.
/// </summary>
public static class HealthJson
{
    public const string EventSchema = "healthagent/v1/event", StateSchema = "healthagent/v1/state",
        HealthSchema = "healthagent/v1/health", InfoSchema = "healthagent/v1/info", ReplySchema = "healthagent/v1/reply";

    // Relaxed escaping: payloads are JSON for machines, not HTML; "+00:00" stays readable instead of "\u002B00:00".
    private static readonly JsonWriterOptions Compact = new() { Indented = false, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    // JsonNode.WriteTo, not JsonSerializer: no reflection-based serializer needed (trimmed publish).
    public static byte[] Bytes(JsonNode node)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer, Compact)) node.WriteTo(w);
        return buffer.WrittenSpan.ToArray();
    }

    public static JsonObject Component(ComponentRef c) => new()
    {
        ["id"] = c.Id, ["hwType"] = c.HwType, ["name"] = c.Name, ["parent"] = c.Parent, ["family"] = c.Family,
    };

    public static JsonArray Readings(IReadOnlyList<Reading> readings)
    {
        var a = new JsonArray();
        foreach (var r in readings)
        {
            var o = new JsonObject { ["name"] = r.Name, ["value"] = Value(r.Value) };
            if (r.Unit is not null) o["unit"] = r.Unit;
            if (r.Reason is not null) o["reason"] = r.Reason;
            a.Add((JsonNode)o);
        }
        return a;
    }

    private static JsonNode? Value(object? v) => v switch
    {
        null => null,
        bool b => JsonValue.Create(b),
        double d when double.IsFinite(d) => JsonValue.Create(d),
        double d => JsonValue.Create(d.ToString(CultureInfo.InvariantCulture)),
        string s => JsonValue.Create(s),
        IConvertible c => JsonValue.Create(c.ToDouble(CultureInfo.InvariantCulture)),
        _ => JsonValue.Create(v.ToString()),
    };

    public static JsonObject Event(HealthEvent e)
    {
        var o = new JsonObject
        {
            ["schema"] = EventSchema,
            ["eventId"] = e.EventId.ToString(),
            ["agentId"] = e.AgentId,
            ["bootId"] = e.BootId,
            ["seq"] = e.Seq,
            ["time"] = e.Time.ToString("O", CultureInfo.InvariantCulture),
            ["kind"] = KindName(e.Kind),
            ["component"] = Component(e.Component),
            ["led"] = e.Led is null ? null : LedJson.Indicator(e.Led),
            ["ruleId"] = e.RuleId,
            ["code"] = e.Code,
            ["state"] = HealthWords.Name(e.State),
            ["severity"] = HealthWords.Name(e.Severity),
            ["meaning"] = e.Meaning,
            ["action"] = e.Action,
            ["readings"] = Readings(e.Readings),
        };
        o["from"] = e.FromState is null && e.FromSeverity is null && e.FromLed is null ? null : new JsonObject
        {
            ["led"] = e.FromLed is null ? null : LedJson.Indicator(e.FromLed),
            ["ruleId"] = e.FromRuleId,
            ["state"] = e.FromState is { } fs ? HealthWords.Name(fs) : null,
            ["severity"] = e.FromSeverity is { } fv ? HealthWords.Name(fv) : null,
        };
        return o;
    }

    public static string KindName(EventKind k) => k switch { EventKind.Raised => "raised", EventKind.Changed => "changed", _ => "cleared" };

    /// <summary>Reads an event back (history store). Throws <see cref="FormatException"/> on a payload that is not one.</summary>
    public static HealthEvent ParseEvent(ReadOnlySpan<byte> json)
    {
        try
        {
            var o = JsonNode.Parse(json)!.AsObject();
            var c = o["component"]!.AsObject();
            var from = o["from"] as JsonObject;
            return new HealthEvent(
                Guid.Parse((string)o["eventId"]!), (string)o["agentId"]!, (string)o["bootId"]!, (long)o["seq"]!,
                DateTimeOffset.Parse((string)o["time"]!, CultureInfo.InvariantCulture),
                (string)o["kind"]! switch { "raised" => EventKind.Raised, "changed" => EventKind.Changed, _ => EventKind.Cleared },
                new ComponentRef((string)c["id"]!, (string)c["hwType"]!, (string)c["name"]!, (string?)c["parent"], (string?)c["family"]),
                ParseIndicator(o["led"]), (string?)o["ruleId"], (string)o["code"]!,
                HealthWords.HwStates[(string)o["state"]!], HealthWords.Severities[(string)o["severity"]!],
                (string)o["meaning"]!, (string)o["action"]!,
                o["readings"]!.AsArray().Select(r => new Reading((string)r!["name"]!, ParseValue(r["value"]), (string?)r["unit"], (string?)r["reason"])).ToList(),
                ParseIndicator(from?["led"]), (string?)from?["ruleId"],
                from?["state"] is JsonValue s ? HealthWords.HwStates[(string)s!] : null,
                from?["severity"] is JsonValue v ? HealthWords.Severities[(string)v!] : null);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or NullReferenceException or KeyNotFoundException or FormatException or ArgumentException)
        {
            throw new FormatException("not a healthagent/v1/event payload: " + e.Message, e);
        }
    }

    private static object? ParseValue(JsonNode? n) => n switch
    {
        null => null,
        JsonValue v when v.TryGetValue<bool>(out var b) => b,
        JsonValue v when v.TryGetValue<double>(out var d) => d,
        JsonValue v => v.ToString(),
        _ => n.ToJsonString(),
    };

    private static IndicatorState? ParseIndicator(JsonNode? n) =>
        n is JsonObject o && o["leds"] is JsonObject leds ? LedText.ParseIndicator((string)o["text"]!, leds.Select(kv => kv.Key).ToList()) : null;

    public static JsonObject State(string agentId, ComponentStatus s)
    {
        var e = s.Evaluation;
        return new JsonObject
        {
            ["schema"] = StateSchema,
            ["agentId"] = agentId,
            ["component"] = Component(e.Component),
            ["led"] = e.Led is null ? null : LedJson.Indicator(e.Led),
            ["ruleId"] = e.Rule?.Id,
            ["code"] = e.Verdict.Code,
            ["state"] = HealthWords.Name(e.Verdict.State),
            ["severity"] = HealthWords.Name(e.Verdict.Severity),
            ["meaning"] = e.Verdict.Meaning,
            ["action"] = e.Verdict.Action,
            ["unknownReason"] = e.UnknownReason,
            ["readings"] = Readings(e.Readings),
            ["derivation"] = e.Trace.Count == 0 ? null : new JsonObject(e.Trace.Select(t => KeyValuePair.Create(t.Led, (JsonNode?)JsonValue.Create(t.RowId)))),
            ["since"] = s.Since.ToString("O", CultureInfo.InvariantCulture),
            ["lastSeen"] = s.LastSeen.ToString("O", CultureInfo.InvariantCulture),
        };
    }

    public static JsonObject Health(string agentId, HealthRollup r, bool systemLedDerived) => new()
    {
        ["schema"] = HealthSchema,
        ["agentId"] = agentId,
        ["worst"] = HealthWords.Name(r.Worst),
        ["counts"] = new JsonObject(Enum.GetValues<Severity>().Select(s => KeyValuePair.Create(HealthWords.Name(s), (JsonNode?)JsonValue.Create(r.Counts.GetValueOrDefault(s))))),
        ["systemLed"] = r.SystemLed is null ? null : LedJson.Indicator(r.SystemLed),
        ["systemLedDerived"] = systemLedDerived,
        ["time"] = r.Time.ToString("O", CultureInfo.InvariantCulture),
    };
}
