namespace HealthAgent.Mqtt;

/// <summary>TLS settings. Without a CA file the system trust store validates the server certificate.</summary>
public sealed class MqttTlsOptions
{
    /// <summary>PEM file with the CA certificate(s) that must anchor the server's chain (replaces the system store).</summary>
    public string? CaFile { get; set; }

    /// <summary>PEM client certificate for mutual TLS (with <see cref="KeyFile"/>).</summary>
    public string? CertificateFile { get; set; }

    /// <summary>PEM private key of <see cref="CertificateFile"/>.</summary>
    public string? KeyFile { get; set; }

    /// <summary>
    /// SHA-256 fingerprint of the server's leaf certificate, hex with optional colons. When set, the certificate must
    /// match it (in addition to chain validation unless <see cref="PinOnly"/>).
    /// </summary>
    public string? PinnedSha256Fingerprint { get; set; }

    /// <summary>Accept a certificate that matches <see cref="PinnedSha256Fingerprint"/> even if its chain is not trusted (self-signed devices).</summary>
    public bool PinOnly { get; set; }

    /// <summary>SNI and the name checked against the certificate; default <see cref="MqttClientOptions.Host"/>.</summary>
    public string? ServerName { get; set; }
}

/// <summary>The will message the broker publishes when the connection ends without a clean DISCONNECT.</summary>
public sealed class MqttWill
{
    /// <summary>Will topic (a topic name, no wildcards).</summary>
    public string Topic { get; set; } = "";

    /// <summary>Will payload.</summary>
    public ReadOnlyMemory<byte> Payload { get; set; }

    /// <summary>Will QoS.</summary>
    public MqttQos Qos { get; set; }

    /// <summary>Will retain flag.</summary>
    public bool Retain { get; set; }

    /// <summary>v5 Will Delay Interval (0x18), seconds.</summary>
    public uint DelaySeconds { get; set; }

    /// <summary>v5 Content Type (0x03).</summary>
    public string? ContentType { get; set; }

    /// <summary>v5 Message Expiry Interval (0x02), seconds.</summary>
    public uint? MessageExpirySeconds { get; set; }
}

/// <summary>Connection settings of an <see cref="MqttClient"/>.</summary>
public sealed class MqttClientOptions
{
    /// <summary>Broker host name or address.</summary>
    public string Host { get; set; } = "127.0.0.1";

    /// <summary>Broker port (1883, or 8883 for TLS by convention).</summary>
    public int Port { get; set; } = 1883;

    /// <summary>MQTT 5.0 (default) or 3.1.1.</summary>
    public MqttProtocolVersion ProtocolVersion { get; set; } = MqttProtocolVersion.V500;

    /// <summary>Client identifier; empty lets the broker assign one (3.1.1 then requires <see cref="CleanStart"/>).</summary>
    public string ClientId { get; set; } = "";

    /// <summary>Clean Start (v5) / Clean Session (3.1.1).</summary>
    public bool CleanStart { get; set; } = true;

    /// <summary>v5 Session Expiry Interval (0x11), seconds; 0 ends the session with the connection.</summary>
    public uint SessionExpirySeconds { get; set; }

    /// <summary>Keep-alive in seconds (0 disables); a Server Keep Alive from CONNACK overrides it [MQTT-3.1.2-21].</summary>
    public ushort KeepAliveSeconds { get; set; } = 30;

    /// <summary>User name.</summary>
    public string? Username { get; set; }

    /// <summary>Password (never logged).</summary>
    public string? Password { get; set; }

    /// <summary>Will message, or null.</summary>
    public MqttWill? Will { get; set; }

    /// <summary>TLS settings, or null for plain TCP.</summary>
    public MqttTlsOptions? Tls { get; set; }

    /// <summary>v5 Receive Maximum (0x21) we announce: the most unacknowledged QoS 1/2 publishes the server may send us.</summary>
    public ushort ReceiveMaximum { get; set; } = 65535;

    /// <summary>Largest packet we accept (v5 property 0x27, also enforced for 3.1.1); 0 means the protocol limit.</summary>
    public uint MaximumPacketSize { get; set; }

    /// <summary>Time allowed for TCP connect, TLS handshake and CONNACK.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a PINGRESP may take before the connection is declared lost; default half the keep-alive, at least 1 s.</summary>
    public TimeSpan? PingTimeout { get; set; }

    /// <summary>
    /// Inbound QoS 0 messages are dropped (and counted in <see cref="MqttClient.DroppedMessages"/>) while more than this many
    /// messages wait unread in <see cref="MqttClient.Messages"/>. QoS 1/2 messages are never dropped.
    /// </summary>
    public int MaxQueuedInboundMessages { get; set; } = 100_000;

    /// <summary>Tests: a small SO_SNDBUF, so the socket's send buffer fills after a few kilobytes.</summary>
    internal int? SocketSendBufferBytes { get; set; }
}
