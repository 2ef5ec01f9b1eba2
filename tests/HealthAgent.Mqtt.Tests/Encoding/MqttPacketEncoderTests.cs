using HealthAgent.Mqtt.Encoding;
using HealthAgent.Mqtt.Packets;
using static HealthAgent.Mqtt.Tests.Encoding.PacketSamples;

namespace HealthAgent.Mqtt.Tests.Encoding;

/// <summary>Golden bytes for every packet type in both versions, worked out by hand from the specifications.</summary>
public sealed class MqttPacketEncoderTests
{
    public static TheoryData<string, MqttProtocolVersion, string> Golden()
    {
        var d = new TheoryData<string, MqttProtocolVersion, string>();
        const MqttProtocolVersion V3 = MqttProtocolVersion.V311, V5 = MqttProtocolVersion.V500;
        // CONNECT 3.1.1: "MQTT" level 4, flags user|password|clean = C2, keep-alive 60, id "c1", user "u", password "p"
        d.Add("connect", V3, "10 14 00 04 4D 51 54 54 04 C2 00 3C 00 02 63 31 00 01 75 00 01 70");
        // CONNECT 5: flags clean|will|will QoS 1|will retain = 2E; session expiry 10; will delay 5; will topic "w" payload "x"
        d.Add("connect", V5, "10 20 00 04 4D 51 54 54 05 2E 00 3C 05 11 00 00 00 0A 00 02 63 31 05 18 00 00 00 05 00 01 77 00 01 78");
        d.Add("connack", V3, "20 02 01 00");
        d.Add("connack", V5, "20 06 00 00 03 21 00 14");               // Receive Maximum 20
        d.Add("publish", V3, "32 09 00 03 61 2F 62 00 0A 68 69");       // QoS 1, "a/b", id 10, "hi"
        d.Add("publish", V5, "31 09 00 01 61 04 03 00 01 74 78");       // QoS 0 retain, "a", content type "t", "x"
        d.Add("puback", V3, "40 02 00 01");
        d.Add("puback", V5, "40 03 00 01 87");                         // 0x87 Not authorized
        d.Add("pubrec", V3, "50 02 00 02");
        d.Add("pubrec", V5, "50 02 00 02");                            // success without properties: length 2
        d.Add("pubrel", V3, "62 02 00 02");                            // reserved flags 0010 [MQTT-2.1.3-1]
        d.Add("pubrel", V5, "62 03 00 02 92");                         // 0x92 Packet Identifier not found
        d.Add("pubcomp", V3, "70 02 00 02");
        d.Add("pubcomp", V5, "70 02 00 02");
        d.Add("subscribe", V3, "82 08 00 01 00 03 61 2F 23 01");
        d.Add("subscribe", V5, "82 09 00 01 00 00 03 61 2F 23 1D");     // QoS 1 | No Local | RAP | Retain Handling 1
        d.Add("suback", V3, "90 04 00 01 01 80");
        d.Add("suback", V5, "90 04 00 01 00 87");
        d.Add("unsubscribe", V3, "A2 05 00 02 00 01 61");
        d.Add("unsubscribe", V5, "A2 06 00 02 00 00 01 61");
        d.Add("unsuback", V3, "B0 02 00 02");
        d.Add("unsuback", V5, "B0 04 00 02 00 11");                    // 0x11 No subscription existed
        d.Add("pingreq", V3, "C0 00");
        d.Add("pingreq", V5, "C0 00");
        d.Add("pingresp", V3, "D0 00");
        d.Add("pingresp", V5, "D0 00");
        d.Add("disconnect", V3, "E0 00");
        d.Add("disconnect", V5, "E0 01 04");                           // Disconnect with Will Message
        d.Add("auth", V5, "F0 06 18 04 15 00 01 6D");                  // Continue authentication, method "m"
        return d;
    }

    private static MqttPacket Sample(string name, MqttProtocolVersion v)
    {
        var v5 = v == MqttProtocolVersion.V500;
        return name switch
        {
            "connect" when !v5 => new ConnectPacket { ProtocolVersion = v, ClientId = "c1", CleanStart = true, KeepAlive = 60, Username = "u", Password = "p"u8.ToArray() },
            "connect" => new ConnectPacket
            {
                ProtocolVersion = v, ClientId = "c1", CleanStart = true, KeepAlive = 60, HasWill = true, WillTopic = "w", WillPayload = "x"u8.ToArray(),
                WillQos = MqttQos.AtLeastOnce, WillRetain = true, Properties = { SessionExpiryInterval = 10 }, WillProperties = { WillDelayInterval = 5 },
            },
            "connack" when !v5 => new ConnAckPacket { SessionPresent = true },
            "connack" => new ConnAckPacket { Properties = { ReceiveMaximum = 20 } },
            "publish" when !v5 => new PublishPacket { Topic = "a/b", Qos = MqttQos.AtLeastOnce, PacketId = 10, Payload = "hi"u8.ToArray() },
            "publish" => new PublishPacket { Topic = "a", Retain = true, Payload = "x"u8.ToArray(), Properties = { ContentType = "t" } },
            "puback" => new PubAckPacket(MqttPacketType.PubAck) { PacketId = 1, ReasonCode = v5 ? (byte)0x87 : (byte)0 },
            "pubrec" => new PubAckPacket(MqttPacketType.PubRec) { PacketId = 2 },
            "pubrel" => new PubAckPacket(MqttPacketType.PubRel) { PacketId = 2, ReasonCode = v5 ? (byte)0x92 : (byte)0 },
            "pubcomp" => new PubAckPacket(MqttPacketType.PubComp) { PacketId = 2 },
            "subscribe" when !v5 => new SubscribePacket { PacketId = 1, Filters = [new MqttTopicFilter("a/#", MqttQos.AtLeastOnce)] },
            "subscribe" => new SubscribePacket { PacketId = 1, Filters = [new MqttTopicFilter("a/#", MqttQos.AtLeastOnce, true, true, 1)] },
            "suback" => new SubAckPacket { PacketId = 1, ReasonCodes = v5 ? [0x87] : [1, 0x80] },
            "unsubscribe" => new UnsubscribePacket { PacketId = 2, Filters = ["a"] },
            "unsuback" => new UnsubAckPacket { PacketId = 2, ReasonCodes = v5 ? [0x11] : [] },
            "pingreq" => PingReqPacket.Instance,
            "pingresp" => PingRespPacket.Instance,
            "disconnect" => new DisconnectPacket { ReasonCode = v5 ? (byte)4 : (byte)0 },
            "auth" => new AuthPacket { ReasonCode = 0x18, Properties = { AuthenticationMethod = "m" } },
            _ => throw new ArgumentException(name),
        };
    }

