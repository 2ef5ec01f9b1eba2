using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using HealthAgent.Model;
using HealthAgent.Mqtt;
using HealthAgent.Pipeline;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;

namespace HealthAgent.Publishing.Mqtt;

/// <summary>
/// Publishes the agent's health to an MQTT broker (topic tree: README.md). Events go through the durable outbox
/// (committed before publishing, deleted after PUBACK, replayed in order after an outage or crash); retained topics
/// (status, health, info, state/…) are kept in memory and republished after every reconnect. Never throws on
/// transport failure: it reconnects with jittered exponential backoff (Polly) and says once that the broker is gone.
/// </summary>
public sealed partial class MqttPublisher : IHealthPublisher
{
    private const int MaxInFlight = 64;
    private static readonly byte[] Online = "online"u8.ToArray(), Offline = "offline"u8.ToArray();

    private readonly MqttPublisherOptions _o;
    private readonly PublisherContext _ctx;
    private readonly ILogger _log;
    private readonly MqttTopics _topics;
    private readonly MqttClient _client;
    private readonly Outbox _outbox;
    private readonly ResiliencePipeline _reconnect;
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly ConcurrentDictionary<string, byte[]> _retained = new(StringComparer.Ordinal);
    private readonly Lock _retainedLock = new();
    private readonly CancellationTokenSource _stop = new();
    private IHealthState? _state;
    private Task _loop = Task.CompletedTask, _commands = Task.CompletedTask;
    private volatile bool _online;
    private CancellationTokenSource? _connection;
    private bool _outageLogged;
    private long _rejected;

