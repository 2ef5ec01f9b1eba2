using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace HealthAgent.Cli;

/// <summary>The last event an agent reported, as `watch` shows it.</summary>
public sealed record WatchEvent(string? Code, string? Severity, string? Meaning, string? Component, DateTimeOffset Time);

/// <summary>One agent's row in `healthagent watch`.</summary>
public sealed record WatchAgent(string AgentId, bool? Online, string? Worst, string? SystemLed, IReadOnlyDictionary<string, int> Counts, WatchEvent? LastEvent, DateTimeOffset LastSeen)
{
    /// <summary>What is wrong on this agent now (health.problems): one line per incident, most severe first.</summary>
    public IReadOnlyList<WatchProblem> Problems { get; init; } = [];
}

/// <summary>One problem of an agent: the root part, severity, meaning and how many parts follow from it.</summary>
/// <param name="Pending">Held while the other sources report the same fault: its raised event follows (health.problems[].state).</param>
public sealed record WatchProblem(string Part, string Severity, string Meaning, string Action, int Consequences, bool Pending = false);

/// <summary>
/// The state behind `healthagent watch`: agents by id, updated from messages on <c>&lt;prefix&gt;/+/status</c>,
/// <c>&lt;prefix&gt;/+/health</c> and <c>&lt;prefix&gt;/+/event/#</c>. Pure (no I/O) and defensive: a payload it cannot
/// read leaves the row as it was and is counted in <see cref="Unreadable"/>; it never throws on input.
/// </summary>
public sealed class WatchBoard(string prefix, string? filter = null)
{
    private readonly string _prefix = prefix.TrimEnd('/');
    private readonly SortedDictionary<string, WatchAgent> _agents = new(StringComparer.Ordinal);

    public IReadOnlyCollection<WatchAgent> Agents => _agents.Values;
    public long Unreadable { get; private set; }

    public IReadOnlyList<string> TopicFilters => [$"{_prefix}/+/status", $"{_prefix}/+/health", $"{_prefix}/+/event/#"];

    /// <summary>Applies one message; returns the agent's new row when it changed, else null (not ours, filtered out, unreadable).</summary>
    public WatchAgent? Apply(string topic, ReadOnlySpan<byte> payload, DateTimeOffset now)
    {
        if (!topic.StartsWith(_prefix + "/", StringComparison.Ordinal)) return null;
        var levels = topic[(_prefix.Length + 1)..].Split('/');
        if (levels.Length < 2 || levels[0].Length == 0) return null;
        var id = levels[0];
        if (filter is { Length: > 0 } f && !id.Contains(f, StringComparison.OrdinalIgnoreCase)) return null;
        var row = _agents.TryGetValue(id, out var r) ? r : new WatchAgent(id, null, null, null, new Dictionary<string, int>(), null, now);
        WatchAgent? next = levels[1] switch
        {
            "status" when levels.Length == 2 => Status(row, payload),
            "health" when levels.Length == 2 => Health(row, payload),
            "event" => Event(row, payload, now),
            _ => null,
        };
        if (next is null) return null;
        next = next with { LastSeen = now };
        _agents[id] = next;
        return next;
    }

    private WatchAgent? Status(WatchAgent row, ReadOnlySpan<byte> payload)
    {
        var text = Encoding.UTF8.GetString(payload).Trim().Trim('"').ToLowerInvariant();
        if (text.StartsWith('{') && Parse(payload) is JsonObject o) text = (Str(o, "status") ?? Str(o, "state") ?? "").ToLowerInvariant();
        return text switch
        {
            "online" => row with { Online = true },
            "offline" => row with { Online = false },
            "" => row with { Online = null }, // retained status cleared
            _ => Bad(),
        };
    }

