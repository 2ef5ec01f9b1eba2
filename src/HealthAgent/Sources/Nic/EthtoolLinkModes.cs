using System.Buffers.Binary;

namespace HealthAgent.Sources.Nic;

/// <summary>What ETHTOOL_GLINKSETTINGS returned for one interface.</summary>
/// <param name="SpeedMbps">Current speed from the same call (SPEED_UNKNOWN -1 becomes null).</param>
/// <param name="Supported">The supported link-mode bitmap, <c>link_mode_masks_nwords</c> u32 words.</param>
public sealed record EthtoolLinkSettings(int? SpeedMbps, uint[] Supported)
{
    /// <summary>The highest speed among the supported link modes, or null when none of them has a speed.</summary>
    public int? MaxSpeedMbps => EthtoolLinkModes.MaxSpeedMbps(Supported);

    /// <summary>Indices of the supported link-mode bits that are set.</summary>
    public IEnumerable<int> SupportedBits => EthtoolLinkModes.Bits(Supported);
}

/// <summary>
/// The ethtool link-mode bitmap and <c>struct ethtool_link_settings</c> layout (include/uapi/linux/ethtool.h).
/// Pure: tests feed it byte fixtures; <see cref="Ethtool"/> does the ioctl.
/// </summary>
public static class EthtoolLinkModes
{
    /// <summary>SIOCETHTOOL (include/uapi/linux/sockios.h).</summary>
    public const uint SiocEthtool = 0x8946;
    /// <summary>ETHTOOL_GLINKSETTINGS (include/uapi/linux/ethtool.h): "Get ethtool_link_settings". Unlike the legacy ETHTOOL_GSET (32-bit masks) it sees 25G and up.</summary>
    public const uint GLinkSettings = 0x4c;
    /// <summary>sizeof(struct ethtool_link_settings) before the flexible link_mode_masks[] array.</summary>
    public const int HeaderSize = 48;
    /// <summary>Offset of <c>__s8 link_mode_masks_nwords</c>.</summary>
    public const int NwordsOffset = 15;
    /// <summary>nwords is an s8: the kernel never asks for more than 127 words.</summary>
    public const int MaxNwords = 127;

    // enum ethtool_link_mode_bit_indices (include/uapi/linux/ethtool.h, complete up to
    // ETHTOOL_LINK_MODE_10baseT1BRR_Full_BIT = 102): the speed in Mb/s of each bit, 0 for bits that are not a speed
    // (Autoneg 6, TP 7, AUI 8, MII 9, FIBRE 10, BNC 11, Pause 13, Asym_Pause 14, Backplane 16, 10000baseR_FEC 20,
    // FEC_NONE 49, FEC_RS 50, FEC_BASER 51, FEC_LLRS 74). Bits past the table are ignored.
    private static readonly int[] SpeedByBit =
    [
        10, 10, 100, 100, 1000, 1000, 0, 0, 0, 0,                               // 0-9: 10baseT_Half … 1000baseT_Full(5), Autoneg…MII
        0, 0, 10000, 0, 0, 2500, 0, 1000, 10000, 10000,                        // 10-19: FIBRE, BNC, 10000baseT_Full(12), Pause, Asym, 2500baseX(15), Backplane, 1000baseKX, 10000baseKX4, 10000baseKR
        0, 20000, 20000, 40000, 40000, 40000, 40000, 56000, 56000, 56000,      // 20-29: 10000baseR_FEC, 20000baseMLD2, 20000baseKR2, 40000baseKR4/CR4/SR4(25)/LR4, 56000baseKR4/CR4/SR4
        56000, 25000, 25000, 25000, 50000, 50000, 100000, 100000, 100000, 100000, // 30-39: 56000baseLR4, 25000baseCR(31)/KR/SR(33), 50000baseCR2/KR2, 100000baseKR4/SR4(37)/CR4/LR4_ER4
        50000, 1000, 10000, 10000, 10000, 10000, 10000, 2500, 5000, 0,         // 40-49: 50000baseSR2, 1000baseX, 10000baseCR/SR(43)/LR/LRM/ER, 2500baseT(47), 5000baseT(48), FEC_NONE
        0, 0, 50000, 50000, 50000, 50000, 50000, 100000, 100000, 100000,       // 50-59: FEC_RS, FEC_BASER, 50000baseKR/SR/CR/LR_ER_FR/DR, 100000baseKR2/SR2/CR2
        100000, 100000, 200000, 200000, 200000, 200000, 200000, 100, 1000, 400000, // 60-69: 100000baseLR2_ER2_FR2/DR2, 200000baseKR4/SR4/LR4_ER4_FR4/DR4/CR4, 100baseT1, 1000baseT1, 400000baseKR8
        400000, 400000, 400000, 400000, 0, 100000, 100000, 100000, 100000, 100000, // 70-79: 400000baseSR8/LR8_ER8_FR8/DR8/CR8, FEC_LLRS, 100000baseKR/SR/LR_ER_FR/CR/DR
        200000, 200000, 200000, 200000, 200000, 400000, 400000, 400000, 400000, 400000, // 80-89: 200000baseKR2/SR2/LR2_ER2_FR2/DR2/CR2, 400000baseKR4/SR4/LR4_ER4_FR4/DR4/CR4
        100, 100, 10, 800000, 800000, 800000, 800000, 800000, 800000, 10,      // 90-99: 100baseFX_Half/Full, 10baseT1L, 800000baseCR8/KR8/DR8/DR8_2/SR8/VR8, 10baseT1S_Full
        10, 10, 10,                                                            // 100-102: 10baseT1S_Half, 10baseT1S_P2MP_Half, 10baseT1BRR_Full
    ];

