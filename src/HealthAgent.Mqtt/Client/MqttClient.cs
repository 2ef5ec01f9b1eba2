using System.Net.Sockets;
using System.Threading.Channels;
using HealthAgent.Mqtt.Encoding;
using HealthAgent.Mqtt.Packets;
using HealthAgent.Mqtt.Transport;

namespace HealthAgent.Mqtt;

/// <summary>
/// MQTT 5.0 / 3.1.1 client. Thread-safe: any number of tasks may publish, subscribe and disconnect concurrently.
/// Outgoing packets are appended to one buffer and written by a single writer loop (batched writes); one receive
/// loop decodes; a keep-alive loop watches packets received. Reconnection policy belongs to the caller: after
/// <see cref="ConnectionLost"/> call <see cref="ConnectAsync"/> again; in-flight QoS 1 messages are resent when the
/// session is resumed and handed back otherwise.
/// </summary>
public sealed class MqttClient : IAsyncDisposable
{
    private const int OutboundHighWater = 256 * 1024;
    private static readonly Task<MqttPublishResult> Qos0Done = Task.FromResult(new MqttPublishResult(MqttReasonCode.Success));

    private readonly MqttClientOptions _options;
    private readonly object _sync = new();
    private readonly Channel<MqttApplicationMessage> _inbound = Channel.CreateUnbounded<MqttApplicationMessage>(new UnboundedChannelOptions { SingleWriter = true });

    // Session state: survives a connection loss, dropped when the broker reports no session [MQTT-3.2.2-5].
    private readonly bool[] _idInUse = new bool[65536];
    private readonly Outgoing?[] _outgoingById = new Outgoing?[65536];
    // QoS 1 publishes waiting for a window or a connection; enqueued without the lock, dequeued under it
    private readonly System.Collections.Concurrent.ConcurrentQueue<Outgoing> _unsent = new();
    private readonly HashSet<ushort> _inboundQos2 = [];
    private Outgoing? _sentHead; // QoS 1 publishes sent and not yet acknowledged, in send order [MQTT-4.6.0-1]
    private Outgoing? _sentTail;
    private int _sentCount;
    private ushort _nextId = 1;

    private Connection? _conn;
    private bool _connecting;
    private bool _everConnected;
    private bool _disposed;
    private string? _assignedClientId;
    private long _dropped;

    /// <summary>Creates a client; nothing happens until <see cref="ConnectAsync"/>.</summary>
    public MqttClient(MqttClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
    }

    /// <summary>Inbound application messages. Read them at your own pace: the receive loop never waits for you.</summary>
    public ChannelReader<MqttApplicationMessage> Messages => _inbound.Reader;

    /// <summary>
    /// Raised once per connection loss (not after <see cref="DisconnectAsync"/>), on the thread pool, never on the
    /// receive loop. Exceptions thrown by handlers are swallowed.
    /// </summary>
    public event Action<MqttConnectionLost>? ConnectionLost;

    /// <summary>True between a successful <see cref="ConnectAsync"/> and a disconnect or connection loss.</summary>
    public bool IsConnected { get { lock (_sync) { return _conn is { Closed: false }; } } }

    /// <summary>The last successful CONNACK outcome, or null.</summary>
    public MqttConnectResult? ConnectResult { get; private set; }

    /// <summary>Inbound QoS 0 messages dropped because <see cref="MqttClientOptions.MaxQueuedInboundMessages"/> were waiting unread.</summary>
    public long DroppedMessages => Interlocked.Read(ref _dropped);

    /// <summary>QoS 1 publishes not yet acknowledged (sent or waiting for a send window / connection).</summary>
    public int PendingPublishes { get { lock (_sync) { return _sentCount + _unsent.Count(o => !o.Task.IsCompleted); } } }

    private MqttProtocolVersion Version => _options.ProtocolVersion;

    // ───────────────────────────── connect ─────────────────────────────

