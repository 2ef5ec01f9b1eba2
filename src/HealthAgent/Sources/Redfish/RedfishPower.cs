using System.Text.Json;
using HealthAgent.Model;

namespace HealthAgent.Sources.Redfish;

// Power: PowerSubsystem/PowerSupplies (PowerSupply schema) or the deprecated Chassis.Power (PowerSupplies[],
// Redundancy[]), and the PSU redundancy roll-up of each chassis.

public static partial class RedfishParser
{
    /// <summary>
    /// A power supply: PowerSubsystem/PowerSupplies/{id} (PowerSupply schema: Status, LineInputStatus) or an element
    /// of the deprecated Power.PowerSupplies[] (MemberId, LineInputVoltage). HPE marks mismatch in Oem.Hpe.Mismatched.
    /// The id is scoped by chassis: MemberIds 0, 1, 2 repeat in every chassis (DMTF public-telemetry).
    /// </summary>
    public static Observation Psu(string endpoint, string[] chassisId, string path, JsonElement j)
    {
        // A member of Power.PowerSupplies[] has a fragment path (…/Power#/PowerSupplies/0): scope its MemberId by chassis.
        string[] id = path.Contains('#', StringComparison.Ordinal) ? [.. chassisId, Str(j, "MemberId") ?? LastSegment(path)] : ScopedId(path);
        var r = new Readings(j).Status();
        var lineStatus = Str(j, "LineInputStatus");
        var volts = Num(j, "LineInputVoltage");
        // iDRAC's PSU view: DetailedState carries the IPMI power-supply sensor offsets ("Presence Detected",
        // "Failure Detected", "AC lost", "Configuration error" = offset 06h, rating mismatch).
        var dell = Str(j, "Oem", "Dell", "DellPowerSupplyView", "DetailedState");
        var dellLost = dell?.Contains("lost", StringComparison.OrdinalIgnoreCase) == true;
        // The old schema has no LineInputStatus: 0 V on the input means the cord is out — but an empty bay reads 0 V too.
        var absent = Str(j, "Status", "State") is "Absent";
        var line = lineStatus ?? (absent ? null : volts is 0 || dellLost ? "LossOfInput" : volts > 0 ? "Normal" : null);
        r.Value("lineInput", line, absent ? "the bay is empty" : "neither LineInputStatus nor LineInputVoltage is reported");
        r.Value("inputVolts", volts, Missing(j, ["LineInputVoltage"]), "V");
        r.Number("capacityWatts", "W", "PowerCapacityWatts");
        var mismatch = Bool(j, "Oem", "Hpe", "Mismatched") ?? Bool(j, "Oem", "Hp", "Mismatched")
            ?? (dell?.Contains("Configuration error", StringComparison.OrdinalIgnoreCase) == true ? true : null);
        r.Value("mismatch", mismatch ?? false); // no DMTF property: absent means the BMC reports none
        if (dell is not null) r.Value("dellDetailedState", dell);
        if (Str(j, "Oem", "Dell", "DellPowerSupplyView", "RedundancyStatus") is { } dr) r.Value("dellRedundancy", dr);
        r.Text("firmwareVersion", "FirmwareVersion").Where(path);
        var c = new ComponentRef(Id(endpoint, "psu", id), "power_supply", Str(j, "Name") ?? id[^1], Id(endpoint, "chassis", chassisId), "psu", "redfish.psu");
        return new Observation(c, r.List);
    }

    /// <summary>
    /// A member of Power.PowerSupplies[] that stands for no PSU: Gigabyte/AMI list empty bays as
    /// <c>{"MemberId": "1", "Name": "nil"}</c> with nothing else. It is neither a PSU nor a failed one.
    /// </summary>
    public static bool PsuPlaceholder(JsonElement j) =>
        j.ValueKind != JsonValueKind.Object
        || (!j.TryGetProperty("Status", out _) && Str(j, "Name") is null or "nil" or "" && !j.TryGetProperty("Model", out _) && !j.TryGetProperty("SerialNumber", out _));

