using System.Buffers.Binary;
using HealthAgent.Sources.Nic;

namespace HealthAgent.Tests.Sources.Nic;

public class EthtoolLinkModesTests
{
    private static uint[] Mask(params int[] bits)
    {
        var words = new uint[4];
        foreach (var b in bits) words[b / 32] |= 1u << (b % 32);
        return words;
    }

    [Fact]
    public void Table_CoversKernelEnumUpTo10baseT1BRR() => Assert.Equal(103, EthtoolLinkModes.KnownBits);

    [Theory]
    [InlineData(new[] { 0, 1, 2, 3, 5, 6, 7 }, 1000)]                // igb copper: 10/100/1000baseT, Autoneg, TP
    [InlineData(new[] { 5, 12, 6 }, 10000)]                          // 10GBASE-T
    [InlineData(new[] { 43, 41, 10 }, 10000)]                        // ixgbe SFP+: 10000baseSR, 1000baseX, FIBRE
    [InlineData(new[] { 31, 33, 43, 50 }, 25000)]                    // 25G SFP28 (bits past 31 need GLINKSETTINGS)
    [InlineData(new[] { 25, 23, 24 }, 40000)]
    [InlineData(new[] { 37, 31 }, 100000)]
    [InlineData(new[] { 47, 48, 5 }, 5000)]                           // NBASE-T 2.5/5G
    [InlineData(new[] { 15 }, 2500)]
    [InlineData(new[] { 97, 89 }, 800000)]
    public void MaxSpeed_SupportedBits_HighestSpeed(int[] bits, int expected) => Assert.Equal(expected, EthtoolLinkModes.MaxSpeedMbps(Mask(bits)));

    [Fact]
    public void MaxSpeed_NoSpeedBits_Null()
    {
        Assert.Null(EthtoolLinkModes.MaxSpeedMbps(Mask()));
        Assert.Null(EthtoolLinkModes.MaxSpeedMbps(Mask(6, 7, 13, 14, 49, 50))); // Autoneg, TP, Pause, FEC only
        Assert.Null(EthtoolLinkModes.MaxSpeedMbps(Mask(110, 127)));           // bits past the table are ignored
    }

    [Fact]
    public void Handshake_NegativeNwords_IsWordCount()
    {
        var answer = new byte[EthtoolLinkModes.HeaderSize];
        EthtoolLinkModes.WriteRequest(answer, 0);
        Assert.Equal(0x4cu, BinaryPrimitives.ReadUInt32LittleEndian(answer));
        Assert.Null(EthtoolLinkModes.HandshakeWords(answer)); // 0 is no answer
        answer[15] = unchecked((byte)(sbyte)-4);
        Assert.Equal(4, EthtoolLinkModes.HandshakeWords(answer));
        Assert.Null(EthtoolLinkModes.HandshakeWords(answer.AsSpan(0, 20)));
    }

    [Fact]
    public void Parse_SecondAnswer_SpeedAndSupported()
    {
        // struct ethtool_link_settings as an ixgbe-style 25G port answers: cmd 0x4c, speed 10000, nwords 4,
        // supported = {25000baseSR 33, 10000baseSR 43, 1000baseX 41}, advertising/lp_advertising ignored
        var n = 4;
        var b = new byte[EthtoolLinkModes.HeaderSize + 3 * 4 * n];
        BinaryPrimitives.WriteUInt32LittleEndian(b, 0x4c);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(4), 10000);
        b[15] = (byte)n;
        var supported = Mask(33, 43, 41);
        for (var i = 0; i < n; i++) BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(48 + 4 * i), supported[i]);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(48 + 4 * n), 0xffffffff); // advertising: must not count

        var s = EthtoolLinkModes.Parse(b)!;
        Assert.Equal(10000, s.SpeedMbps);
        Assert.Equal(25000, s.MaxSpeedMbps);
        Assert.Equal([33, 41, 43], s.SupportedBits.Order());
    }

    [Fact]
    public void Parse_TruncatedOrSpeedUnknown_NullOrUnknownSpeed()
    {
        var b = new byte[EthtoolLinkModes.HeaderSize + 12];
        b[15] = 1;
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(4), uint.MaxValue); // SPEED_UNKNOWN
        Assert.Null(EthtoolLinkModes.Parse(b)!.SpeedMbps);
        b[15] = 2; // claims more words than the buffer holds
        Assert.Null(EthtoolLinkModes.Parse(b));
        Assert.Null(EthtoolLinkModes.Parse(b.AsSpan(0, 10)));
    }
}