    /// <summary>
    /// Opens the connection and performs CONNECT/CONNACK. May be called again after a connection loss. Throws
    /// <see cref="MqttConnectException"/> when the broker refuses (reason code and name), <see cref="TimeoutException"/>
    /// after <see cref="MqttClientOptions.ConnectTimeout"/>, or the socket/TLS exception.
    /// </summary>
    public async Task<MqttConnectResult> ConnectAsync(CancellationToken ct = default)
    {
        var o = _options;
        var v5 = Version == MqttProtocolVersion.V500;
        if (!v5 && o.Password is not null && o.Username is null)
            throw new ArgumentException("MQTT 3.1.1 does not allow a password without a user name [MQTT-3.1.2-22]");
        var clientId = o.ClientId.Length > 0 ? o.ClientId : _assignedClientId ?? "";
        if (!v5 && clientId.Length == 0 && !o.CleanStart)
            throw new ArgumentException("MQTT 3.1.1 needs CleanStart with an empty client id [MQTT-3.1.3-7]");
        if (o.Will is { } w && !MqttTopic.IsValidTopicName(w.Topic)) throw new ArgumentException($"Invalid will topic '{w.Topic}'");
        lock (_sync)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_conn is { Closed: false } || _connecting) throw new InvalidOperationException("Already connected or connecting.");
            _connecting = true;
        }
        Stream? stream = null;
        MqttPacketReader? reader = null;
        Socket? socket = null;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(o.ConnectTimeout);
            ConnAckPacket ack;
            var connectPacket = BuildConnect(clientId);
            try
            {
                // blocking I/O on a pool thread keeps the socket in blocking mode for the receive/send threads
                (stream, reader, ack, socket) = await Task.Run(() =>
                {
                    var (s, sock) = MqttTransport.Connect(o, timeout.Token);
                    MqttPacketReader? r = null;
                    try
                    {
                        using (var cw = new MqttBufferWriter())
                        {
                            MqttPacketEncoder.Encode(connectPacket, Version, cw);
                            s.Write(cw.WrittenSpan);
                        }
                        r = new MqttPacketReader(s, o.MaximumPacketSize);
                        using (timeout.Token.Register(static x => ((Stream)x!).Dispose(), s))
                        {
                            var (first, body) = r.Read();
                            // [MQTT-3.2.0-1] the first packet from the server is CONNACK
                            if (first >> 4 != (int)MqttPacketType.ConnAck) throw new MqttProtocolException(MqttReasonCode.ProtocolError, "first packet is not CONNACK");
                            var a = (ConnAckPacket)MqttPacketDecoder.Decode(first, body.Span, Version);
                            timeout.Token.ThrowIfCancellationRequested();
                            return (s, r, a, sock);
                        }
                    }
                    catch
                    {
                        r?.Dispose();
                        s.Dispose();
                        throw;
                    }
                }, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not MqttException && timeout.IsCancellationRequested)
            {
                ct.ThrowIfCancellationRequested();
                throw new TimeoutException($"No CONNACK from {o.Host}:{o.Port} within {o.ConnectTimeout.TotalSeconds:0.#} s.", ex);
            }

            var code = v5 ? (MqttReasonCode)ack.ReasonCode : MapV311ReturnCode(ack.ReasonCode);
            if (!code.IsSuccess()) throw new MqttConnectException(code, ack.Properties.ReasonString);
            // [MQTT-3.2.2-4] a clean start cannot resume a session
            if (o.CleanStart && ack.SessionPresent)
                throw new MqttProtocolException(MqttReasonCode.ProtocolError, "Session Present with Clean Start [MQTT-3.2.2-4]");

            var p = ack.Properties;
            var conn = new Connection(this, stream, reader)
            {
                // non-blocking sends from the receive thread: plain TCP only (TLS records must go through SslStream)
                RawSocket = stream is NetworkStream && NonBlockingSend.Supported ? socket : null,
                ReceiveMaximum = p.ReceiveMaximum ?? 65535,
                MaximumQos = (MqttQos)(p.MaximumQos ?? 2),
                RetainAvailable = (p.RetainAvailable ?? 1) == 1,
                MaximumPacketSize = p.MaximumPacketSize ?? 0,
                KeepAliveSeconds = p.ServerKeepAlive ?? o.KeepAliveSeconds, // [MQTT-3.1.2-21]
            };
            if (p.AssignedClientIdentifier is { } assigned) _assignedClientId = assigned;

            int resent = 0, returned = 0;
            List<Outgoing>? toFault = null;
            lock (_sync)
            {
                if (!ack.SessionPresent)
                {
                    // [MQTT-3.2.2-5] no session: the broker forgot our in-flight messages; hand them back to the caller
                    _inboundQos2.Clear();
                    for (var m = _sentHead; m is not null; m = m.Next)
                    {
                        (toFault ??= []).Add(m);
                        FreeId(m.Id);
                        _outgoingById[m.Id] = null;
                    }
                    _sentHead = _sentTail = null;
                    _sentCount = 0;
                    returned = toFault?.Count ?? 0;
                }
                else
                {
                    // [MQTT-4.4.0-1] resend unacknowledged PUBLISH in order, DUP=1, original packet ids [MQTT-3.3.1-1]
                    for (var m = _sentHead; m is not null; m = m.Next)
                    {
                        MqttPacketEncoder.EncodePublish(conn.Pending, Version, m.Message, m.Id, dup: true);
                        resent++;
                    }
                }
                _conn = conn;
                _everConnected = true;
                PumpUnsent(conn);
            }
            if (toFault is not null)
                foreach (var m in toFault)
                    m.TrySetException(new MqttMessageNotDeliveredException(m.Message, "the broker did not resume the session"));

            var result = new MqttConnectResult(ack.SessionPresent, code, p.AssignedClientIdentifier, p.ServerKeepAlive,
                conn.ReceiveMaximum, conn.MaximumQos, conn.RetainAvailable, conn.MaximumPacketSize, p.TopicAliasMaximum ?? 0)
            {
                ReasonString = p.ReasonString,
                ResentMessages = resent,
                ReturnedMessages = returned,
            };
            ConnectResult = result;
            conn.Start();
            stream = null;
            reader = null;
            return result;
        }
        finally
        {
            reader?.Dispose();
            if (stream is not null) await stream.DisposeAsync().ConfigureAwait(false);
            lock (_sync) { _connecting = false; }
        }
    }

    private ConnectPacket BuildConnect(string clientId)
    {
        var o = _options;
        var c = new ConnectPacket
        {
            ProtocolVersion = Version,
            ClientId = clientId,
            CleanStart = o.CleanStart,
            KeepAlive = o.KeepAliveSeconds,
            Username = o.Username,
            Password = o.Password is null ? (ReadOnlyMemory<byte>?)null : System.Text.Encoding.UTF8.GetBytes(o.Password),
        };
        if (o.SessionExpirySeconds > 0) c.Properties.SessionExpiryInterval = o.SessionExpirySeconds;
        if (o.ReceiveMaximum != 65535) c.Properties.ReceiveMaximum = o.ReceiveMaximum == 0 ? (ushort)1 : o.ReceiveMaximum;
        if (o.MaximumPacketSize > 0) c.Properties.MaximumPacketSize = o.MaximumPacketSize;
        if (o.Will is { } w)
        {
            c.HasWill = true;
            c.WillTopic = w.Topic;
            c.WillPayload = w.Payload;
            c.WillQos = w.Qos;
            c.WillRetain = w.Retain;
            if (w.DelaySeconds > 0) c.WillProperties.WillDelayInterval = w.DelaySeconds;
            c.WillProperties.ContentType = w.ContentType;
            c.WillProperties.MessageExpiryInterval = w.MessageExpirySeconds;
        }
        return c;
    }

    /// <summary>3.1.1 CONNACK return codes 1-5 onto their v5 equivalents.</summary>
    internal static MqttReasonCode MapV311ReturnCode(byte rc) => rc switch
    {
        0 => MqttReasonCode.Success,
        1 => MqttReasonCode.UnsupportedProtocolVersion,
        2 => MqttReasonCode.ClientIdentifierNotValid,
        3 => MqttReasonCode.ServerUnavailable,
        4 => MqttReasonCode.BadUserNameOrPassword,
        5 => MqttReasonCode.NotAuthorized,
        _ => MqttReasonCode.UnspecifiedError,
    };

    // ───────────────────────────── publish ─────────────────────────────

    /// <summary>
    /// Publishes a message. QoS 0 completes once the packet is in the connection's send buffer (the caller waits
    /// only when that buffer is full). QoS 1 completes on PUBACK with its reason code: codes ≥ 0x80 are returned, not
    /// thrown. While disconnected after a loss, QoS 1 publishes wait: resent on reconnect with a session, otherwise
    /// faulted with <see cref="MqttMessageNotDeliveredException"/>. Never connected, or QoS 0 while disconnected:
    /// <see cref="MqttNotConnectedException"/>. QoS 2 publishing, QoS above the server's Maximum QoS and retain when
    /// the server has no retain: <see cref="NotSupportedException"/>.
    /// </summary>
    public Task<MqttPublishResult> PublishAsync(MqttApplicationMessage message, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (!MqttTopic.IsValidTopicName(message.Topic))
            throw new ArgumentException($"Invalid topic name '{message.Topic}' [MQTT-3.3.2-2]", nameof(message));
        if (message.Qos == MqttQos.ExactlyOnce) throw new NotSupportedException("Publishing with QoS 2 is not supported by this client.");
        if (ct.IsCancellationRequested) return Task.FromCanceled<MqttPublishResult>(ct);

        if (message.Qos == MqttQos.AtMostOnce)
        {
            Connection? conn;
            lock (_sync)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                conn = _conn;
                if (conn is null || conn.Closed) throw new MqttNotConnectedException();
                CheckCapabilities(conn, message);
                if (conn.Pending.Length >= OutboundHighWater) conn = null;
                else AppendPublish(conn, message, 0, false);
            }
            if (conn is null) return PublishQos0SlowAsync(message, ct);
            // the send thread writes whatever has accumulated by the time it runs: a burst leaves in one write
            Kick(conn);
            return Qos0Done;
        }

        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed), this);
        var current = Volatile.Read(ref _conn);
        if (current is { Closed: false }) CheckCapabilities(current, message);
        else if (!Volatile.Read(ref _everConnected)) throw new MqttNotConnectedException();
        var o = new Outgoing(message);
        // no lock while the send window is full (the steady state of a fast publisher): the receive thread moves
        // queued messages into the window as PUBACKs free it
        _unsent.Enqueue(o);
        current = Volatile.Read(ref _conn); // re-read: a connection made meanwhile may have pumped before our enqueue
        if (current is not null && Volatile.Read(ref _sentCount) < current.ReceiveMaximum)
        {
            bool claimed;
            lock (_sync)
            {
                claimed = ReferenceEquals(_conn, current) && !current.Closed && !current.Disconnecting && PumpUnsent(current);
            }
            if (claimed) Kick(current);
        }
        if (Volatile.Read(ref _disposed)) o.TrySetException(new MqttMessageNotDeliveredException(message, "the client was disposed"));
        if (!ct.CanBeCanceled) return o.Task;
        var registration = ct.Register(static s =>
        {
            var (client, og) = ((MqttClient, Outgoing))s!;
            lock (client._sync)
            {
                if (!og.Sent) og.TrySetCanceled(); // not yet on the wire: withdraw it
            }
        }, (this, o));
        _ = o.Task.ContinueWith(static (_, r) => ((CancellationTokenRegistration)r!).Dispose(), registration, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        // once sent, cancelling only stops the caller's wait: the exchange completes inside the session
        return o.Task.WaitAsync(ct);
    }

    private async Task<MqttPublishResult> PublishQos0SlowAsync(MqttApplicationMessage message, CancellationToken ct)
    {
        while (true)
        {
            Task? wait = null;
            Connection? conn;
            lock (_sync)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                conn = _conn;
                if (conn is null || conn.Closed) throw new MqttNotConnectedException();
                if (conn.Pending.Length < OutboundHighWater)
                {
                    CheckCapabilities(conn, message);
                    AppendPublish(conn, message, 0, false);
                }
                else
                {
                    conn.SpaceAvailable ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    wait = conn.SpaceAvailable.Task;
                }
            }
            Kick(conn);
            // appended: done. Waiting: the wait may already be over (a writer took the buffer since the lock), but the
            // message is not in it yet — loop and append (testing wait.IsCompleted here once lost messages).
            if (wait is null) return Qos0Done.Result;
            await wait.WaitAsync(ct).ConfigureAwait(false);
        }
    }

    private static void CheckCapabilities(Connection conn, MqttApplicationMessage m)
    {
        if (m.Qos > conn.MaximumQos) throw new NotSupportedException($"The server's Maximum QoS is {(int)conn.MaximumQos} [MQTT-3.2.2-11].");
        if (m.Retain && !conn.RetainAvailable) throw new NotSupportedException("The server does not support retained messages [MQTT-3.2.2-14].");
    }

    /// <summary>Encodes a PUBLISH into the send buffer; enforces the server's Maximum Packet Size [MQTT-3.1.2-24 / 3.2.2-15].</summary>
    private void AppendPublish(Connection conn, MqttApplicationMessage m, ushort id, bool dup)
    {
        var before = conn.Pending.Length;
        int size;
        try
        {
            size = MqttPacketEncoder.EncodePublish(conn.Pending, Version, m, id, dup);
        }
        catch
        {
            conn.Pending.Truncate(before);
            throw;
        }
        if (conn.MaximumPacketSize > 0 && size > conn.MaximumPacketSize)
        {
            conn.Pending.Truncate(before);
            throw new MqttProtocolException(MqttReasonCode.PacketTooLarge, $"PUBLISH of {size} bytes exceeds the server's Maximum Packet Size {conn.MaximumPacketSize} [MQTT-3.2.2-15]");
        }
    }

    /// <summary>Sends queued QoS 1 publishes while fewer than the server's Receive Maximum are unacknowledged [MQTT-4.9.0-2].</summary>
    private bool PumpUnsent(Connection conn)
    {
        var any = false;
        while (_sentCount < conn.ReceiveMaximum && _unsent.TryDequeue(out var o))
        {
            if (o.Task.IsCompleted) continue; // cancelled before it was sent
            ushort id = 0;
            try
            {
                CheckCapabilities(conn, o.Message);
                id = AllocateId();
                AppendPublish(conn, o.Message, id, false);
                any = true;
                o.Id = id;
                o.Sent = true;
                _outgoingById[id] = o;
                o.Prev = _sentTail;
                if (_sentTail is null) _sentHead = o; else _sentTail.Next = o;
                _sentTail = o;
                _sentCount++;
            }
            catch (Exception ex) when (ex is NotSupportedException or MqttProtocolException or ArgumentException)
            {
                if (id != 0) FreeId(id);
                o.TrySetException(ex);
            }
        }
        return any;
    }



    /// <summary>A packet identifier that is non-zero and not in use [MQTT-2.2.1-3].</summary>
    private ushort AllocateId()
    {
        for (var i = 0; i < 65535; i++)
        {
            var id = _nextId;
            _nextId = _nextId == 65535 ? (ushort)1 : (ushort)(_nextId + 1);
            if (!_idInUse[id])
            {
                _idInUse[id] = true;
                return id;
            }
        }
        throw new InvalidOperationException("All 65,535 packet identifiers are in use.");
    }

    private void FreeId(ushort id) => _idInUse[id] = false;

    private void Unlink(Outgoing o)
    {
        if (o.Prev is null) _sentHead = o.Next; else o.Prev.Next = o.Next;
        if (o.Next is null) _sentTail = o.Prev; else o.Next.Prev = o.Prev;
        o.Prev = o.Next = null;
        _sentCount--;
    }

    // ─────────────────────────── subscribe ───────────────────────────

    /// <summary>Subscribes; returns one reason code per filter (granted QoS, or ≥ 0x80 for a refusal).</summary>
    public async Task<IReadOnlyList<MqttReasonCode>> SubscribeAsync(IReadOnlyList<MqttTopicFilter> filters, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(filters);
        if (filters.Count == 0) throw new ArgumentException("At least one filter [MQTT-3.8.3-2]", nameof(filters));
        foreach (var f in filters)
            if (!MqttTopic.IsValidTopicFilter(f.Filter) || f.RetainHandling > 2) throw new ArgumentException($"Invalid topic filter '{f.Filter}'", nameof(filters));
        var ack = await RequestAsync(id => new SubscribePacket { PacketId = id, Filters = [.. filters] }, ct).ConfigureAwait(false);
        var codes = ((SubAckPacket)ack).ReasonCodes;
        var result = new MqttReasonCode[codes.Count];
        for (var i = 0; i < codes.Count; i++) result[i] = (MqttReasonCode)codes[i];
        return result;
    }

    /// <summary>Unsubscribes. v5 reason codes ≥ 0x80 throw <see cref="MqttException"/>; 0x11 "No subscription existed" does not.</summary>
    public async Task UnsubscribeAsync(IReadOnlyList<string> filters, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(filters);
        if (filters.Count == 0) throw new ArgumentException("At least one filter [MQTT-3.10.3-2]", nameof(filters));
        foreach (var f in filters)
            if (!MqttTopic.IsValidTopicFilter(f)) throw new ArgumentException($"Invalid topic filter '{f}'", nameof(filters));
        var ack = (UnsubAckPacket)await RequestAsync(id => new UnsubscribePacket { PacketId = id, Filters = [.. filters] }, ct).ConfigureAwait(false);
        foreach (var c in ack.ReasonCodes)
            if (!((MqttReasonCode)c).IsSuccess()) throw new MqttException($"Unsubscribe refused: {((MqttReasonCode)c).Describe()}");
    }

    private async Task<MqttPacket> RequestAsync(Func<ushort, MqttPacket> build, CancellationToken ct)
    {
        TaskCompletionSource<MqttPacket> tcs;
        Connection kick;
        lock (_sync)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var conn = _conn;
            if (conn is null || conn.Closed) throw new MqttNotConnectedException();
            var id = AllocateId();
            tcs = new TaskCompletionSource<MqttPacket>(TaskCreationOptions.RunContinuationsAsynchronously);
            try
            {
                var before = conn.Pending.Length;
                var size = MqttPacketEncoder.Encode(build(id), Version, conn.Pending);
                if (conn.MaximumPacketSize > 0 && size > conn.MaximumPacketSize)
                {
                    conn.Pending.Truncate(before);
                    throw new MqttProtocolException(MqttReasonCode.PacketTooLarge, "request exceeds the server's Maximum Packet Size");
                }
            }
            catch
            {
                FreeId(id);
                throw;
            }
            conn.Requests[id] = tcs;
            kick = conn;
        }
        Kick(kick);
        return await tcs.Task.WaitAsync(ct).ConfigureAwait(false);
    }

    // ─────────────────────────── disconnect ───────────────────────────

    /// <summary>
    /// Sends DISCONNECT (v5: with <paramref name="reason"/>; 0x00 suppresses the will, 0x04 asks for it) and closes.
    /// No <see cref="ConnectionLost"/> event. Unacknowledged QoS 1 messages stay pending for a later reconnect.
    /// </summary>
    public async Task DisconnectAsync(MqttReasonCode reason = MqttReasonCode.NormalDisconnection, CancellationToken ct = default)
    {
        Connection? conn;
        lock (_sync)
        {
            conn = _conn;
            if (conn is null || conn.Closed) return;
            MqttPacketEncoder.Encode(new DisconnectPacket { ReasonCode = (byte)reason }, Version, conn.Pending);
            // nothing may follow DISCONNECT: new publishes see "not connected" (QoS 1 ones wait for a reconnect)
            conn.Disconnecting = true;
            _conn = null;
        }
        Kick(conn);
        // let the writer flush everything queued before the DISCONNECT, for at most 2 s
        var deadline = Environment.TickCount64 + 2000;
        while (!ct.IsCancellationRequested && Environment.TickCount64 < deadline)
        {
            lock (_sync)
            {
                if (conn.Closed || (conn.Pending.Length == 0 && !conn.WriterBusy)) break;
            }
            await Task.Delay(5, CancellationToken.None).ConfigureAwait(false);
        }
        CloseConnection(conn, null);
        await conn.WhenStoppedAsync().ConfigureAwait(false);
    }

    /// <summary>Disconnects cleanly if connected, faults pending publishes and completes <see cref="Messages"/>.</summary>
    public async ValueTask DisposeAsync()
    {
        lock (_sync)
        {
            if (_disposed) return;
        }
        try { await DisconnectAsync().ConfigureAwait(false); }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or MqttException) { }
        List<Outgoing> toFault = [];
        lock (_sync)
        {
            _disposed = true;
            for (var m = _sentHead; m is not null; m = m.Next) toFault.Add(m);
            while (_unsent.TryDequeue(out var u)) toFault.Add(u);
            _sentHead = _sentTail = null;
            _sentCount = 0;
        }
        foreach (var m in toFault) m.TrySetException(new MqttMessageNotDeliveredException(m.Message, "the client was disposed"));
        _inbound.Writer.TryComplete();
    }

    // ─────────────────────────── connection loss ───────────────────────────

    /// <summary>Tests: close the socket without DISCONNECT, as if the process had been killed.</summary>
    internal void AbortTransportForTests()
    {
        Connection? c;
        lock (_sync) { c = _conn; }
        c?.Abort();
    }

    /// <summary>Closes <paramref name="conn"/> once; <paramref name="lost"/> non-null raises <see cref="ConnectionLost"/>.</summary>
    private void CloseConnection(Connection conn, MqttConnectionLost? lost)
    {
        List<TaskCompletionSource<MqttPacket>> requests;
        lock (_sync)
        {
            if (conn.Closed) return;
            conn.Closed = true;
            if (ReferenceEquals(_conn, conn)) _conn = null;
            requests = [.. conn.Requests.Values];
            foreach (var id in conn.Requests.Keys) FreeId(id);
            conn.Requests.Clear();
            conn.SpaceAvailable?.TrySetResult();
            conn.SpaceAvailable = null;
            conn.ReleaseBuffersIfIdle();
            conn.WriterWake.Set(); // the send thread sees Closed and ends
        }
        conn.Abort();
        foreach (var r in requests)
            r.TrySetException(new MqttNotConnectedException("The connection was closed before the broker answered.", lost?.Exception));
        if (lost is not null)
        {
            ThreadPool.QueueUserWorkItem(static s =>
            {
                var (client, info) = s;
                try { client.ConnectionLost?.Invoke(info); }
                catch (Exception) { /* a handler's failure must not take the process down */ }
            }, (this, lost), preferLocal: false);
        }
    }

    private void Fail(Connection conn, string reason, MqttReasonCode? code, Exception? ex)
    {
        if (conn.Closed) return;
        CloseConnection(conn, new MqttConnectionLost(reason, code, ex));
    }

    // ─────────────────────────── loops ───────────────────────────

    /// <summary>Wakes the send thread (no lock; a no-op when it is already awake).</summary>
    private static void Kick(Connection conn) => conn.WriterWake.Set();

    /// <summary>
    /// Before the receive thread blocks on a read, it sends what it queued (acks, publishes released by PUBACKs) itself
    /// when it can take the writer token: one thread wake-up per round trip, as in a C client. The token makes one
    /// writer per stream (a second writer would interleave bytes). The write never blocks (MSG_DONTWAIT): what does not
    /// fit in the socket's send buffer is handed, with the token, to the send thread, so a broker that stops reading
    /// cannot block the receive thread (which would stop acks and keep-alive on both sides). TLS: send thread only.
    /// </summary>
    private void WriteFromReceiveThread(Connection conn)
    {
        MqttBufferWriter toWrite;
        TaskCompletionSource? space;
        lock (_sync)
        {
            if (conn.Closed || conn.Pending.Length == 0) return;
            if (conn.RawSocket is null || conn.WriterBusy)
            {
                Kick(conn); // the send thread writes it (when busy, it finds Pending non-empty before it sleeps)
                return;
            }
            conn.WriterBusy = true;
            toWrite = TakePending(conn, out space);
        }
        space?.TrySetResult();
        var written = NonBlockingSend.Send(conn.RawSocket, toWrite.WrittenSpan);
        if (written > 0) Volatile.Write(ref conn.LastSent, Environment.TickCount64);
        lock (_sync)
        {
            if (written < toWrite.Length && !conn.Closed)
            {
                // the rest goes to the send thread, which now holds the token
                conn.HandOffOffset = written;
                conn.HandOff = true;
                Kick(conn);
                return;
            }
            toWrite.Reset();
            conn.WriterBusy = false;
            conn.ReleaseBuffersIfIdle();
            if (conn.Pending.Length > 0) Kick(conn);
        }
    }

    /// <summary>Swaps the send buffers: appends continue into the other one. Caller holds the lock and the writer token.</summary>
    private static MqttBufferWriter TakePending(Connection conn, out TaskCompletionSource? space)
    {
        (conn.Pending, conn.Writing) = (conn.Writing, conn.Pending);
        space = conn.SpaceAvailable;
        conn.SpaceAvailable = null;
        return conn.Writing;
    }

    /// <summary>
    /// The send loop runs on its own thread with blocking writes: it takes the writer token, swaps the send buffer and
    /// writes everything queued in one call, so bursts leave in few system calls and steady QoS 0 publishing allocates
    /// nothing per message. It also finishes what the receive thread could not send without blocking.
    /// </summary>
    private void WriterLoop(Connection conn)
    {
        try
        {
            while (true)
            {
                conn.WriterWake.Wait();
                conn.WriterWake.Reset();
                while (true)
                {
                    MqttBufferWriter toWrite;
                    TaskCompletionSource? space = null;
                    var offset = 0;
                    lock (_sync)
                    {
                        if (conn.Closed) return;
                        if (conn.HandOff)
                        {
                            conn.HandOff = false; // the token came with it
                            toWrite = conn.Writing;
                            offset = conn.HandOffOffset;
                        }
                        else
                        {
                            // the receive thread holds the token: it kicks us if it leaves anything queued
                            if (conn.WriterBusy || conn.Pending.Length == 0) break;
                            conn.WriterBusy = true;
                            toWrite = TakePending(conn, out space);
                        }
                    }
                    space?.TrySetResult();
                    conn.Stream.Write(toWrite.WrittenSpan[offset..]);
                    Volatile.Write(ref conn.LastSent, Environment.TickCount64);
                    lock (_sync)
                    {
                        toWrite.Reset();
                        conn.WriterBusy = false;
                    }
                }
            }
        }
        catch (Exception ex)
        {
            Fail(conn, "Writing to the connection failed: " + ex.Message, null, ex);
        }
        finally
        {
            lock (_sync)
            {
                conn.WriterBusy = false;
                conn.HandOff = false;
                conn.ReleaseBuffersIfIdle();
            }
            conn.WriterDone.TrySetResult();
        }
    }

    /// <summary>
    /// The receive loop runs on its own thread with blocking reads: data wakes it directly, without a hop from the
    /// socket engine to the thread pool (one context switch per batch of acks, as in a C client). It only decodes,
    /// updates state and completes tasks (continuations run asynchronously): user code never runs here.
    /// </summary>
    private void ReaderLoop(Connection conn)
    {
        try
        {
            while (true)
            {
                var (first, body) = conn.Reader.Read();
                // hot path: PUBACK without properties (2 bytes, or 3 with a v5 reason code) is handled without allocating
                if (first == 0x40 && (body.Length == 2 || (body.Length == 3 && Version == MqttProtocolVersion.V500)))
                {
                    var span = body.Span;
                    var ackId = (ushort)(span[0] << 8 | span[1]);
                    if (ackId == 0) throw new MqttProtocolException(MqttReasonCode.MalformedPacket, "packet identifier 0 [MQTT-2.2.1-3]");
                    // batched: settled under one lock before the loop next reads or handles another packet
                    conn.AckBatch.Add((ackId, body.Length == 3 ? span[2] : (byte)0));
                    continue;
                }
                SettleAcks(conn);
                var packet = MqttPacketDecoder.Decode(first, body.Span, Version);
                if (!Handle(conn, packet)) return;
            }
        }
        catch (MqttProtocolException ex)
        {
            SettleAcks(conn); // acks decoded before the bad packet count
            // Malformed input: tell a v5 server why [MQTT-4.13.1-1], then close
            lock (_sync)
            {
                if (!conn.Closed && Version == MqttProtocolVersion.V500)
                {
                    MqttPacketEncoder.Encode(new DisconnectPacket { ReasonCode = (byte)ex.ReasonCode }, Version, conn.Pending);
                }
            }
            Kick(conn);
            conn.FlushBrieflyAsync(_sync).GetAwaiter().GetResult();
            Fail(conn, "Protocol violation by the server: " + ex.Message, ex.ReasonCode, ex);
        }
        catch (Exception ex)
        {
            SettleAcks(conn);
            var reason = ex is EndOfStreamException ? "The server closed the connection." : "Reading from the connection failed: " + ex.Message;
            Fail(conn, reason, null, ex);
        }
        finally
        {
            conn.Reader.Dispose();
            conn.ReaderDone.TrySetResult();
        }
    }

    /// <summary>Handles one inbound packet on the receive loop. Returns false when the connection ends.</summary>
    private bool Handle(Connection conn, MqttPacket packet)
    {
        switch (packet)
        {
            case PublishPacket p:
                HandlePublish(conn, p);
                return true;
            case PubAckPacket { Kind: MqttPacketType.PubAck } a:
                OnPubAck(conn, a.PacketId, a.ReasonCode);
                return true;
            case PubAckPacket { Kind: MqttPacketType.PubRec } rec:
                // we never publish QoS 2, so any PUBREC is stray: release it so the server can free the id
                lock (_sync) { AppendAck(conn, MqttPacketType.PubRel, rec.PacketId, (byte)MqttReasonCode.PacketIdentifierNotFound); }
                return true;
            case PubAckPacket { Kind: MqttPacketType.PubRel } rel:
                lock (_sync)
                {
                    // [MQTT-4.3.3-11] answer PUBREL with PUBCOMP; 0x92 when we hold no state for the id
                    var known = _inboundQos2.Remove(rel.PacketId);
                    AppendAck(conn, MqttPacketType.PubComp, rel.PacketId, known ? (byte)0 : (byte)MqttReasonCode.PacketIdentifierNotFound);
                }
                return true;
            case PubAckPacket { Kind: MqttPacketType.PubComp }:
                return true; // stray: we never send PUBREL for our own messages
            case SubAckPacket or UnsubAckPacket:
                var id = packet is SubAckPacket s ? s.PacketId : ((UnsubAckPacket)packet).PacketId;
                TaskCompletionSource<MqttPacket>? req;
                lock (_sync)
                {
                    if (conn.Requests.Remove(id, out req)) FreeId(id);
                }
                req?.TrySetResult(packet);
                return true;
            case PingRespPacket:
                Volatile.Write(ref conn.PingSentAt, 0);
                return true;
            case DisconnectPacket d:
                // v5 server DISCONNECT: surface its reason code and string
                var code = (MqttReasonCode)d.ReasonCode;
                Fail(conn, $"The server sent DISCONNECT {code.Describe()}{(d.Properties.ReasonString is { } rs ? ": " + rs : "")}", code, null);
                return false;
            default:
                // CONNECT, CONNACK twice, SUBSCRIBE, UNSUBSCRIBE, PINGREQ, AUTH (no enhanced auth requested) from a server
                throw new MqttProtocolException(MqttReasonCode.ProtocolError, $"unexpected {packet.Type} from the server");
        }
    }

    private static readonly MqttPublishResult AckSuccess = new(MqttReasonCode.Success);
    private static readonly MqttPublishResult AckNoSubscribers = new(MqttReasonCode.NoMatchingSubscribers);

    private void OnPubAck(Connection conn, ushort id, byte reason)
    {
        conn.AckBatch.Add((id, reason));
        SettleAcks(conn);
    }

    /// <summary>
    /// Settles the PUBACKs decoded since the last call under one lock acquisition, refills the send window from the
    /// queue, then completes the tasks outside the lock (continuations run asynchronously). Receive thread only.
    /// </summary>
    private void SettleAcks(Connection conn)
    {
        var acks = conn.AckBatch;
        if (acks.Count == 0) return;
        var done = conn.DoneBatch;
        lock (_sync)
        {
            foreach (var (id, reason) in acks)
            {
                var o = _outgoingById[id];
                // a stray ack for an id we have not sent is ignored (MQTTnet #2079)
                if (o is not { Sent: true }) continue;
                _outgoingById[id] = null;
                FreeId(id);
                Unlink(o);
                done.Add((o, reason));
            }
            if (!conn.Closed && !conn.Disconnecting && PumpUnsent(conn)) conn.ReaderAppended = true;
        }
        acks.Clear();
        // [MQTT-4.4.0-2] a PUBACK (any reason code) ends the exchange; ≥ 0x80 is returned, not retried
        foreach (var (o, reason) in done)
        {
            o.TrySetResult(reason switch
            {
                0 => AckSuccess,
                0x10 => AckNoSubscribers,
                _ => new MqttPublishResult((MqttReasonCode)reason),
            });
        }
        done.Clear();
    }

    private void HandlePublish(Connection conn, PublishPacket p)
    {
        // we announce Topic Alias Maximum 0, so any alias is invalid [MQTT-3.3.2-10]
        if (p.Properties.TopicAlias is not null) throw new MqttProtocolException(MqttReasonCode.TopicAliasInvalid, "topic alias received but none allowed");
        var m = new MqttApplicationMessage
        {
            Topic = p.Topic,
            Payload = p.Payload,
            Qos = p.Qos,
            Retain = p.Retain,
            Dup = p.Dup,
            ContentType = p.Properties.ContentType,
            MessageExpirySeconds = p.Properties.MessageExpiryInterval,
            ResponseTopic = p.Properties.ResponseTopic,
            CorrelationData = p.Properties.CorrelationData ?? default,
            PayloadIsUtf8 = p.Properties.PayloadFormatIndicator == 1,
            UserProperties = (IReadOnlyList<KeyValuePair<string, string>>?)p.Properties.UserProperties ?? [],
            SubscriptionIdentifiers = (IReadOnlyList<uint>?)p.Properties.SubscriptionIdentifiers ?? [],
        };
        switch (p.Qos)
        {
            case MqttQos.AtMostOnce:
                if (_inbound.Reader.Count >= _options.MaxQueuedInboundMessages) Interlocked.Increment(ref _dropped);
                else _inbound.Writer.TryWrite(m);
                break;
            case MqttQos.AtLeastOnce:
                _inbound.Writer.TryWrite(m); // enqueued first, then acknowledged
                lock (_sync) { AppendAck(conn, MqttPacketType.PubAck, p.PacketId, 0); }
                break;
            default:
                lock (_sync)
                {
                    if (!_inboundQos2.Contains(p.PacketId))
                    {
                        // [MQTT-3.3.4-9] the server must not exceed our Receive Maximum
                        if (_inboundQos2.Count >= Math.Max((int)_options.ReceiveMaximum, 1))
                            throw new MqttProtocolException(MqttReasonCode.ReceiveMaximumExceeded, "more unacknowledged QoS 2 publishes than our Receive Maximum");
                        _inboundQos2.Add(p.PacketId);
                        _inbound.Writer.TryWrite(m); // delivered once; a DUP resend of a held id is not redelivered [MQTT-4.3.3-10]
                    }
                    AppendAck(conn, MqttPacketType.PubRec, p.PacketId, 0);
                }
                break;
        }
    }

    /// <summary>PUBACK/PUBREC/PUBREL/PUBCOMP written directly (4 or 5 bytes). Caller holds the lock.</summary>
    private void AppendAck(Connection conn, MqttPacketType type, ushort id, byte reason)
    {
        if (conn.Closed || conn.Disconnecting) return;
        var w = conn.Pending;
        w.WriteByte((byte)((byte)type << 4 | (type == MqttPacketType.PubRel ? 2 : 0)));
        var withReason = reason != 0 && Version == MqttProtocolVersion.V500;
        w.WriteByte(withReason ? (byte)3 : (byte)2);
        w.WriteUInt16(id);
        if (withReason) w.WriteByte(reason);
        conn.ReaderAppended = true;
        // flushed by the receive loop before it next waits for bytes (Reader.BeforeRead)
    }

    private async Task KeepAliveLoopAsync(Connection conn)
    {
        var ka = conn.KeepAliveSeconds;
        if (ka == 0) return;
        var kaMs = ka * 1000L;
        var timeoutMs = (long)(_options.PingTimeout?.TotalMilliseconds ?? Math.Max(kaMs / 2, 1000));
        // Sleeps until the next deadline instead of ticking: an idle connection wakes once per keep-alive, not every second.
        var wait = kaMs;
        try
        {
            while (true)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Max(wait, 10)), conn.Cts.Token).ConfigureAwait(false);
                var now = Environment.TickCount64;
                var pingAt = Volatile.Read(ref conn.PingSentAt);
                if (pingAt != 0)
                {
                    // a ping timeout is a disconnect (MQTTnet #2248)
                    if (now - pingAt > timeoutMs)
                    {
                        Fail(conn, $"No PINGRESP within {timeoutMs} ms: the broker is unreachable.", null, new TimeoutException("PINGRESP timeout"));
                        return;
                    }
                    // the ping timeout, or a keep-alive after the ping when the PINGRESP came (the next ping is due then)
                    wait = (now < pingAt + kaMs ? Math.Min(pingAt + timeoutMs + 1, pingAt + kaMs) : pingAt + timeoutMs + 1) - now;
                    continue;
                }
                // [MQTT-3.1.2-20] ping when nothing was sent for a keep-alive; also when nothing was *received*
                // (MQTTnet #2244), so a dead broker is noticed while we publish QoS 0 continuously
                var due = Math.Min(Volatile.Read(ref conn.LastSent), Volatile.Read(ref conn.LastReceived)) + kaMs;
                if (now >= due)
                {
                    lock (_sync)
                    {
                        if (conn.Closed || conn.Disconnecting) return;
                        conn.Pending.WriteByte(0xC0);
                        conn.Pending.WriteByte(0x00);
                    }
                    Kick(conn);
                    Volatile.Write(ref conn.PingSentAt, now);
                    wait = Math.Min(timeoutMs + 1, kaMs);
                }
                else wait = due - now;
            }
        }
        catch (OperationCanceledException) { }
    }

    // ─────────────────────────── types ───────────────────────────

    /// <summary>A QoS 1 publish and its completion (the object is its own TaskCompletionSource: one allocation).</summary>
    private sealed class Outgoing(MqttApplicationMessage message) : TaskCompletionSource<MqttPublishResult>(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        public readonly MqttApplicationMessage Message = message;
        public ushort Id;
        public bool Sent;
        public Outgoing? Prev;
        public Outgoing? Next;
    }

    /// <summary>One network connection and its loops; session state lives in the client.</summary>
    private sealed class Connection(MqttClient client, Stream stream, MqttPacketReader reader)
    {
        public readonly Stream Stream = stream;
        public readonly MqttPacketReader Reader = reader;
        public readonly CancellationTokenSource Cts = new();
        public readonly Dictionary<ushort, TaskCompletionSource<MqttPacket>> Requests = [];
        // sized past the high-water mark so steady QoS 0 publishing never grows (reallocates) them
        public MqttBufferWriter Pending = new(OutboundHighWater + 64 * 1024);
        public MqttBufferWriter Writing = new(OutboundHighWater + 64 * 1024);
        public TaskCompletionSource? SpaceAvailable;
        public bool Closed;
        public bool Disconnecting;
        /// <summary>The writer token: the send thread or the receive thread owns the stream's write side.</summary>
        public bool WriterBusy;
        /// <summary>The receive thread left Writing[HandOffOffset..] unsent and passed the token to the send thread.</summary>
        public bool HandOff;
        public int HandOffOffset;
        /// <summary>The plain TCP socket for non-blocking sends from the receive thread; null with TLS.</summary>
        public Socket? RawSocket;
        private bool _buffersReleased;
        public ushort ReceiveMaximum;
        public MqttQos MaximumQos;
        public bool RetainAvailable;
        public uint MaximumPacketSize;
        public ushort KeepAliveSeconds;
        public long LastSent = Environment.TickCount64;
        public long LastReceived = Environment.TickCount64;
        public long PingSentAt;
        private Task _loops = Task.CompletedTask;

        public readonly ManualResetEventSlim WriterWake = new(false, spinCount: 0);
        /// <summary>The receive thread queued acks or publishes since its last read (receive thread only).</summary>
        public bool ReaderAppended;
        public readonly TaskCompletionSource WriterDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public readonly List<(ushort Id, byte Reason)> AckBatch = new(64);
        public readonly List<(Outgoing Message, byte Reason)> DoneBatch = new(64);
        public readonly TaskCompletionSource ReaderDone = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Returns the pooled buffers once closed and no writer uses them. Caller holds the client lock.</summary>
        public void ReleaseBuffersIfIdle()
        {
            if (!Closed || WriterBusy || _buffersReleased) return;
            _buffersReleased = true;
            Pending.Dispose();
            Writing.Dispose();
        }

        public void Start()
        {
            Reader.OnBytesReceived = () => Volatile.Write(ref LastReceived, Environment.TickCount64);
            // acks and pumped publishes queued while decoding leave before the receive loop waits again
            Reader.BeforeRead = () =>
            {
                client.SettleAcks(this);
                if (!ReaderAppended) return;
                ReaderAppended = false;
                client.WriteFromReceiveThread(this);
            };
            new Thread(() => client.ReaderLoop(this), 256 * 1024) { IsBackground = true, Name = "mqtt-receive" }.Start();
            new Thread(() => client.WriterLoop(this), 256 * 1024) { IsBackground = true, Name = "mqtt-send" }.Start();
            _loops = Task.WhenAll(
                WriterDone.Task,
                ReaderDone.Task,
                Task.Run(() => client.KeepAliveLoopAsync(this)));
            Kick(this);
        }

        public async Task FlushBrieflyAsync(object sync)
        {
            for (var i = 0; i < 100; i++)
            {
                lock (sync)
                {
                    if (Closed || (Pending.Length == 0 && !WriterBusy)) return;
                }
                await Task.Delay(5).ConfigureAwait(false);
            }
        }

        public void Abort()
        {
            try { Cts.Cancel(); } catch (ObjectDisposedException) { }
            try { Stream.Dispose(); } catch (Exception) { /* closing a broken socket may throw; nothing to do */ }
        }

        public async Task WhenStoppedAsync()
        {
            try { await _loops.ConfigureAwait(false); }
            catch (Exception) { /* loop failures were already reported through Fail */ }
        }
    }
}