    /// <summary>
    /// True when a PSU delivers power: present, not switched off, not Critical, input not lost. A PSU at Warning
    /// (predicted failure) still delivers power; one without Status.Health (rectifiers that report only State) is
    /// not counted as failed.
    /// </summary>
    public static bool PsuWorking(Observation psu) =>
        psu.UnknownReason is null && psu["state"] is null or "Enabled" or "Degraded" && psu["health"] is not "Critical"
        && psu["lineInput"] is not ("LossOfInput" or "OutOfRange") && psu["mismatch"] is not true; // a mismatched PSU is not brought online (iDRAC, iLO)

    /// <summary>A PSU that is present and unhealthy, without input, or off — what can explain lost redundancy.</summary>
    public static bool PsuProblem(Observation psu) =>
        psu.UnknownReason is null && psu["state"] is not "Absent"
        && (psu["health"] is "Warning" or "Critical" || psu["lineInput"] is "LossOfInput" or "OutOfRange" || psu["mismatch"] is true || !PsuWorking(psu) && psu["state"] is not ("StandbyOffline" or "Disabled"));

    /// <summary>
    /// The PSU redundancy roll-up of one chassis, from PowerSubsystem.PowerSupplyRedundancy[] (RedundantGroup) or the
    /// deprecated Power.Redundancy[], and from the PSUs themselves. DMTF: Redundancy.MinNumNeeded is the number of
    /// members needed for the group to be redundant (fault tolerant); RedundantGroup.MinNeededForFaultTolerance says
    /// the same, and MinNeededInGroup the number needed to run (so fault tolerance needs one more). Redundancy is lost
    /// when the BMC's redundancy status says Warning/Critical, or when fewer PSUs work than that number <em>and</em> a
    /// PSU is actually unhealthy, without input or missing (ipmitool #176: a BMC that still says OK). A group the BMC
    /// reports as not in effect (State UnavailableOffline, Disabled, StandbyOffline) is not "lost".
    /// </summary>
    /// <param name="missing">PSUs present in an earlier walk and now Absent (pulled).</param>
    public static Observation Redundancy(string endpoint, string[] chassisId, JsonElement? group, IReadOnlyList<Observation> psus, int missing = 0)
    {
        var r = new Readings(group ?? default);
        double? needed = null;
        if (group is { } g)
        {
            r.Status().Text("mode", g.TryGetProperty("RedundancyType", out _) ? "RedundancyType" : "Mode");
            needed = Num(g, "MinNeededForFaultTolerance")
                ?? (Num(g, "MinNeededInGroup") is { } inGroup ? inGroup + 1 : (double?)null)
                ?? Num(g, "MinNumNeeded");
            r.Value("minNeeded", needed, "none of MinNeededForFaultTolerance, MinNeededInGroup or MinNumNeeded is reported");
        }
        else
        {
            r.Value("state", null, "the BMC reports no redundancy group").Value("health", null, "the BMC reports no redundancy group")
             .Value("mode", null, "the BMC reports no redundancy group").Value("minNeeded", null, "the BMC reports no redundancy group");
        }
        var unreadable = psus.FirstOrDefault(p => p.UnknownReason is not null);
        var present = psus.Count(p => p["state"] is not "Absent");
        var working = psus.Count(PsuWorking);
        r.Value("psuBays", (double)psus.Count).Value("psuPresent", (double)present);
        // Dell repeats the set's redundancy on every PSU view; the first one that knows counts.
        r.Value("dellRedundancy", psus.Select(p => p["dellRedundancy"] as string).FirstOrDefault(x => x is not null and not "Unknown"), "no Oem.Dell.DellPowerSupplyView.RedundancyStatus");
        if (unreadable is null)
        {
            r.Value("psuWorking", (double)working).Value("psuProblems", (double)(psus.Count(PsuProblem) + missing));
            r.Value("sparePsus", needed is { } n ? working - n : null, "the BMC reports no number of PSUs needed for redundancy");
        }
        else
        {
            var why = $"{unreadable.Component.Name} could not be read";
            r.Value("psuWorking", null, why).Value("psuProblems", null, why).Value("sparePsus", null, why);
        }
        var c = new ComponentRef(Id(endpoint, "psu-redundancy", chassisId), "power_supply", "PSU redundancy", Id(endpoint, "chassis", chassisId), null, "redfish.psu-redundancy");
        return new Observation(c, r.List);
    }
}

public sealed partial class RedfishSource
{
    private static readonly string[] PowerSupplyType = ["PowerSupply"];

