using HealthAgent.Pipeline;

namespace HealthAgent.Publishing.Mqtt;

/// <summary>TLS to the broker (<c>publishers.mqtt.tls</c>). TLS is on when <see cref="Enabled"/> or any file is set.</summary>
public sealed class MqttPublisherTlsOptions
{
    /// <summary>Use TLS with the system trust store even without a CA file.</summary>
    public bool Enabled { get; set; }
    /// <summary>PEM CA certificate(s) that must anchor the broker's chain (replaces the system store).</summary>
    public string? CaFile { get; set; }
    /// <summary>PEM client certificate for mutual TLS (with keyFile).</summary>
    public string? CertFile { get; set; }
    /// <summary>PEM private key of certFile.</summary>
    public string? KeyFile { get; set; }
    /// <summary>SHA-256 fingerprint (hex, colons optional) the broker's certificate must have.</summary>
    public string? CertificateFingerprint { get; set; }

    public bool IsOn => Enabled || CaFile is not null || CertFile is not null || CertificateFingerprint is not null;
}

/// <summary>The MQTT publisher (<c>publishers.mqtt</c> in agent.json).</summary>
public sealed class MqttPublisherOptions : PublisherOptions
{
    /// <summary>Broker host name or address.</summary>
    public string Host { get; set; } = "127.0.0.1";
    /// <summary>Broker port (1883 plain, 8883 TLS by convention).</summary>
    public int Port { get; set; } = 1883;
    /// <summary>"5" (MQTT 5.0, default) or "3.1.1".</summary>
    public string ProtocolVersion { get; set; } = "5";
    /// <summary>MQTT client id; default <c>healthagent-&lt;agentId&gt;</c>.</summary>
    public string? ClientId { get; set; }
    /// <summary>Topic prefix; topics are <c>&lt;topicPrefix&gt;/&lt;agentId&gt;/…</c>.</summary>
    public string TopicPrefix { get; set; } = "healthagent/v1";
    /// <summary>User name, if the broker requires one.</summary>
    public string? Username { get; set; }
    /// <summary>Password (prefer passwordFile; never logged).</summary>
    public string? Password { get; set; }
    /// <summary>File holding the password (first line; trailing newline ignored).</summary>
    public string? PasswordFile { get; set; }
    /// <summary>TLS settings; plain TCP when absent.</summary>
    public MqttPublisherTlsOptions? Tls { get; set; }
    /// <summary>Keep-alive in seconds (the broker may override it).</summary>
    public int KeepAliveSeconds { get; set; } = 30;
    /// <summary>MQTT 5 will delay: the broker publishes "offline" only if the agent has not reconnected within this time (0–30).</summary>
    public int WillDelaySeconds { get; set; } = 10;
    /// <summary>Largest wait between reconnect attempts after the broker refused the connection (credentials, TLS, CONNACK code); an unreachable broker is retried at most 1 s apart, so the agent is back within about a second of the broker.</summary>
    public double ReconnectMaxDelaySeconds { get; set; } = 30;
    /// <summary>Publish Home Assistant MQTT discovery configs: one device per agent, a problem binary_sensor per part, a sensor per measurement (thresholds as attributes), an overall health sensor.</summary>
    public bool HomeAssistantDiscovery { get; set; }
    /// <summary>Home Assistant discovery prefix.</summary>
    public string HomeAssistantPrefix { get; set; } = "homeassistant";
    /// <summary>Link from the Home Assistant device page to the web view (configuration_url), e.g. behind a reverse proxy; default: the web view's first listen URL (a wildcard host becomes this machine's name), none when the web view is off.</summary>
    public string? HomeAssistantWebUrl { get; set; }
    /// <summary>Bounds of the durable event outbox (a table in state.db, written in the same transaction as the event).</summary>
    public OutboxLimits Outbox { get; set; } = new();

    public override void Validate(string path, ICollection<string> errors)
    {
        if (string.IsNullOrWhiteSpace(Host)) errors.Add($"{path}.host: must not be empty");
        if (Port is < 1 or > 65535) errors.Add($"{path}.port: must be from 1 to 65535 (is {Port})");
        if (ProtocolVersion is not ("5" or "5.0" or "3.1.1" or "311")) errors.Add($"{path}.protocolVersion: \"5\" or \"3.1.1\" (is \"{ProtocolVersion}\")");
        if (string.IsNullOrWhiteSpace(TopicPrefix) || TopicPrefix.Any(c => c is '+' or '#' or '\0')) errors.Add($"{path}.topicPrefix: must be a non-empty topic without '+', '#' or NUL");
        if (Password is not null && PasswordFile is not null) errors.Add($"{path}: set password or passwordFile, not both");
        if (KeepAliveSeconds is < 0 or > 65535) errors.Add($"{path}.keepAliveSeconds: must be from 0 to 65535 (is {KeepAliveSeconds})");
        if (WillDelaySeconds is < 0 or > 30) errors.Add($"{path}.willDelaySeconds: must be from 0 to 30 (is {WillDelaySeconds})");
        if (ReconnectMaxDelaySeconds is < 0.5 or > 3600) errors.Add($"{path}.reconnectMaxDelaySeconds: must be from 0.5 to 3600 (is {ReconnectMaxDelaySeconds})");
        if (Outbox.MaxRows < 1 || Outbox.MaxBytes < 1024) errors.Add($"{path}.outbox: maxRows ≥ 1 and maxBytes ≥ 1024");
        if (string.IsNullOrWhiteSpace(HomeAssistantPrefix) || HomeAssistantPrefix.Any(c => c is '+' or '#' or '\0')) errors.Add($"{path}.homeAssistantPrefix: must be a non-empty topic without '+', '#' or NUL");
        // HA accepts http(s):// or homeassistant:// as a device's configuration_url (helpers/config_validation.py configuration_url)
        if (HomeAssistantWebUrl is not null && !(Uri.TryCreate(HomeAssistantWebUrl, UriKind.Absolute, out var u) && u.Scheme is "http" or "https" or "homeassistant"))
            errors.Add($"{path}.homeAssistantWebUrl: must be an absolute http://, https:// or homeassistant:// URL (is \"{HomeAssistantWebUrl}\")");
        if ((Tls?.CertFile is null) != (Tls?.KeyFile is null)) errors.Add($"{path}.tls: certFile and keyFile go together");
    }
}