    [Theory]
    [MemberData(nameof(Golden))]
    public void Encode_EveryPacketType_MatchesGoldenBytes(string name, MqttProtocolVersion v, string hex)
    {
        Assert.Equal(hex, ToHex(Encode(Sample(name, v), v)));
    }

    [Theory]
    [MemberData(nameof(Golden))]
    public void Decode_GoldenBytes_GivesTheSamplePacket(string name, MqttProtocolVersion v, string hex)
    {
        var decoded = MqttPacketDecoder.Decode(Hex(hex), v);
        Assert.Equal(Render(Sample(name, v)), Render(decoded));
    }

    [Fact]
    public void EncodePublish_FromApplicationMessage_SameBytesAsPacketEncoder()
    {
        var m = new MqttApplicationMessage
        {
            Topic = "t/1", Payload = "payload"u8.ToArray(), Qos = MqttQos.AtLeastOnce, Retain = true, ContentType = "text/plain",
            MessageExpirySeconds = 60, ResponseTopic = "r/1", CorrelationData = new byte[] { 1, 2 }, PayloadIsUtf8 = true,
            UserProperties = [new("k", "v"), new("k", "v2")],
        };
        var p = new PublishPacket
        {
            Topic = "t/1", Payload = "payload"u8.ToArray(), Qos = MqttQos.AtLeastOnce, Retain = true, PacketId = 5, Dup = true,
            Properties = { ContentType = "text/plain", MessageExpiryInterval = 60, ResponseTopic = "r/1", CorrelationData = new byte[] { 1, 2 }, PayloadFormatIndicator = 1, UserProperties = [new("k", "v"), new("k", "v2")] },
        };
        foreach (var v in new[] { MqttProtocolVersion.V311, MqttProtocolVersion.V500 })
        {
            using var w = new MqttBufferWriter();
            MqttPacketEncoder.EncodePublish(w, v, m, 5, dup: true);
            Assert.Equal(ToHex(Encode(p, v)), ToHex(w.ToArray()));
        }
    }

    [Theory]
    [InlineData(0u, "00")]
    [InlineData(127u, "7F")]
    [InlineData(128u, "80 01")]
    [InlineData(16_383u, "FF 7F")]
    [InlineData(16_384u, "80 80 01")]
    [InlineData(2_097_151u, "FF FF 7F")]
    [InlineData(2_097_152u, "80 80 80 01")]
    [InlineData(268_435_455u, "FF FF FF 7F")]
    public void WriteVarInt_SpecExamples_MatchTable(uint value, string hex)
    {
        using var w = new MqttBufferWriter();
        w.WriteVarInt(value);
        Assert.Equal(hex, ToHex(w.ToArray()));
    }

    [Fact]
    public void WriteString_IllFormed_Throws()
    {
        // built in code: xunit would replace lone surrogates in serialised theory data
        foreach (var s in new[] { "a\0b", "\ud800", "x\udc00y", new string('\ud83d', 1) + "z" })
        {
            using var w = new MqttBufferWriter();
            Assert.Throws<ArgumentException>(() => w.WriteString(s)); // [MQTT-1.5.4-1], [MQTT-1.5.4-2]
        }
    }

    [Theory]
    [InlineData("a/b", true)]
    [InlineData("", false)]
    [InlineData("a/+", false)]
    [InlineData("a/#", false)]
    public void IsValidTopicName_Cases_AsSpecified(string topic, bool valid) => Assert.Equal(valid, MqttTopic.IsValidTopicName(topic));

    [Theory]
    [InlineData("#", true)]
    [InlineData("a/#", true)]
    [InlineData("+/a/+", true)]
    [InlineData("+", true)]
    [InlineData("a/#/b", false)]
    [InlineData("a#", false)]
    [InlineData("a+/b", false)]
    [InlineData("", false)]
    public void IsValidTopicFilter_Cases_AsSpecified(string filter, bool valid) => Assert.Equal(valid, MqttTopic.IsValidTopicFilter(filter));

    [Theory]
    [InlineData("#", "$SYS/x", false)]  // [MQTT-4.7.2-1]
    [InlineData("$SYS/#", "$SYS/x", true)]
    [InlineData("a/+/c", "a/b/c", true)]
    [InlineData("a/#", "a", true)]
    [InlineData("a/+", "a/b/c", false)]
    public void Matches_Cases_AsSpecified(string filter, string topic, bool match) => Assert.Equal(match, MqttTopic.Matches(filter, topic));
}