    private async Task WalkPowerAsync(Walk w, JsonElement ch, string[] chassisId)
    {
        var ep = w.E.Name;
        if (RedfishParser.Link(ch, "PowerSubsystem") is { } subPath)
        {
            if (await w.Get(subPath, null, ["PowerSubsystem"]).ConfigureAwait(false) is not { } sub) return;
            var members = await w.MembersOf(RedfishParser.Link(sub, "PowerSupplies")).ConfigureAwait(false);
            var read = await Task.WhenAll(members.Select(async pp =>
            {
                var (o, _) = await w.Component(pp, j => RedfishParser.Psu(ep, chassisId, pp, j), PowerSupplyType).ConfigureAwait(false);
                return o;
            })).ConfigureAwait(false);
            var psus = read.OfType<Observation>().ToList();
            // A PSU that could not be read was added as unknown by the walk: it counts as unreadable in the roll-up.
            var unreadable = members.Where((m, i) => read[i] is null).Select(m => RedfishParser.Psu(ep, chassisId, m, Empty).Component.Id).ToHashSet(StringComparer.Ordinal);
            lock (w) psus.AddRange(w.Observations.Where(o => o.UnknownReason is not null && unreadable.Contains(o.Component.Id)));
            // The newer schema's redundancy: PowerSubsystem.PowerSupplyRedundancy[] (RedundantGroup); else the older Power.Redundancy[].
            JsonElement? group = First(sub, "PowerSupplyRedundancy");
            if (group is null && RedfishParser.Link(ch, "Power") is { } legacy && await w.Get(legacy, null, ["Power"]).ConfigureAwait(false) is { } power)
                group = First(power, "Redundancy");
            if (psus.Count > 0) w.Add(RedfishParser.Redundancy(ep, chassisId, group, psus, Missing(w.E, psus)));
            return;
        }
        if (RedfishParser.Link(ch, "Power") is { } powerPath)
        {
            var rf = RedfishParser.Redundancy(ep, chassisId, null, []).Component;
            if (await w.Get(powerPath, null, ["Power"]).ConfigureAwait(false) is not { } power) { w.Add(RedfishParser.Unknown(rf, "Power could not be read")); return; }
            var parse = LegacyPower(w.E, chassisId, powerPath);
            var obs = parse(power);
            w.Add(obs);
            w.Read(powerPath, new Reader(obs.Select(o => o.Component).ToList(), parse));
        }
    }

    /// <summary>PSUs seen present in an earlier walk that are Absent now: pulled, so missing (not an empty bay).</summary>
    private static int Missing(Endpoint e, IReadOnlyList<Observation> psus)
    {
        lock (e.Sync)
        {
            var missing = 0;
            foreach (var p in psus.Where(p => p.UnknownReason is null))
            {
                if (p["state"] is "Absent") { if (e.PsuSeen.Contains(p.Component.Id)) missing++; }
                else e.PsuSeen.Add(p.Component.Id);
            }
            return missing;
        }
    }

    /// <summary>The deprecated Chassis.Power: PowerSupplies[] and Redundancy[] inline in one resource.</summary>
    private static Func<JsonElement, IReadOnlyList<Observation>> LegacyPower(Endpoint e, string[] chassisId, string powerPath) => power =>
    {
        var list = new List<Observation>();
        if (power.TryGetProperty("PowerSupplies", out var arr) && arr.ValueKind == JsonValueKind.Array)
        {
            var i = 0;
            var ids = new HashSet<string>(StringComparer.Ordinal);
            foreach (var p in arr.EnumerateArray())
            {
                var path = RedfishParser.Link(p) ?? $"{powerPath}#/PowerSupplies/{i}";
                i++;
                if (RedfishParser.PsuPlaceholder(p)) continue;
                var o = RedfishParser.Psu(e.Name, chassisId, path, p);
                if (ids.Add(o.Component.Id)) list.Add(o); // a MemberId listed twice is one PSU
            }
        }
        if (list.Count > 0) list.Add(RedfishParser.Redundancy(e.Name, chassisId, First(power, "Redundancy"), list, Missing(e, list)));
        return list;
    };

    private static JsonElement? First(JsonElement e, string array) =>
        e.TryGetProperty(array, out var a) && a.ValueKind == JsonValueKind.Array && a.GetArrayLength() > 0 && a[0].ValueKind == JsonValueKind.Object ? a[0] : null;
}
