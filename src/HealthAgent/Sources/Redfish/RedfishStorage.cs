using System.Text.Json;
using HealthAgent.Model;

namespace HealthAgent.Sources.Redfish;

// Storage: Systems/{id}/Storage/{id} (Drives[], Volumes), Systems/{id}/SimpleStorage/{id} (Devices[]) and the drives
// that only a chassis lists (Chassis/{id}/Drives).

public static partial class RedfishParser
{
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
        var id = ScopedId(path);
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
        r.Where(path);
        var c = new ComponentRef(Id(endpoint, "drive", id), "physical_disk", Str(j, "Name") ?? id[^1], parentId, "drive", "redfish.drive");
        return new Observation(c, r.List);
    }

    /// <summary>A Volume: Status, RAIDType and Operations[] Rebuild.</summary>
    public static Observation Volume(string endpoint, string parentId, string path, JsonElement j)
    {
        var id = ScopedId(path);
        var r = new Readings(j).Status().Text("raidType", "RAIDType");
        var (op, pct) = RebuildOperation(j);
        r.Value("rebuilding", op).Value("rebuildPercent", pct, "no rebuild operation with PercentageComplete", "%").Where(path);
        var c = new ComponentRef(Id(endpoint, "volume", id), "logical_disk", Str(j, "Name") ?? id[^1], parentId, null, "redfish.volume");
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

    /// <summary>
    /// One of SimpleStorage.Devices[] (SimpleStorage schema: Name, Model, CapacityBytes, Status): a drive with Status
    /// only. It has no Id of its own, so its id is the controller's path plus its index (<c>…:Devices:1</c>).
    /// </summary>
    public static Observation SimpleDevice(string endpoint, string parentId, string controllerPath, int index, JsonElement j)
    {
        string[] id = [.. ScopedId(controllerPath), "Devices", index.ToString(global::System.Globalization.CultureInfo.InvariantCulture)];
        // SimpleStorage devices have Status, Name, Model and CapacityBytes only: no StatusIndicator, prediction or wear.
        var r = new Readings(j).Status().Text("model", "Model")
            .Value("rebuilding", false).Value("rebuildPercent", null, "SimpleStorage reports no operations", "%")
            .Value("rebuildStopped", false).Value("identify", false).Where($"{controllerPath}#/Devices/{index}");
        var c = new ComponentRef(Id(endpoint, "drive", id), "physical_disk", Str(j, "Name") ?? id[^1], parentId, "drive", "redfish.drive");
        return new Observation(c, r.List);
    }
}

public sealed partial class RedfishSource
{
    private static readonly string[] DriveType = ["Drive"];
    private static readonly string[] VolumeType = ["Volume"];

    private async Task WalkStorageAsync(Walk w, string? collection, string systemRef)
    {
        await Task.WhenAll((await w.MembersOf(collection).ConfigureAwait(false)).Select(async path =>
        {
            // With $expand, one answer holds the storage and its Drives[] (and the Volumes collection's links).
            if (await w.GetWithSubordinates(path, ["Storage"]).ConfigureAwait(false) is not { } storage) return;
            var parent = systemRef;
            // Volumes first: a rebuilding volume may explain its drives' Warning (RedfishParser.Drive).
            var rebuildingDrives = new HashSet<string>(StringComparer.Ordinal);
            foreach (var vp in await w.MembersOf(RedfishParser.Link(storage, "Volumes")).ConfigureAwait(false))
            {
                var (o, vol) = await w.Component(vp, j => Remember(w.E, RedfishParser.Volume(w.E.Name, parent, vp, j)), VolumeType,
                    stub: j => RedfishParser.Volume(w.E.Name, parent, vp, j)).ConfigureAwait(false);
                if (o?["rebuilding"] is true)
                    foreach (var d in RedfishParser.Links(vol, "Links", "Drives")) rebuildingDrives.Add(Key(d));
            }
            // A Storage may list one drive many times (seen: the same link 32 times): each is read once.
            var drives = w.Bound(path + "#/Drives", RedfishParser.Links(storage, "Drives"), null);
            await Task.WhenAll(drives.Select(async dp =>
            {
                var inRebuild = rebuildingDrives.Contains(Key(dp));
                await w.Component(dp, j => Remember(w.E, RedfishParser.Drive(w.E.Name, parent, dp, j, inRebuild)), DriveType, identify: true,
                    stub: j => RedfishParser.Drive(w.E.Name, parent, dp, j, false)).ConfigureAwait(false);
            })).ConfigureAwait(false);
        })).ConfigureAwait(false);
    }

    /// <summary>SimpleStorage (older, and what many AMI/Supermicro BMCs offer): Devices[] inline, each a drive.</summary>
    private async Task WalkSimpleStorageAsync(Walk w, string? collection, string systemRef)
    {
        await Task.WhenAll((await w.MembersOf(collection).ConfigureAwait(false)).Select(async path =>
        {
            if (!w.Claim(path)) return;
            if (await w.Get(path, null, ["SimpleStorage"]).ConfigureAwait(false) is not { } ss) return;
            IReadOnlyList<Observation> Parse(JsonElement s)
            {
                if (!s.TryGetProperty("Devices", out var devices) || devices.ValueKind != JsonValueKind.Array) return [];
                return devices.EnumerateArray().Select((d, i) => (d, i)).Where(x => x.d.ValueKind == JsonValueKind.Object)
                    .Select(x => RedfishParser.SimpleDevice(w.E.Name, systemRef, path, x.i, x.d)).ToList();
            }
            var obs = Parse(ss);
            w.Add(obs);
            w.Read(path, new Reader(obs.Select(o => o.Component).ToList(), Parse));
        })).ConfigureAwait(false);
    }

    /// <summary>Drives a chassis lists (Chassis/{id}/Drives) that no Storage linked: read after every Storage, so a drive keeps one parent.</summary>
    private async Task WalkChassisDrivesAsync(Walk w, string collection, string chassisRef)
    {
        await Task.WhenAll((await w.MembersOf(collection).ConfigureAwait(false)).Select(async dp =>
        {
            await w.Component(dp, j => Remember(w.E, RedfishParser.Drive(w.E.Name, chassisRef, dp, j, false)), DriveType, identify: true,
                stub: j => RedfishParser.Drive(w.E.Name, chassisRef, dp, j, false)).ConfigureAwait(false);
        })).ConfigureAwait(false);
    }

    /// <summary>Adds rebuildStopped from what the previous walk saw of this drive or volume (Redfish has no such value).</summary>
    private static Observation Remember(Endpoint e, Observation o)
    {
        lock (e.Sync)
        {
            var id = o.Component.Id;
            var stopped = RedfishParser.RebuildStopped(e.RebuildMemory.Contains(id), o);
            if (o["rebuilding"] is true || stopped is true) e.RebuildMemory.Add(id);
            else if (stopped is false) e.RebuildMemory.Remove(id);
            return RedfishParser.With(o, stopped is { } s ? new Reading("rebuildStopped", s) : Reading.Unknown("rebuildStopped", "health unknown"));
        }
    }

}