    private WatchAgent? Health(WatchAgent row, ReadOnlySpan<byte> payload)
    {
        if (payload.IsEmpty) return row with { Worst = null, SystemLed = null, Counts = new Dictionary<string, int>() };
        if (Parse(payload) is not JsonObject o) return Bad();
        var worst = Str(o, "worst") ?? Str(o, "worstSeverity") ?? Str(o, "severity");
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        if (o["counts"] is JsonObject c)
            foreach (var (k, v) in c)
                if (v is JsonValue jv && jv.TryGetValue<double>(out var n)) counts[k] = (int)n;
        var problems = new List<WatchProblem>();
        if (o["problems"] is JsonArray ps)
            foreach (var p in ps.OfType<JsonObject>())
                if (p["root"] is JsonObject root)
                    problems.Add(new WatchProblem(Str(root["part"] as JsonObject ?? [], "name") ?? "?", Str(p, "severity") ?? "?", Str(root, "meaning") ?? "",
                        Str(root, "action") ?? "", (p["consequences"] as JsonArray)?.Count ?? 0, Str(p, "state") == "pending"));
        return row with { Worst = worst?.ToLowerInvariant() ?? row.Worst, SystemLed = LedText(o["systemLed"] ?? o["system"]) ?? row.SystemLed, Counts = counts, Problems = problems };
    }

    private WatchAgent? Event(WatchAgent row, ReadOnlySpan<byte> payload, DateTimeOffset now)
    {
        if (Parse(payload) is not JsonObject o) return Bad();
        var component = o["component"] switch
        {
            JsonObject co => Str(co, "name") ?? Str(co, "id"),
            JsonValue v when v.TryGetValue<string>(out var s) => s,
            _ => Str(o, "componentName") ?? Str(o, "componentId"),
        };
        var time = Str(o, "time") is { } t && DateTimeOffset.TryParse(t, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var parsed) ? parsed : now;
        var e = new WatchEvent(Str(o, "code"), Str(o, "severity")?.ToLowerInvariant(), Str(o, "meaning"), component, time);
        if (e.Code is null && e.Severity is null && e.Meaning is null) return Bad();
        return row with { LastEvent = e };
    }

    private WatchAgent? Bad() { Unreadable++; return null; }

    // An LED is a text, or an object with "text", or an indicator {"text", "leds"}.
    private static string? LedText(JsonNode? n) => n switch
    {
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        JsonObject o => Str(o, "text") ?? LedText(o["led"]),
        _ => null,
    };

    private static string? Str(JsonObject o, string key) =>
        o[key] is JsonValue v && v.TryGetValue<string>(out var s) && s.Length > 0 ? s : null;

    private static JsonNode? Parse(ReadOnlySpan<byte> payload)
    {
        try { return JsonNode.Parse(payload, documentOptions: new JsonDocumentOptions { MaxDepth = 32 }); }
        catch (JsonException) { return null; }
    }

    /// <summary>The JSON line `watch --json` prints for a changed row.</summary>
    public static string ToJsonLine(WatchAgent a, DateTimeOffset now) => new JsonObject
    {
        ["agent"] = a.AgentId,
        ["online"] = a.Online,
        ["worst"] = a.Worst,
        ["systemLed"] = a.SystemLed,
        ["counts"] = new JsonObject(a.Counts.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))),
        ["problems"] = new JsonArray(a.Problems.Select(p => (JsonNode)new JsonObject
        {
            ["part"] = p.Part, ["severity"] = p.Severity, ["state"] = p.Pending ? "pending" : "open", ["meaning"] = p.Meaning, ["action"] = p.Action, ["consequences"] = p.Consequences,
        }).ToArray()),
        ["lastEvent"] = a.LastEvent is { } e ? new JsonObject
        {
            ["code"] = e.Code, ["severity"] = e.Severity, ["meaning"] = e.Meaning, ["component"] = e.Component, ["time"] = e.Time,
            ["ageSeconds"] = Math.Round(Math.Max(0, (now - e.Time).TotalSeconds), 1),
        } : null,
        ["time"] = now,
    }.ToJsonString();
}
