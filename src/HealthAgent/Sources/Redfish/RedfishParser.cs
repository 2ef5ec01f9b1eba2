using System.Text.Json;
using HealthAgent.Model;

namespace HealthAgent.Sources.Redfish;

/// <summary>How a resource's identify LED is switched: the boolean LocationIndicatorActive, or the deprecated IndicatorLED.</summary>
public enum IdentifyProperty { None, LocationIndicatorActive, IndicatorLed }

/// <summary>
/// Pure JSON → observations for DMTF Redfish resources (no I/O). Each function names its schema; readings use the
/// names the derivation tables in rules/derivations/redfish.*.yaml declare. A missing, null or wrongly typed property
/// becomes an unknown reading whose reason names the property and what was wrong, so the table can say why.
/// This file holds ids, links and JSON helpers; one file per Redfish area (RedfishPower.cs, RedfishThermal.cs,
/// RedfishStorage.cs, RedfishNetwork.cs, RedfishSystem.cs) holds that area's parsing and walking.
/// </summary>
public static partial class RedfishParser
{
    public const string SourceName = "redfish";

    // ---- ids and links --------------------------------------------------------------------------------

    /// <summary><c>redfish:&lt;endpoint&gt;:&lt;kind&gt;:&lt;part&gt;[:&lt;part&gt;]</c>; characters that break topics become '_'.</summary>
    public static string Id(string endpoint, string kind, params string[] parts) =>
        string.Join(':', new[] { "redfish", endpoint, kind }.Concat(parts.Select(Clean)));

    private static string Clean(string s)
    {
        var chars = s.Trim().Select(c => c is '/' or '+' or '#' or ':' || char.IsWhiteSpace(c) || char.IsControl(c) ? '_' : c).ToArray();
        return chars.Length == 0 ? "_" : new string(chars);
    }

    /// <summary>
    /// Collections whose next path segment is a member id (DSP0266: a resource's URI is its collection's plus its Id).
    /// <see cref="ScopedId"/> keeps those member ids, so a component id carries its chassis / system / controller path.
    /// </summary>
    private static readonly HashSet<string> MemberCollections = new(StringComparer.Ordinal)
    {
        "Systems", "Chassis", "Managers", "Storage", "Drives", "Volumes", "PowerSupplies", "Fans", "Sensors", "NetworkAdapters",
        "Ports", "NetworkPorts", "EthernetInterfaces", "SimpleStorage", "ResourceBlocks", "Controllers", "Batteries",
    };

    /// <summary>
    /// The member ids along a resource path: <c>/redfish/v1/Systems/S1/Storage/RAID1/Drives/0</c> → <c>[S1, RAID1, 0]</c>,
    /// <c>/redfish/v1/Chassis/1U/PowerSubsystem/PowerSupplies/Bay1</c> → <c>[1U, Bay1]</c>. Unique within a service
    /// (the path is) and stable across walks: the same drive under two controllers, or PSU "0" in four chassis, gets
    /// two / four ids, never one. A path without known collections yields its last segment.
    /// </summary>
    public static string[] ScopedId(string path)
    {
        var p = path;
        var hash = p.IndexOf('#');
        if (hash >= 0) p = p[..hash];
        var q = p.IndexOf('?');
        if (q >= 0) p = p[..q];
        var seg = p.Trim('/').Split('/', StringSplitOptions.RemoveEmptyEntries);
        var start = seg.Length >= 2 && seg[0] == "redfish" && seg[1] == "v1" ? 2 : 0;
        var parts = new List<string>();
        for (var i = start + 1; i < seg.Length; i++)
            if (MemberCollections.Contains(seg[i - 1])) parts.Add(Uri.UnescapeDataString(seg[i]));
        return parts.Count > 0 ? [.. parts] : [seg.Length > 0 ? Uri.UnescapeDataString(seg[^1]) : "_"];
    }

    /// <summary>
    /// Why a resource is not of the schema its link promises (a Drives[] link to the Storage or the ComputerSystem, a
    /// chassis among the PowerSupplies), or null when it is. The schema is the namespace of <c>@odata.type</c>
    /// (<c>#Drive.v1_9_0.Drive</c> → Drive). A resource without <c>@odata.type</c> is accepted (some BMCs omit it on
    /// members); an error object served with HTTP 200 is not.
    /// </summary>
    public static string? WrongType(JsonElement resource, params string[] expected)
    {
        var type = Str(resource, "@odata.type");
        if (type is null)
        {
            if (resource.TryGetProperty("error", out var err) && !resource.TryGetProperty("@odata.id", out _))
                return "answered an error object instead of the resource" + (Str(err, "message") is { } m ? $" ({Shorten(m)})" : "");
            return null;
        }
        var schema = type.TrimStart('#').Split('.')[0];
        return expected.Contains(schema, StringComparer.Ordinal) ? null : $"is a {schema} (@odata.type {Shorten(type)}), not a {string.Join(" or ", expected)}";
    }

