namespace HealthAgent.Mqtt;

/// <summary>An application message, published or received.</summary>
public sealed class MqttApplicationMessage
{
    /// <summary>Topic name (no wildcards).</summary>
    public string Topic { get; set; } = "";

    /// <summary>Payload bytes.</summary>
    public ReadOnlyMemory<byte> Payload { get; set; }

    /// <summary>QoS (0 or 1 for publishing; inbound may be 2).</summary>
    public MqttQos Qos { get; set; }

    /// <summary>Retain flag.</summary>
    public bool Retain { get; set; }

    /// <summary>v5 Content Type (0x03).</summary>
    public string? ContentType { get; set; }

    /// <summary>v5 Message Expiry Interval (0x02), seconds.</summary>
    public uint? MessageExpirySeconds { get; set; }

    /// <summary>v5 Response Topic (0x08).</summary>
    public string? ResponseTopic { get; set; }

    /// <summary>v5 Correlation Data (0x09).</summary>
    public ReadOnlyMemory<byte> CorrelationData { get; set; }

    /// <summary>v5 User Properties (0x26), order preserved.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> UserProperties { get; set; } = [];

    /// <summary>v5 Payload Format Indicator (0x01): true when the payload is UTF-8 text.</summary>
    public bool PayloadIsUtf8 { get; set; }

    /// <summary>Inbound only: the DUP flag of the received PUBLISH.</summary>
    public bool Dup { get; set; }

    /// <summary>Inbound only: v5 Subscription Identifiers (0x0B) of the matching subscriptions.</summary>
    public IReadOnlyList<uint> SubscriptionIdentifiers { get; set; } = [];
}

/// <summary>A topic filter with its v5 subscription options.</summary>
/// <param name="Filter">Topic filter; `+` matches one level, `#` the rest.</param>
/// <param name="Qos">Maximum QoS requested.</param>
/// <param name="NoLocal">v5: do not receive our own publications.</param>
/// <param name="RetainAsPublished">v5: keep the retain flag as published.</param>
/// <param name="RetainHandling">v5: 0 send retained on subscribe, 1 only if new, 2 never.</param>
public sealed record MqttTopicFilter(string Filter, MqttQos Qos = MqttQos.AtLeastOnce, bool NoLocal = false, bool RetainAsPublished = false, byte RetainHandling = 0);

/// <summary>Outcome of CONNECT, with the limits the client obeys from now on.</summary>
/// <param name="SessionPresent">The broker resumed a session.</param>
/// <param name="ReasonCode">CONNACK reason code (always a success here; refusals throw <see cref="MqttConnectException"/>).</param>
/// <param name="AssignedClientId">v5 Assigned Client Identifier (0x12).</param>
/// <param name="ServerKeepAlive">v5 Server Keep Alive (0x13), obeyed [MQTT-3.1.2-21].</param>
/// <param name="ReceiveMaximum">Server's Receive Maximum (default 65,535): most unacknowledged QoS 1 publishes we send.</param>
/// <param name="MaximumQos">Maximum QoS (0x24) [MQTT-3.2.2-11].</param>
/// <param name="RetainAvailable">Retain Available (0x25) [MQTT-3.2.2-14].</param>
/// <param name="MaximumPacketSize">Server's Maximum Packet Size (0x27), 0 = protocol limit [MQTT-3.2.2-15].</param>
/// <param name="TopicAliasMaximum">Topic Alias Maximum (0x22); this client never uses more (it uses none).</param>
public sealed record MqttConnectResult(bool SessionPresent, MqttReasonCode ReasonCode, string? AssignedClientId, ushort? ServerKeepAlive, ushort ReceiveMaximum, MqttQos MaximumQos, bool RetainAvailable, uint MaximumPacketSize, ushort TopicAliasMaximum)
{
    /// <summary>v5 Reason String (0x1F).</summary>
    public string? ReasonString { get; init; }

    /// <summary>Number of in-flight QoS 1 messages resent with DUP=1 because the session was present.</summary>
    public int ResentMessages { get; init; }

    /// <summary>Number of in-flight QoS 1 messages handed back (faulted with <see cref="MqttMessageNotDeliveredException"/>) because no session was present.</summary>
    public int ReturnedMessages { get; init; }
}

/// <summary>Outcome of a publish: QoS 0 → Success once written; QoS 1 → the PUBACK reason code.</summary>
/// <param name="ReasonCode">PUBACK reason code (3.1.1 acks are always Success).</param>
public sealed record MqttPublishResult(MqttReasonCode ReasonCode)
{
    /// <summary>Below 0x80; 0x10 "No matching subscribers" is a success.</summary>
    public bool IsSuccess => ReasonCode.IsSuccess();
}

/// <summary>Why a connection ended without our DISCONNECT.</summary>
/// <param name="Reason">Human-readable cause.</param>
/// <param name="ServerReasonCode">Reason code of a v5 DISCONNECT from the server, or our own code when we closed for a protocol error.</param>
/// <param name="Exception">Underlying exception, if any.</param>
public sealed record MqttConnectionLost(string Reason, MqttReasonCode? ServerReasonCode, Exception? Exception);