    public MqttPublisher(MqttPublisherOptions options, PublisherContext ctx)
    {
        _o = options;
        _ctx = ctx;
        _log = ctx.LoggerFactory.CreateLogger("HealthAgent.Publishing.Mqtt");
        _topics = new MqttTopics(options.TopicPrefix, ctx.AgentId);
        _outbox = new Outbox(Path.Combine(ctx.Config.StateDirectory, "outbox.db"), options.Outbox);
        if (_outbox.MovedAside is { } moved) LogOutboxCorrupt(_log, _outbox.Path, moved);
        _outbox.RowsDropped += n => LogDropped(_log, n, _outbox.Dropped, _outbox.Count);
        _client = new MqttClient(BuildClientOptions());
        _client.ConnectionLost += OnConnectionLost;
        _reconnect = new ResiliencePipelineBuilder().AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<Exception>(e => e is not OperationCanceledException || !_stop.IsCancellationRequested),
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            Delay = TimeSpan.FromSeconds(0.5),
            MaxDelay = TimeSpan.FromSeconds(options.ReconnectMaxDelaySeconds),
            MaxRetryAttempts = int.MaxValue,
            OnRetry = a =>
            {
                if (!_outageLogged) { _outageLogged = true; LogUnreachable(_log, _o.Host, _o.Port, a.Outcome.Exception?.Message ?? "?", _outbox.Count); }
                else LogRetry(_log, a.AttemptNumber, a.RetryDelay.TotalSeconds, a.Outcome.Exception?.Message ?? "?");
                return ValueTask.CompletedTask;
            },
        }).Build();
    }

    public string Name => "mqtt";
    public MqttTopics Topics => _topics;
    public Outbox Outbox => _outbox;
    public bool IsOnline => _online;
    /// <summary>Events the broker refused (PUBACK reason ≥ 0x80), logged and removed from the outbox.</summary>
    public long Rejected => Interlocked.Read(ref _rejected);

    private MqttClientOptions BuildClientOptions()
    {
        var v5 = _o.ProtocolVersion is "5" or "5.0";
        var password = _o.Password;
        if (_o.PasswordFile is { } pf)
        {
            var path = _ctx.Config.ResolvePath(pf);
            try { password = File.ReadLines(path).FirstOrDefault()?.TrimEnd('\r', '\n') ?? ""; }
            catch (IOException e) { LogPasswordFile(_log, path, e.Message); }
            catch (UnauthorizedAccessException e) { LogPasswordFile(_log, path, e.Message); }
        }
        return new MqttClientOptions
        {
            Host = _o.Host,
            Port = _o.Port,
            ProtocolVersion = v5 ? MqttProtocolVersion.V500 : MqttProtocolVersion.V311,
            ClientId = _o.ClientId is { Length: > 0 } id ? id : "healthagent-" + MqttTopics.ObjectId(_ctx.AgentId),
            // Clean start: a pending QoS1 of a lost connection is not resent by the client; the outbox replays it.
            CleanStart = true,
            // [MQTT-3.1.3.2.2] the will is sent at the earlier of will delay and session end: keep the session that long.
            SessionExpirySeconds = v5 ? (uint)_o.WillDelaySeconds : 0,
            KeepAliveSeconds = (ushort)_o.KeepAliveSeconds,
            Username = _o.Username,
            Password = password,
            Will = new MqttWill { Topic = _topics.Status, Payload = Offline, Qos = MqttQos.AtLeastOnce, Retain = true, DelaySeconds = v5 ? (uint)_o.WillDelaySeconds : 0 },
            Tls = _o.Tls is { IsOn: true } t ? new MqttTlsOptions
            {
                CaFile = t.CaFile is null ? null : _ctx.Config.ResolvePath(t.CaFile),
                CertificateFile = t.CertFile is null ? null : _ctx.Config.ResolvePath(t.CertFile),
                KeyFile = t.KeyFile is null ? null : _ctx.Config.ResolvePath(t.KeyFile),
                PinnedSha256Fingerprint = t.CertificateFingerprint,
            } : null,
        };
    }

    public Task StartAsync(IHealthState state, CancellationToken ct)
    {
        _state = state;
        var info = Info();
        SetRetained(_topics.Info, HealthJson.Bytes(info));
        HomeAssistantStart(info); // Home Assistant discovery: MqttPublisher.HomeAssistant.cs
        _loop = Task.Run(() => RunAsync(_stop.Token), CancellationToken.None);
        _commands = Task.Run(() => CommandsAsync(_stop.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    // ───────────── publisher contract (called from the state loop) ─────────────

    public ValueTask PublishEventAsync(HealthEvent e, CancellationToken ct)
    {
        var payload = HealthJson.Bytes(HealthJson.Event(e));
        // Durable before it is published; the sender deletes it after PUBACK.
        _outbox.Add(new OutboxEntry(e.EventId, e.Seq, _topics.Event(e.Component.HwType, e.Component.Id), payload, Outbox.IsDroppable(e)));
        _wake.Writer.TryWrite(true);
        return ValueTask.CompletedTask;
    }

    public ValueTask PublishStateAsync(ComponentStatus status, CancellationToken ct)
    {
        var c = status.Component;
        var topic = _topics.State(c.HwType, c.Id);
        HomeAssistantPart(status); // Home Assistant discovery: MqttPublisher.HomeAssistant.cs
        SetRetained(topic, HealthJson.Bytes(HealthJson.State(_ctx.AgentId, status)));
        return ValueTask.CompletedTask;
    }

    public ValueTask PublishRollupAsync(HealthRollup rollup, CancellationToken ct)
    {
        var derived = !(_state?.Components.Any(s => s.Component.Family == "system") ?? false);
        SetRetained(_topics.Health, HealthJson.Bytes(HealthJson.Health(_ctx.AgentId, rollup, derived)));
        return ValueTask.CompletedTask;
    }

    /// <summary>Clean stop: sends what the outbox holds (bounded by <paramref name="ct"/>), publishes offline, DISCONNECT.</summary>
    public async Task StopAsync(CancellationToken ct)
    {
        try
        {
            if (_online)
            {
                while (_online && _outbox.Count > 0 && !ct.IsCancellationRequested)
                    await Task.Delay(20, ct).ConfigureAwait(false);
                using var offlineCts = CancellationTokenSource.CreateLinkedTokenSource(ct);
                offlineCts.CancelAfter(TimeSpan.FromSeconds(2));
                await _client.PublishAsync(new MqttApplicationMessage { Topic = _topics.Status, Payload = Offline, Qos = MqttQos.AtLeastOnce, Retain = true }, offlineCts.Token).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or MqttException or IOException or ObjectDisposedException) { LogStopIncomplete(_log, e.Message); }
        _online = false;
        await _stop.CancelAsync().ConfigureAwait(false);
        try { await _client.DisconnectAsync(MqttReasonCode.NormalDisconnection, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(2), CancellationToken.None).ConfigureAwait(false); }
        catch (Exception e) when (e is MqttException or IOException or TimeoutException or ObjectDisposedException or InvalidOperationException) { }
        await Task.WhenAll(_loop, _commands).ConfigureAwait(false);
        LogStopped(_log, _outbox.Count);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested) await _stop.CancelAsync().ConfigureAwait(false);
        try { await Task.WhenAll(_loop, _commands).ConfigureAwait(false); } catch (OperationCanceledException) { }
        await _client.DisposeAsync().ConfigureAwait(false);
        _outbox.Dispose();
        _stop.Dispose();
    }

    // ───────────── connection loop ─────────────

    private async Task RunAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await _reconnect.ExecuteAsync(async t => await _client.ConnectAsync(t).ConfigureAwait(false), stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested) { return; }
            catch (Exception e) when (e is MqttException or IOException or InvalidOperationException)
            {
                // e.g. "already connected": settle and retry the loop.
                LogRetry(_log, 0, 1, e.Message);
                try { await Task.Delay(1000, stop).ConfigureAwait(false); } catch (OperationCanceledException) { return; }
                continue;
            }
            var conn = CancellationTokenSource.CreateLinkedTokenSource(stop);
            Volatile.Write(ref _connection, conn);
            if (!_client.IsConnected) conn.Cancel(); // lost between CONNACK and here
            LogConnected(_log, _o.Host, _o.Port, _outbox.Count);
            _outageLogged = false;
            try
            {
                await _client.SubscribeAsync([new MqttTopicFilter(_topics.CmdFilter, MqttQos.AtLeastOnce, NoLocal: true),
                    .. HomeAssistantFilters().Select(f => new MqttTopicFilter(f, MqttQos.AtLeastOnce, NoLocal: true))], conn.Token).ConfigureAwait(false);
                await PublishRetainedAsync(_topics.Status, Online, conn.Token).ConfigureAwait(false);
                _online = true;
                Republish();
                await DrainAsync(conn.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or MqttException or IOException or ObjectDisposedException)
            {
                if (!stop.IsCancellationRequested) LogLost(_log, e.Message, _outbox.Count);
            }
            catch (Exception e) when (e is not OutOfMemoryException && !stop.IsCancellationRequested)
            {
                // Not a transport failure (e.g. the broker's Maximum QoS is 0): the publisher must not die silently.
                LogUnexpected(_log, e.GetType().Name, e.Message);
                try { await _client.DisconnectAsync(MqttReasonCode.UnspecifiedError, CancellationToken.None).ConfigureAwait(false); }
                catch (Exception d) when (d is MqttException or IOException or ObjectDisposedException or InvalidOperationException) { }
                try { await Task.Delay(TimeSpan.FromSeconds(_o.ReconnectMaxDelaySeconds), stop).ConfigureAwait(false); }
                catch (OperationCanceledException) { }
            }
            finally
            {
                _online = false;
                conn.Dispose();
            }
        }
    }

    private void OnConnectionLost(MqttConnectionLost lost)
    {
        _online = false;
        try { Volatile.Read(ref _connection)?.Cancel(); } catch (ObjectDisposedException) { }
    }

    /// <summary>Sends the outbox in order, up to <see cref="MaxInFlight"/> unacknowledged, deleting each row on its PUBACK.</summary>
    private async Task DrainAsync(CancellationToken ct)
    {
        var inflight = new Queue<(OutboxRow Row, Task<MqttPublishResult> Ack)>();
        var last = 0L;
        try
        {
            while (true)
            {
                ct.ThrowIfCancellationRequested();
                if (inflight.Count < MaxInFlight)
                    foreach (var row in _outbox.Peek(last, MaxInFlight - inflight.Count))
                    {
                        inflight.Enqueue((row, _client.PublishAsync(new MqttApplicationMessage
                        {
                            Topic = row.Topic, Payload = row.Payload, Qos = MqttQos.AtLeastOnce, ContentType = "application/json", PayloadIsUtf8 = true,
                        }, ct)));
                        last = row.Id;
                    }
                if (inflight.Count == 0)
                {
                    await _wake.Reader.ReadAsync(ct).ConfigureAwait(false);
                    continue;
                }
                var (r, ack) = inflight.Peek();
                var result = await ack.ConfigureAwait(false);
                inflight.Dequeue();
                if (!result.IsSuccess)
                {
                    Interlocked.Increment(ref _rejected);
                    LogRejected(_log, r.EventId, r.Topic, result.ReasonCode.Describe());
                }
                _outbox.Delete(r.Id);
            }
        }
        finally
        {
            // The rows stay in the outbox and are replayed on the next connection.
            foreach (var (_, ack) in inflight) _ = ack.ContinueWith(static t => _ = t.Exception, TaskScheduler.Default);
        }
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
        try
        {
            var t = _client.PublishAsync(new MqttApplicationMessage { Topic = topic, Payload = payload, Qos = MqttQos.AtLeastOnce, Retain = true, PayloadIsUtf8 = true }, _stop.Token);
            _ = t.ContinueWith(static t => _ = t.Exception, TaskScheduler.Default);
        }
        catch (Exception e) when (e is MqttException or ObjectDisposedException or InvalidOperationException or NotSupportedException)
        {
            // Not connected any more: the next connection republishes every retained topic.
        }
    }

    private async Task PublishRetainedAsync(string topic, byte[] payload, CancellationToken ct)
    {
        var r = await _client.PublishAsync(new MqttApplicationMessage { Topic = topic, Payload = payload, Qos = MqttQos.AtLeastOnce, Retain = true, PayloadIsUtf8 = true }, ct).ConfigureAwait(false);
        if (!r.IsSuccess) LogRejected(_log, Guid.Empty, topic, r.ReasonCode.Describe());
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

    private async Task CommandsAsync(CancellationToken stop)
    {
        try
        {
            await foreach (var m in _client.Messages.ReadAllAsync(stop).ConfigureAwait(false))
            {
                if (HomeAssistantReceived(m.Topic, m.Payload, m.Retain)) continue; // MqttPublisher.HomeAssistant.cs
                if (!m.Topic.StartsWith(_topics.CmdPrefix, StringComparison.Ordinal)) continue;
                var verb = m.Topic[_topics.CmdPrefix.Length..];
                JsonObject reply;
                try { reply = await HandleAsync(verb, m.Payload, stop).ConfigureAwait(false); }
                catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException or ArgumentException)
                {
                    reply = new JsonObject { ["ok"] = false, ["message"] = "bad request: " + e.Message };
                }
                catch (Exception e) when (e is not OperationCanceledException and not OutOfMemoryException)
                {
                    reply = new JsonObject { ["ok"] = false, ["message"] = "failed: " + e.Message }; // e.g. the BMC refused identify
                }
                reply["schema"] = HealthJson.ReplySchema;
                reply["verb"] = verb;
                if (m.CorrelationData.Length > 0) reply["correlationData"] = Encoding.UTF8.GetString(m.CorrelationData.Span);
                LogCommand(_log, verb, (bool?)reply["ok"] ?? false);
                try
                {
                    var r = _client.PublishAsync(new MqttApplicationMessage
                    {
                        Topic = _topics.Reply(verb), Payload = HealthJson.Bytes(reply), Qos = MqttQos.AtLeastOnce,
                        CorrelationData = m.CorrelationData, ContentType = "application/json", PayloadIsUtf8 = true,
                    }, stop);
                    _ = r.ContinueWith(static t => _ = t.Exception, TaskScheduler.Default);
                }
                catch (Exception e) when (e is MqttException or ObjectDisposedException or InvalidOperationException) { }
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
    [LoggerMessage(Level = LogLevel.Debug, Message = "MQTT: reconnect attempt {Attempt} failed, next in {Delay:0.#} s: {Reason}")]
    private static partial void LogRetry(ILogger logger, int attempt, double delay, string reason);
    [LoggerMessage(Level = LogLevel.Warning, Message = "MQTT: connection lost ({Reason}); {Queued} event(s) queued in the outbox")]
    private static partial void LogLost(ILogger logger, string reason, long queued);
    [LoggerMessage(Level = LogLevel.Error, Message = "MQTT: unexpected {Type}: {Message}; reconnecting after the longest backoff")]
    private static partial void LogUnexpected(ILogger logger, string type, string message);
    [LoggerMessage(Level = LogLevel.Warning, Message = "MQTT: broker refused {EventId} on {Topic}: {Reason}; removed from the outbox")]
    private static partial void LogRejected(ILogger logger, Guid eventId, string topic, string reason);
    [LoggerMessage(Level = LogLevel.Warning, Message = "MQTT outbox full: dropped {Count} oldest event(s) ({Total} dropped in all, {Queued} queued)")]
    private static partial void LogDropped(ILogger logger, int count, long total, long queued);
    [LoggerMessage(Level = LogLevel.Error, Message = "MQTT outbox {Path} was corrupt: moved aside to {Moved}, a fresh outbox was created")]
    private static partial void LogOutboxCorrupt(ILogger logger, string path, string moved);
    [LoggerMessage(Level = LogLevel.Error, Message = "MQTT: cannot read passwordFile {Path}: {Reason}")]
    private static partial void LogPasswordFile(ILogger logger, string path, string reason);
    [LoggerMessage(Level = LogLevel.Information, Message = "MQTT: command {Verb} → ok={Ok}")]
    private static partial void LogCommand(ILogger logger, string verb, bool ok);
    [LoggerMessage(Level = LogLevel.Warning, Message = "MQTT: clean stop incomplete: {Reason}")]
    private static partial void LogStopIncomplete(ILogger logger, string reason);
    [LoggerMessage(Level = LogLevel.Information, Message = "MQTT: stopped; {Queued} event(s) remain in the outbox for the next start")]
    private static partial void LogStopped(ILogger logger, long queued);
}
