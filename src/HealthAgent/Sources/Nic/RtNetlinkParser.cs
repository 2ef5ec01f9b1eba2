using System.Buffers.Binary;

namespace HealthAgent.Sources.Nic;

/// <summary>One RTM_NEWLINK / RTM_DELLINK message: which interface, and the link facts it carried (null when absent).</summary>
/// <param name="Removed">RTM_DELLINK: the interface is gone.</param>
/// <param name="Flags">ifi_flags (IFF_UP 0x1, IFF_RUNNING 0x40, IFF_LOWER_UP 0x10000).</param>
/// <param name="OperState">IFLA_OPERSTATE as the sysfs word (up, lowerlayerdown, …).</param>
public sealed record LinkMessage(bool Removed, int Index, uint Flags, string? Name, string? OperState, bool? Carrier);

/// <summary>What one receive buffer held besides link messages.</summary>
/// <param name="Malformed">Set when parsing stopped at a bad length; the messages before it are kept.</param>
/// <param name="Overrun">NLMSG_OVERRUN or an NLMSG_ERROR of ENOBUFS: events were lost, re-read everything.</param>
public readonly record struct NetlinkBatch(int Messages, string? Malformed, bool Overrun);

/// <summary>
/// Pure rtnetlink parsing (include/uapi/linux/netlink.h, rtnetlink.h, if_link.h): nlmsghdr (16 B), ifinfomsg (16 B),
/// then rtattrs aligned to 4. Fuzz-safe: every length is checked against what is left; a bad length ends the buffer
/// with <see cref="NetlinkBatch.Malformed"/>, never an exception.
/// </summary>
public static class RtNetlinkParser
{
    public const ushort NlmsgError = 2, NlmsgDone = 3, NlmsgOverrun = 4;
    public const ushort RtmNewLink = 16, RtmDelLink = 17;
    public const ushort IflaIfname = 3, IflaOperstate = 16, IflaCarrier = 33;
    public const int NlmsgHdrLen = 16, IfinfomsgLen = 16, RtaHdrLen = 4;
    /// <summary>ENOBUFS (include/uapi/asm-generic/errno.h): the socket's receive buffer overflowed.</summary>
    public const int Enobufs = 105;

    /// <summary>NLMSG_ALIGN / RTA_ALIGN: round up to 4.</summary>
    public static int Align(int len) => (len + 3) & ~3;

    /// <summary>Parses every message in <paramref name="buffer"/>, appending link messages to <paramref name="into"/>.</summary>
    public static NetlinkBatch Parse(ReadOnlySpan<byte> buffer, List<LinkMessage> into)
    {
        var count = 0;
        var overrun = false;
        var offset = 0;
        while (buffer.Length - offset >= NlmsgHdrLen)
        {
            var msg = buffer[offset..];
            var len = BinaryPrimitives.ReadUInt32LittleEndian(msg);
            var type = BinaryPrimitives.ReadUInt16LittleEndian(msg[4..]);
            if (len < NlmsgHdrLen || len > (uint)msg.Length)
                return new NetlinkBatch(count, $"nlmsghdr at offset {offset}: length {len} with {msg.Length} bytes left", overrun);
            var body = msg[NlmsgHdrLen..(int)len];
            count++;
            switch (type)
            {
                case RtmNewLink or RtmDelLink:
                    if (ParseLink(type == RtmDelLink, body) is { } link) into.Add(link);
                    else return new NetlinkBatch(count, $"{(type == RtmNewLink ? "RTM_NEWLINK" : "RTM_DELLINK")} at offset {offset}: body of {body.Length} bytes is shorter than ifinfomsg", overrun);
                    break;
                case NlmsgOverrun:
                    overrun = true;
                    break;
                case NlmsgError when body.Length >= 4:
                    // struct nlmsgerr { int error; ... }: negative errno, 0 = ACK
                    if (-BinaryPrimitives.ReadInt32LittleEndian(body) == Enobufs) overrun = true;
                    break;
            }
            var next = Align((int)len);
            if (next <= 0 || next > buffer.Length - offset) break; // last message (its padding may be absent)
            offset += next;
        }
        return new NetlinkBatch(count, null, overrun);
    }

    /// <summary>ifinfomsg { u8 family; u8 pad; u16 type; s32 index; u32 flags; u32 change; } then rtattrs.</summary>
    private static LinkMessage? ParseLink(bool removed, ReadOnlySpan<byte> body)
    {
        if (body.Length < IfinfomsgLen) return null;
        var index = BinaryPrimitives.ReadInt32LittleEndian(body[4..]);
        var flags = BinaryPrimitives.ReadUInt32LittleEndian(body[8..]);
        string? name = null, oper = null;
        bool? carrier = null;
        var attrs = body[IfinfomsgLen..];
        while (attrs.Length >= RtaHdrLen)
        {
            var rlen = BinaryPrimitives.ReadUInt16LittleEndian(attrs);
            var rtype = BinaryPrimitives.ReadUInt16LittleEndian(attrs[2..]) & 0x3fff; // strip NLA_F_NESTED / NLA_F_NET_BYTEORDER
            if (rlen < RtaHdrLen || rlen > attrs.Length) break; // a bad attribute ends the list; what was read stays
            var payload = attrs[RtaHdrLen..rlen];
            switch (rtype)
            {
                case IflaIfname:
                    var nul = payload.IndexOf((byte)0);
                    var raw = nul >= 0 ? payload[..nul] : payload;
                    if (raw.Length is > 0 and < 16) name = System.Text.Encoding.ASCII.GetString(raw);
                    break;
                case IflaOperstate when payload.Length >= 1:
                    // IF_OPER_* (include/uapi/linux/if.h): the same order as the sysfs operstate words
                    oper = payload[0] < NicParser.OperStates.Count ? NicParser.OperStates[payload[0]] : null;
                    break;
                case IflaCarrier when payload.Length >= 1:
                    carrier = payload[0] != 0;
                    break;
            }
            var step = Align(rlen);
            if (step > attrs.Length) break;
            attrs = attrs[step..];
        }
        return new LinkMessage(removed, index, flags, name, oper, carrier);
    }
}