    private static string Shorten(string s) => s.Length > 120 ? s[..120] + "…" : s;

    /// <summary>The service id of a component: <c>redfish:&lt;endpoint&gt;</c>.</summary>
    public static string ServiceId(string endpoint) => "redfish:" + endpoint;

    /// <summary>Members[].@odata.id of a collection (Redfish spec: collections list members by link).</summary>
    public static IReadOnlyList<string> Members(JsonElement collection) =>
        collection.TryGetProperty("Members", out var m) && m.ValueKind == JsonValueKind.Array
            ? m.EnumerateArray().Select(x => OdataId(x)).OfType<string>().ToList()
            : [];

    /// <summary>The @odata.id of a navigation property (<c>"Power": {"@odata.id": "..."}</c>), or null.</summary>
    public static string? Link(JsonElement e, params string[] path) => Walk(e, path) is { } x ? OdataId(x) : null;

    /// <summary>Links of an array navigation property (<c>"Links": {"Drives": [{"@odata.id": ...}]}</c>).</summary>
    public static IReadOnlyList<string> Links(JsonElement e, params string[] path) =>
        Walk(e, path) is { ValueKind: JsonValueKind.Array } a ? a.EnumerateArray().Select(x => OdataId(x)).OfType<string>().ToList() : [];

    private static string? OdataId(JsonElement x) => x.ValueKind switch
    {
        JsonValueKind.Object when x.TryGetProperty("@odata.id", out var id) && id.ValueKind == JsonValueKind.String => id.GetString(),
        JsonValueKind.String => x.GetString(), // SSE OriginOfCondition is sometimes a plain string
        _ => null,
    };

    /// <summary>
    /// The query that asks for a resource with its subordinate resources inline, one level deep, as the service root
    /// advertises it in <c>ProtocolFeaturesSupported.ExpandQuery</c> (DSP0266 "Query parameters", $expand): <c>.</c>
    /// (NoLinks: hyperlinks outside Links sections) preferred, else <c>*</c> (ExpandAll); <c>($levels=1)</c> only when
    /// Levels is advertised (without it a service expands one level anyway). Null when the service offers neither.
    /// </summary>
    public static string? ExpandQuery(JsonElement serviceRoot)
    {
        if (Walk(serviceRoot, ["ProtocolFeaturesSupported", "ExpandQuery"]) is not { ValueKind: JsonValueKind.Object } q) return null;
        static bool On(JsonElement q, string name) => q.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.True;
        var option = On(q, "NoLinks") ? "." : On(q, "ExpandAll") ? "*" : null;
        if (option is null) return null;
        return "$expand=" + option + (On(q, "Levels") ? "($levels=1)" : "");
    }

    /// <summary>
    /// Every complete resource inside an expanded answer, by path (the answer itself included): objects with an
    /// <c>@odata.id</c> and properties besides annotations. Left out, so that they are read one by one: hyperlinks that
    /// were not expanded (<c>@odata.id</c>, perhaps with other annotations), members that carry <c>@Message.ExtendedInfo</c> (a service reports a member it
    /// could not expand that way), and fragments of a resource (<c>…/Power#/PowerSupplies/0</c>).
    /// </summary>
    public static IEnumerable<(string Path, JsonElement Resource)> ExpandedResources(JsonElement answer)
    {
        var stack = new Stack<JsonElement>([answer]);
        while (stack.Count > 0)
        {
            var e = stack.Pop();
            if (e.ValueKind == JsonValueKind.Array)
            {
                foreach (var x in e.EnumerateArray()) stack.Push(x);
                continue;
            }
            if (e.ValueKind != JsonValueKind.Object) continue;
            var properties = 0; // other than annotations: a link may carry @odata.type or @odata.etag, a resource has Id, Name…
            var error = false;
            string? id = null;
            foreach (var p in e.EnumerateObject())
            {
                if (!p.Name.StartsWith('@')) properties++;
                if (p.Name == "@odata.id" && p.Value.ValueKind == JsonValueKind.String) id = p.Value.GetString();
                else if (p.Name == "@Message.ExtendedInfo") error = true;
                else if (p.Value.ValueKind is JsonValueKind.Object or JsonValueKind.Array) stack.Push(p.Value);
            }
            if (id is { Length: > 0 } && properties > 0 && !error && !id.Contains('#', StringComparison.Ordinal)) yield return (id, e);
        }
    }

