using HealthAgent.Mqtt.Encoding;
using HealthAgent.Mqtt.Transport;
using static HealthAgent.Mqtt.Tests.Encoding.PacketSamples;

namespace HealthAgent.Mqtt.Tests.Encoding;

/// <summary>Strict decoding: each rule, then a fuzz run of random and mutated packets.</summary>
public sealed class MqttPacketDecoderTests
{
    [Theory]
    [InlineData("30 80 00", MqttReasonCode.MalformedPacket)]                    // VBI not minimal [MQTT-1.5.5-1]
    [InlineData("30 FF FF FF FF 01", MqttReasonCode.MalformedPacket)]           // VBI of 5 bytes
    [InlineData("36 05 00 01 61 00 01", MqttReasonCode.MalformedPacket)]        // QoS 3 [MQTT-3.3.1-4]
    [InlineData("38 04 00 01 61 00", MqttReasonCode.MalformedPacket)]           // DUP on QoS 0 [MQTT-3.3.1-2]
    [InlineData("32 05 00 01 61 00 00", MqttReasonCode.MalformedPacket)]        // packet id 0 [MQTT-2.2.1-3]
    [InlineData("30 04 00 01 2B 00", MqttReasonCode.TopicNameInvalid)]          // '+' in a topic name [MQTT-3.3.2-2]
    [InlineData("30 04 00 01 00 00", MqttReasonCode.MalformedPacket)]           // U+0000 [MQTT-1.5.4-2]
    [InlineData("30 06 00 03 ED A0 80 00", MqttReasonCode.MalformedPacket)]     // encoded surrogate [MQTT-1.5.4-1]
    [InlineData("30 05 00 02 C0 AF 00", MqttReasonCode.MalformedPacket)]        // overlong UTF-8
    [InlineData("60 02 00 01", MqttReasonCode.MalformedPacket)]                 // PUBREL flags 0000 [MQTT-2.1.3-1]
    [InlineData("41 02 00 01", MqttReasonCode.MalformedPacket)]                 // PUBACK flags 0001
    [InlineData("80 06 00 01 00 01 61 01", MqttReasonCode.MalformedPacket)]     // SUBSCRIBE flags 0000
    [InlineData("82 03 00 01 00", MqttReasonCode.ProtocolError)]                // SUBSCRIBE without filters [MQTT-3.8.3-2]
    [InlineData("20 03 00 00 00 00", MqttReasonCode.MalformedPacket)]           // trailing byte
    [InlineData("20 06 00 00 03 21 00 00", MqttReasonCode.ProtocolError)]       // Receive Maximum 0
    [InlineData("20 09 00 00 06 21 00 01 21 00 02", MqttReasonCode.ProtocolError)] // property twice
    [InlineData("20 05 00 00 02 23 00", MqttReasonCode.MalformedPacket)]        // Topic Alias not allowed in CONNACK (and truncated)
    [InlineData("20 06 00 00 03 23 00 01", MqttReasonCode.MalformedPacket)]     // Topic Alias not allowed in CONNACK
    [InlineData("20 04 02 00 00", MqttReasonCode.MalformedPacket)]              // CONNACK reserved flag bits [MQTT-3.2.2-1]
    [InlineData("00 00", MqttReasonCode.MalformedPacket)]                       // packet type 0
    public void Decode_Violation_ThrowsWithReasonCode(string hex, MqttReasonCode expected)
    {
        var ex = Assert.Throws<MqttProtocolException>(() => MqttPacketDecoder.Decode(Hex(hex), MqttProtocolVersion.V500));
        Assert.Equal(expected, ex.ReasonCode);
    }

    [Fact]
    public void Decode_AuthUnderV311_IsMalformed()
    {
        var ex = Assert.Throws<MqttProtocolException>(() => MqttPacketDecoder.Decode(Hex("F0 00"), MqttProtocolVersion.V311));
        Assert.Equal(MqttReasonCode.MalformedPacket, ex.ReasonCode);
    }

    [Fact]
    public void TryReadFixedHeader_AboveMaximum_PacketTooLargeBeforeBuffering()
    {
        var ex = Assert.Throws<MqttProtocolException>(() => MqttPacketDecoder.TryReadFixedHeader(Hex("30 FF FF FF 7F"), 1 << 20, out _, out _, out _));
        Assert.Equal(MqttReasonCode.PacketTooLarge, ex.ReasonCode);
    }