    /// <summary>Number of link-mode bits this table knows (__ETHTOOL_LINK_MODE_MASK_NBITS of the kernel it was written from).</summary>
    public static int KnownBits => SpeedByBit.Length;

    /// <summary>Speed in Mb/s of one link-mode bit; 0 when the bit is not a speed or not in the table.</summary>
    public static int SpeedOfBit(int bit) => bit >= 0 && bit < SpeedByBit.Length ? SpeedByBit[bit] : 0;

    /// <summary>The highest speed among the set bits of a link-mode bitmap (u32 words, bit n in word n/32), or null.</summary>
    public static int? MaxSpeedMbps(ReadOnlySpan<uint> words)
    {
        var max = 0;
        for (var w = 0; w < words.Length; w++)
        {
            var bits = words[w];
            while (bits != 0)
            {
                var b = System.Numerics.BitOperations.TrailingZeroCount(bits);
                bits &= bits - 1;
                max = Math.Max(max, SpeedOfBit(w * 32 + b));
            }
        }
        return max > 0 ? max : null;
    }

    public static IEnumerable<int> Bits(uint[] words)
    {
        for (var w = 0; w < words.Length; w++)
            for (var b = 0; b < 32; b++)
                if ((words[w] & (1u << b)) != 0) yield return w * 32 + b;
    }

    /// <summary>Writes the request header: cmd and the nwords to offer (0 for the first handshake call).</summary>
    public static void WriteRequest(Span<byte> buffer, sbyte nwords)
    {
        buffer[..HeaderSize].Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(buffer, GLinkSettings);
        buffer[NwordsOffset] = unchecked((byte)nwords);
    }

    /// <summary>
    /// After the first call (nwords 0) the kernel answers with <c>link_mode_masks_nwords = -n</c>, the number of
    /// words it wants (ethtool.h: "the kernel ... returns ... link_mode_masks_nwords set to -n"). Returns n, or null
    /// when the answer is not a handshake (a positive or zero value: a broken driver or a kernel we do not know).
    /// </summary>
    public static int? HandshakeWords(ReadOnlySpan<byte> answer)
    {
        if (answer.Length < HeaderSize) return null;
        var n = unchecked((sbyte)answer[NwordsOffset]);
        return n < 0 ? -n : null;
    }

    /// <summary>Parses the second answer: speed (u32 at 4) and supported[nwords] right after the 48-byte header.</summary>
    public static EthtoolLinkSettings? Parse(ReadOnlySpan<byte> answer)
    {
        if (answer.Length < HeaderSize) return null;
        var n = unchecked((sbyte)answer[NwordsOffset]);
        if (n <= 0 || answer.Length < HeaderSize + 3 * 4 * n) return null;
        var speed = BinaryPrimitives.ReadUInt32LittleEndian(answer[4..]);
        var supported = new uint[n];
        for (var i = 0; i < n; i++) supported[i] = BinaryPrimitives.ReadUInt32LittleEndian(answer[(HeaderSize + 4 * i)..]);
        // SPEED_UNKNOWN is (__u32)-1
        return new EthtoolLinkSettings(speed is 0 or uint.MaxValue or > int.MaxValue ? null : (int)speed, supported);
    }
}
