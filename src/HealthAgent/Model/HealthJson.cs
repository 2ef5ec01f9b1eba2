using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using HealthAgent.Rules;

namespace HealthAgent.Model;

/// <summary>
/// The one JSON contract (docs/schemas/*.json): component, observation, part, incident, event, state and roll-up each
/// have one serializer here, used by MQTT, the web API, <c>snapshot --json</c> and the history store.
/// Every top-level payload names its schema and version: <c>"schema": "healthagent/v2/event"</c>.
/// </summary>
public static class HealthJson
{
    // v2 (issue 13): events are about incidents (root part, consequences, observations), components carry slot and
    // part, the roll-up carries problems (open or pending); each physical part has its own payload (issue 15). info
    // and reply did not change.
    public const string EventSchema = "healthagent/v2/event", StateSchema = "healthagent/v2/state",
        HealthSchema = "healthagent/v2/health", InfoSchema = "healthagent/v1/info", ReplySchema = "healthagent/v1/reply",
        PartSchema = "healthagent/v2/part";

    // Relaxed escaping: payloads are JSON for machines, not HTML; "+00:00" stays readable instead of "\u002B00:00".
    private static readonly JsonWriterOptions Compact = new() { Indented = false, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    // JsonNode.WriteTo, not JsonSerializer: no reflection-based serializer needed (trimmed publish).
    public static byte[] Bytes(JsonNode node)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer, Compact)) node.WriteTo(w);
        return buffer.WrittenSpan.ToArray();
    }

    private static string Time(DateTimeOffset t) => t.ToString("O", CultureInfo.InvariantCulture);

    public static JsonObject Component(ComponentRef c) => new()
    {
        ["id"] = c.Id, ["hwType"] = c.HwType, ["name"] = c.Name, ["parent"] = c.Parent, ["family"] = c.Family, ["slot"] = c.Slot,
    };

    public static ComponentRef ParseComponent(JsonNode? n)
    {
        try
        {
            var c = n!.AsObject();
            return new ComponentRef((string)c["id"]!, (string)c["hwType"]!, (string)c["name"]!, (string?)c["parent"], (string?)c["family"], null, (string?)c["slot"]);
        }
        catch (Exception e) when (e is InvalidOperationException or NullReferenceException or FormatException or ArgumentException)
        {
            throw new FormatException("not a component: " + e.Message, e);
        }
    }

    /// <summary>A verdict's fields, inline in the object they describe.</summary>
    private static void Verdict(JsonObject o, Verdict v, IndicatorState? led, string? ruleId)
    {
        o["led"] = led is null ? null : LedJson.Indicator(led);
        o["ruleId"] = ruleId;
        o["code"] = v.Code;
        o["state"] = HealthWords.Name(v.State);
        o["severity"] = HealthWords.Name(v.Severity);
        o["meaning"] = v.Meaning;
        o["action"] = v.Action;
    }

    private static Verdict ParseVerdict(JsonObject o) =>
        new(HealthWords.HwStates[(string)o["state"]!], HealthWords.Severities[(string)o["severity"]!], (string)o["code"]!, (string)o["meaning"]!, (string)o["action"]!);

    /// <summary>One source's view of a part; without <paramref name="readings"/> on the part topic (the component's state topic has them).</summary>
    public static JsonObject Observation(PartObservation p, bool readings = true)
    {
        var o = new JsonObject { ["source"] = p.Source, ["component"] = Component(p.Component) };
        Verdict(o, p.Verdict, p.Led, p.RuleId);
        if (readings) o["readings"] = Readings(p.Readings);
        o["since"] = Time(p.Since);
        return o;
    }

    private static PartObservation ParseObservation(JsonObject o) =>
        new((string)o["source"]!, ParseComponent(o["component"]), ParseVerdict(o), ParseIndicator(o["led"]), (string?)o["ruleId"],
            ParseReadings(o["readings"]), DateTimeOffset.Parse((string)o["since"]!, CultureInfo.InvariantCulture));

    /// <summary>A physical part: its verdict (that of the chosen observation), disagreement, and every source's observation.</summary>
    public static JsonObject Part(PartCondition p) => PartInto([], p, readings: true);

    private static JsonObject PartInto(JsonObject o, PartCondition p, bool readings)
    {
        o["part"] = Component(p.Part);
        Verdict(o, p.Verdict, p.Chosen.Led, p.Chosen.RuleId);
        o["since"] = Time(p.Since);
        o["disagreement"] = p.Disagreement;
        o["observations"] = new JsonArray(p.Observations.Select(x => (JsonNode)Observation(x, readings)).ToArray());
        return o;
    }

    /// <summary>
    /// A part's own retained topic (<c>healthagent/v2/part</c>): the part (as <see cref="Part"/>, observations without
    /// readings, so it changes only when a verdict, LED or incident does) and the open or pending incident it belongs to.
    /// </summary>
    public static JsonObject PartState(string agentId, PartCondition p, Incident? incident, bool pending)
    {
        var o = PartInto(new JsonObject { ["schema"] = PartSchema, ["agentId"] = agentId }, p, readings: false);
        o["incident"] = incident is null ? null : new JsonObject
        {
            ["id"] = incident.Id.ToString(),
            ["state"] = pending ? "pending" : "open",
            ["severity"] = HealthWords.Name(incident.Severity),
            ["root"] = incident.Root.Part.Id,
            ["role"] = incident.Root.Part.Id == p.Part.Id ? "root" : "consequence",
        };
        return o;
    }

    private static PartCondition ParsePart(JsonObject o)
    {
        var obs = o["observations"]!.AsArray().Select(x => ParseObservation(x!.AsObject())).ToList();
        var chosen = obs.FirstOrDefault(x => x.Verdict.Code == (string)o["code"]! && x.RuleId == (string?)o["ruleId"]) ?? obs[0];
        return new PartCondition(ParseComponent(o["part"]), chosen, obs, (string?)o["disagreement"]);
    }

    /// <summary>An incident: id, severity, the root part (as <see cref="Part"/>) and the parts that follow from it.</summary>
    public static JsonObject Incident(Incident i)
    {
        var o = new JsonObject { ["id"] = i.Id.ToString(), ["severity"] = HealthWords.Name(i.Severity), ["since"] = Time(i.Since), ["root"] = Part(i.Root) };
        o["consequences"] = new JsonArray(i.Consequences.Select(c => (JsonNode)Part(c)).ToArray());
        return o;
    }

    /// <summary>
    /// A problem (an entry of <c>health.problems</c>): the incident and its <c>state</c> — <c>open</c> (raised) or
    /// <c>pending</c> (held while the other sources report the same fault; its raised event follows when the hold ends).
    /// </summary>
    public static JsonObject Problem(Incident i, bool pending)
    {
        var o = Incident(i);
        o["state"] = pending ? "pending" : "open";
        return o;
    }

    public static Incident ParseIncident(JsonNode? n)
    {
        try
        {
            var o = n!.AsObject();
            return new Incident(Guid.Parse((string)o["id"]!), ParsePart(o["root"]!.AsObject()),
                o["consequences"]!.AsArray().Select(c => ParsePart(c!.AsObject())).ToList(), DateTimeOffset.Parse((string)o["since"]!, CultureInfo.InvariantCulture));
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or NullReferenceException or KeyNotFoundException or FormatException or ArgumentException)
        {
            throw new FormatException("not an incident: " + e.Message, e);
        }
    }

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

    /// <summary>
    /// An event: envelope (ids, seq, time, kind), the incident it is about, and where it was before (<c>from</c>).
    /// The top-level component, LED, code, state, severity (the incident's), meaning and action repeat the incident's
    /// root so a subscriber can act on one level.
    /// </summary>
    public static JsonObject Event(HealthEvent e)
    {
        var o = new JsonObject
        {
            ["schema"] = EventSchema,
            ["eventId"] = e.EventId.ToString(),
            ["agentId"] = e.AgentId,
            ["bootId"] = e.BootId,
            ["seq"] = e.Seq,
            ["time"] = Time(e.Time),
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
            ["incident"] = Incident(e.Incident),
        };
        o["from"] = e.From is not { } f ? null : new JsonObject
        {
            ["component"] = Component(f.Part),
            ["led"] = f.Led is null ? null : LedJson.Indicator(f.Led),
            ["ruleId"] = f.RuleId,
            ["code"] = f.Code,
            ["state"] = HealthWords.Name(f.State),
            ["severity"] = HealthWords.Name(f.Severity),
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
            var from = o["from"] as JsonObject;
            return new HealthEvent(
                Guid.Parse((string)o["eventId"]!), (string)o["agentId"]!, (string)o["bootId"]!, (long)o["seq"]!,
                DateTimeOffset.Parse((string)o["time"]!, CultureInfo.InvariantCulture),
                (string)o["kind"]! switch { "raised" => EventKind.Raised, "changed" => EventKind.Changed, _ => EventKind.Cleared },
                ParseIncident(o["incident"]),
                from is null ? null : new EventFrom(ParseComponent(from["component"]), (string)from["code"]!, HealthWords.HwStates[(string)from["state"]!],
                    HealthWords.Severities[(string)from["severity"]!], ParseIndicator(from["led"]), (string?)from["ruleId"]));
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or NullReferenceException or KeyNotFoundException or FormatException or ArgumentException)
        {
            throw new FormatException("not a healthagent/v2/event payload: " + e.Message, e);
        }
    }

    private static IReadOnlyList<Reading> ParseReadings(JsonNode? n) =>
        n is JsonArray a ? a.Select(r => new Reading((string)r!["name"]!, ParseValue(r["value"]), (string?)r["unit"], (string?)r["reason"])).ToList() : [];

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

    /// <summary>A component's current state (one source's view; <paramref name="partId"/> names the physical part it is).</summary>
    public static JsonObject State(string agentId, ComponentStatus s, string? partId = null)
    {
        var e = s.Evaluation;
        return new JsonObject
        {
            ["schema"] = StateSchema,
            ["agentId"] = agentId,
            ["component"] = Component(e.Component),
            ["part"] = partId,
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
            ["lastSeen"] = Time(s.LastSeen),
        };
    }

    /// <summary>The system health LED is derived from the parts (no source reads a real one: no component of family <c>system</c>).</summary>
    public static bool SystemLedDerived(IEnumerable<ComponentStatus> components) => !components.Any(s => s.Component.Family == "system");

    /// <summary>The roll-up: worst severity, counts, system LED, and <c>problems</c> — the open and pending incidents of warning or worse, most severe first.</summary>
    public static JsonObject Health(string agentId, HealthRollup r, bool systemLedDerived) => new()
    {
        ["schema"] = HealthSchema,
        ["agentId"] = agentId,
        ["worst"] = HealthWords.Name(r.Worst),
        ["problems"] = new JsonArray(r.Problems.Select(i => (JsonNode)Problem(i, r.IsPending(i))).ToArray()),
        ["counts"] = new JsonObject(Enum.GetValues<Severity>().Select(s => KeyValuePair.Create(HealthWords.Name(s), (JsonNode?)JsonValue.Create(r.Counts.GetValueOrDefault(s))))),
        ["systemLed"] = r.SystemLed is null ? null : LedJson.Indicator(r.SystemLed),
        ["systemLedDerived"] = systemLedDerived,
        ["time"] = r.Time.ToString("O", CultureInfo.InvariantCulture),
    };
}