    /// <summary>
    /// Why an expanded collection does not hold every member (it continues at Members@odata.nextLink, or lists fewer than
    /// Members@odata.count), or null. Such a collection is read without $expand, so no member goes missing.
    /// </summary>
    public static string? IncompleteMembers(JsonElement collection)
    {
        if (collection.TryGetProperty("Members@odata.nextLink", out _)) return "the expanded collection continues at Members@odata.nextLink";
        if (collection.TryGetProperty("Members", out var m) && m.ValueKind == JsonValueKind.Array
            && collection.TryGetProperty("Members@odata.count", out var n) && n.ValueKind == JsonValueKind.Number && n.TryGetInt32(out var count) && count != m.GetArrayLength())
            return $"the expanded collection lists {m.GetArrayLength()} of {count} members";
        return null;
    }

    /// <summary>Members@odata.count of a collection, when given as a whole number.</summary>
    public static int? Count(JsonElement collection) =>
        collection.TryGetProperty("Members@odata.count", out var n) && n.ValueKind == JsonValueKind.Number && n.TryGetInt32(out var c) ? c : null;

    public static string LastSegment(string path) => path.TrimEnd('/').Split('/').Last();

    // ---- JSON helpers ---------------------------------------------------------------------------------

    private static JsonElement? Walk(JsonElement e, string[] path)
    {
        var cur = e;
        foreach (var p in path)
        {
            if (cur.ValueKind != JsonValueKind.Object || !cur.TryGetProperty(p, out var next)) return null;
            cur = next;
        }
        return cur;
    }

    internal static string? Str(JsonElement e, params string[] path) =>
        Walk(e, path) is { ValueKind: JsonValueKind.String } s ? s.GetString() : null;

    internal static double? Num(JsonElement e, params string[] path) =>
        Walk(e, path) is { ValueKind: JsonValueKind.Number } n && n.TryGetDouble(out var d) && double.IsFinite(d) ? d : null;

    internal static bool? Bool(JsonElement e, params string[] path) => Walk(e, path) switch
    {
        { ValueKind: JsonValueKind.True } => true,
        { ValueKind: JsonValueKind.False } => false,
        _ => null,
    };

    private static string Missing(JsonElement e, string[] path) =>
        Walk(e, path) switch
        {
            null => string.Join('.', path) + " is missing",
            { ValueKind: JsonValueKind.Null } => string.Join('.', path) + " is null",
            { ValueKind: JsonValueKind.String } x => $"{string.Join('.', path)} is a string (\"{Shorten(x.GetString() ?? "")}\"), not a {Expected(path[^1])}",
            { ValueKind: JsonValueKind.Number } x when !double.IsFinite(x.GetDouble()) => $"{string.Join('.', path)} is not a finite number",
            var x => $"{string.Join('.', path)} is {Kind(x.Value.ValueKind)}, not a {Expected(path[^1])}",
        };

    private static string Kind(JsonValueKind k) => k switch
    {
        JsonValueKind.Number => "a number", JsonValueKind.True or JsonValueKind.False => "a boolean", JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array", _ => k.ToString(),
    };

    // What the schema has there, for the message: readings, speeds and thresholds are numbers; flags booleans.
    private static string Expected(string property) =>
        property is "LocationIndicatorActive" or "FailurePredicted" ? "boolean"
        : property.StartsWith("Reading", StringComparison.Ordinal) || property.Contains("Threshold", StringComparison.Ordinal)
          || property.EndsWith("Gbps", StringComparison.Ordinal) || property.EndsWith("Mbps", StringComparison.Ordinal)
          || property.EndsWith("Watts", StringComparison.Ordinal) || property.EndsWith("Voltage", StringComparison.Ordinal)
          || property.EndsWith("Percent", StringComparison.Ordinal) || property is "Reading" or "SpeedRPM" or "PercentageComplete" ? "number"
        : "string";

