using System.Net;
using System.Net.Sockets;
using HealthAgent.Mqtt.Encoding;
using HealthAgent.Mqtt.Packets;
using HealthAgent.Mqtt.Transport;

namespace HealthAgent.Mqtt.Tests.Client;

/// <summary>A scripted broker on loopback: the test reads what the client sends and answers byte for byte.</summary>
internal sealed class FakeBroker : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly List<FakeConnection> _connections = [];

    public FakeBroker(MqttProtocolVersion version = MqttProtocolVersion.V500)
    {
        Version = version;
        _listener.Start();
    }

    public MqttProtocolVersion Version { get; }
    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public MqttClientOptions ClientOptions(Action<MqttClientOptions>? configure = null)
    {
        var o = new MqttClientOptions { Port = Port, ProtocolVersion = Version, ClientId = "fake-client", ConnectTimeout = TimeSpan.FromSeconds(5) };
        configure?.Invoke(o);
        return o;
    }

    public async Task<FakeConnection> AcceptAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(5));
        var socket = await _listener.AcceptSocketAsync(cts.Token);
        var c = new FakeConnection(socket, Version);
        _connections.Add(c);
        return c;
    }

    /// <summary>Accepts, reads CONNECT, answers CONNACK (customise it with <paramref name="connack"/>).</summary>
    public async Task<(FakeConnection Connection, ConnectPacket Connect)> AcceptAndConnAckAsync(Action<ConnAckPacket>? connack = null)
    {
        var c = await AcceptAsync();
        var connect = await c.ReadAsync<ConnectPacket>();
        var ack = new ConnAckPacket();
        connack?.Invoke(ack);
        await c.SendAsync(ack);
        return (c, connect);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var c in _connections) await c.DisposeAsync();
        _listener.Stop();
        _listener.Dispose();
    }
}

internal sealed class FakeConnection : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly MqttPacketReader _reader;

    public FakeConnection(Socket socket, MqttProtocolVersion version)
    {
        _socket = socket;
        Version = version;
        _stream = new NetworkStream(socket, ownsSocket: true);
        _reader = new MqttPacketReader(_stream, 0);
    }

    public MqttProtocolVersion Version { get; }

    public async Task<MqttPacket> ReadAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(5));
        var (first, body) = await _reader.ReadAsync(cts.Token);
        return MqttPacketDecoder.Decode(first, body.Span, Version);
    }

    public async Task<T> ReadAsync<T>(TimeSpan? timeout = null) where T : MqttPacket
    {
        var p = await ReadAsync(timeout);
        return p as T ?? throw new Xunit.Sdk.XunitException($"expected {typeof(T).Name}, got {p.Type}");
    }

    /// <summary>Reads packets, skipping PINGREQ (answered unless <paramref name="answerPings"/> is false), until a <typeparamref name="T"/>.</summary>
    public async Task<T> ReadSkippingPingsAsync<T>(bool answerPings = true, TimeSpan? timeout = null) where T : MqttPacket
    {
        while (true)
        {
            var p = await ReadAsync(timeout);
            if (p is PingReqPacket)
            {
                if (answerPings) await SendAsync(PingRespPacket.Instance);
                continue;
            }
            return p as T ?? throw new Xunit.Sdk.XunitException($"expected {typeof(T).Name}, got {p.Type}");
        }
    }

    /// <summary>True when nothing arrives within <paramref name="wait"/> (the connection stays usable only if it returns true).</summary>
    public async Task<bool> NothingArrivesAsync(TimeSpan wait)
    {
        try
        {
            await ReadAsync(wait);
            return false;
        }
        catch (OperationCanceledException)
        {
            return true;
        }
    }

    public async Task SendAsync(MqttPacket packet)
    {
        using var w = new MqttBufferWriter();
        MqttPacketEncoder.Encode(packet, Version, w);
        await _stream.WriteAsync(w.WrittenMemory);
    }

    public async Task SendRawAsync(byte[] bytes) => await _stream.WriteAsync(bytes);

    /// <summary>Drops the TCP connection without DISCONNECT (like a crashed broker or a cut cable with RST).</summary>
    public void Drop()
    {
        try { _socket.LingerState = new LingerOption(true, 0); } catch (ObjectDisposedException) { }
        _stream.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync();
        _reader.Dispose();
    }
}
