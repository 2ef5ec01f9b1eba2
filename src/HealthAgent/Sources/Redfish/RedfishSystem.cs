using System.Text.Json;
using HealthAgent.Model;

namespace HealthAgent.Sources.Redfish;

// Systems, chassis and managers: the containers every other area hangs off.

public static partial class RedfishParser
{
    /// <summary>ComputerSystem: Status (Health, HealthRollup), PowerState, ID LED, Dell roll-ups (Oem.Dell.DellSystem).</summary>
    public static Observation System(string endpoint, string path, JsonElement j)
    {
        var id = ScopedId(path);
        var r = new Readings(j).Status().Text("healthRollup", "Status", "HealthRollup").Text("powerState", "PowerState").Where(path);
        Identify(r, j);
        // Dell iDRAC roll-ups: informational, the system LED follows HealthRollup.
        if (Str(j, "Oem", "Dell", "DellSystem", "PSRollupStatus") is { } psu) r.Value("dellPsuRollup", psu);
        if (Str(j, "Oem", "Dell", "DellSystem", "StorageRollupStatus") is { } st) r.Value("dellStorageRollup", st);
        var c = new ComponentRef(Id(endpoint, "system", id), "enclosure", Str(j, "Name") ?? id[^1], ServiceId(endpoint), "system", "redfish.system");
        return new Observation(c, r.List);
    }

    /// <summary>Chassis: Status and ID LED, as an LED-less health row (the system's LED carries the front panel state).</summary>
    public static Observation Chassis(string endpoint, string path, JsonElement j)
    {
        var id = ScopedId(path);
        var r = new Readings(j).Status().Text("healthRollup", "Status", "HealthRollup").Where(path);
        Identify(r, j);
        var c = new ComponentRef(Id(endpoint, "chassis", id), "enclosure", Str(j, "Name") ?? id[^1], ServiceId(endpoint), null, "redfish.health");
        return new Observation(c, r.List);
    }

    /// <summary>Manager (the BMC itself): Status and firmware.</summary>
    public static Observation Manager(string endpoint, string path, JsonElement j)
    {
        var id = ScopedId(path);
        var r = new Readings(j).Status().Text("firmwareVersion", "FirmwareVersion").Where(path);
        var c = new ComponentRef(Id(endpoint, "bmc", id), "bmc", Str(j, "Name") ?? id[^1], ServiceId(endpoint), null, "redfish.health");
        return new Observation(c, r.List);
    }
}

public sealed partial class RedfishSource
{
    private static readonly string[] SystemType = ["ComputerSystem"];
    private static readonly string[] ChassisType = ["Chassis"];
    private static readonly string[] ManagerType = ["Manager"];

    private async Task WalkSystemsAsync(Walk w, string? collection)
    {
        await Task.WhenAll((await w.MembersOf(collection).ConfigureAwait(false)).Select(async path =>
        {
            var (o, sys) = await w.Component(path, j => RedfishParser.System(w.E.Name, path, j), SystemType, identify: true).ConfigureAwait(false);
            if (o is null) return;
            lock (w) w.SystemPaths.Add((path, o.Component.Id));
            w.Conditions(sys, o.Component.Id);
            await Task.WhenAll(
                WalkStorageAsync(w, RedfishParser.Link(sys, "Storage"), o.Component.Id),
                WalkSimpleStorageAsync(w, RedfishParser.Link(sys, "SimpleStorage"), o.Component.Id)).ConfigureAwait(false);
        })).ConfigureAwait(false);
    }

    private async Task WalkChassisAsync(Walk w, string? collection)
    {
        await Task.WhenAll((await w.MembersOf(collection).ConfigureAwait(false)).Select(async path =>
        {
            var (o, ch) = await w.Component(path, j => RedfishParser.Chassis(w.E.Name, path, j), ChassisType, identify: true).ConfigureAwait(false);
            if (o is null) return;
            w.Conditions(ch, o.Component.Id);
            var chassisId = RedfishParser.ScopedId(path);
            if (RedfishParser.Link(ch, "Drives") is { } drives) lock (w) w.ChassisDrives.Add((drives, o.Component.Id));
            await Task.WhenAll(
                WalkPowerAsync(w, ch, chassisId),
                WalkThermalAsync(w, ch, chassisId),
                WalkAdaptersAsync(w, RedfishParser.Link(ch, "NetworkAdapters"), o.Component.Id)).ConfigureAwait(false);
        })).ConfigureAwait(false);
    }

    private async Task WalkManagersAsync(Walk w, string? collection)
    {
        foreach (var path in await w.MembersOf(collection).ConfigureAwait(false))
        {
            var (o, m) = await w.Component(path, j => RedfishParser.Manager(w.E.Name, path, j), ManagerType).ConfigureAwait(false);
            if (o is not null) w.Conditions(m, o.Component.Id);
        }
    }
}
