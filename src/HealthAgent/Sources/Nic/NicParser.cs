using System.Buffers.Text;
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
    public static Reading Carrier(ReadOnlySpan<byte> text)
    {
        var t = Trim(text);
        if (t.Length == 1 && t[0] is (byte)'0' or (byte)'1') return new Reading("carrier", t[0] == (byte)'1');
        return Reading.Unknown("carrier", Unparsable("carrier", t));
    }

    /// <summary>
    /// speed in Mb/s. SPEED_UNKNOWN is -1 (include/uapi/linux/ethtool.h); older kernels print it as 65535 or
    /// 4294967295 (the same value read as u16/u32). virtio and some bonds report it while the link is up.
    /// </summary>
    public static Reading Speed(ReadOnlySpan<byte> text)
    {
        var t = Trim(text);
        if (!Utf8Parser.TryParse(t, out long v, out var used) || used != t.Length)
            return Reading.Unknown("speedMbps", Unparsable("speed", t), SpeedUnit);
        if (v is <= 0 or 65535 or 4294967295)
            return Reading.Unknown("speedMbps", $"the driver reports speed {v} (SPEED_UNKNOWN)", SpeedUnit);
        return new Reading("speedMbps", (double)v, SpeedUnit);
    }

    /// <summary>duplex: "full", "half" or "unknown" (DUPLEX_UNKNOWN).</summary>
    public static Reading Duplex(ReadOnlySpan<byte> text)
    {
        var t = Trim(text);
        if (t.SequenceEqual("full"u8)) return new Reading("duplex", "full");
        if (t.SequenceEqual("half"u8)) return new Reading("duplex", "half");
        if (t.SequenceEqual("unknown"u8)) return Reading.Unknown("duplex", "the driver reports duplex unknown");
        return Reading.Unknown("duplex", Unparsable("duplex", t));
    }

    /// <summary>operstate: one of <see cref="OperStates"/>. The kernel's own "unknown" is a value, not a failure.</summary>
    public static Reading OperState(ReadOnlySpan<byte> text)
    {
        var t = Trim(text);
        foreach (var s in OperStates)
            if (t.Length == s.Length && System.Text.Ascii.Equals(t, s)) return new Reading("operstate", s);
        return Reading.Unknown("operstate", Unparsable("operstate", t));
    }

    /// <summary>A decimal counter (statistics/*, carrier_changes, carrier_up_count, carrier_down_count).</summary>
    public static bool TryCounter(ReadOnlySpan<byte> text, out ulong value)
    {
        var t = Trim(text);
        return Utf8Parser.TryParse(t, out value, out var used) && used == t.Length && t.Length > 0;
    }

    /// <summary>A counter reading; <paramref name="file"/> names the attribute in the reason.</summary>
    public static Reading Counter(string name, string file, ReadOnlySpan<byte> text, string? unit = null) =>
        TryCounter(text, out var v) ? new Reading(name, (double)v, unit) : Reading.Unknown(name, Unparsable(file, Trim(text)), unit);

    /// <summary>
    /// Activity: whether the byte counters moved since the previous poll. Unknown on the first poll (nothing to
    /// compare with) rather than "idle", so the LED does not flap from off to blinking at start-up. A counter that
    /// went backwards (driver reset, 32-bit wrap) also counts as movement.
    /// </summary>
    public static Reading Activity(NicCounters? previous, NicCounters? current)
    {
        if (current is not { } c) return Reading.Unknown("active", "rx_bytes/tx_bytes unreadable");
        if (previous is not { } p) return Reading.Unknown("active", "first poll: activity is known from the second poll on (byte counters are compared between polls)");
        return new Reading("active", c != p);
    }

    /// <summary>Maximum speed from a number in Mb/s (config or the fixture hook file).</summary>
    public static Reading MaxSpeed(double mbps, string source) => new("maxSpeedMbps", mbps, SpeedUnit, source);

    /// <summary>Parses the fixture hook file <c>healthagent_max_speed_mbps</c> (a positive decimal number of Mb/s).</summary>
    public static double? ParseMbps(ReadOnlySpan<byte> text)
    {
        var t = Trim(text);
        return Utf8Parser.TryParse(t, out long v, out var used) && used == t.Length && v > 0 ? v : null;
    }

    /// <summary>
    /// Which interfaces are watched: every name matching <paramref name="include"/> whatever its kind; otherwise an
    /// interface with a backing device (/sys/class/net/&lt;if&gt;/device: not lo, bridges, bonds, tunnels, veth)
    /// that matches no <paramref name="exclude"/> glob.
    /// </summary>
    public static bool IsWatched(string name, bool hasDevice, IReadOnlyList<string> include, IReadOnlyList<string> exclude)
    {
        foreach (var g in include) if (GlobMatch(g, name)) return true;
        if (!hasDevice) return false;
        foreach (var g in exclude) if (GlobMatch(g, name)) return false;
        return true;
    }

    /// <summary>Shell-style name glob: <c>*</c> any run of characters, <c>?</c> one character; case-sensitive like interface names.</summary>
    public static bool GlobMatch(ReadOnlySpan<char> glob, ReadOnlySpan<char> name)
    {
        int g = 0, n = 0, star = -1, mark = 0;
        while (n < name.Length)
        {
            if (g < glob.Length && (glob[g] == '?' || glob[g] == name[n])) { g++; n++; }
            else if (g < glob.Length && glob[g] == '*') { star = g++; mark = n; }
            else if (star >= 0) { g = star + 1; n = ++mark; }
            else return false;
        }
        while (g < glob.Length && glob[g] == '*') g++;
        return g == glob.Length;
    }

    private static ReadOnlySpan<byte> Trim(ReadOnlySpan<byte> t) => t.Trim(" \t\r\n\0"u8);

    private static string Unparsable(string file, ReadOnlySpan<byte> t)
    {
        if (t.Length == 0) return $"{file}: empty (no value; fixtures use an empty file for a read error such as EINVAL)";
        var shown = t.Length > 32 ? t[..32] : t;
        var s = System.Text.Encoding.UTF8.GetString(shown);
        var clean = string.Concat(s.Select(ch => char.IsControl(ch) ? '?' : ch));
        return $"{file}: unparsable '{clean}{(t.Length > 32 ? "…" : "")}'";
    }
}
