using System.Text.Json;
using HealthAgent.Model;

namespace HealthAgent.Sources.Redfish;

// Network: Chassis/{id}/NetworkAdapters/{id}/Ports (or the older NetworkPorts), and Systems/{id}/EthernetInterfaces
// as a stand-in when no adapter ports exist.

public static partial class RedfishParser
{
    /// <summary>
    /// A NIC port: NetworkAdapters/{id}/Ports/{id} (Port schema: LinkStatus LinkUp/LinkDown/NoLink/Starting/Training,
    /// CurrentSpeedGbps, MaxSpeedGbps or LinkConfiguration[].CapableLinkSpeedGbps[]) or the deprecated
    /// NetworkPorts/{id} (LinkStatus Up/Down, CurrentLinkSpeedMbps, SupportedLinkCapabilities[].LinkSpeedMbps).
    /// </summary>
    public static Observation Port(string endpoint, string chassisRef, string path, JsonElement j)
    {
        var id = ScopedId(path);
        var r = new Readings(j).Status().Text("linkStatus", "LinkStatus");
        var link = Str(j, "LinkStatus");
        // Port v1.x may carry no LinkStatus at all: the link is then unknown, never "down".
        r.Value("linkUp", LinkUp(link), link is null ? Missing(j, ["LinkStatus"]) + ": the link state is unknown" : $"LinkStatus is {link} (neither up nor down)");
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
        r.Value("active", null, "Redfish reports no port activity").Where(path);
        var c = new ComponentRef(Id(endpoint, "nic", id), "network", Str(j, "Name") ?? id[^1], chassisRef, "nic", "redfish.nic");
        return new Observation(c, r.List);
    }

    /// <summary>An EthernetInterface (LinkStatus LinkUp/NoLink/LinkDown, SpeedMbps); used for NICs when no adapter ports exist.</summary>
    public static Observation EthernetInterface(string endpoint, string systemRef, string path, JsonElement j)
    {
        var id = ScopedId(path);
        var r = new Readings(j).Status().Text("linkStatus", "LinkStatus");
        var link = Str(j, "LinkStatus");
        r.Value("linkUp", LinkUp(link), link is null ? Missing(j, ["LinkStatus"]) : $"LinkStatus is {link}");
        r.Value("speedGbps", Num(j, "SpeedMbps") / 1000, Missing(j, ["SpeedMbps"]), "Gbit/s");
        r.Value("maxSpeedGbps", null, "EthernetInterface has no maximum speed; the NetworkAdapters ports have it", "Gbit/s");
        r.Value("active", null, "Redfish reports no port activity");
        r.Text("macAddress", "MACAddress").Where(path);
        var c = new ComponentRef(Id(endpoint, "ethernet", id), "network", Str(j, "Name") ?? id[^1], systemRef, "nic", "redfish.nic");
        return new Observation(c, r.List);
    }

    /// <summary>
    /// Why an EthernetInterface is not a NIC port, or null: a VLAN or other virtual interface
    /// (<c>EthernetInterfaceType: Virtual</c>), or the host side of the BMC's host interface (<c>Links.HostInterface</c>,
    /// the USB/LAN link between host and BMC, DSP0270). Their link says nothing about a cable.
    /// </summary>
    public static string? NotAPort(JsonElement j) =>
        Str(j, "EthernetInterfaceType") is "Virtual" ? "a virtual (VLAN) interface"
        : Link(j, "Links", "HostInterface") is not null ? "the host side of the BMC host interface"
        : null;

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
}

public sealed partial class RedfishSource
{
    private static readonly string[] PortType = ["Port", "NetworkPort"];

    private async Task WalkAdaptersAsync(Walk w, string? collection, string chassisRef)
    {
        var ep = w.E.Name;
        await Task.WhenAll((await w.MembersOf(collection).ConfigureAwait(false)).Select(async ap =>
        {
            if (await w.Get(ap, null, ["NetworkAdapter"]).ConfigureAwait(false) is not { } adapter) return;
            // Ports (NetworkAdapter v1.7+) replace NetworkPorts; read the older collection only when Ports is absent.
            var ports = RedfishParser.Link(adapter, "Ports") ?? RedfishParser.Link(adapter, "NetworkPorts");
            foreach (var pp in await w.MembersOf(ports).ConfigureAwait(false))
            {
                w.SawPorts = true;
                await w.Component(pp, j => Linked(w.E, RedfishParser.Port(ep, chassisRef, pp, j)), PortType).ConfigureAwait(false);
            }
        })).ConfigureAwait(false);
    }

    private async Task WalkEthernetAsync(Walk w, string systemPath, string systemRef)
    {
        var ep = w.E.Name;
        if (await w.Get(systemPath).ConfigureAwait(false) is not { } sys) return;
        foreach (var ip in await w.MembersOf(RedfishParser.Link(sys, "EthernetInterfaces")).ConfigureAwait(false))
        {
            if (!w.Claim(ip)) continue;
            if (await w.Get(ip, RedfishParser.EthernetInterface(ep, systemRef, ip, Empty).Component, ["EthernetInterface"]).ConfigureAwait(false) is not { } j) continue;
            if (RedfishParser.NotAPort(j) is not null) continue;
            Observation Parse(JsonElement x) => Linked(w.E, RedfishParser.EthernetInterface(ep, systemRef, ip, x));
            var o = Parse(j);
            w.Add(o);
            w.Read(ip, new Reader([o.Component], x => [Parse(x)]));
        }
    }

    /// <summary>
    /// Adds <c>everLinkedUp</c>: whether the port has had link since the agent started. A port that never had link is
    /// an unused port ("not connected", info); one that had it and lost it is a cable or switch problem (warning).
    /// </summary>
    private static Observation Linked(Endpoint e, Observation o)
    {
        lock (e.Sync)
        {
            if (o["linkUp"] is true) e.LinkSeen.Add(o.Component.Id);
            return RedfishParser.With(o, new Reading("everLinkedUp", e.LinkSeen.Contains(o.Component.Id)));
        }
    }
}
