using System.Buffers;
using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using HealthAgent.Config;
using MQTTnet;
using MQTTnet.Protocol;

namespace HealthAgent.Publishing.Mqtt;

/// <summary>What <c>healthagent retire</c> found and did.</summary>
/// <param name="AgentOnline">The agent's retained status said <c>online</c> (nothing was cleared unless forced).</param>
/// <param name="Cleared">Topics whose retained message was replaced by an empty one (deleted), in order.</param>
public sealed record RetireResult(bool AgentOnline, IReadOnlyList<string> Cleared);

/// <summary>
/// Retiring an agent, or some of its parts, from the broker: every retained topic it left (status, health, info,
/// state/…, part/…, and its Home Assistant discovery configs) is overwritten with an empty retained payload, which deletes it
/// [MQTT-3.3.1-10/11] and makes Home Assistant remove the entities (home-assistant.io/integrations/mqtt/#mqtt-discovery:
/// an empty config payload deletes). <see cref="Plan"/> is pure; <see cref="RetireAsync"/> holds all the MQTT calls.
/// </summary>
public static class Retirement
{
    /// <summary>
    /// The topics to clear among the retained ones found (topic → payload): without <paramref name="componentIds"/>
    /// everything of the agent (its tree and its discovery configs); with them — part ids (psu:2) or component ids
    /// (smart:sdb) — each one's part topic and state topic, for a part also the state topics of the components its
    /// retained part payload lists, and the discovery configs whose <c>state_topic</c> is one of those.
    /// </summary>
    public static IReadOnlyList<string> Plan(IReadOnlyDictionary<string, byte[]> retained, MqttTopics topics, string haPrefix, string agentId, IReadOnlyList<string> componentIds)
    {
        var root = topics.Root + "/";
        var node = HomeAssistant.Node(agentId);
        bool IsConfig(string t)
        {
            var levels = t.Split('/');
            var p = haPrefix.Split('/').Length;
            return t.StartsWith(haPrefix + "/", StringComparison.Ordinal) && levels.Length == p + 4 && levels[p + 1] == node && levels[^1] == "config";
        }
        var live = retained.Where(kv => kv.Value.Length > 0).Select(kv => kv.Key).ToList();
        if (componentIds.Count == 0)
            return [.. live.Where(t => t.StartsWith(root, StringComparison.Ordinal) || IsConfig(t)).Order(StringComparer.Ordinal)];

        var ids = componentIds.Select(MqttTopics.Safe).ToHashSet(StringComparer.Ordinal);
        // a part's retained payload (healthagent/v2/part) names the components observing it: theirs go with it
        foreach (var id in componentIds)
            if (retained.TryGetValue(topics.Part(id), out var part) && Json(part)?["observations"] is JsonArray observations)
                foreach (var o in observations)
                    if (o is JsonObject { } ob && ob["component"] is JsonObject co && co["id"] is JsonValue v && v.TryGetValue<string>(out var c)) ids.Add(MqttTopics.Safe(c));
        // <root>/state/<hwType>/<id> and <root>/part/<id>; a config belongs to them when it reads one of those topics
        bool IsOwn(string? t) => t is not null
            && (t.StartsWith(root + "state/", StringComparison.Ordinal) && t[(root.Length + 6)..].Split('/') is [_, var id] && ids.Contains(id)
                || t.StartsWith(root + "part/", StringComparison.Ordinal) && ids.Contains(t[(root.Length + 5)..]));
        var own = live.Where(IsOwn);
        var configs = live.Where(IsConfig).Where(t => IsOwn(Json(retained[t])?["state_topic"] is JsonValue v && v.TryGetValue<string>(out var st) ? st : null));
        return [.. own.Concat(configs).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
    }

    private static JsonObject? Json(byte[] payload)
    {
        try { return JsonNode.Parse(payload) as JsonObject; }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException) { return null; }
    }

