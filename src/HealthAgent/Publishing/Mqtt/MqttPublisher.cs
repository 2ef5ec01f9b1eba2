using System.Buffers;
using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using HealthAgent.Model;
using HealthAgent.Pipeline;
using Microsoft.Extensions.Logging;
using MQTTnet;
using MQTTnet.Exceptions;
using MQTTnet.Protocol;

namespace HealthAgent.Publishing.Mqtt;

/// <summary>
/// Publishes the agent's health to an MQTT broker through MQTTnet (topic tree: README.md). Events go through the
/// transactional outbox (committed with the event, deleted after PUBACK, replayed in order after an outage or crash);
/// retained topics (status, health, info, state/…) are kept in memory and republished after every reconnect. Never
/// throws on transport failure: it reconnects itself (MQTTnet v5 has no managed client, #2243) with jittered backoff,
/// notices a dead broker by its own keep-alive ping, and says once that the broker is gone.
/// </summary>
public sealed partial class MqttPublisher : IOutboxPublisher
{
    /// <summary>Most unacknowledged event publishes when the broker allows more (Receive Maximum, or 3.1.1).</summary>
    public const int MaxInFlight = 256;
    private const int ReadAhead = 512;
    /// <summary>Longest wait between attempts while the broker cannot be reached: it is back within this (+ connect time).</summary>
    public static readonly TimeSpan ProbeInterval = TimeSpan.FromSeconds(1);
    private static readonly byte[] Online = "online"u8.ToArray(), Offline = "offline"u8.ToArray();