    private sealed class Readings(JsonElement json)
    {
        public List<Reading> List { get; } = [];
        public Readings Text(string name, params string[] path) { Add(name, Str(json, path), path); return this; }
        public Readings Number(string name, string? unit, params string[] path) { Add(name, Num(json, path), path, unit); return this; }
        public Readings Flag(string name, params string[] path) { Add(name, Bool(json, path), path); return this; }
        public Readings Value(string name, object? value, string? reason = null, string? unit = null)
        {
            List.Add(value is null ? Reading.Unknown(name, reason ?? "not reported", unit) : new Reading(name, value, unit));
            return this;
        }
        private void Add(string name, object? value, string[] path, string? unit = null) =>
            List.Add(value is null ? Reading.Unknown(name, Missing(json, path), unit) : new Reading(name, value, unit));
        /// <summary>
        /// Drops thresholds that contradict each other (seen in the DMTF corpus: LowerThresholdNonCritical 42 above a
        /// reading of 21 with UpperThresholdNonCritical 42): a lower limit not below every upper limit, or limits out of
        /// order (fatal beyond critical beyond caution). Such limits would raise alarms the BMC does not have; the
        /// reading is then judged by the BMC's own Status.Health, and the reading says why.
        /// </summary>
        public Readings SaneThresholds()
        {
            double? V(string n) => List.FirstOrDefault(r => r.Name == n)?.Value as double?;
            var (uc, ucr, uf, lc, lcr, lf) = (V("upperCaution"), V("upperCritical"), V("upperFatal"), V("lowerCaution"), V("lowerCritical"), V("lowerFatal"));
            static bool Ordered(params double?[] xs)
            {
                var known = xs.OfType<double>().ToList();
                for (var i = 1; i < known.Count; i++) if (known[i] < known[i - 1]) return false;
                return true;
            }
            var uppers = new[] { uc, ucr, uf }.OfType<double>().ToList();
            var lowers = new[] { lc, lcr, lf }.OfType<double>().ToList();
            var crossed = uppers.Count > 0 && lowers.Count > 0 && lowers.Max() >= uppers.Min();
            if (crossed || !Ordered(lf, lcr, lc)) Drop(["lowerCaution", "lowerCritical", "lowerFatal"], crossed ? "a lower threshold is not below the upper thresholds" : "the lower thresholds are out of order (fatal, critical, caution)");
            if (!Ordered(uc, ucr, uf)) Drop(["upperCaution", "upperCritical", "upperFatal"], "the upper thresholds are out of order (caution, critical, fatal)");
            return this;
        }

        private void Drop(string[] names, string why)
        {
            for (var i = 0; i < List.Count; i++)
                if (names.Contains(List[i].Name) && List[i].Value is double d)
                    List[i] = Reading.Unknown(List[i].Name, $"not used: {why} (was {d.ToString(global::System.Globalization.CultureInfo.InvariantCulture)})", List[i].Unit);
        }

        public Readings Status() => Text("state", "Status", "State").Text("health", "Status", "Health");
        /// <summary>The resource's own path (where an operator finds it in the BMC's tree) and its Status.Conditions messages.</summary>
        public Readings Where(string path)
        {
            Value("path", path);
            if (Conditions(json) is { Length: > 0 } c) Value("conditions", c);
            return this;
        }
    }

    // ---- identify -------------------------------------------------------------------------------------

    /// <summary>Which identify property the resource has; LocationIndicatorActive is preferred (IndicatorLED is deprecated).</summary>
    public static IdentifyProperty IdentifyPropertyOf(JsonElement e) =>
        Bool(e, "LocationIndicatorActive") is not null ? IdentifyProperty.LocationIndicatorActive
        : Str(e, "IndicatorLED") is not null ? IdentifyProperty.IndicatorLed
        : IdentifyProperty.None;

    /// <summary>The PATCH body that switches identify on or off.</summary>
    public static object IdentifyPatch(IdentifyProperty p, bool on) => p == IdentifyProperty.LocationIndicatorActive
        ? new Dictionary<string, object> { ["LocationIndicatorActive"] = on }
        : new Dictionary<string, object> { ["IndicatorLED"] = on ? "Blinking" : "Off" };

