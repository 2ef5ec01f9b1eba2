using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace HealthAgent.Mqtt.Transport;

/// <summary>Opens the byte stream: TCP (Nagle off), optionally wrapped in TLS with CA-file/system-store validation, pinning and SNI.</summary>
internal static class MqttTransport
{
    /// <summary>
    /// Blocking connect: the socket is never used asynchronously, so it stays in blocking mode and the dedicated
    /// receive/send threads read and write it directly (no event-loop hop, fewer system calls per message).
    /// Cancelling <paramref name="ct"/> closes the socket, which ends any blocked call.
    /// </summary>
    public static (Stream Stream, Socket Socket) Connect(MqttClientOptions o, CancellationToken ct)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        if (o.SocketSendBufferBytes is { } sndbuf) socket.SendBufferSize = sndbuf;
        Stream? stream = null;
        try
        {
            using (ct.Register(static s => ((Socket)s!).Dispose(), socket))
            {
                ct.ThrowIfCancellationRequested();
                socket.Connect(o.Host, o.Port);
                stream = new NetworkStream(socket, ownsSocket: true);
                if (o.Tls is { } tls)
                {
                    var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
                    stream = ssl;
                    ssl.AuthenticateAsClient(BuildTlsOptions(o, tls));
                }
            }
            ct.ThrowIfCancellationRequested();
            return (stream, socket);
        }
        catch
        {
            if (stream is not null) stream.Dispose();
            else socket.Dispose();
            throw;
        }
    }

    internal static SslClientAuthenticationOptions BuildTlsOptions(MqttClientOptions o, MqttTlsOptions tls)
    {
        var auth = new SslClientAuthenticationOptions
        {
            TargetHost = tls.ServerName ?? o.Host, // SNI (not sent for IP literals) and the name checked in the certificate
        };
        if (tls.CaFile is not null)
        {
            var cas = new X509Certificate2Collection();
            cas.ImportFromPemFile(tls.CaFile);
            auth.CertificateChainPolicy = new X509ChainPolicy
            {
                TrustMode = X509ChainTrustMode.CustomRootTrust, // only the given CA anchors the chain
                RevocationMode = X509RevocationMode.NoCheck,
            };
            auth.CertificateChainPolicy.CustomTrustStore.AddRange(cas);
        }
        if (tls.CertificateFile is not null)
        {
            var cert = X509Certificate2.CreateFromPemFile(tls.CertificateFile, tls.KeyFile);
            auth.ClientCertificates = [cert];
        }
        var pin = NormalizeFingerprint(tls.PinnedSha256Fingerprint);
        auth.RemoteCertificateValidationCallback = (_, cert, _, errors) =>
        {
            if (pin is not null)
            {
                if (cert is null) return false;
                var actual = Convert.ToHexString(SHA256.HashData(cert.GetRawCertData()));
                if (!string.Equals(actual, pin, StringComparison.OrdinalIgnoreCase)) return false;
                if (tls.PinOnly) return true;
            }
            return errors == SslPolicyErrors.None;
        };
        return auth;
    }

    private static string? NormalizeFingerprint(string? fp)
    {
        if (string.IsNullOrWhiteSpace(fp)) return null;
        var hex = fp.Replace(":", "", StringComparison.Ordinal).Replace(" ", "", StringComparison.Ordinal);
        if (hex.Length != 64 || !hex.All(Uri.IsHexDigit)) throw new ArgumentException("PinnedSha256Fingerprint must be 32 bytes of hex");
        return hex;
    }
}
