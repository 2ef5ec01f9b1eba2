using System.Buffers.Binary;
using System.Text;
using HealthAgent.Sources.Nic;

namespace HealthAgent.Tests.Sources.Nic;

public class RtNetlinkParserTests
{
    /// <summary>Builds one nlmsghdr + ifinfomsg + rtattrs message the way the kernel lays it out (attributes padded to 4).</summary>
    internal static byte[] LinkMessage(ushort type, int index, uint flags, params (ushort Type, byte[] Payload)[] attrs)
    {
        var body = new List<byte>(new byte[16]);
        BinaryPrimitives.WriteInt32LittleEndian(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(body)[4..], index);
        BinaryPrimitives.WriteUInt32LittleEndian(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(body)[8..], flags);
        foreach (var (t, p) in attrs)
        {
            var a = new byte[RtNetlinkParser.Align(4 + p.Length)];
            BinaryPrimitives.WriteUInt16LittleEndian(a, (ushort)(4 + p.Length));
            BinaryPrimitives.WriteUInt16LittleEndian(a.AsSpan(2), t);
            p.CopyTo(a, 4);
            body.AddRange(a);
        }
        var msg = new byte[16 + body.Count];
        BinaryPrimitives.WriteUInt32LittleEndian(msg, (uint)msg.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(msg.AsSpan(4), type);
        body.CopyTo(msg, 16);
        return msg;
    }

    internal static (ushort, byte[]) Name(string n) => (RtNetlinkParser.IflaIfname, Encoding.ASCII.GetBytes(n + "\0"));

    // An RTM_NEWLINK for "eth0" going lowerlayerdown with carrier 0, written out byte by byte in the kernel's layout
    // (attribute order as rtnl_fill_ifinfo emits them), with IFLA_TXQLEN (13) and IFLA_MTU (4) that the parser skips.
    private static readonly byte[] Captured = Convert.FromHexString(
        "4c000000" + "1000" + "0000" + "00000000" + "00000000" +   // nlmsghdr: len 76, RTM_NEWLINK, flags 0, seq 0, pid 0
        "00000100" + "02000000" + "03100000" + "00000000" +         // ifinfomsg: AF_UNSPEC, ARPHRD_ETHER 1, index 2, flags UP|BROADCAST|MULTICAST, change 0
        "0900" + "0300" + "6574683000" + "000000" +                 // IFLA_IFNAME "eth0\0" + pad
        "0800" + "0d00" + "e8030000" +                              // IFLA_TXQLEN 1000
        "0500" + "1000" + "03" + "000000" +                         // IFLA_OPERSTATE 3 = lowerlayerdown
        "0800" + "0400" + "dc050000" +                              // IFLA_MTU 1500
        "0500" + "2100" + "00" + "000000");                         // IFLA_CARRIER 0

    [Fact]
    public void Parse_NewLinkBytes_NameOperstateCarrier()
    {
        var list = new List<LinkMessage>();
        var batch = RtNetlinkParser.Parse(Captured, list);
        Assert.Null(batch.Malformed);
        var m = Assert.Single(list);
        Assert.Equal(new LinkMessage(false, 2, 0x1003, "eth0", "lowerlayerdown", false), m);
    }

    [Fact]
    public void Parse_SeveralMessagesInOneDatagram_AllParsed()
    {
        var buf = LinkMessage(RtNetlinkParser.RtmNewLink, 5, 0x11043, Name("veth0"), (RtNetlinkParser.IflaOperstate, [6]), (RtNetlinkParser.IflaCarrier, [1]))
            .Concat(LinkMessage(RtNetlinkParser.RtmDelLink, 6, 0, Name("veth1"))).ToArray();
        var list = new List<LinkMessage>();
        var batch = RtNetlinkParser.Parse(buf, list);
        Assert.Equal(2, batch.Messages);
        Assert.Equal(new LinkMessage(false, 5, 0x11043, "veth0", "up", true), list[0]);
        Assert.Equal(new LinkMessage(true, 6, 0, "veth1", null, null), list[1]);
    }

    [Fact]
    public void Parse_NestedFlagOnType_Stripped()
    {
        var list = new List<LinkMessage>();
        RtNetlinkParser.Parse(LinkMessage(RtNetlinkParser.RtmNewLink, 1, 0, ((ushort)(0x8000 | RtNetlinkParser.IflaCarrier), [1])), list);
        Assert.Equal(true, list.Single().Carrier);
    }

    [Fact]
    public void Parse_OtherTypesAndOverrun_Flagged()
    {
        var err = new byte[36];
        BinaryPrimitives.WriteUInt32LittleEndian(err, 36);
        BinaryPrimitives.WriteUInt16LittleEndian(err.AsSpan(4), RtNetlinkParser.NlmsgError);
        BinaryPrimitives.WriteInt32LittleEndian(err.AsSpan(16), -RtNetlinkParser.Enobufs);
        var list = new List<LinkMessage>();
        Assert.True(RtNetlinkParser.Parse(err, list).Overrun);
        Assert.Empty(list);

        var newAddr = LinkMessage(20 /* RTM_NEWADDR */, 1, 0);
        Assert.False(RtNetlinkParser.Parse(newAddr, list).Overrun);
        Assert.Empty(list);
    }

    [Fact]
    public void Parse_TruncatedMessage_MalformedKeepsEarlier()
    {
        var good = LinkMessage(RtNetlinkParser.RtmNewLink, 1, 0, Name("eth0"));
        var bad = LinkMessage(RtNetlinkParser.RtmNewLink, 2, 0, Name("eth1"));
        var buf = good.Concat(bad[..(bad.Length - 6)]).ToArray(); // second one cut off: nlmsg_len exceeds what arrived
        var list = new List<LinkMessage>();
        var batch = RtNetlinkParser.Parse(buf, list);
        Assert.NotNull(batch.Malformed);
        Assert.Equal("eth0", Assert.Single(list).Name);
    }

    [Theory]
    [InlineData(0)]       // nlmsg_len 0 would loop forever if trusted
    [InlineData(8)]       // shorter than nlmsghdr
    [InlineData(1000)]    // longer than the buffer
    public void Parse_BadNlmsgLen_MalformedNoThrow(uint len)
    {
        var m = LinkMessage(RtNetlinkParser.RtmNewLink, 1, 0, Name("eth0"));
        BinaryPrimitives.WriteUInt32LittleEndian(m, len);
        var list = new List<LinkMessage>();
        Assert.NotNull(RtNetlinkParser.Parse(m, list).Malformed);
        Assert.Empty(list);
    }

    [Fact]
    public void Parse_BodyShorterThanIfinfomsg_Malformed()
    {
        var m = new byte[24];
        BinaryPrimitives.WriteUInt32LittleEndian(m, 24);
        BinaryPrimitives.WriteUInt16LittleEndian(m.AsSpan(4), RtNetlinkParser.RtmNewLink);
        Assert.NotNull(RtNetlinkParser.Parse(m, []).Malformed);
    }

    [Fact]
    public void Parse_BadAttributeLength_StopsAttributesKeepsMessage()
    {
        var m = LinkMessage(RtNetlinkParser.RtmNewLink, 3, 0, Name("eth0"), (RtNetlinkParser.IflaCarrier, [1]));
        BinaryPrimitives.WriteUInt16LittleEndian(m.AsSpan(32 + 12), 2); // carrier attr length 2 (< rtattr header)
        var list = new List<LinkMessage>();
        RtNetlinkParser.Parse(m, list);
        var link = Assert.Single(list);
        Assert.Equal("eth0", link.Name);
        Assert.Null(link.Carrier);
    }

    [Fact]
    public void Parse_OverlongNameOrBadOperstate_Ignored()
    {
        var m = LinkMessage(RtNetlinkParser.RtmNewLink, 3, 0, (RtNetlinkParser.IflaIfname, Encoding.ASCII.GetBytes("abcdefghijklmnopqrstuvwxyz")), (RtNetlinkParser.IflaOperstate, [200]));
        var list = new List<LinkMessage>();
        RtNetlinkParser.Parse(m, list);
        Assert.Null(list.Single().Name);
        Assert.Null(list.Single().OperState);
    }

    [Fact]
    public void Parse_RandomAndMutatedBytes_NeverThrows()
    {
        var rng = new Random(4711);
        var list = new List<LinkMessage>();
        var seed = Captured.Concat(LinkMessage(RtNetlinkParser.RtmDelLink, 9, 0, Name("x"))).ToArray();
        for (var i = 0; i < 20000; i++)
        {
            byte[] buf;
            if (i % 2 == 0)
            {
                buf = new byte[rng.Next(0, 200)];
                rng.NextBytes(buf);
            }
            else
            {
                buf = (byte[])seed.Clone();
                for (var k = rng.Next(1, 6); k > 0; k--) buf[rng.Next(buf.Length)] = (byte)rng.Next(256);
                buf = buf[..rng.Next(0, buf.Length + 1)];
            }
            list.Clear();
            var batch = RtNetlinkParser.Parse(buf, list);
            Assert.True(batch.Messages >= list.Count);
        }
    }
}
