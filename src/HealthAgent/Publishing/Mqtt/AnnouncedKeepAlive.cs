using System.Net;
using System.Security.Cryptography.X509Certificates;
using MQTTnet;
using MQTTnet.Adapter;
using MQTTnet.Diagnostics.Logger;
using MQTTnet.Formatter;
using MQTTnet.Implementations;
using MQTTnet.Packets;

namespace HealthAgent.Publishing.Mqtt;

/// <summary>
/// Lets the publisher own the keep-alive: the client runs with MQTTnet's keep-alive off (options.KeepAlivePeriod 0)
/// while CONNECT still announces <paramref name="announcedSeconds"/> to the broker, so the broker still drops a
/// silent agent after 1.5 × that and fires the will [MQTT-3.1.2-22]. The publisher's watchdog sends the PINGREQs.
/// Why: MQTTnet 5.2's keep-alive loop wakes every 250 ms for as long as a connection is up (a fixed Task.Delay;
/// MQTTnet #1326), which kept the idle agent at ~50 thread switches/s; and when the broker sets a Server Keep Alive while the
/// client's own period is 0, that loop pings at once with a zero timeout and drops every connection (mosquitto
/// answers keep-alive 0 with Server Keep Alive 65535). So CONNACK's Server Keep Alive is taken out of MQTTnet's
/// view and kept in <see cref="ServerKeepAlive"/> for the watchdog [MQTT-3.1.2-21]. One instance per client.
/// </summary>
internal sealed class AnnouncedKeepAlive(ushort announcedSeconds) : IMqttClientAdapterFactory
{
    private readonly MqttClientAdapterFactory _inner = new();

    /// <summary>The Keep Alive written into CONNECT (0: none).</summary>
    public ushort AnnouncedSeconds { get; } = announcedSeconds;

    /// <summary>The broker's Server Keep Alive (CONNACK 0x13) of the last connection; 0 when it set none.</summary>
    public ushort ServerKeepAlive { get; private set; }

    public IMqttChannelAdapter CreateClientAdapter(MqttClientOptions options, MqttPacketInspector packetInspector, IMqttNetLogger logger)
    {
        ServerKeepAlive = 0;
        return new Adapter(_inner.CreateClientAdapter(options, packetInspector, logger), this);
    }

    private sealed class Adapter(IMqttChannelAdapter inner, AnnouncedKeepAlive owner) : IMqttChannelAdapter
    {
        private bool _connAckSeen;

        public Task SendPacketAsync(MqttPacket packet, CancellationToken cancellationToken)
        {
            if (packet is MqttConnectPacket connect) connect.KeepAlivePeriod = owner.AnnouncedSeconds;
            return inner.SendPacketAsync(packet, cancellationToken);
        }

        // After CONNACK every packet goes straight through (no extra await on the publish path).
        public Task<MqttPacket> ReceivePacketAsync(CancellationToken cancellationToken) =>
            _connAckSeen ? inner.ReceivePacketAsync(cancellationToken) : ReceiveConnAckAsync(cancellationToken);

        private async Task<MqttPacket> ReceiveConnAckAsync(CancellationToken cancellationToken)
        {
            var packet = await inner.ReceivePacketAsync(cancellationToken).ConfigureAwait(false);
            if (packet is MqttConnAckPacket connAck)
            {
                _connAckSeen = true;
                owner.ServerKeepAlive = connAck.ServerKeepAlive;
                connAck.ServerKeepAlive = 0; // MQTTnet would start its keep-alive loop for it
            }
            return packet;
        }

        public long BytesReceived => inner.BytesReceived;
        public long BytesSent => inner.BytesSent;
        public X509Certificate2 ClientCertificate => inner.ClientCertificate;
        public EndPoint RemoteEndPoint => inner.RemoteEndPoint;
        public EndPoint LocalEndPoint => inner.LocalEndPoint;
        public bool IsSecureConnection => inner.IsSecureConnection;
        public MqttPacketFormatterAdapter PacketFormatterAdapter => inner.PacketFormatterAdapter;
        public Task ConnectAsync(CancellationToken cancellationToken) => inner.ConnectAsync(cancellationToken);
        public Task DisconnectAsync(CancellationToken cancellationToken) => inner.DisconnectAsync(cancellationToken);
        public void ResetStatistics() => inner.ResetStatistics();
        public void Dispose() => inner.Dispose();
    }
}
