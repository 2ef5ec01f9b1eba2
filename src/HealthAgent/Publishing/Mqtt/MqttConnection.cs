using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace HealthAgent.Publishing.Mqtt;

/// <summary>TLS to a broker: CA file (replaces the system store), client certificate, SHA-256 pin, server name.</summary>
public sealed record MqttTls(string? CaFile = null, string? CertFile = null, string? KeyFile = null, string? PinnedSha256 = null,
    bool PinOnly = false, string? ServerName = null);

/// <summary>
/// Where and how to connect, turned into MQTTnet <see cref="MqttClientOptions"/>; shared by the publisher, `healthagent
/// mqtt pub|sub` and `healthagent watch`, so TLS (CA, pin, client certificate) works the same everywhere.
/// </summary>
public sealed record MqttConnection(string Host, int Port, bool V5, string ClientId)
{
    public string? Username { get; init; }
    public string? Password { get; init; }
    public ushort KeepAliveSeconds { get; init; } = 30;
    public bool CleanStart { get; init; } = true;
    public uint SessionExpirySeconds { get; init; }
    public MqttTls? Tls { get; init; }
    /// <summary>Retained will (QoS 1) on this topic with this payload; v5 may delay it.</summary>
    public (string Topic, byte[] Payload, uint DelaySeconds)? Will { get; init; }
    /// <summary>How long CONNECT (TCP, TLS, CONNACK) may take.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    public MqttProtocolVersion ProtocolVersion => V5 ? MqttProtocolVersion.V500 : MqttProtocolVersion.V311;

    public MqttClientOptions Build()
    {
        var b = new MqttClientOptionsBuilder()
            .WithTcpServer(Host, Port)
            .WithProtocolVersion(ProtocolVersion)
            .WithClientId(ClientId)
            .WithCleanStart(CleanStart)
            .WithKeepAlivePeriod(TimeSpan.FromSeconds(KeepAliveSeconds))
            .WithTimeout(ConnectTimeout);
        if (KeepAliveSeconds == 0) b.WithNoKeepAlive();
        if (V5 && SessionExpirySeconds > 0) b.WithSessionExpiryInterval(SessionExpirySeconds);
        if (Username is not null) b.WithCredentials(Username, Password ?? "");
        if (Will is { } w)
        {
            b.WithWillTopic(w.Topic).WithWillPayload(w.Payload).WithWillQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).WithWillRetain();
            // [MQTT-3.1.3.2.2] Will Delay Interval (0x18): the broker holds the will that long, and drops it if we are back
            if (V5 && w.DelaySeconds > 0) b.WithWillDelayInterval(w.DelaySeconds);
        }
        if (Tls is { } t) b.WithTlsOptions(TlsOptions(t));
        return b.Build();
    }

    private MqttClientTlsOptions TlsOptions(MqttTls t)
    {
        var pin = NormalizeFingerprint(t.PinnedSha256);
        X509Certificate2Collection? cas = null;
        if (t.CaFile is not null)
        {
            cas = [];
            cas.ImportFromPemFile(t.CaFile);
            if (cas.Count == 0) throw new ArgumentException($"{t.CaFile}: no PEM certificate in it");
        }
        var b = new MqttClientTlsOptionsBuilder()
            .UseTls()
            .WithTargetHost(t.ServerName ?? Host) // SNI (not sent for IP literals) and the name checked in the certificate
            .WithRevocationMode(X509RevocationMode.NoCheck)
            .WithCertificateValidationHandler(a => Validate(a.Certificate, a.SslPolicyErrors, pin, t.PinOnly, cas));
        if (t.CertFile is not null) b.WithClientCertificates(new X509Certificate2Collection(X509Certificate2.CreateFromPemFile(t.CertFile, t.KeyFile)));
        return b.Build();
    }

    /// <summary>
    /// The broker's certificate is accepted when it matches the pin (if one is set; alone when <c>PinOnly</c>) and its
    /// chain ends at the CA file's certificate (custom root trust) or, without a CA file, at the system store; the name
    /// must match in both cases.
    /// </summary>
    internal static bool Validate(X509Certificate? certificate, SslPolicyErrors errors, string? pin, bool pinOnly, X509Certificate2Collection? cas)
    {
        if (certificate is null) return false;
        using var cert = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        if (pin is not null)
        {
            if (!string.Equals(Convert.ToHexString(SHA256.HashData(cert.RawData)), pin, StringComparison.OrdinalIgnoreCase)) return false;
            if (pinOnly) return true;
        }
        if (cas is null) return errors == SslPolicyErrors.None;
        if ((errors & (SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateNotAvailable)) != 0) return false;
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust; // only the given CA anchors the chain
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.CustomTrustStore.AddRange(cas);
        return chain.Build(cert);
    }

    /// <summary>A SHA-256 fingerprint as 64 hex digits (colons and spaces removed); null when empty.</summary>
    public static string? NormalizeFingerprint(string? fp)
    {
        if (string.IsNullOrWhiteSpace(fp)) return null;
        var hex = fp.Replace(":", "", StringComparison.Ordinal).Replace(" ", "", StringComparison.Ordinal);
        if (hex.Length != 64 || !hex.All(Uri.IsHexDigit)) throw new ArgumentException($"certificate fingerprint must be 32 bytes of hex (SHA-256), not '{fp}'");
        return hex;
    }

    /// <summary>
    /// A client for these options (the CLI tools; the publisher owns its keep-alive, <see cref="AnnouncedKeepAlive"/>).
    /// With keep-alive 0 the broker's Server Keep Alive is hidden from MQTTnet: mosquitto answers 0 with 65535, and
    /// MQTTnet 5.2 would then run its keep-alive loop with the client's period 0 and drop the connection at once.
    /// </summary>
    public static IMqttClient CreateClient(MqttClientOptions options) =>
        options.KeepAlivePeriod == TimeSpan.Zero ? new MqttClientFactory().CreateMqttClient(new AnnouncedKeepAlive(0)) : new MqttClientFactory().CreateMqttClient();

    /// <summary>A connect failure in words an operator can act on: MQTT's own cases, then <see cref="Model.ErrorWords"/>.</summary>
    public static string Describe(Exception e)
    {
        for (var x = e; x is not null; x = x.InnerException)
        {
            switch (x)
            {
                case System.Security.Authentication.AuthenticationException:
                    return "TLS: the broker's certificate was not accepted (CA file, pin or server name)";
                case MQTTnet.Exceptions.MqttCommunicationTimedOutException:
                    return "no answer in time";
            }
        }
        return Model.ErrorWords.Describe(e);
    }

    /// <summary>A refused CONNECT as words (v5 reason code; 3.1.1 return codes map onto the same names).</summary>
    public static string Describe(MqttClientConnectResult r) =>
        r.ReasonString is { Length: > 0 } s ? $"{r.ResultCode} ({s})" : r.ResultCode.ToString();
}