    private readonly MqttPublisherOptions _o;
    private readonly PublisherContext _ctx;
    private readonly ILogger _log;
    private readonly MqttTopics _topics;
    private readonly MqttClientFactory _factory = new();
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    // Commands are copied out of MQTTnet's receive handler and handled here: never block inside its handlers (#648, #829).
    private readonly Channel<Command> _commandQueue = Channel.CreateBounded<Command>(new BoundedChannelOptions(64) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    private readonly ConcurrentDictionary<string, byte[]> _retained = new(StringComparer.Ordinal);
    private readonly Lock _retainedLock = new();
    private readonly CancellationTokenSource _stop = new();
    // `online` (after connect) and `offline` (clean stop) never cross: a stop during the connect leaves `offline` last.
    private readonly SemaphoreSlim _statusGate = new(1, 1);
    private readonly bool _v5;
    private MqttClientOptions? _clientOptions;
    private Outbox? _outbox;
    private IHealthState? _state;
    private Task _loop = Task.CompletedTask, _commands = Task.CompletedTask;
    private volatile IMqttClient? _client;
    private volatile bool _online, _stopping;
    private int _stopped;
    private long _rejected, _commandsDropped;

    private sealed record Command(string Verb, byte[] Payload, byte[]? CorrelationData);

    public MqttPublisher(MqttPublisherOptions options, PublisherContext ctx)
    {
        _o = options;
        _ctx = ctx;
        _log = ctx.LoggerFactory.CreateLogger("HealthAgent.Publishing.Mqtt");
        _topics = new MqttTopics(options.TopicPrefix, ctx.AgentId);
        _v5 = options.ProtocolVersion is "5" or "5.0";
    }

    public string Name => "mqtt";
    public MqttTopics Topics => _topics;
    /// <summary>The event outbox (a table in state.db); set by the pipeline before start.</summary>
    public Outbox Outbox => _outbox ?? throw new InvalidOperationException("the MQTT publisher has no outbox yet (the pipeline attaches it)");
    public bool IsOnline => _online;
    /// <summary>Events the broker refused (PUBACK reason ≥ 0x80), logged and removed from the outbox.</summary>
    public long Rejected => Interlocked.Read(ref _rejected);
    public OutboxLimits OutboxLimits => _o.Outbox;

    public void UseOutbox(Outbox outbox)
    {
        _outbox = outbox;
        _outbox.RowsDropped += n => LogDropped(_log, n, outbox.Dropped, outbox.Count);
        // Earlier versions kept the outbox in a file of its own: bring its queued events over, in order.
        var legacy = Path.Combine(Path.GetDirectoryName(outbox.Path) ?? ".", "outbox.db");
        try
        {
            if (outbox.ImportLegacy(legacy) is var n and > 0) LogLegacyImported(_log, n, legacy);
        }
        catch (Exception e) when (e is Microsoft.Data.Sqlite.SqliteException or IOException)
        {
            var aside = $"{legacy}.corrupt-{DateTime.UtcNow:yyyyMMdd'T'HHmmss}";
            try { File.Move(legacy, aside, overwrite: true); } catch (IOException) { }
            LogOutboxCorrupt(_log, legacy, aside, e.Message);
        }
    }

    public OutboxEntry ToOutboxEntry(HealthEvent e) =>
        new(e.EventId, e.Seq, _topics.Event(e.Component.HwType, e.Component.Id), HealthJson.Bytes(HealthJson.Event(e)), Outbox.IsDroppable(e));

    private MqttClientOptions BuildClientOptions()
    {
        var password = _o.Password;
        if (_o.PasswordFile is { } pf)
        {
            var path = _ctx.Config.ResolvePath(pf);
            try { password = File.ReadLines(path).FirstOrDefault()?.TrimEnd('\r', '\n') ?? ""; }
            catch (IOException e) { LogPasswordFile(_log, path, e.Message); }
            catch (UnauthorizedAccessException e) { LogPasswordFile(_log, path, e.Message); }
        }
        var options = new MqttConnection(_o.Host, _o.Port, _v5, _o.ClientId is { Length: > 0 } id ? id : "healthagent-" + MqttTopics.ObjectId(_ctx.AgentId))
        {
            // Clean start: MQTTnet does not resend a lost connection's QoS 1 publishes (#1096); the outbox replays them.
            CleanStart = true,
            // [MQTT-3.1.3.2.2] the will is sent at the earlier of will delay and session end: keep the session that long.
            SessionExpirySeconds = (uint)_o.WillDelaySeconds,
            KeepAliveSeconds = (ushort)_o.KeepAliveSeconds,
            Username = _o.Username,
            Password = password,
            Will = (_topics.Status, Offline, (uint)_o.WillDelaySeconds),
            ConnectTimeout = TimeSpan.FromSeconds(Math.Clamp(_o.KeepAliveSeconds, 3, 10)),
            Tls = _o.Tls is { IsOn: true } t ? new MqttTls(
                t.CaFile is null ? null : _ctx.Config.ResolvePath(t.CaFile),
                t.CertFile is null ? null : _ctx.Config.ResolvePath(t.CertFile),
                t.KeyFile is null ? null : _ctx.Config.ResolvePath(t.KeyFile),
                t.CertificateFingerprint) : null,
        }.Build();
        // MQTTnet's keep-alive loop off (it wakes every 250 ms); CONNECT still announces keepAliveSeconds
        // (AnnouncedKeepAlive) and the watchdog sends the PINGREQs.
        options.KeepAlivePeriod = TimeSpan.Zero;
        return options;
    }

    public Task StartAsync(IHealthState state, CancellationToken ct)
    {
        _state = state;
        var info = Info();
        SetRetained(_topics.Info, HealthJson.Bytes(info));
        HomeAssistantStart(info); // Home Assistant discovery: MqttPublisher.HomeAssistant.cs
        // A rules reload changes info.rulesVersion: publish it again (the holder is the agent's one rule set).
        _ctx.Config.RuleHolder.Changed += _ => SetRetained(_topics.Info, HealthJson.Bytes(Info()));
        _loop = Task.Run(() => RunAsync(_stop.Token), CancellationToken.None);
        _commands = Task.Run(() => CommandsAsync(_stop.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    // ───────────── publisher contract (called from the state loop) ─────────────

    public ValueTask PublishEventAsync(HealthEvent e, CancellationToken ct)
    {
        // The pipeline committed the outbox row together with the event (ToOutboxEntry): only wake the sender.
        _wake.Writer.TryWrite(true);
        return ValueTask.CompletedTask;
    }

    public ValueTask PublishStateAsync(ComponentStatus status, CancellationToken ct)
    {
        var c = status.Component;
        var topic = _topics.State(c.HwType, c.Id);
        HomeAssistantReadings(status); // Home Assistant discovery: MqttPublisher.HomeAssistant.cs
        var part = _state?.Parts.PartIdOf(c.Id);
        SetRetained(topic, HealthJson.Bytes(HealthJson.State(_ctx.AgentId, status, part)));
        return ValueTask.CompletedTask;
    }

    public ValueTask PublishRollupAsync(HealthRollup rollup, CancellationToken ct)
    {
        var derived = HealthJson.SystemLedDerived(_state?.Components ?? []);
        SetRetained(_topics.Health, HealthJson.Bytes(HealthJson.Health(_ctx.AgentId, rollup, derived)));
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// Clean stop, once: sends what the outbox holds (bounded by <paramref name="ct"/>), publishes <c>offline</c> (QoS 1,
    /// waits for PUBACK), then DISCONNECT with reason 0x00 — which makes the broker discard the will [MQTT-3.14.4-3], so
    /// subscribers see <c>offline</c> exactly once — and only then ends the connection loop.
    /// </summary>
    public async Task StopAsync(CancellationToken ct)
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 1) return;
        _stopping = true; // the loop makes no new connection and publishes no `online` from here on
        try
        {
            while (_online && _outbox is { Count: > 0 } && !ct.IsCancellationRequested)
                await Task.Delay(20, ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) { LogStopIncomplete(_log, $"{_outbox?.Count ?? 0} event(s) not sent within the stop timeout; they stay queued"); }
        var gated = await _statusGate.WaitAsync(TimeSpan.FromSeconds(2), CancellationToken.None).ConfigureAwait(false);
        try
        {
            _online = false;
            // Connected at all (even if `online` was not published yet): say `offline` ourselves, since the
            // DISCONNECT below discards the will.
            if (_client is { IsConnected: true } client)
            {
                try
                {
                    using var offlineCts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                    await client.PublishAsync(Retained(_topics.Status, Offline), offlineCts.Token).ConfigureAwait(false);
                    using var bye = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                    await client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().WithReason(MqttClientDisconnectOptionsReason.NormalDisconnection).Build(), bye.Token).ConfigureAwait(false);
                }
                catch (Exception e) when (e is OperationCanceledException or MqttCommunicationException or ObjectDisposedException or InvalidOperationException)
                {
                    LogStopIncomplete(_log, MqttConnection.Describe(e)); // the will (if the broker got no DISCONNECT) says offline
                }
            }
        }
        finally { if (gated) _statusGate.Release(); }
        await _stop.CancelAsync().ConfigureAwait(false);
        _commandQueue.Writer.TryComplete();
        await Task.WhenAll(_loop, _commands).ConfigureAwait(false);
        LogStopped(_log, _outbox?.Count ?? 0);
    }

    /// <summary>
    /// `run --once`: waits (within <paramref name="ct"/>) for the connection, then publishes every retained topic
    /// (states, health, info) and waits for the broker's acknowledgements; the outbox is sent by <see cref="StopAsync"/>.
    /// </summary>
    public async Task FlushAsync(CancellationToken ct)
    {
        try
        {
            while (!_online) await Task.Delay(20, ct).ConfigureAwait(false);
            if (_client is not { } client) return;
            KeyValuePair<string, byte[]>[] all;
            lock (_retainedLock) all = _retained.ToArray();
            await Task.WhenAll(all.Select(kv => PublishRetainedAsync(client, kv.Key, kv.Value, ct))).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or MqttCommunicationException or ObjectDisposedException or InvalidOperationException)
        {
            LogStopIncomplete(_log, MqttConnection.Describe(e));
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stopping = true;
        if (!_stop.IsCancellationRequested) await _stop.CancelAsync().ConfigureAwait(false);
        _commandQueue.Writer.TryComplete();
        try { await Task.WhenAll(_loop, _commands).ConfigureAwait(false); } catch (OperationCanceledException) { }
        _client?.Dispose();
        _stop.Dispose();
    }

    // ───────────── connection loop ─────────────

    /// <summary>
    /// Connect, serve, and on any loss start over with a fresh MQTTnet client (no "connect/disconnect is pending"
    /// state carried over from the lost one). While the broker cannot be reached the attempts back off from 0.1 s to
    /// <see cref="ProbeInterval"/> with jitter — a refused TCP connect is as cheap as a probe, and a broker that comes
    /// back is found within about a second. A broker that answers but refuses (credentials, TLS, CONNACK code) backs off
    /// exponentially up to reconnectMaxDelaySeconds instead.
    /// </summary>
    private async Task RunAsync(CancellationToken stop)
    {
        var attempt = 0;
        var outageLogged = false;
        string? lastReason = null;
        while (!stop.IsCancellationRequested && !_stopping)
        {
            var keepAlive = new AnnouncedKeepAlive((ushort)_o.KeepAliveSeconds);
            var client = _factory.CreateMqttClient(keepAlive);
            using var conn = CancellationTokenSource.CreateLinkedTokenSource(stop);
            // Handlers only note and copy: never block inside MQTTnet's event handlers (#648, #829). A reason of
            // NormalDisconnection can also mean a reset: any disconnect ends this connection, whoever caused it.
            client.DisconnectedAsync += _ =>
            {
                _online = false;
                try { conn.Cancel(); } catch (ObjectDisposedException) { }
                return Task.CompletedTask;
            };
            client.ApplicationMessageReceivedAsync += OnMessage;
            bool refused;
            string reason;
            try
            {
                _clientOptions ??= BuildClientOptions();
                using var connectCts = CancellationTokenSource.CreateLinkedTokenSource(stop);
                connectCts.CancelAfter(_clientOptions.Timeout);
                var result = await client.ConnectAsync(_clientOptions, connectCts.Token).ConfigureAwait(false);
                if (result.ResultCode == MqttClientConnectResultCode.Success)
                {
                    _client = client;
                    attempt = 0;
                    outageLogged = false; // the next outage is reported again
                    lastReason = null;
                    await ServeAsync(client, result, keepAlive.ServerKeepAlive, conn.Token, stop).ConfigureAwait(false);
                    continue;
                }
                refused = true;
                reason = "refused: " + MqttConnection.Describe(result);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested) { client.Dispose(); return; }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // MqttCommunicationException (refused, reset, TLS), InvalidOperationException ("connect/disconnect is
                // pending" right after a drop), a timeout, a bad CA file…: all retried.
                refused = HasAuthenticationError(e) || e is ArgumentException or System.Security.Cryptography.CryptographicException;
                reason = MqttConnection.Describe(e);
            }
            finally
            {
                if (!ReferenceEquals(_client, client)) client.Dispose();
            }
            _online = false;
            if (!outageLogged) { outageLogged = true; LogUnreachable(_log, _o.Host, _o.Port, reason, _outbox?.Count ?? 0); }
            else if (reason != lastReason) LogRetry(_log, attempt, reason);
            lastReason = reason;
            var delay = Backoff(attempt++, refused ? TimeSpan.FromSeconds(_o.ReconnectMaxDelaySeconds) : ProbeInterval);
            try { await Task.Delay(delay, stop).ConfigureAwait(false); }
            catch (OperationCanceledException) { return; }
        }
    }

    private static bool HasAuthenticationError(Exception e)
    {
        for (var x = e; x is not null; x = x.InnerException)
            if (x is System.Security.Authentication.AuthenticationException) return true;
        return false;
    }

    /// <summary>Exponential from 0.1 s, capped, with "equal jitter" (half fixed, half random) so agents do not reconnect in step.</summary>
    internal static TimeSpan Backoff(int attempt, TimeSpan cap)
    {
        var ceiling = Math.Min(cap.TotalSeconds, 0.1 * Math.Pow(2, Math.Min(attempt, 16)));
        return TimeSpan.FromSeconds(ceiling / 2 + Random.Shared.NextDouble() * ceiling / 2);
    }

    private async Task ServeAsync(IMqttClient client, MqttClientConnectResult connected, ushort serverKeepAlive, CancellationToken conn, CancellationToken stop)
    {
        // [MQTT-3.3.4-7] no more unacknowledged QoS 1 publishes than the broker's Receive Maximum (absent: 65,535;
        // MQTTnet does not enforce it). 3.1.1 has none: our own cap.
        var window = Math.Min(MaxInFlight, connected.ReceiveMaximum is > 0 and var rm ? rm : MaxInFlight);
        // [MQTT-3.1.2-21] the broker's Server Keep Alive replaces ours.
        var keepAlive = serverKeepAlive > 0 ? serverKeepAlive : _o.KeepAliveSeconds;
        try
        {
            // No Local (v5 only): our own replies on reply/… never match cmd/+, but a v5 broker need not even try.
            var sub = new MqttClientSubscribeOptionsBuilder().WithTopicFilter(f => f.WithTopic(_topics.CmdFilter).WithAtLeastOnceQoS().WithNoLocal(_v5));
            foreach (var filter in HomeAssistantFilters()) sub.WithTopicFilter(f => f.WithTopic(filter).WithAtLeastOnceQoS().WithNoLocal(_v5)); // MqttPublisher.HomeAssistant.cs
            await client.SubscribeAsync(sub.Build(), conn).ConfigureAwait(false);
            await _statusGate.WaitAsync(conn).ConfigureAwait(false);
            try
            {
                if (_stopping) return; // a clean stop began meanwhile: it publishes `offline` on this connection
                await PublishRetainedAsync(client, _topics.Status, Online, conn).ConfigureAwait(false);
                _online = true;
            }
            finally { _statusGate.Release(); }
            LogConnected(_log, _o.Host, _o.Port, _outbox?.Count ?? 0);
            Republish();
            using var serving = CancellationTokenSource.CreateLinkedTokenSource(conn);
            var drain = DrainAsync(client, window, serving.Token);
            var watchdog = WatchdogAsync(client, keepAlive, serving.Token);
            await Task.WhenAny(drain, watchdog).ConfigureAwait(false);
            await serving.CancelAsync().ConfigureAwait(false);
            try { await Task.WhenAll(drain, watchdog).ConfigureAwait(false); }
            catch (OperationCanceledException) { }
            if (!stop.IsCancellationRequested && !_stopping) LogLost(_log, watchdog.IsCompletedSuccessfully && watchdog.Result is { } why ? why : "connection closed", _outbox?.Count ?? 0);
        }
        catch (Exception e) when (e is OperationCanceledException or MqttCommunicationException or ObjectDisposedException or InvalidOperationException)
        {
            if (!stop.IsCancellationRequested && !_stopping) LogLost(_log, MqttConnection.Describe(e), _outbox?.Count ?? 0);
        }
        catch (Exception e) when (e is not OutOfMemoryException && !stop.IsCancellationRequested)
        {
            // Not a transport failure (e.g. the broker's Maximum QoS is 0): the publisher must not die silently.
            LogUnexpected(_log, e.GetType().Name, e.Message);
            try { await Task.Delay(TimeSpan.FromSeconds(_o.ReconnectMaxDelaySeconds), stop).ConfigureAwait(false); }
            catch (OperationCanceledException) { }
        }
        finally
        {
            _online = false;
            if (!_stopping)
            {
                // Abort, no DISCONNECT: the will stays armed until we are back [MQTT-3.1.2-8]. On a clean stop StopAsync
                // has sent DISCONNECT already and disposes the client itself.
                _client = null;
                client.Dispose();
            }
        }
    }

    /// <summary>
    /// The connection's only keep-alive (MQTTnet's is off, <see cref="AnnouncedKeepAlive"/>): a PINGREQ every keep-alive
    /// period that must be answered within half of it (at least 1 s). It pings also while publishes flow: a publish
    /// waiting for its PUBACK on a half-open connection would wait forever (MQTTnet #2244, #2248). Returns why the
    /// connection is considered dead.
    /// </summary>
    private static async Task<string?> WatchdogAsync(IMqttClient client, int keepAliveSeconds, CancellationToken ct)
    {
        if (keepAliveSeconds <= 0)
        {
            await Task.Delay(Timeout.Infinite, ct).ConfigureAwait(false);
            return null;
        }
        var period = TimeSpan.FromSeconds(keepAliveSeconds);
        var answer = TimeSpan.FromSeconds(Math.Max(1, keepAliveSeconds / 2.0));
        // [MQTT-3.1.2-20] a control packet within every keep-alive period; the broker drops us after 1.5 × it
        // [MQTT-3.1.2-22]. A fixed rate: the time the answers take does not stretch the gap between PINGREQs.
        using var timer = new PeriodicTimer(period);
        while (true)
        {
            await timer.WaitForNextTickAsync(ct).ConfigureAwait(false);
            using var ping = CancellationTokenSource.CreateLinkedTokenSource(ct);
            ping.CancelAfter(answer);
            try { await client.PingAsync(ping.Token).ConfigureAwait(false); }
            catch (Exception e) when (e is OperationCanceledException or MqttCommunicationTimedOutException && !ct.IsCancellationRequested)
            {
                return $"no PINGRESP within {answer.TotalSeconds:0.#} s (keep-alive): the broker or the path to it is dead";
            }
            catch (Exception e) when (e is MqttCommunicationException or InvalidOperationException or ObjectDisposedException)
            {
                return MqttConnection.Describe(e);
            }
        }
    }

    /// <summary>
    /// Sends the outbox in order with up to <paramref name="window"/> unacknowledged, deleting rows once acknowledged
    /// (in batches). MQTTnet fails the pending publishes when the connection drops; their rows stay and are replayed
    /// on the next connection.
    /// </summary>
    private async Task DrainAsync(IMqttClient client, int window, CancellationToken ct)
    {
        var outbox = Outbox;
        var inflight = new Queue<(OutboxRow Row, Task<MqttClientPublishResult> Ack)>();
        var ahead = new Queue<OutboxRow>(); // rows read but not sent yet: one query per batch, not per acknowledgement
        var acked = new List<long>();
        var last = 0L;
        try
        {
            while (true)
            {
                ct.ThrowIfCancellationRequested();
                if (ahead.Count == 0 && inflight.Count < window)
                    foreach (var row in outbox.Peek(last, ReadAhead))
                    {
                        ahead.Enqueue(row);
                        last = row.Id;
                    }
                while (inflight.Count < window && ahead.TryDequeue(out var next))
                    inflight.Enqueue((next, client.PublishAsync(EventMessage(next), ct)));
                if (inflight.Count == 0)
                {
                    outbox.Delete(acked);
                    acked.Clear();
                    await _wake.Reader.ReadAsync(ct).ConfigureAwait(false);
                    continue;
                }
                var (r, ack) = inflight.Peek();
                var result = await ack.ConfigureAwait(false);
                inflight.Dequeue();
                if (!result.IsSuccess)
                {
                    // [MQTT-4.4.0-2] a PUBACK ≥ 0x80 is final: resending would be refused again
                    Interlocked.Increment(ref _rejected);
                    LogRejected(_log, r.EventId, r.Topic, result.ReasonCode + (result.ReasonString is { Length: > 0 } s ? $" ({s})" : ""));
                }
                acked.Add(r.Id);
                // Deleted in batches (one transaction each); a crash before a batch is deleted resends at most that many.
                if (acked.Count >= 128)
                {
                    outbox.Delete(acked);
                    acked.Clear();
                }
            }
        }
        finally
        {
            outbox.Delete(acked);
            foreach (var (_, ack) in inflight) _ = ack.ContinueWith(static t => _ = t.Exception, TaskScheduler.Default);
        }
    }

    private MqttApplicationMessage EventMessage(OutboxRow row)
    {
        var b = new MqttApplicationMessageBuilder().WithTopic(row.Topic).WithPayload(row.Payload).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce);
        if (_v5) b.WithContentType("application/json").WithPayloadFormatIndicator(MqttPayloadFormatIndicator.CharacterData);
        return b.Build();
    }

    private MqttApplicationMessage Retained(string topic, byte[] payload)
    {
        var b = new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).WithRetainFlag();
        if (_v5) b.WithPayloadFormatIndicator(MqttPayloadFormatIndicator.CharacterData);
        return b.Build();
    }

    // ───────────── retained topics ─────────────

    private void SetRetained(string topic, byte[] payload)
    {
        lock (_retainedLock)
        {
            if (_retained.TryGetValue(topic, out var old) && old.AsSpan().SequenceEqual(payload)) return;
            _retained[topic] = payload;
            if (_online) Send(topic, payload);
        }
    }

    private void Send(string topic, byte[] payload)
    {
        var client = _client;
        if (client is null) return;
        try
        {
            var t = client.PublishAsync(Retained(topic, payload), _stop.Token);
            _ = t.ContinueWith(static t => _ = t.Exception, TaskScheduler.Default);
        }
        catch (Exception e) when (e is MqttCommunicationException or ObjectDisposedException or InvalidOperationException or OperationCanceledException)
        {
            // Not connected any more: the next connection republishes every retained topic.
        }
    }

    private async Task PublishRetainedAsync(IMqttClient client, string topic, byte[] payload, CancellationToken ct)
    {
        var r = await client.PublishAsync(Retained(topic, payload), ct).ConfigureAwait(false);
        if (!r.IsSuccess) LogRejected(_log, Guid.Empty, topic, r.ReasonCode.ToString());
    }

    /// <summary>Publishes every retained topic again (after a reconnect, or on cmd/republish). Returns how many.</summary>
    public int Republish()
    {
        var n = 0;
        lock (_retainedLock)
        {
            if (!_online) return 0;
            foreach (var (topic, payload) in _retained) { Send(topic, payload); n++; }
        }
        return n;
    }

    // ───────────── commands ─────────────

    private Task OnMessage(MqttApplicationMessageReceivedEventArgs e)
    {
        var m = e.ApplicationMessage;
        if (HomeAssistantReceived(m.Topic, m.Payload, m.Retain)) return Task.CompletedTask; // MqttPublisher.HomeAssistant.cs
        if (!m.Topic.StartsWith(_topics.CmdPrefix, StringComparison.Ordinal)) return Task.CompletedTask;
        // Copy: the payload buffer belongs to MQTTnet once the handler returns.
        if (!_commandQueue.Writer.TryWrite(new Command(m.Topic[_topics.CmdPrefix.Length..], m.Payload.ToArray(), m.CorrelationData?.ToArray())))
            if (Interlocked.Increment(ref _commandsDropped) == 1) LogCommandsDropped(_log);
        return Task.CompletedTask;
    }

    private async Task CommandsAsync(CancellationToken stop)
    {
        try
        {
            await foreach (var m in _commandQueue.Reader.ReadAllAsync(stop).ConfigureAwait(false))
            {
                JsonObject reply;
                try { reply = await HandleAsync(m.Verb, m.Payload, stop).ConfigureAwait(false); }
                catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException or ArgumentException)
                {
                    reply = new JsonObject { ["ok"] = false, ["message"] = "bad request: " + e.Message };
                }
                catch (Exception e) when (e is not OperationCanceledException and not OutOfMemoryException)
                {
                    reply = new JsonObject { ["ok"] = false, ["message"] = "failed: " + e.Message }; // e.g. the BMC refused identify
                }
                reply["schema"] = HealthJson.ReplySchema;
                reply["verb"] = m.Verb;
                if (m.CorrelationData is { Length: > 0 } cd) reply["correlationData"] = Encoding.UTF8.GetString(cd);
                LogCommand(_log, m.Verb, (bool?)reply["ok"] ?? false);
                if (_client is not { } client) continue; // the connection went away meanwhile: the caller asks again
                var b = new MqttApplicationMessageBuilder().WithTopic(_topics.Reply(m.Verb)).WithPayload(HealthJson.Bytes(reply))
                    .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce);
                if (_v5)
                {
                    // [MQTT-4.10] request/response: the reply carries the request's Correlation Data
                    b.WithContentType("application/json").WithPayloadFormatIndicator(MqttPayloadFormatIndicator.CharacterData)
                        .WithUserProperty("agentId", Encoding.UTF8.GetBytes(_ctx.AgentId).AsMemory());
                    if (m.CorrelationData is { Length: > 0 }) b.WithCorrelationData(m.CorrelationData);
                }
                try
                {
                    var r = client.PublishAsync(b.Build(), stop);
                    _ = r.ContinueWith(static t => _ = t.Exception, TaskScheduler.Default);
                }
                catch (Exception e) when (e is MqttCommunicationException or ObjectDisposedException or InvalidOperationException) { }
            }
        }
        catch (OperationCanceledException) { }
        catch (ChannelClosedException) { }
    }

    private async Task<JsonObject> HandleAsync(string verb, ReadOnlyMemory<byte> payload, CancellationToken ct)
    {
        var body = payload.Length == 0 ? null : JsonNode.Parse(payload.Span) as JsonObject;
        var correlationId = body?["correlationId"]?.DeepClone();
        JsonObject reply;
        switch (verb)
        {
            case "republish":
                reply = new JsonObject { ["ok"] = true, ["published"] = Republish() };
                break;
            case "identify":
                var id = (string?)body?["componentId"] ?? throw new FormatException("identify needs {\"componentId\": \"…\", \"on\": true|false}");
                var on = (bool?)body!["on"] ?? true;
                var done = _state is not null && await _state.IdentifyAsync(id, on, ct).ConfigureAwait(false);
                reply = new JsonObject { ["ok"] = done, ["componentId"] = id, ["on"] = on };
                if (!done) reply["message"] = "no source can switch this component's identify LED";
                break;
            case "retire":
                reply = HomeAssistantRetire(body); // MqttPublisher.HomeAssistant.cs
                break;
            default:
                reply = new JsonObject { ["ok"] = false, ["message"] = $"unknown verb '{verb}' (known: republish, identify, retire)" };
                break;
        }
        if (correlationId is not null) reply["correlationId"] = correlationId;
        return reply;
    }

    private JsonObject Info()
    {
        static string? Dmi(string name)
        {
            try { return File.ReadAllText("/sys/class/dmi/id/" + name).Trim() is { Length: > 0 } s ? s : null; }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
        }
        var asm = typeof(MqttPublisher).Assembly;
        return new JsonObject
        {
            ["schema"] = HealthJson.InfoSchema,
            ["agentId"] = _ctx.AgentId,
            ["host"] = Environment.MachineName,
            ["vendor"] = Dmi("sys_vendor"),
            ["model"] = Dmi("product_name"),
            ["agentVersion"] = asm.GetName().Version?.ToString(3),
            ["rulesVersion"] = _ctx.Config.Rules.Version,
            ["bootId"] = _ctx.BootId,
            ["started"] = _ctx.Time.GetUtcNow().ToString("O", System.Globalization.CultureInfo.InvariantCulture),
        };
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "MQTT: connected to {Host}:{Port}; {Queued} queued event(s) to send")]
    private static partial void LogConnected(ILogger logger, string host, int port, long queued);
    [LoggerMessage(Level = LogLevel.Warning, Message = "MQTT: broker {Host}:{Port} unreachable ({Reason}); the agent keeps running and queues events in the outbox ({Queued} queued) until it is back")]
    private static partial void LogUnreachable(ILogger logger, string host, int port, string reason, long queued);
    [LoggerMessage(Level = LogLevel.Debug, Message = "MQTT: reconnect attempt {Attempt} failed: {Reason}")]
    private static partial void LogRetry(ILogger logger, int attempt, string reason);
    [LoggerMessage(Level = LogLevel.Warning, Message = "MQTT: connection lost ({Reason}); {Queued} event(s) queued in the outbox")]
    private static partial void LogLost(ILogger logger, string reason, long queued);
    [LoggerMessage(Level = LogLevel.Error, Message = "MQTT: unexpected {Type}: {Message}; reconnecting after the longest backoff")]
    private static partial void LogUnexpected(ILogger logger, string type, string message);
    [LoggerMessage(Level = LogLevel.Warning, Message = "MQTT: broker refused {EventId} on {Topic}: {Reason}; removed from the outbox")]
    private static partial void LogRejected(ILogger logger, Guid eventId, string topic, string reason);
    [LoggerMessage(Level = LogLevel.Warning, Message = "MQTT outbox full: dropped {Count} oldest event(s) ({Total} dropped in all, {Queued} queued)")]
    private static partial void LogDropped(ILogger logger, int count, long total, long queued);
    [LoggerMessage(Level = LogLevel.Error, Message = "MQTT: old outbox {Path} could not be read: moved aside to {Moved} ({Reason}); its queued events are not sent")]
    private static partial void LogOutboxCorrupt(ILogger logger, string path, string moved, string reason);
    [LoggerMessage(Level = LogLevel.Information, Message = "MQTT: {Count} queued event(s) taken over from the old outbox {Path}")]
    private static partial void LogLegacyImported(ILogger logger, int count, string path);
    [LoggerMessage(Level = LogLevel.Error, Message = "MQTT: cannot read passwordFile {Path}: {Reason}")]
    private static partial void LogPasswordFile(ILogger logger, string path, string reason);
    [LoggerMessage(Level = LogLevel.Information, Message = "MQTT: command {Verb} → ok={Ok}")]
    private static partial void LogCommand(ILogger logger, string verb, bool ok);
    [LoggerMessage(Level = LogLevel.Warning, Message = "MQTT: commands arrive faster than they are handled; extra ones are dropped (the sender gets no reply)")]
    private static partial void LogCommandsDropped(ILogger logger);
    [LoggerMessage(Level = LogLevel.Warning, Message = "MQTT: clean stop incomplete: {Reason}")]
    private static partial void LogStopIncomplete(ILogger logger, string reason);
    [LoggerMessage(Level = LogLevel.Information, Message = "MQTT: stopped; {Queued} event(s) remain in the outbox for the next start")]
    private static partial void LogStopped(ILogger logger, long queued);
}
