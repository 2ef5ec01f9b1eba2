using HealthAgent.Config;

namespace HealthAgent.Sources.Nic;

/// <summary>Options of the <c>nic</c> source (agent.json <c>sources.nic</c>).</summary>
public sealed class NicOptions : HostRootSourceOptions
{
    /// <summary>
    /// Interface name globs (<c>*</c>, <c>?</c>) watched whatever their kind, e.g. <c>["bond0", "veth*"]</c>. Without
    /// a match here, every interface with a backing device (/sys/class/net/&lt;if&gt;/device) is watched; lo, bridges,
    /// bonds, tunnels and veth have none.
    /// </summary>
    public List<string> Include { get; set; } = [];

    /// <summary>Interface name globs not watched even though they have a backing device (unused ports). <c>include</c> wins over it.</summary>
    public List<string> Exclude { get; set; } = [];

    /// <summary>
    /// Per-interface settings by exact name, e.g. <c>{ "eth0": { "expectedSpeedMbps": 25000 } }</c>. Set
    /// expectedSpeedMbps where the driver reports no supported link modes (virtio, veth) or where the port's maximum
    /// is not what the switch side can do (a 25G port cabled to a 10G switch on purpose: set 10000).
    /// </summary>
    public Dictionary<string, NicInterfaceOptions> Interfaces { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Listen to rtnetlink link events (RTMGRP_LINK) so a cable pull is reported within milliseconds, not at the next poll. Only on the real host root.</summary>
    public bool Netlink { get; set; } = true;

    /// <summary>Milliseconds one sysfs read may take before it is abandoned as hung (the rest of the poll still completes).</summary>
    public int FileTimeoutMs { get; set; } = 1000;

    /// <summary>The configured maximum speed of <paramref name="ifname"/>, if any.</summary>
    public double? ExpectedSpeedMbps(string ifname)
    {
        if (Interfaces.Count == 0) return null;
        if (Interfaces.TryGetValue(ifname, out var i)) return i.ExpectedSpeedMbps;
        // configuration keys are case-insensitive (a binder or an environment variable may change their case)
        foreach (var (name, o) in Interfaces)
            if (string.Equals(name, ifname, StringComparison.OrdinalIgnoreCase)) return o.ExpectedSpeedMbps;
        return null;
    }

    public override void Validate(string path, ICollection<string> errors)
    {
        base.Validate(path, errors);
        if (FileTimeoutMs is < 10 or > 60_000) errors.Add($"{path}.fileTimeoutMs: must be from 10 to 60000 (is {FileTimeoutMs})");
        CheckGlobs(Include, path + ".include", errors);
        CheckGlobs(Exclude, path + ".exclude", errors);
        foreach (var (name, i) in Interfaces)
        {
            if (name.Length is 0 or > 15 || name.Contains('/') || name.Any(char.IsWhiteSpace))
                errors.Add($"{path}.interfaces.{name}: not an interface name (1 to 15 characters, no '/' or spaces)");
            // the binder ignores unknown keys below this level: an entry without its one setting is most likely a typo
            if (i.ExpectedSpeedMbps is null)
                errors.Add($"{path}.interfaces.{name}: no expectedSpeedMbps (the only per-interface setting; check its spelling)");
            else if (i.ExpectedSpeedMbps is { } s && (s <= 0 || s > 1_600_000 || double.IsNaN(s)))
                errors.Add($"{path}.interfaces.{name}.expectedSpeedMbps: must be above 0 and at most 1600000 Mb/s (is {s})");
        }
    }

    private static void CheckGlobs(List<string> globs, string path, ICollection<string> errors)
    {
        for (var i = 0; i < globs.Count; i++)
            if (string.IsNullOrWhiteSpace(globs[i]) || globs[i].Contains('/') || globs[i].Length > 64)
                errors.Add($"{path}[{i}]: '{globs[i]}' is not an interface name glob (1 to 64 characters, no '/')");
    }
}

/// <summary>Settings of one interface under <c>sources.nic.interfaces.&lt;name&gt;</c>.</summary>
public sealed class NicInterfaceOptions
{
    /// <summary>The port's maximum speed in Mb/s (e.g. 25000). Overrides what ethtool reports; link amber below it, green at it.</summary>
    public double? ExpectedSpeedMbps { get; set; }
}
