using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using HealthAgent.Config;
using HealthAgent.Mqtt;

namespace HealthAgent.Publishing.Mqtt;

/// <summary>What <c>healthagent retire</c> found and did.</summary>
/// <param name="AgentOnline">The agent's retained status said <c>online</c> (nothing was cleared unless forced).</param>
/// <param name="Cleared">Topics whose retained message was replaced by an empty one (deleted), in order.</param>
public sealed record RetireResult(bool AgentOnline, IReadOnlyList<string> Cleared);

/// <summary>
/// Retiring an agent, or some of its parts, from the broker: every retained topic it left (status, health, info,
/// state/…, and its Home Assistant discovery configs) is overwritten with an empty retained payload, which deletes it
/// [MQTT-3.3.1-10/11] and makes Home Assistant remove the entities (home-assistant.io/integrations/mqtt/#mqtt-discovery:
/// an empty config payload deletes). <see cref="Plan"/> is pure; <see cref="RetireAsync"/> holds all the MQTT calls.
/// </summary>
public static class Retirement
{
    /// <summary>
    /// The topics to clear among the retained ones found (topic → payload): without <paramref name="componentIds"/>
    /// everything of the agent (its tree and its discovery configs); with them, each part's state topic and the
    /// discovery configs whose <c>state_topic</c> is one of those.
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
        // <root>/state/<hwType>/<id>; a config belongs to a part when it reads the part's state topic
        bool IsStateOfPart(string? t) => t is not null && t.StartsWith(root + "state/", StringComparison.Ordinal)
            && t[(root.Length + 6)..].Split('/') is [_, var id] && ids.Contains(id);
        var states = live.Where(IsStateOfPart);
        var configs = live.Where(IsConfig).Where(t => IsStateOfPart(StateTopicOf(retained[t])));
        return [.. states.Concat(configs).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
    }

    private static string? StateTopicOf(byte[] payload)
    {
        try { return (string?)(JsonNode.Parse(payload) as JsonObject)?["state_topic"]; }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException) { return null; }
    }

    /// <summary>
    /// Connects, collects the agent's retained messages, and (unless the agent is online and <paramref name="force"/> is
    /// false) clears the planned topics with empty retained QoS 1 publishes, each acknowledged. Publishes nothing else.
    /// </summary>
    public static async Task<RetireResult> RetireAsync(MqttClientOptions client, MqttTopics topics, string haPrefix, string agentId,
        IReadOnlyList<string> componentIds, bool force, TimeSpan collectTimeout, CancellationToken ct)
    {
        await using var c = new MqttClient(client);
        await c.ConnectAsync(ct).ConfigureAwait(false);
        var probe = $"{topics.Root}/retire-probe/{Guid.NewGuid():N}";
        await c.SubscribeAsync([new(topics.Root + "/#"), new(HomeAssistant.ConfigFilter(haPrefix, agentId))], ct).ConfigureAwait(false);
        // The broker sends retained messages when a subscription is made, before it handles our next packet: once our
        // own (non-retained) probe comes back, everything retained has arrived. The timeout covers brokers that differ.
        await c.PublishAsync(new MqttApplicationMessage { Topic = probe, Payload = "probe"u8.ToArray(), Qos = MqttQos.AtLeastOnce }, ct).ConfigureAwait(false);
        var retained = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        using (var wait = CancellationTokenSource.CreateLinkedTokenSource(ct))
        {
            wait.CancelAfter(collectTimeout);
            try
            {
                while (true)
                {
                    var m = await c.Messages.ReadAsync(wait.Token).ConfigureAwait(false);
                    if (m.Topic == probe) break;
                    if (m.Retain) retained[m.Topic] = m.Payload.ToArray();
                }
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested) { } // no probe echo (an ACL?): go with what came
        }
        var online = retained.TryGetValue(topics.Status, out var st) && Encoding.UTF8.GetString(st) == "online";
        var plan = Plan(retained, topics, haPrefix, agentId, componentIds);
        if (online && !force) plan = [];
        foreach (var t in plan)
        {
            var r = await c.PublishAsync(new MqttApplicationMessage { Topic = t, Payload = ReadOnlyMemory<byte>.Empty, Qos = MqttQos.AtLeastOnce, Retain = true }, ct).ConfigureAwait(false);
            if (!r.IsSuccess) throw new MqttException($"the broker refused to clear {t}: {r.ReasonCode.Describe()}");
        }
        await c.DisconnectAsync(ct: ct).ConfigureAwait(false);
        return new RetireResult(online, plan);
    }

    /// <summary>Client options from <c>publishers.mqtt</c> (host, port, version, credentials, TLS) for a short-lived connection.</summary>
    public static MqttClientOptions ClientOptions(MqttPublisherOptions o, AgentConfig config, string agentId)
    {
        var password = o.Password;
        if (o.PasswordFile is { } pf) password = File.ReadLines(config.ResolvePath(pf)).FirstOrDefault()?.TrimEnd('\r', '\n') ?? "";
        return new MqttClientOptions
        {
            Host = o.Host,
            Port = o.Port,
            ProtocolVersion = o.ProtocolVersion is "5" or "5.0" ? MqttProtocolVersion.V500 : MqttProtocolVersion.V311,
            ClientId = $"healthagent-retire-{MqttTopics.ObjectId(agentId)}-{Environment.ProcessId}",
            CleanStart = true,
            KeepAliveSeconds = (ushort)o.KeepAliveSeconds,
            Username = o.Username,
            Password = password,
            Tls = o.Tls is { IsOn: true } t ? new MqttTlsOptions
            {
                CaFile = t.CaFile is null ? null : config.ResolvePath(t.CaFile),
                CertificateFile = t.CertFile is null ? null : config.ResolvePath(t.CertFile),
                KeyFile = t.KeyFile is null ? null : config.ResolvePath(t.KeyFile),
                PinnedSha256Fingerprint = t.CertificateFingerprint,
            } : null,
        };
    }
}
