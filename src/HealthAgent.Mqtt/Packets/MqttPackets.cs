namespace HealthAgent.Mqtt.Packets;

/// <summary>Control packet types (fixed header bits 7-4).</summary>
internal enum MqttPacketType : byte
{
    Connect = 1, ConnAck = 2, Publish = 3, PubAck = 4, PubRec = 5, PubRel = 6, PubComp = 7,
    Subscribe = 8, SubAck = 9, Unsubscribe = 10, UnsubAck = 11, PingReq = 12, PingResp = 13, Disconnect = 14, Auth = 15,
}

/// <summary>Base of the decoded/encodable control packets. Properties are v5 only and ignored for 3.1.1.</summary>
internal abstract class MqttPacket
{
    public abstract MqttPacketType Type { get; }
}

internal sealed class ConnectPacket : MqttPacket
{
    public override MqttPacketType Type => MqttPacketType.Connect;
    public MqttProtocolVersion ProtocolVersion { get; set; } = MqttProtocolVersion.V500;
    public string ClientId { get; set; } = "";
    public bool CleanStart { get; set; }
    public ushort KeepAlive { get; set; }
    public string? Username { get; set; }
    public ReadOnlyMemory<byte>? Password { get; set; }
    public bool HasWill { get; set; }
    public string WillTopic { get; set; } = "";
    public ReadOnlyMemory<byte> WillPayload { get; set; }
    public MqttQos WillQos { get; set; }
    public bool WillRetain { get; set; }
    public MqttProperties WillProperties { get; set; } = new();
    public MqttProperties Properties { get; set; } = new();
}

internal sealed class ConnAckPacket : MqttPacket
{
    public override MqttPacketType Type => MqttPacketType.ConnAck;
    public bool SessionPresent { get; set; }
    /// <summary>v5 reason code, or the 3.1.1 return code (0-5) as is.</summary>
    public byte ReasonCode { get; set; }
    public MqttProperties Properties { get; set; } = new();
}

internal sealed class PublishPacket : MqttPacket
{
    public override MqttPacketType Type => MqttPacketType.Publish;
    public string Topic { get; set; } = "";
    public MqttQos Qos { get; set; }
    public bool Retain { get; set; }
    public bool Dup { get; set; }
    public ushort PacketId { get; set; }
    public ReadOnlyMemory<byte> Payload { get; set; }
    public MqttProperties Properties { get; set; } = new();
}

/// <summary>PUBACK, PUBREC, PUBREL and PUBCOMP share one layout.</summary>
internal sealed class PubAckPacket : MqttPacket
{
    public PubAckPacket(MqttPacketType kind) => Kind = kind;
    public MqttPacketType Kind { get; }
    public override MqttPacketType Type => Kind;
    public ushort PacketId { get; set; }
    public byte ReasonCode { get; set; }
    public MqttProperties Properties { get; set; } = new();
}

internal sealed class SubscribePacket : MqttPacket
{
    public override MqttPacketType Type => MqttPacketType.Subscribe;
    public ushort PacketId { get; set; }
    public List<MqttTopicFilter> Filters { get; set; } = [];
    public MqttProperties Properties { get; set; } = new();
}

internal sealed class SubAckPacket : MqttPacket
{
    public override MqttPacketType Type => MqttPacketType.SubAck;
    public ushort PacketId { get; set; }
    public List<byte> ReasonCodes { get; set; } = [];
    public MqttProperties Properties { get; set; } = new();
}

internal sealed class UnsubscribePacket : MqttPacket
{
    public override MqttPacketType Type => MqttPacketType.Unsubscribe;
    public ushort PacketId { get; set; }
    public List<string> Filters { get; set; } = [];
    public MqttProperties Properties { get; set; } = new();
}

internal sealed class UnsubAckPacket : MqttPacket
{
    public override MqttPacketType Type => MqttPacketType.UnsubAck;
    public ushort PacketId { get; set; }
    /// <summary>v5 only (3.1.1 UNSUBACK carries none).</summary>
    public List<byte> ReasonCodes { get; set; } = [];
    public MqttProperties Properties { get; set; } = new();
}

internal sealed class PingReqPacket : MqttPacket
{
    public static readonly PingReqPacket Instance = new();
    public override MqttPacketType Type => MqttPacketType.PingReq;
}

internal sealed class PingRespPacket : MqttPacket
{
    public static readonly PingRespPacket Instance = new();
    public override MqttPacketType Type => MqttPacketType.PingResp;
}

internal sealed class DisconnectPacket : MqttPacket
{
    public override MqttPacketType Type => MqttPacketType.Disconnect;
    public byte ReasonCode { get; set; }
    public MqttProperties Properties { get; set; } = new();
}

internal sealed class AuthPacket : MqttPacket
{
    public override MqttPacketType Type => MqttPacketType.Auth;
    public byte ReasonCode { get; set; }
    public MqttProperties Properties { get; set; } = new();
}