    /// <summary>
    /// Connects, collects the agent's retained messages, and (unless the agent is online and <paramref name="force"/> is
    /// false) clears the planned topics with empty retained QoS 1 publishes, each acknowledged. Publishes nothing else
    /// but its own non-retained probe. Throws <see cref="InvalidOperationException"/> with the reason in words when the
    /// broker cannot be reached, refuses the connection, or refuses a clear.
    /// </summary>
    public static async Task<RetireResult> RetireAsync(MqttClientOptions options, MqttTopics topics, string haPrefix, string agentId,
        IReadOnlyList<string> componentIds, bool force, TimeSpan collectTimeout, CancellationToken ct)
    {
        var probe = $"{topics.Root}/retire-probe/{Guid.NewGuid():N}";
        var probeSeen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var retained = new ConcurrentDictionary<string, byte[]>(StringComparer.Ordinal);
        using var c = MqttConnection.CreateClient(options);
        // The handler only copies (the payload buffer is MQTTnet's once it returns): never block inside its handlers (#648, #829).
        c.ApplicationMessageReceivedAsync += e =>
        {
            var m = e.ApplicationMessage;
            if (m.Topic == probe) probeSeen.TrySetResult();
            else if (m.Retain && !probeSeen.Task.IsCompleted) retained[m.Topic] = m.Payload.ToArray();
            return Task.CompletedTask;
        };
        try
        {
            var connected = await c.ConnectAsync(options, ct).ConfigureAwait(false);
            if (connected.ResultCode != MqttClientConnectResultCode.Success) throw new InvalidOperationException("connection refused: " + MqttConnection.Describe(connected));
        }
        catch (Exception e) when (e is not OperationCanceledException and not InvalidOperationException and not OutOfMemoryException)
        {
            throw new InvalidOperationException(MqttConnection.Describe(e), e);
        }
        var sub = await c.SubscribeAsync(new MqttClientSubscribeOptionsBuilder()
            .WithTopicFilter(f => f.WithTopic(topics.Root + "/#").WithAtLeastOnceQoS())
            .WithTopicFilter(f => f.WithTopic(HomeAssistant.ConfigFilter(haPrefix, agentId)).WithAtLeastOnceQoS())
            .Build(), ct).ConfigureAwait(false);
        if (sub.Items.FirstOrDefault(i => (int)i.ResultCode >= 0x80) is { } refused)
            throw new InvalidOperationException($"the broker refused the subscription to {refused.TopicFilter.Topic}: {refused.ResultCode}");
        // The broker sends retained messages when a subscription is made, before it handles our next packet: once our
        // own (non-retained) probe comes back, everything retained has arrived. The timeout covers brokers that differ.
        await c.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(probe).WithPayload("probe"u8.ToArray())
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build(), ct).ConfigureAwait(false);
        try { await probeSeen.Task.WaitAsync(collectTimeout, ct).ConfigureAwait(false); }
        catch (TimeoutException) { } // no probe echo (an ACL?): go with what came
        probeSeen.TrySetResult(); // from here on nothing more is collected
        var found = new Dictionary<string, byte[]>(retained, StringComparer.Ordinal);
        var online = found.TryGetValue(topics.Status, out var st) && Encoding.UTF8.GetString(st) == "online";
        var plan = Plan(found, topics, haPrefix, agentId, componentIds);
        if (online && !force) plan = [];
        foreach (var t in plan)
        {
            // [MQTT-3.3.1-10/11] an empty retained payload deletes the retained message
            var r = await c.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(t).WithPayload(Array.Empty<byte>())
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).WithRetainFlag().Build(), ct).ConfigureAwait(false);
            if (!r.IsSuccess)
                throw new InvalidOperationException($"the broker refused to clear {t}: {r.ReasonCode}{(r.ReasonString is { Length: > 0 } why ? " (" + why + ")" : "")}");
        }
        await c.DisconnectAsync(cancellationToken: ct).ConfigureAwait(false);
        return new RetireResult(online, plan);
    }

    /// <summary>Client options from <c>publishers.mqtt</c> (host, port, version, credentials, TLS) for a short-lived connection.</summary>
    public static MqttClientOptions ClientOptions(MqttPublisherOptions o, AgentConfig config, string agentId)
    {
        var password = o.Password;
        if (o.PasswordFile is { } pf) password = File.ReadLines(config.ResolvePath(pf)).FirstOrDefault()?.TrimEnd('\r', '\n') ?? "";
        return new MqttConnection(o.Host, o.Port, o.ProtocolVersion is "5" or "5.0", $"healthagent-retire-{MqttTopics.ObjectId(agentId)}-{Environment.ProcessId}")
        {
            CleanStart = true,
            KeepAliveSeconds = (ushort)o.KeepAliveSeconds,
            Username = o.Username,
            Password = password,
            ConnectTimeout = TimeSpan.FromSeconds(10),
            Tls = o.Tls is { IsOn: true } t ? new MqttTls(
                t.CaFile is null ? null : config.ResolvePath(t.CaFile),
                t.CertFile is null ? null : config.ResolvePath(t.CertFile),
                t.KeyFile is null ? null : config.ResolvePath(t.KeyFile),
                t.CertificateFingerprint) : null,
        }.Build();
    }
}