    private static void Identify(Readings r, JsonElement j)
    {
        var lia = Bool(j, "LocationIndicatorActive");
        var led = Str(j, "IndicatorLED");
        r.Value("locationIndicatorActive", lia, Missing(j, ["LocationIndicatorActive"]));
        r.Value("indicatorLed", led, Missing(j, ["IndicatorLED"]));
        // Either property being on means ID mode (IndicatorLED Lit = ID LED steadily on, Blinking = ID blink).
        bool? identify = lia == true || led is "Blinking" or "Lit" ? true
            : lia is not null || led is not null ? false : null;
        r.Value("identify", identify, "neither LocationIndicatorActive nor IndicatorLED is reported");
    }

    // ---- service --------------------------------------------------------------------------------------

    /// <summary>The Redfish service as a component: reachable, age and duration of the last walk, overrun.</summary>
    public static Observation Service(string endpoint, string url, bool? reachable, double? ageSeconds, double? walkSeconds, bool overrunning, double staleAfterSeconds, string? lastError,
        IReadOnlyList<string>? walkProblems = null, int? requests = null)
    {
        var problems = walkProblems ?? [];
        var r = new Readings(default)
            .Value("walkComplete", reachable is null ? null : problems.Count == 0, "no walk has completed yet")
            .Value("walkProblem", problems.Count == 0 ? "" : problems.Count == 1 ? problems[0] : $"{problems[0]} (and {problems.Count - 1} more)")
            .Value("requests", requests is { } n ? (double)n : null, "no walk has completed yet")
            .Value("reachable", reachable, lastError ?? "no walk has completed yet")
            .Value("walkAgeSeconds", ageSeconds is { } a ? Math.Round(a, 1) : null, "no walk has completed yet", "s")
            .Value("walkSeconds", walkSeconds is { } w ? Math.Round(w, 2) : null, "no walk has completed yet", "s")
            .Value("overrunning", overrunning).Value("staleAfterSeconds", staleAfterSeconds, null, "s")
            .Value("lastError", lastError ?? "", null);
        var c = new ComponentRef(ServiceId(endpoint), "bmc", $"Redfish service {url}", null, null, "redfish.service");
        return new Observation(c, r.List);
    }

    public static Observation Unknown(ComponentRef c, string reason) => new(c, [], null, reason);

    /// <summary>
    /// Status.Conditions (Resource v1.14+) as one line: "Warning: Power supply 'PSU 1' has a predicted failure condition."
    /// Conditions that name another resource (OriginOfCondition) are attached to that part by the walk.
    /// </summary>
    public static string? Conditions(JsonElement j)
    {
        if (j.ValueKind != JsonValueKind.Object || Walk(j, ["Status", "Conditions"]) is not { ValueKind: JsonValueKind.Array } arr) return null;
        var lines = arr.EnumerateArray().Where(c => c.ValueKind == JsonValueKind.Object)
            .Select(c => (Str(c, "Severity") is { } sev ? sev + ": " : "") + (Str(c, "Message") ?? Str(c, "MessageId") ?? "condition"))
            .Distinct().ToList();
        return lines.Count == 0 ? null : string.Join(" | ", lines);
    }

    /// <summary>Status.Conditions[] that name a resource (OriginOfCondition), with their one-line text.</summary>
    public static IEnumerable<(string Origin, string Text)> ConditionOrigins(JsonElement j)
    {
        if (j.ValueKind != JsonValueKind.Object || Walk(j, ["Status", "Conditions"]) is not { ValueKind: JsonValueKind.Array } arr) yield break;
        foreach (var c in arr.EnumerateArray())
            if (c.ValueKind == JsonValueKind.Object && Link(c, "OriginOfCondition") is { } origin)
                yield return (origin, (Str(c, "Severity") is { } sev ? sev + ": " : "") + (Str(c, "Message") ?? Str(c, "MessageId") ?? "condition"));
    }

    // ---- events ---------------------------------------------------------------------------------------

    /// <summary>
    /// An SSE data payload (Event schema): Events[].OriginOfCondition (@odata.id object or string); an Event without
    /// origins yields an empty list (the caller re-walks). Null for anything that is not an Event (MetricReport,
    /// unparsable data).
    /// </summary>
    public static IReadOnlyList<string>? EventOrigins(string data)
    {
        try
        {
            using var doc = JsonDocument.Parse(data);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("Events", out var events) || events.ValueKind != JsonValueKind.Array) return null;
            var origins = new List<string>();
            foreach (var e in events.EnumerateArray())
                if (e.ValueKind == JsonValueKind.Object && e.TryGetProperty("OriginOfCondition", out var o) && OdataId(o) is { } id)
                    origins.Add(id);
            return origins;
        }
        catch (JsonException) { return null; }
    }
}
