using FsCheck;
using FsCheck.Fluent;
using HealthAgent.Mqtt.Encoding;
using static HealthAgent.Mqtt.Tests.Encoding.PacketSamples;

namespace HealthAgent.Mqtt.Tests.Encoding;

/// <summary>decode(encode(x)) = x, checked with FsCheck (Prop.ForAll + Check.One, as FsCheck.Xunit is unavailable).</summary>
public sealed class MqttPacketRoundTripTests
{
    private static readonly Config Quick = Config.QuickThrowOnFailure.WithMaxTest(2000);

    [Theory]
    [InlineData(MqttProtocolVersion.V500)]
    [InlineData(MqttProtocolVersion.V311)]
    public void DecodeEncode_RandomPackets_RoundTrip(MqttProtocolVersion v)
    {
        // FsCheck drives the seed; the packet is built from it deterministically, so a failure names a reproducible seed
        var packets = Gen.Choose(0, int.MaxValue).Select(seed => (seed, packet: RandomPacket(new Random(seed), v)));
        var prop = Prop.ForAll(packets.ToArbitrary(), sp =>
        {
            var bytes = Encode(sp.packet, v);
            var decoded = MqttPacketDecoder.Decode(bytes, v);
            return Render(decoded) == Render(sp.packet) && Encode(decoded, v).AsSpan().SequenceEqual(bytes);
        });
        Check.One(Quick, prop);
    }

    [Fact]
    public void VarInt_AllRanges_RoundTripWithMinimalLength()
    {
        var values = Gen.OneOf(Gen.Choose(0, 127), Gen.Choose(128, 16_383), Gen.Choose(16_384, 2_097_151), Gen.Choose(2_097_152, 268_435_455));
        var prop = Prop.ForAll(values.ToArbitrary(), n =>
        {
            using var w = new MqttBufferWriter();
            w.WriteVarInt((uint)n);
            var r = MqttBufferReader.TryReadVarInt(w.WrittenSpan, out var back, out var used);
            return r == 1 && back == (uint)n && used == w.Length && used == MqttBufferWriter.VarIntSize((uint)n);
        });
        Check.One(Quick, prop);
    }

    [Fact]
    public void String_WellFormedUnicode_RoundTrips()
    {
        var chars = Gen.Elements('a', 'Z', '/', ' ', 'é', 'ß', '中', '\u00A0', '\uFEFF', '\uFFFF');
        var strings = Gen.OneOf(
            Gen.ArrayOf(chars).Select(cs => new string(cs)),
            Gen.ArrayOf(Gen.Choose(0x10000, 0x10FFFF)).Select(cps => string.Concat(cps.Select(char.ConvertFromUtf32))));
        var prop = Prop.ForAll(strings.ToArbitrary(), s =>
        {
            using var w = new MqttBufferWriter();
            w.WriteString(s);
            var r = new MqttBufferReader(w.WrittenSpan);
            return r.ReadString() == s;
        });
        Check.One(Quick, prop);
    }
}
