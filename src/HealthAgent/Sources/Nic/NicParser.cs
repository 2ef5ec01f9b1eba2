using System.Globalization;
using HealthAgent.Model;

namespace HealthAgent.Sources.Nic;

/// <summary>Byte counters of one interface at one poll (statistics/rx_bytes, tx_bytes).</summary>
public readonly record struct NicCounters(ulong RxBytes, ulong TxBytes);

/// <summary>
/// Pure parsing of /sys/class/net/&lt;if&gt; attribute text into readings (no I/O). Every parser returns a reading;
/// garbage, empty text or the kernel's "unknown" values give an unknown reading with the reason, never zero.
/// Attribute formats: Documentation/ABI/testing/sysfs-class-net.
/// </summary>
public static class NicParser
{
    public const string SpeedUnit = "Mbit/s", ByteUnit = "By";

    /// <summary>The operstate words (RFC 2863 ifOperStatus, include/uapi/linux/if.h IF_OPER_*).</summary>
    public static readonly IReadOnlyList<string> OperStates = ["unknown", "notpresent", "down", "lowerlayerdown", "testing", "dormant", "up"];

    /// <summary>carrier: "0" or "1".</summary>
    public static Reading Carrier(FileRead read)
    {
        if (Failed(read, "carrier", "carrier") is { } u) return u;
        var t = Trim(read.Text);
        if (t is "0" or "1") return new Reading("carrier", t == "1");
        return Reading.Unknown("carrier", Unparsable("carrier", t));
    }

    /// <summary>
    /// speed in Mb/s. SPEED_UNKNOWN is -1 (include/uapi/linux/ethtool.h); older kernels print it as 65535 or
    /// 4294967295 (the same value read as u16/u32). virtio and some bonds report it while the link is up.
    /// </summary>
    public static Reading Speed(FileRead read)
    {
        if (Failed(read, "speedMbps", "speed", SpeedUnit) is { } u) return u;
        var t = Trim(read.Text);
        if (!long.TryParse(t, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v))
            return Reading.Unknown("speedMbps", Unparsable("speed", t), SpeedUnit);
        if (v is <= 0 or 65535 or 4294967295)
            return Reading.Unknown("speedMbps", $"the driver reports speed {v} (SPEED_UNKNOWN)", SpeedUnit);
        return new Reading("speedMbps", (double)v, SpeedUnit);
    }

    /// <summary>duplex: "full", "half" or "unknown" (DUPLEX_UNKNOWN).</summary>
    public static Reading Duplex(FileRead read)
    {
        if (Failed(read, "duplex", "duplex") is { } u) return u;
        var t = Trim(read.Text);
        return t switch
        {
            "full" => new Reading("duplex", "full"),
            "half" => new Reading("duplex", "half"),
            "unknown" => Reading.Unknown("duplex", "the driver reports duplex unknown"),
            _ => Reading.Unknown("duplex", Unparsable("duplex", t)),
        };
    }

    /// <summary>operstate: one of <see cref="OperStates"/>. The kernel's own "unknown" is a value, not a failure.</summary>
    public static Reading OperState(FileRead read)
    {
        if (Failed(read, "operstate", "operstate") is { } u) return u;
        var t = Trim(read.Text);
        foreach (var s in OperStates)
            if (t == s) return new Reading("operstate", s);
        return Reading.Unknown("operstate", Unparsable("operstate", t));
    }

    /// <summary>A decimal counter (statistics/*, carrier_changes, carrier_up_count, carrier_down_count).</summary>
    public static bool TryCounter(string? text, out ulong value) =>
        ulong.TryParse(Trim(text), NumberStyles.None, CultureInfo.InvariantCulture, out value);

    /// <summary>A counter reading; <paramref name="file"/> names the attribute in the reason.</summary>
    public static Reading Counter(string name, string file, FileRead read, string? unit = null)
    {
        if (Failed(read, name, file, unit) is { } u) return u;
        return TryCounter(read.Text, out var v) ? new Reading(name, (double)v, unit) : Reading.Unknown(name, Unparsable(file, Trim(read.Text)), unit);
    }

    /// <summary>
    /// Activity: whether the byte counters moved since the previous poll. Unknown on the first poll (nothing to
    /// compare with) rather than "idle", so the LED does not flap from off to blinking at start-up. A counter that
    /// went backwards (driver reset, 32-bit wrap) also counts as movement.
    /// </summary>
    public static Reading Activity(NicCounters? previous, NicCounters? current) =>
        current is not { } c ? Unreadable : previous is not { } p ? FirstPoll : c != p ? Active : Idle;

    private static readonly Reading Active = new("active", true), Idle = new("active", false),
        Unreadable = Reading.Unknown("active", "rx_bytes/tx_bytes unreadable"),
        FirstPoll = Reading.Unknown("active", "first poll: the byte counters are compared from the second poll on");

    /// <summary>Maximum speed from a number in Mb/s (config, the fixture hook file or ethtool).</summary>
    public static Reading MaxSpeed(double mbps) => new("maxSpeedMbps", mbps, SpeedUnit);

    /// <summary>Parses the fixture hook file <c>healthagent_max_speed_mbps</c> (a positive decimal number of Mb/s).</summary>
    public static double? ParseMbps(string? text) =>
        long.TryParse(Trim(text), NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v > 0 ? v : null;

    /// <summary>
    /// Which interfaces are watched: every name matching <paramref name="include"/> whatever its kind; otherwise an
    /// interface with a backing device (/sys/class/net/&lt;if&gt;/device: not lo, bridges, bonds, tunnels, veth)
    /// that matches no <paramref name="exclude"/> glob.
    /// </summary>
    public static bool IsWatched(string name, bool hasDevice, IReadOnlyList<string> include, IReadOnlyList<string> exclude) =>
        NameGlob.Any(name, include) || (hasDevice && !NameGlob.Any(name, exclude));

    /// <summary>An unknown reading for a failed read; EINVAL on these attributes means the interface is administratively down.</summary>
    private static Reading? Failed(FileRead read, string name, string file, string? unit = null)
    {
        if (read.Error is not { } e) return null;
        if (e.StartsWith("EINVAL", StringComparison.Ordinal))
            e = "EINVAL (the kernel reports no value, e.g. while the interface is administratively down)";
        return Reading.Unknown(name, $"{file}: {e}", unit);
    }

    private static string Trim(string? t) => (t ?? "").Trim(' ', '\t', '\r', '\n', '\0');

    private static string Unparsable(string file, string t)
    {
        if (t.Length == 0) return $"{file}: empty (no value; fixtures use an empty file for a read error such as EINVAL)";
        var shown = t.Length > 32 ? t[..32] + "…" : t;
        return $"{file}: unparsable '{string.Concat(shown.Select(ch => char.IsControl(ch) ? '?' : ch))}'";
    }
}
