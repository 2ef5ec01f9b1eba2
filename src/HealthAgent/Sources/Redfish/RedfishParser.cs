using System.Text.Json;
using HealthAgent.Model;

namespace HealthAgent.Sources.Redfish;

/// <summary>How a resource's identify LED is switched: the boolean LocationIndicatorActive, or the deprecated IndicatorLED.</summary>
public enum IdentifyProperty { None, LocationIndicatorActive, IndicatorLed }

/// <summary>
/// Pure JSON → observations for DMTF Redfish resources (no I/O). Each function names its schema; readings use the
/// names the derivation tables in rules/derivations/redfish.*.yaml declare. A missing or null property becomes an
/// unknown reading whose reason names the property, so the table can say why the component is unknown.
/// </summary>
public static class RedfishParser
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

    /// <summary>The resource's Id, else MemberId (array members of the older schemas), else the last segment of its path.</summary>
    public static string IdOf(JsonElement e, string path) =>
        Str(e, "Id") ?? Str(e, "MemberId") ?? path.TrimEnd('/').Split('/').Last();

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
            var x => $"{string.Join('.', path)} has an unexpected {x.Value.ValueKind} value",
        };

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
        public Readings Status() => Text("state", "Status", "State").Text("health", "Status", "Health");
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

    // ---- systems, chassis, managers -------------------------------------------------------------------

    /// <summary>ComputerSystem: Status (Health, HealthRollup), PowerState, ID LED, Dell roll-ups (Oem.Dell.DellSystem).</summary>
    public static Observation System(string endpoint, string path, JsonElement j)
    {
        var id = IdOf(j, path);
        var r = new Readings(j).Status().Text("healthRollup", "Status", "HealthRollup").Text("powerState", "PowerState");
        Identify(r, j);
        // Dell iDRAC roll-ups: informational, the system LED follows HealthRollup.
        if (Str(j, "Oem", "Dell", "DellSystem", "PSRollupStatus") is { } psu) r.Value("dellPsuRollup", psu);
        if (Str(j, "Oem", "Dell", "DellSystem", "StorageRollupStatus") is { } st) r.Value("dellStorageRollup", st);
        var c = new ComponentRef(Id(endpoint, "system", id), "enclosure", Str(j, "Name") ?? id, ServiceId(endpoint), "system", "redfish.system");
        return new Observation(c, r.List);
    }

    /// <summary>Chassis: Status and ID LED, as an LED-less health row (the system's LED carries the front panel state).</summary>
    public static Observation Chassis(string endpoint, string path, JsonElement j)
    {
        var id = IdOf(j, path);
        var r = new Readings(j).Status().Text("healthRollup", "Status", "HealthRollup");
        Identify(r, j);
        var c = new ComponentRef(Id(endpoint, "chassis", id), "enclosure", Str(j, "Name") ?? id, ServiceId(endpoint), null, "redfish.health");
        return new Observation(c, r.List);
    }

    /// <summary>Manager (the BMC itself): Status and firmware.</summary>
    public static Observation Manager(string endpoint, string path, JsonElement j)
    {
        var id = IdOf(j, path);
        var r = new Readings(j).Status().Text("firmwareVersion", "FirmwareVersion");
        var c = new ComponentRef(Id(endpoint, "bmc", id), "bmc", Str(j, "Name") ?? id, ServiceId(endpoint), null, "redfish.health");
        return new Observation(c, r.List);
    }

    // ---- power ----------------------------------------------------------------------------------------

    /// <summary>
    /// A power supply: PowerSubsystem/PowerSupplies/{id} (PowerSupply schema: Status, LineInputStatus) or an element
    /// of the deprecated Power.PowerSupplies[] (MemberId, LineInputVoltage). HPE marks mismatch in Oem.Hpe.Mismatched.
    /// </summary>
    public static Observation Psu(string endpoint, string chassisId, string path, JsonElement j)
    {
        var id = IdOf(j, path);
        var r = new Readings(j).Status();
        var lineStatus = Str(j, "LineInputStatus");
        var volts = Num(j, "LineInputVoltage");
        // iDRAC's PSU view: DetailedState carries the IPMI power-supply sensor offsets ("Presence Detected",
        // "Failure Detected", "AC lost", "Configuration error" = offset 06h, rating mismatch).
        var dell = Str(j, "Oem", "Dell", "DellPowerSupplyView", "DetailedState");
        var dellLost = dell?.Contains("lost", StringComparison.OrdinalIgnoreCase) == true;
        // The old schema has no LineInputStatus: 0 V on the input means the cord is out.
        var line = lineStatus ?? (volts is 0 || dellLost ? "LossOfInput" : volts > 0 ? "Normal" : null);
        r.Value("lineInput", line, "neither LineInputStatus nor LineInputVoltage is reported");
        r.Value("inputVolts", volts, Missing(j, ["LineInputVoltage"]), "V");
        r.Number("capacityWatts", "W", "PowerCapacityWatts");
        var mismatch = Bool(j, "Oem", "Hpe", "Mismatched") ?? Bool(j, "Oem", "Hp", "Mismatched")
            ?? (dell?.Contains("Configuration error", StringComparison.OrdinalIgnoreCase) == true ? true : null);
        r.Value("mismatch", mismatch ?? false); // no DMTF property: absent means the BMC reports none
        if (dell is not null) r.Value("dellDetailedState", dell);
        if (Str(j, "Oem", "Dell", "DellPowerSupplyView", "RedundancyStatus") is { } dr) r.Value("dellRedundancy", dr);
        r.Text("firmwareVersion", "FirmwareVersion");
        var c = new ComponentRef(Id(endpoint, "psu", id), "power_supply", Str(j, "Name") ?? id, Id(endpoint, "chassis", chassisId), "psu", "redfish.psu");
        return new Observation(c, r.List);
    }

    /// <summary>True when a PSU observation counts as delivering power (Enabled, Health OK, input not lost).</summary>
    public static bool PsuWorking(Observation psu) =>
        psu.UnknownReason is null && psu["health"] is "OK" && psu["state"] is null or "Enabled" && psu["lineInput"] is not ("LossOfInput" or "OutOfRange");

    /// <summary>
    /// The PSU redundancy roll-up of one chassis, from PowerSubsystem.PowerSupplyRedundancy[] (RedundantGroup) or the
    /// deprecated Power.Redundancy[], and from the PSUs themselves: redundancy is lost when fewer PSUs work than
    /// needed plus one, even when the BMC's own redundancy status still says OK (ipmitool #176).
    /// </summary>
    public static Observation Redundancy(string endpoint, string chassisId, JsonElement? group, IReadOnlyList<Observation> psus)
    {
        var r = new Readings(group ?? default);
        if (group is { } g)
        {
            r.Status().Text("mode", g.TryGetProperty("RedundancyType", out _) ? "RedundancyType" : "Mode");
            var min = Num(g, "MinNeededInGroup") ?? Num(g, "MinNumNeeded");
            r.Value("minNeeded", min, "neither MinNeededInGroup nor MinNumNeeded is reported");
        }
        else
        {
            r.Value("state", null, "the BMC reports no redundancy group").Value("health", null, "the BMC reports no redundancy group")
             .Value("mode", null, "the BMC reports no redundancy group").Value("minNeeded", null, "the BMC reports no redundancy group");
        }
        var unreadable = psus.FirstOrDefault(p => p.UnknownReason is not null);
        var present = psus.Count(p => p["state"] is not "Absent");
        var working = psus.Count(PsuWorking);
        var minNeeded = r.List.First(x => x.Name == "minNeeded").Value as double? ?? 1;
        r.Value("psuBays", (double)psus.Count).Value("psuPresent", (double)present);
        // Dell repeats the set's redundancy on every PSU view; the first one that knows counts.
        r.Value("dellRedundancy", psus.Select(p => p["dellRedundancy"] as string).FirstOrDefault(x => x is not null and not "Unknown"), "no Oem.Dell.DellPowerSupplyView.RedundancyStatus");
        if (unreadable is null) r.Value("psuWorking", (double)working).Value("sparePsus", working - minNeeded);
        else r.Value("psuWorking", null, $"{unreadable.Component.Name} could not be read").Value("sparePsus", null, $"{unreadable.Component.Name} could not be read");
        var c = new ComponentRef(Id(endpoint, "psu-redundancy", chassisId), "power_supply", "PSU redundancy", Id(endpoint, "chassis", chassisId), null, "redfish.psu-redundancy");
        return new Observation(c, r.List);
    }

    // ---- thermal --------------------------------------------------------------------------------------

    /// <summary>An element of the deprecated Thermal.Temperatures[] (ReadingCelsius, Upper/LowerThreshold{NonCritical,Critical,Fatal}).</summary>
    public static Observation LegacyTemperature(string endpoint, string chassisId, string path, JsonElement j)
    {
        var id = IdOf(j, path);
        var r = new Readings(j).Status().Number("readingCelsius", "Cel", "ReadingCelsius")
            .Number("upperCaution", "Cel", "UpperThresholdNonCritical").Number("upperCritical", "Cel", "UpperThresholdCritical")
            .Number("upperFatal", "Cel", "UpperThresholdFatal").Number("lowerCaution", "Cel", "LowerThresholdNonCritical")
            .Number("lowerCritical", "Cel", "LowerThresholdCritical").Number("lowerFatal", "Cel", "LowerThresholdFatal");
        return new Observation(TempRef(endpoint, chassisId, id, j), r.List);
    }

    /// <summary>A Sensor with ReadingType Temperature (ThermalSubsystem/ThermalMetrics → DataSourceUri): Reading and Thresholds.*.Reading.</summary>
    public static Observation SensorTemperature(string endpoint, string chassisId, string path, JsonElement j)
    {
        var id = IdOf(j, path);
        var r = new Readings(j).Status().Number("readingCelsius", "Cel", "Reading")
            .Number("upperCaution", "Cel", "Thresholds", "UpperCaution", "Reading").Number("upperCritical", "Cel", "Thresholds", "UpperCritical", "Reading")
            .Number("upperFatal", "Cel", "Thresholds", "UpperFatal", "Reading").Number("lowerCaution", "Cel", "Thresholds", "LowerCaution", "Reading")
            .Number("lowerCritical", "Cel", "Thresholds", "LowerCritical", "Reading").Number("lowerFatal", "Cel", "Thresholds", "LowerFatal", "Reading");
        return new Observation(TempRef(endpoint, chassisId, id, j), r.List);
    }

    private static ComponentRef TempRef(string endpoint, string chassisId, string id, JsonElement j) =>
        new(Id(endpoint, "temp", chassisId, id), "temperature", Str(j, "Name") ?? id, Id(endpoint, "chassis", chassisId), null, "redfish.temperature");

    /// <summary>An element of the deprecated Thermal.Fans[] (Reading + ReadingUnits RPM|Percent, LowerThreshold*).</summary>
    public static Observation LegacyFan(string endpoint, string chassisId, string path, JsonElement j)
    {
        var id = IdOf(j, path);
        var r = new Readings(j).Status().Number("reading", Str(j, "ReadingUnits") is "Percent" ? "%" : "rpm", "Reading")
            .Text("units", "ReadingUnits").Number("lowerCaution", null, "LowerThresholdNonCritical")
            .Number("lowerCritical", null, "LowerThresholdCritical").Number("lowerFatal", null, "LowerThresholdFatal");
        return new Observation(FanRef(endpoint, chassisId, id, Str(j, "FanName") ?? Str(j, "Name")), r.List);
    }

    /// <summary>ThermalSubsystem/Fans/{id} (Fan schema: SpeedPercent.Reading / SpeedRPM, Status) with thresholds from its speed sensor when linked.</summary>
    public static Observation Fan(string endpoint, string chassisId, string path, JsonElement j, JsonElement? sensor)
    {
        var id = IdOf(j, path);
        var r = new Readings(j).Status();
        var rpm = Num(j, "SpeedPercent", "SpeedRPM");
        var pct = Num(j, "SpeedPercent", "Reading");
        // Thresholds on the sensor are in the sensor's unit; use the reading of that unit.
        var sensorUnits = sensor is { } s0 ? Str(s0, "ReadingUnits") : null;
        var useRpm = sensorUnits is "RPM" || (sensorUnits is null && pct is null && rpm is not null);
        r.Value("reading", useRpm ? rpm : pct, "SpeedPercent.Reading is missing or null", useRpm ? "rpm" : "%");
        r.Value("units", useRpm ? "RPM" : "Percent");
        if (sensor is { } s)
        {
            var sr = new Readings(s).Number("lowerCaution", null, "Thresholds", "LowerCaution", "Reading")
                .Number("lowerCritical", null, "Thresholds", "LowerCritical", "Reading").Number("lowerFatal", null, "Thresholds", "LowerFatal", "Reading");
            r.List.AddRange(sr.List);
        }
        else
        {
            r.Value("lowerCaution", null, "no speed sensor linked").Value("lowerCritical", null, "no speed sensor linked").Value("lowerFatal", null, "no speed sensor linked");
        }
        return new Observation(FanRef(endpoint, chassisId, id, Str(j, "Name")), r.List);
    }

    private static ComponentRef FanRef(string endpoint, string chassisId, string id, string? name) =>
        new(Id(endpoint, "fan", chassisId, id), "fan", name ?? id, Id(endpoint, "chassis", chassisId), null, "redfish.fan");

    // ---- storage --------------------------------------------------------------------------------------

    /// <summary>Whether Operations[] holds a running Rebuild, and its PercentageComplete (Drive and Volume schemas).</summary>
    public static (bool Rebuilding, double? Percent) RebuildOperation(JsonElement j)
    {
        if (!j.TryGetProperty("Operations", out var ops) || ops.ValueKind != JsonValueKind.Array) return (false, null);
        foreach (var op in ops.EnumerateArray())
            if ((Str(op, "Operation") ?? Str(op, "OperationName")) is { } name && name.Contains("Rebuild", StringComparison.OrdinalIgnoreCase))
                return (true, Num(op, "PercentageComplete"));
        return (false, null);
    }

    /// <summary>
    /// A Drive: Status, StatusIndicator, FailurePredicted, PredictedMediaLifeLeftPercent, Operations[] Rebuild and the
    /// ID LED. <paramref name="volumeRebuilding"/>: a volume holding this drive rebuilds (for BMCs that only report the volume's operation).
    /// </summary>
    public static Observation Drive(string endpoint, string parentId, string path, JsonElement j, bool volumeRebuilding)
    {
        var id = IdOf(j, path);
        var r = new Readings(j).Status().Text("statusIndicator", "StatusIndicator").Flag("failurePredicted", "FailurePredicted")
            .Number("lifeLeftPercent", "%", "PredictedMediaLifeLeftPercent").Text("mediaType", "MediaType");
        var (op, pct) = RebuildOperation(j);
        var indicator = Str(j, "StatusIndicator");
        // A volume's rebuild is the drive's only when nothing else explains the drive's Warning (a predicted failure
        // or failed drive beside the rebuilding one keeps its own state).
        var volumeExplains = volumeRebuilding && Str(j, "Status", "Health") is "Warning" && Bool(j, "FailurePredicted") is not true
            && indicator is null or "OK" or "InACriticalArray";
        var rebuilding = op || indicator is "Rebuild" || volumeExplains;
        r.Value("rebuilding", rebuilding).Value("rebuildPercent", pct, "no rebuild operation with PercentageComplete", "%");
        Identify(r, j);
        var c = new ComponentRef(Id(endpoint, "drive", id), "physical_disk", Str(j, "Name") ?? id, parentId, "drive", "redfish.drive");
        return new Observation(c, r.List);
    }

    /// <summary>A Volume: Status, RAIDType and Operations[] Rebuild.</summary>
    public static Observation Volume(string endpoint, string parentId, string path, JsonElement j)
    {
        var id = IdOf(j, path);
        var r = new Readings(j).Status().Text("raidType", "RAIDType");
        var (op, pct) = RebuildOperation(j);
        r.Value("rebuilding", op).Value("rebuildPercent", pct, "no rebuild operation with PercentageComplete", "%");
        var c = new ComponentRef(Id(endpoint, "volume", id), "logical_disk", Str(j, "Name") ?? id, parentId, null, "redfish.volume");
        return new Observation(c, r.List);
    }

    /// <summary>
    /// Rebuild stopped has no Redfish value: infer it. It holds when the previous walk saw a rebuild (or a stop) and
    /// now there is none while the drive or volume is still not OK; it clears once health is OK or the rebuild resumes.
    /// Null when health is unknown.
    /// </summary>
    public static bool? RebuildStopped(bool wasRebuildingOrStopped, Observation now)
    {
        if (now["rebuilding"] is true) return false;
        if (!wasRebuildingOrStopped) return false;
        return now["health"] switch { "OK" => false, string => true, _ => null };
    }

    public static Observation With(Observation o, Reading r) => o with { Readings = [.. o.Readings.Where(x => x.Name != r.Name), r] };

    // ---- network --------------------------------------------------------------------------------------

    /// <summary>
    /// A NIC port: NetworkAdapters/{id}/Ports/{id} (Port schema: LinkStatus LinkUp/LinkDown/NoLink/Starting/Training,
    /// CurrentSpeedGbps, MaxSpeedGbps or LinkConfiguration[].CapableLinkSpeedGbps[]) or the deprecated
    /// NetworkPorts/{id} (LinkStatus Up/Down, CurrentLinkSpeedMbps, SupportedLinkCapabilities[].LinkSpeedMbps).
    /// </summary>
    public static Observation Port(string endpoint, string adapterId, string path, JsonElement j)
    {
        var id = IdOf(j, path);
        var r = new Readings(j).Status().Text("linkStatus", "LinkStatus");
        var link = Str(j, "LinkStatus");
        r.Value("linkUp", LinkUp(link), link is null ? Missing(j, ["LinkStatus"]) : $"LinkStatus is {link} (neither up nor down)");
        double? speed, max;
        string? speedWhy, maxWhy;
        if (j.TryGetProperty("CurrentLinkSpeedMbps", out _) || j.TryGetProperty("SupportedLinkCapabilities", out _))
        {
            speed = Num(j, "CurrentLinkSpeedMbps") / 1000;
            speedWhy = Missing(j, ["CurrentLinkSpeedMbps"]);
            // iDRAC firmware sometimes echoes the current speed here; then a downshift cannot be seen (REFERENCE.md).
            max = MaxOf(j, "SupportedLinkCapabilities", "LinkSpeedMbps") / 1000;
            maxWhy = "SupportedLinkCapabilities[].LinkSpeedMbps is missing";
        }
        else
        {
            speed = Num(j, "CurrentSpeedGbps");
            speedWhy = Missing(j, ["CurrentSpeedGbps"]);
            max = Num(j, "MaxSpeedGbps") ?? MaxOf(j, "LinkConfiguration", "CapableLinkSpeedGbps");
            maxWhy = "neither MaxSpeedGbps nor LinkConfiguration[].CapableLinkSpeedGbps is reported";
        }
        r.Value("speedGbps", speed, speedWhy, "Gbit/s").Value("maxSpeedGbps", max, maxWhy, "Gbit/s");
        r.Value("active", null, "Redfish reports no port activity");
        var c = new ComponentRef(Id(endpoint, "nic", adapterId, id), "network", Str(j, "Name") ?? id, Id(endpoint, "adapter", adapterId), "nic", "redfish.nic");
        return new Observation(c, r.List);
    }

    /// <summary>An EthernetInterface (LinkStatus LinkUp/NoLink/LinkDown, SpeedMbps); used for NICs when no adapter ports exist.</summary>
    public static Observation EthernetInterface(string endpoint, string systemId, string path, JsonElement j)
    {
        var id = IdOf(j, path);
        var r = new Readings(j).Status().Text("linkStatus", "LinkStatus");
        var link = Str(j, "LinkStatus");
        r.Value("linkUp", LinkUp(link), link is null ? Missing(j, ["LinkStatus"]) : $"LinkStatus is {link}");
        r.Value("speedGbps", Num(j, "SpeedMbps") / 1000, Missing(j, ["SpeedMbps"]), "Gbit/s");
        r.Value("maxSpeedGbps", null, "EthernetInterface has no maximum speed; the NetworkAdapters ports have it", "Gbit/s");
        r.Value("active", null, "Redfish reports no port activity");
        r.Text("macAddress", "MACAddress");
        var c = new ComponentRef(Id(endpoint, "ethernet", systemId, id), "network", Str(j, "Name") ?? id, Id(endpoint, "system", systemId), "nic", "redfish.nic");
        return new Observation(c, r.List);
    }

    private static bool? LinkUp(string? status) => status switch
    {
        "LinkUp" or "Up" => true,
        "LinkDown" or "NoLink" or "Down" => false,
        _ => null,
    };

    private static double? MaxOf(JsonElement j, string array, string field)
    {
        if (!j.TryGetProperty(array, out var a) || a.ValueKind != JsonValueKind.Array) return null;
        double? best = null;
        foreach (var item in a.EnumerateArray())
        {
            if (!item.TryGetProperty(field, out var v)) continue;
            var values = v.ValueKind == JsonValueKind.Array ? v.EnumerateArray() : (IEnumerable<JsonElement>)[v];
            foreach (var x in values)
                if (x.ValueKind == JsonValueKind.Number && x.TryGetDouble(out var d) && (best is null || d > best)) best = d;
        }
        return best;
    }

    // ---- service --------------------------------------------------------------------------------------

    /// <summary>The Redfish service as a component: reachable, age and duration of the last walk, overrun.</summary>
    public static Observation Service(string endpoint, string url, bool? reachable, double? ageSeconds, double? walkSeconds, bool overrunning, double staleAfterSeconds, string? lastError)
    {
        var r = new Readings(default)
            .Value("reachable", reachable, lastError ?? "no walk has completed yet")
            .Value("walkAgeSeconds", ageSeconds is { } a ? Math.Round(a, 1) : null, "no walk has completed yet", "s")
            .Value("walkSeconds", walkSeconds is { } w ? Math.Round(w, 2) : null, "no walk has completed yet", "s")
            .Value("overrunning", overrunning).Value("staleAfterSeconds", staleAfterSeconds, null, "s")
            .Value("lastError", lastError ?? "", null);
        var c = new ComponentRef(ServiceId(endpoint), "bmc", $"Redfish service {url}", null, null, "redfish.service");
        return new Observation(c, r.List);
    }

    public static Observation Unknown(ComponentRef c, string reason) => new(c, [], null, reason);

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
