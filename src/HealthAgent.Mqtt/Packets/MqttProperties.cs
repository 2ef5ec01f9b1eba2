namespace HealthAgent.Mqtt.Packets;

/// <summary>Property identifiers (MQTT 5.0 section 2.2.2.2).</summary>
internal enum MqttPropertyId : byte
{
    PayloadFormatIndicator = 0x01, MessageExpiryInterval = 0x02, ContentType = 0x03, ResponseTopic = 0x08,
    CorrelationData = 0x09, SubscriptionIdentifier = 0x0B, SessionExpiryInterval = 0x11, AssignedClientIdentifier = 0x12,
    ServerKeepAlive = 0x13, AuthenticationMethod = 0x15, AuthenticationData = 0x16, RequestProblemInformation = 0x17,
    WillDelayInterval = 0x18, RequestResponseInformation = 0x19, ResponseInformation = 0x1A, ServerReference = 0x1C,
    ReasonString = 0x1F, ReceiveMaximum = 0x21, TopicAliasMaximum = 0x22, TopicAlias = 0x23, MaximumQos = 0x24,
    RetainAvailable = 0x25, UserProperty = 0x26, MaximumPacketSize = 0x27, WildcardSubscriptionAvailable = 0x28,
    SubscriptionIdentifierAvailable = 0x29, SharedSubscriptionAvailable = 0x2A,
}

/// <summary>The v5 properties of one packet; null means absent. Encoded in ascending identifier order.</summary>
internal sealed class MqttProperties
{
    public byte? PayloadFormatIndicator { get; set; }
    public uint? MessageExpiryInterval { get; set; }
    public string? ContentType { get; set; }
    public string? ResponseTopic { get; set; }
    public ReadOnlyMemory<byte>? CorrelationData { get; set; }
    public List<uint>? SubscriptionIdentifiers { get; set; }
    public uint? SessionExpiryInterval { get; set; }
    public string? AssignedClientIdentifier { get; set; }
    public ushort? ServerKeepAlive { get; set; }
    public string? AuthenticationMethod { get; set; }
    public ReadOnlyMemory<byte>? AuthenticationData { get; set; }
    public byte? RequestProblemInformation { get; set; }
    public uint? WillDelayInterval { get; set; }
    public byte? RequestResponseInformation { get; set; }
    public string? ResponseInformation { get; set; }
    public string? ServerReference { get; set; }
    public string? ReasonString { get; set; }
    public ushort? ReceiveMaximum { get; set; }
    public ushort? TopicAliasMaximum { get; set; }
    public ushort? TopicAlias { get; set; }
    public byte? MaximumQos { get; set; }
    public byte? RetainAvailable { get; set; }
    public List<KeyValuePair<string, string>>? UserProperties { get; set; }
    public uint? MaximumPacketSize { get; set; }
    public byte? WildcardSubscriptionAvailable { get; set; }
    public byte? SubscriptionIdentifierAvailable { get; set; }
    public byte? SharedSubscriptionAvailable { get; set; }

    /// <summary>Which packet types may carry a property (MQTT 5.0 table 2-4); anything else is a Protocol Error.</summary>
    public static bool IsAllowed(MqttPropertyId id, MqttPacketType type, bool will) => id switch
    {
        MqttPropertyId.PayloadFormatIndicator or MqttPropertyId.MessageExpiryInterval or MqttPropertyId.ContentType
            or MqttPropertyId.ResponseTopic or MqttPropertyId.CorrelationData => type == MqttPacketType.Publish || will,
        MqttPropertyId.WillDelayInterval => will,
        MqttPropertyId.UserProperty => true,
        _ when will => false,
        MqttPropertyId.SubscriptionIdentifier => type is MqttPacketType.Publish or MqttPacketType.Subscribe,
        MqttPropertyId.SessionExpiryInterval => type is MqttPacketType.Connect or MqttPacketType.ConnAck or MqttPacketType.Disconnect,
        MqttPropertyId.AssignedClientIdentifier or MqttPropertyId.ServerKeepAlive or MqttPropertyId.ResponseInformation
            or MqttPropertyId.MaximumQos or MqttPropertyId.RetainAvailable or MqttPropertyId.WildcardSubscriptionAvailable
            or MqttPropertyId.SubscriptionIdentifierAvailable or MqttPropertyId.SharedSubscriptionAvailable => type == MqttPacketType.ConnAck,
        MqttPropertyId.AuthenticationMethod or MqttPropertyId.AuthenticationData => type is MqttPacketType.Connect or MqttPacketType.ConnAck or MqttPacketType.Auth,
        MqttPropertyId.RequestProblemInformation or MqttPropertyId.RequestResponseInformation => type == MqttPacketType.Connect,
        MqttPropertyId.ServerReference => type is MqttPacketType.ConnAck or MqttPacketType.Disconnect,
        MqttPropertyId.ReasonString => type is not (MqttPacketType.Connect or MqttPacketType.Publish or MqttPacketType.Subscribe or MqttPacketType.Unsubscribe),
        MqttPropertyId.ReceiveMaximum or MqttPropertyId.TopicAliasMaximum or MqttPropertyId.MaximumPacketSize => type is MqttPacketType.Connect or MqttPacketType.ConnAck,
        MqttPropertyId.TopicAlias => type == MqttPacketType.Publish,
        _ => false,
    };
}