    [Fact]
    public async Task PacketReader_HugeClaimedLengthThenEof_AllocatesOnlyWhatArrived()
    {
        // claims 268 MB (protocol limit, no configured maximum) but sends 10 bytes
        var bytes = Hex("30 FF FF FF 7F 00 01 61 01 02 03 04 05 06 07");
        using var reader = new MqttPacketReader(new MemoryStream(bytes), 0);
        var before = GC.GetAllocatedBytesForCurrentThread();
        await Assert.ThrowsAsync<EndOfStreamException>(async () => await reader.ReadAsync(CancellationToken.None));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20, "reader allocated the claimed size up front");
    }

    /// <summary>
    /// ≥ 100,000 inputs: mutated valid packets (bit flips, byte changes, truncation, insertion, length tampering) and
    /// random bytes, in both versions, through the packet decoder and the stream framer. Only MqttProtocolException
    /// (or end of stream) may come out; memory stays bounded.
    /// </summary>
    [Fact]
    public async Task Decode_100kRandomAndMutatedPackets_OnlyProtocolExceptionsAndBoundedMemory()
    {
        var r = new Random(20261121);
        var seeds = new List<byte[]>();
        foreach (var v in new[] { MqttProtocolVersion.V500, MqttProtocolVersion.V311 })
            for (var i = 0; i < 300; i++) seeds.Add(Encode(RandomPacket(r, v), v));
        var memoryBefore = GC.GetTotalMemory(true);
        int accepted = 0, rejected = 0;
        for (var i = 0; i < 100_000; i++)
        {
            var v = (i & 1) == 0 ? MqttProtocolVersion.V500 : MqttProtocolVersion.V311;
            var input = i % 10 < 7 ? Mutate(r, seeds[r.Next(seeds.Count)]) : RandomBytes(r);
            try
            {
                MqttPacketDecoder.Decode(input, v, maximumPacketSize: 64 * 1024);
                accepted++;
            }
            catch (MqttProtocolException)
            {
                rejected++;
            }
        }
        // the stream framer over concatenated garbage: terminates, never throws anything else
        for (var i = 0; i < 2_000; i++)
        {
            var stream = new MemoryStream([.. Mutate(r, seeds[r.Next(seeds.Count)]), .. RandomBytes(r), .. seeds[r.Next(seeds.Count)]]);
            using var reader = new MqttPacketReader(stream, 64 * 1024);
            try
            {
                for (var n = 0; n < 1000; n++)
                {
                    var (first, body) = await reader.ReadAsync(CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(5));
                    try { MqttPacketDecoder.Decode(first, body.Span, MqttProtocolVersion.V500); }
                    catch (MqttProtocolException) { }
                }
            }
            catch (EndOfStreamException) { }
            catch (MqttProtocolException) { }
        }
        Assert.True(accepted > 100 && rejected > 10_000, $"accepted {accepted}, rejected {rejected}");
        var growth = GC.GetTotalMemory(true) - memoryBefore;
        Assert.True(growth < 64 << 20, $"memory grew by {growth} bytes");
    }

    private static byte[] RandomBytes(Random r)
    {
        var b = new byte[r.Next(0, 64)];
        r.NextBytes(b);
        if (b.Length > 0 && r.Next(2) == 0) b[0] = (byte)(r.Next(16) << 4 | (r.Next(4) == 0 ? r.Next(16) : 0));
        return b;
    }

    private static byte[] Mutate(Random r, byte[] seed)
    {
        var b = seed.ToList();
        var edits = r.Next(1, 4);
        for (var e = 0; e < edits && b.Count > 0; e++)
        {
            var at = r.Next(b.Count);
            switch (r.Next(6))
            {
                case 0: b[at] ^= (byte)(1 << r.Next(8)); break;
                case 1: b[at] = (byte)r.Next(256); break;
                case 2: b.RemoveRange(at, b.Count - at); break;
                case 3: b.Insert(at, (byte)r.Next(256)); break;
                case 4: b.RemoveAt(at); break;
                default: if (b.Count > 1) b[1] = (byte)r.Next(256); break; // tamper with the remaining length
            }
        }
        return [.. b];
    }
}
