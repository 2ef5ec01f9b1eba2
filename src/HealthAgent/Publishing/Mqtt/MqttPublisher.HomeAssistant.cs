using System.Buffers;
using System.Text.Json.Nodes;
using HealthAgent.Model;

namespace HealthAgent.Publishing.Mqtt;

/// <summary>
/// The publisher's Home Assistant glue: which parts get discovery configs and when, and <c>cmd/retire</c>. The payloads
/// come from <see cref="HomeAssistant"/> (pure); everything goes out through the publisher's retained-topic set, so
/// no MQTT calls live here.
/// </summary>
public sealed partial class MqttPublisher
{
    private HaDevice? _ha; // null while discovery is off
    // part id → its discovery config topics and state topic (for cmd/retire), and the name and readings they were made
    // from; guarded by _retainedLock
    private readonly Dictionary<string, (HashSet<string> Configs, string StateTopic, string Shape)> _haParts = new(StringComparer.Ordinal);

    /// <summary>The Home Assistant device (null when discovery is off).</summary>
    public HaDevice? HomeAssistantDevice => _ha;

    private void HomeAssistantStart(JsonObject info)
    {
        if (!_o.HomeAssistantDiscovery) return;
        var web = _ctx.Config.Web;
        _ha = new HaDevice(_ctx.AgentId, (string?)info["vendor"], (string?)info["model"], (string?)info["agentVersion"] ?? "0",
            HomeAssistant.WebUrl(web.Enabled, web.EffectiveUrls, Environment.MachineName, _o.HomeAssistantWebUrl));
        var (topic, payload) = HomeAssistant.HealthConfig(_o.HomeAssistantPrefix, _topics, _ha);
        SetRetained(topic, payload);
    }

    /// <summary>On a state publish: the part's configs when its name or set of readings changed since the last time
    /// (a reading that appears later — a channel unknown at the first poll — gets its sensor then); otherwise nothing
    /// is built, so the 30-second reading updates cost no discovery work.</summary>
    private void HomeAssistantPart(ComponentStatus status)
    {
        if (_ha is null) return;
        var part = HaPart.Of(status, _topics);
        var shape = part.Name + "\n" + string.Join("\n", part.Readings);
        lock (_retainedLock)
            if (_haParts.TryGetValue(part.Id, out var known) && known.Shape == shape) return;
        var configs = HomeAssistant.PartConfigs(_o.HomeAssistantPrefix, _topics, _ha, part).ToList();
        lock (_retainedLock)
        {
            var topics = _haParts.TryGetValue(part.Id, out var known) ? known.Configs : new HashSet<string>(StringComparer.Ordinal);
            foreach (var (t, _) in configs) topics.Add(t);
            _haParts[part.Id] = (topics, part.StateTopic, shape);
        }
        foreach (var (t, p) in configs) SetRetained(t, p);
    }

    /// <summary>Subscribed at every connect with discovery on: the agent's own discovery configs, to find leftovers.</summary>
    private string[] HomeAssistantFilters() => _o.HomeAssistantDiscovery ? [HomeAssistant.ConfigFilter(_o.HomeAssistantPrefix, _ctx.AgentId)] : [];

    /// <summary>
    /// A message under the discovery filter (true: handled). A retained threshold sensor an earlier HealthAgent left
    /// (<c>…_upperCritical</c>, <c>…_max</c>: thresholds are attributes now) is deleted, so an upgrade leaves no
    /// entities the hardware does not have. Called inside MQTTnet's receive handler: it only reads the payload there
    /// (the buffer is MQTTnet's once the handler returns) and deletes on the thread pool (never block inside its
    /// handlers, #648, #829).
    /// </summary>
    private bool HomeAssistantReceived(string topic, ReadOnlySequence<byte> payload, bool retain)
    {
        if (_ha is null || !topic.StartsWith(_o.HomeAssistantPrefix + "/", StringComparison.Ordinal)) return false;
        if (!retain || payload.IsEmpty) return true;
        var legacy = payload.IsSingleSegment ? HomeAssistant.IsLegacyThresholdConfig(payload.FirstSpan) : HomeAssistant.IsLegacyThresholdConfig(payload.ToArray());
        if (legacy) _ = Task.Run(() => DeleteLegacyConfig(topic), CancellationToken.None);
        return true;
    }

    private void DeleteLegacyConfig(string topic)
    {
        lock (_retainedLock)
            if (_retained.ContainsKey(topic)) return; // ours now: its current config replaces it
        SetRetained(topic, []);
        LogLegacyConfig(_log, topic);
    }

    [Microsoft.Extensions.Logging.LoggerMessage(Level = Microsoft.Extensions.Logging.LogLevel.Information, Message = "Home Assistant: deleted {Topic}, a threshold sensor an earlier HealthAgent left (thresholds are attributes now)")]
    private static partial void LogLegacyConfig(Microsoft.Extensions.Logging.ILogger logger, string topic);

    /// <summary>
    /// <c>cmd/retire {"componentId": "…"}</c>: a part that is gone for good (a drive pulled, a NIC removed) — its discovery
    /// configs and retained state are cleared (empty retained payloads), so Home Assistant drops its entities. A part a
    /// source still reports is refused: it would be published again at its next change.
    /// </summary>
    private JsonObject HomeAssistantRetire(JsonObject? body)
    {
        var id = (string?)body?["componentId"] ?? throw new FormatException("retire needs {\"componentId\": \"…\"}");
        var status = _state?.Components.FirstOrDefault(s => s.Component.Id == id);
        if (status is not null && status.Evaluation.Verdict.State != HwState.Unknown)
            return new JsonObject
            {
                ["ok"] = false, ["componentId"] = id,
                ["message"] = $"'{id}' is still reported by a source (state {HealthWords.Name(status.Evaluation.Verdict.State)}); retire only a part that is gone",
            };
        var topics = new SortedSet<string>(StringComparer.Ordinal);
        lock (_retainedLock)
            if (_haParts.Remove(id, out var known))
            {
                topics.UnionWith(known.Configs);
                topics.Add(known.StateTopic);
            }
        if (status is not null)
        {
            topics.Add(_topics.State(status.Component.HwType, id));
            if (_ha is not null)
                foreach (var (t, _) in HomeAssistant.PartConfigs(_o.HomeAssistantPrefix, _topics, _ha, HaPart.Of(status, _topics))) topics.Add(t);
        }
        // An empty retained payload deletes the retained message (and HA the entity); kept in the retained set, it is
        // sent again after a reconnect when the broker was unreachable now. A part that comes back replaces it.
        foreach (var t in topics) SetRetained(t, []);
        var cleared = new JsonArray([.. topics.Select(t => (JsonNode)JsonValue.Create(t))]);
        if (cleared.Count == 0)
            return new JsonObject { ["ok"] = false, ["componentId"] = id, ["message"] = $"no part '{id}' is known to this agent; `healthagent retire --component {id}` clears what the broker holds" };
        return new JsonObject { ["ok"] = true, ["componentId"] = id, ["cleared"] = cleared };
    }
}
