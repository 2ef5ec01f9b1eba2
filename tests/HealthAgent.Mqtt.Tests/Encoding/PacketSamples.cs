using System.Text.Json;
using HealthAgent.Mqtt.Encoding;
using HealthAgent.Mqtt.Packets;

namespace HealthAgent.Mqtt.Tests.Encoding;

/// <summary>Random valid packets (seeded) and helpers shared by the property, golden and fuzz tests.</summary>
internal static class PacketSamples
{
    private static readonly JsonSerializerOptions Json = new() { IncludeFields = false };
    private static readonly string[] Pieces = ["a", "b", "sensor", "é", "中文", "😀", "x y", "$SYS", "0", "-", "ünï", "long-level-name"];

    public static byte[] Encode(MqttPacket p, MqttProtocolVersion v)
    {
        using var w = new MqttBufferWriter();
        MqttPacketEncoder.Encode(p, v, w);
        return w.ToArray();
    }

    /// <summary>Structural rendering for equality (type name + all public properties, bytes as base64).</summary>
    public static string Render(MqttPacket p) => p.GetType().Name + JsonSerializer.Serialize(p, p.GetType(), Json);

    public static byte[] Hex(string hex) => Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal));

    public static string ToHex(byte[] b) => string.Join(' ', b.Select(x => x.ToString("X2", System.Globalization.CultureInfo.InvariantCulture)));

    public static string Text(Random r, int maxPieces = 4)
    {
        var n = r.Next(1, maxPieces + 1);
        return string.Concat(Enumerable.Range(0, n).Select(_ => Pieces[r.Next(Pieces.Length)]));
    }

    public static string TopicName(Random r) => string.Join('/', Enumerable.Range(0, r.Next(1, 5)).Select(_ => Text(r, 2)));

    public static string TopicFilter(Random r)
    {
        var levels = Enumerable.Range(0, r.Next(1, 5)).Select(_ => r.Next(5) == 0 ? "+" : Text(r, 2)).ToList();
        if (r.Next(4) == 0) levels.Add("#");
        return string.Join('/', levels);
    }

    public static byte[] Bytes(Random r, int max)
    {
        var b = new byte[r.Next(0, max + 1)];
        r.NextBytes(b);
        return b;
    }

    private static readonly MqttPropertyId[] AllIds = Enum.GetValues<MqttPropertyId>();

    public static MqttProperties Properties(Random r, MqttPacketType type, bool will = false)
    {
        var p = new MqttProperties();
        foreach (var id in AllIds)
        {
            if (!MqttProperties.IsAllowed(id, type, will) || r.Next(3) != 0) continue;
            switch (id)
            {
                case MqttPropertyId.PayloadFormatIndicator: p.PayloadFormatIndicator = (byte)r.Next(2); break;
                case MqttPropertyId.MessageExpiryInterval: p.MessageExpiryInterval = (uint)r.NextInt64(0, uint.MaxValue); break;
                case MqttPropertyId.ContentType: p.ContentType = Text(r); break;
                case MqttPropertyId.ResponseTopic: p.ResponseTopic = TopicName(r); break;
                case MqttPropertyId.CorrelationData: p.CorrelationData = Bytes(r, 20); break;
                case MqttPropertyId.SubscriptionIdentifier:
                    p.SubscriptionIdentifiers = [.. Enumerable.Range(0, type == MqttPacketType.Subscribe ? 1 : r.Next(1, 3)).Select(_ => (uint)r.Next(1, 268_435_455))];
                    break;
                case MqttPropertyId.SessionExpiryInterval: p.SessionExpiryInterval = (uint)r.NextInt64(0, uint.MaxValue); break;
                case MqttPropertyId.AssignedClientIdentifier: p.AssignedClientIdentifier = Text(r); break;
                case MqttPropertyId.ServerKeepAlive: p.ServerKeepAlive = (ushort)r.Next(65536); break;
                case MqttPropertyId.AuthenticationMethod: p.AuthenticationMethod = Text(r); break;
                case MqttPropertyId.AuthenticationData: p.AuthenticationData = Bytes(r, 10); break;
                case MqttPropertyId.RequestProblemInformation: p.RequestProblemInformation = (byte)r.Next(2); break;
                case MqttPropertyId.WillDelayInterval: p.WillDelayInterval = (uint)r.Next(); break;
                case MqttPropertyId.RequestResponseInformation: p.RequestResponseInformation = (byte)r.Next(2); break;
                case MqttPropertyId.ResponseInformation: p.ResponseInformation = Text(r); break;
                case MqttPropertyId.ServerReference: p.ServerReference = Text(r); break;
                case MqttPropertyId.ReasonString: p.ReasonString = Text(r); break;
                case MqttPropertyId.ReceiveMaximum: p.ReceiveMaximum = (ushort)r.Next(1, 65536); break;
                case MqttPropertyId.TopicAliasMaximum: p.TopicAliasMaximum = (ushort)r.Next(65536); break;
                case MqttPropertyId.TopicAlias: p.TopicAlias = (ushort)r.Next(1, 65536); break;
                case MqttPropertyId.MaximumQos: p.MaximumQos = (byte)r.Next(2); break;
                case MqttPropertyId.RetainAvailable: p.RetainAvailable = (byte)r.Next(2); break;
                case MqttPropertyId.UserProperty: p.UserProperties = [.. Enumerable.Range(0, r.Next(1, 4)).Select(_ => new KeyValuePair<string, string>(Text(r), Text(r)))]; break;
                case MqttPropertyId.MaximumPacketSize: p.MaximumPacketSize = (uint)r.NextInt64(1, uint.MaxValue); break;
                case MqttPropertyId.WildcardSubscriptionAvailable: p.WildcardSubscriptionAvailable = (byte)r.Next(2); break;
                case MqttPropertyId.SubscriptionIdentifierAvailable: p.SubscriptionIdentifierAvailable = (byte)r.Next(2); break;
                case MqttPropertyId.SharedSubscriptionAvailable: p.SharedSubscriptionAvailable = (byte)r.Next(2); break;
            }
        }
        return p;
    }

    private static ushort Id(Random r) => (ushort)r.Next(1, 65536);

    /// <summary>A random valid packet of any type legal in <paramref name="v"/>.</summary>
    public static MqttPacket RandomPacket(Random r, MqttProtocolVersion v)
    {
        var v5 = v == MqttProtocolVersion.V500;
        MqttProperties Props(MqttPacketType t, bool will = false) => v5 ? Properties(r, t, will) : new MqttProperties();
        var type = (MqttPacketType)r.Next(1, v5 ? 16 : 15);
        switch (type)
        {
            case MqttPacketType.Connect:
                var hasWill = r.Next(2) == 0;
                var hasUser = r.Next(2) == 0;
                return new ConnectPacket
                {
                    ProtocolVersion = v,
                    ClientId = r.Next(4) == 0 ? "" : Text(r),
                    CleanStart = r.Next(2) == 0,
                    KeepAlive = (ushort)r.Next(65536),
                    Username = hasUser ? Text(r) : null,
                    Password = (hasUser || v5) && r.Next(2) == 0 ? Bytes(r, 12) : (ReadOnlyMemory<byte>?)null,
                    HasWill = hasWill,
                    WillTopic = hasWill ? TopicName(r) : "",
                    WillPayload = hasWill ? Bytes(r, 30) : Array.Empty<byte>(),
                    WillQos = hasWill ? (MqttQos)r.Next(3) : 0,
                    WillRetain = hasWill && r.Next(2) == 0,
                    WillProperties = hasWill ? Props(MqttPacketType.Connect, true) : new MqttProperties(),
                    Properties = Props(MqttPacketType.Connect),
                };
            case MqttPacketType.ConnAck:
                return new ConnAckPacket { SessionPresent = r.Next(2) == 0, ReasonCode = v5 ? (byte)r.Next(256) : (byte)r.Next(6), Properties = Props(type) };
            case MqttPacketType.Publish:
                var qos = (MqttQos)r.Next(3);
                return new PublishPacket
                {
                    Topic = TopicName(r),
                    Qos = qos,
                    Dup = qos != 0 && r.Next(2) == 0,
                    Retain = r.Next(2) == 0,
                    PacketId = qos != 0 ? Id(r) : (ushort)0,
                    Payload = Bytes(r, 300),
                    Properties = Props(type),
                };
            case MqttPacketType.PubAck or MqttPacketType.PubRec or MqttPacketType.PubRel or MqttPacketType.PubComp:
                return new PubAckPacket(type) { PacketId = Id(r), ReasonCode = v5 && r.Next(2) == 0 ? (byte)r.Next(256) : (byte)0, Properties = Props(type) };
            case MqttPacketType.Subscribe:
                return new SubscribePacket
                {
                    PacketId = Id(r),
                    Properties = Props(type),
                    Filters = [.. Enumerable.Range(0, r.Next(1, 4)).Select(_ => v5
                        ? new MqttTopicFilter(TopicFilter(r), (MqttQos)r.Next(3), r.Next(2) == 0, r.Next(2) == 0, (byte)r.Next(3))
                        : new MqttTopicFilter(TopicFilter(r), (MqttQos)r.Next(3)))],
                };
            case MqttPacketType.SubAck:
                return new SubAckPacket
                {
                    PacketId = Id(r),
                    Properties = Props(type),
                    ReasonCodes = [.. Enumerable.Range(0, r.Next(1, 5)).Select(_ => v5 ? (byte)r.Next(256) : new byte[] { 0, 1, 2, 0x80 }[r.Next(4)])],
                };
            case MqttPacketType.Unsubscribe:
                return new UnsubscribePacket { PacketId = Id(r), Properties = Props(type), Filters = [.. Enumerable.Range(0, r.Next(1, 4)).Select(_ => TopicFilter(r))] };
            case MqttPacketType.UnsubAck:
                return new UnsubAckPacket { PacketId = Id(r), Properties = Props(type), ReasonCodes = v5 ? [.. Enumerable.Range(0, r.Next(1, 4)).Select(_ => (byte)r.Next(256))] : [] };
            case MqttPacketType.PingReq:
                return PingReqPacket.Instance;
            case MqttPacketType.PingResp:
                return PingRespPacket.Instance;
            case MqttPacketType.Disconnect:
                return new DisconnectPacket { ReasonCode = v5 ? (byte)r.Next(256) : (byte)0, Properties = Props(type) };
            default:
                return new AuthPacket { ReasonCode = (byte)r.Next(256), Properties = Props(MqttPacketType.Auth) };
        }
    }
}
