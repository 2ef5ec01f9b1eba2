using System.Buffers;
using System.Text.Json.Nodes;
using HealthAgent.Model;

namespace HealthAgent.Publishing.Mqtt;

/// <summary>
/// The publisher's Home Assistant glue: which discovery configs are published and when, their cleanup, and
/// <c>cmd/retire</c>. One problem entity per physical part (from the part topics, MqttPublisher.Parts.cs), measurement
/// sensors per source component (from the state topics). The payloads come from <see cref="HomeAssistant"/> (pure);
/// everything goes out through the publisher's retained-topic set, so no MQTT calls live here.
/// </summary>
public sealed partial class MqttPublisher
{
    private HaDevice? _ha; // null while discovery is off
    // component id → its measurement sensors' config topics and state topic (for cmd/retire), and the name and readings
    // they were made from; guarded by _retainedLock
    private readonly Dictionary<string, (HashSet<string> Configs, string StateTopic, string Shape)> _haComponents = new(StringComparer.Ordinal);
    // per-component problem configs an earlier HealthAgent left (config topic → the component state topic it reads),
    // not yet matched to a part: decided when a part observes that component; guarded by _retainedLock
    private readonly Dictionary<string, string> _haLegacyProblems = new(StringComparer.Ordinal);

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

    /// <summary>A part's problem binary_sensor (new part, renamed, or back after it was retired).</summary>
    private void HomeAssistantProblem(PartCondition part)
    {
        if (_ha is null) return;
        var (topic, payload) = HomeAssistant.ProblemConfig(_o.HomeAssistantPrefix, _topics, _ha, HaPart.Of(part, _topics));
        SetRetained(topic, payload);
    }

    /// <summary>A part that no longer exists: its problem entity is deleted (empty retained config).</summary>
    private void HomeAssistantProblemGone(string partId)
    {
        if (_ha is null) return;
        SetRetained(HomeAssistant.ProblemConfigTopic(_o.HomeAssistantPrefix, _ctx.AgentId, partId), []);
    }

    /// <summary>On a state publish: the component's measurement sensors when its name or set of readings changed since
    /// the last time (a reading that appears later — a channel unknown at the first poll — gets its sensor then);
    /// otherwise nothing is built, so the 30-second reading updates cost no discovery work.</summary>
    private void HomeAssistantReadings(ComponentStatus status)
    {
        if (_ha is null) return;
        var component = HaComponent.Of(status, _topics);
        var shape = component.Name + "\n" + string.Join("\n", component.Readings);
        lock (_retainedLock)
            if (_haComponents.TryGetValue(component.Id, out var known) && known.Shape == shape) return;
        var configs = HomeAssistant.ReadingConfigs(_o.HomeAssistantPrefix, _topics, _ha, component).ToList();
        lock (_retainedLock)
        {
            var topics = _haComponents.TryGetValue(component.Id, out var known) ? known.Configs : new HashSet<string>(StringComparer.Ordinal);
            foreach (var (t, _) in configs) topics.Add(t);
            _haComponents[component.Id] = (topics, component.StateTopic, shape);
        }
        foreach (var (t, p) in configs) SetRetained(t, p);
    }

    /// <summary>Subscribed at every connect with discovery on: the agent's own discovery configs, to find leftovers.</summary>
    private string[] HomeAssistantFilters() => _o.HomeAssistantDiscovery ? [HomeAssistant.ConfigFilter(_o.HomeAssistantPrefix, _ctx.AgentId)] : [];

    /// <summary>
    /// A message under the discovery filter (true: handled). Leftovers of earlier HealthAgent versions are deleted, so an
    /// upgrade leaves no entities the hardware does not have: a threshold sensor (<c>…_upperCritical</c>, <c>…_max</c>:
    /// thresholds are attributes now), and a per-component problem binary_sensor (it reads a <c>state/…</c> topic; one
    /// problem entity per physical part now) once the part that component belongs to is known. Called inside MQTTnet's
    /// receive handler: it only reads the payload there (the buffer is MQTTnet's once the handler returns) and deletes
    /// on the thread pool (never block inside its handlers, #648, #829).
    /// </summary>
    private bool HomeAssistantReceived(string topic, ReadOnlySequence<byte> payload, bool retain)
    {
        if (_ha is null || !topic.StartsWith(_o.HomeAssistantPrefix + "/", StringComparison.Ordinal)) return false;
        if (!retain || payload.IsEmpty) return true;
        var bytes = payload.IsSingleSegment ? payload.FirstSpan : payload.ToArray();
        if (HomeAssistant.IsLegacyThresholdConfig(bytes)) _ = Task.Run(() => DeleteLegacyConfig(topic), CancellationToken.None);
        else if (HomeAssistant.LegacyProblemStateTopic(bytes, _topics) is { } stateTopic)
            _ = Task.Run(() => ResolveLegacyProblem(topic, stateTopic, _state?.Parts ?? []), CancellationToken.None);
        return true;
    }

    private void DeleteLegacyConfig(string topic)
    {
        lock (_retainedLock)
            if (_retained.ContainsKey(topic)) return; // ours now: its current config replaces it
        SetRetained(topic, []);
        LogLegacyConfig(_log, topic);
    }

    /// <summary>
    /// A per-component problem config from before: deleted once a part observes that component and the part's own
    /// problem entity has another topic; left to be replaced when it has the same (a component that is its own part: same
    /// unique_id, so HA keeps the entity and its history); kept for later while no part observes the component yet.
    /// </summary>
    private void ResolveLegacyProblem(string topic, string stateTopic, IReadOnlyList<PartCondition> parts)
    {
        var owner = parts.FirstOrDefault(p => p.Observations.Any(o => _topics.State(o.Component.HwType, o.Component.Id) == stateTopic));
        lock (_retainedLock)
        {
            if (_retained.TryGetValue(topic, out var ours) && ours.Length > 0) { _haLegacyProblems.Remove(topic); return; } // ours now
            if (owner is null) { _haLegacyProblems[topic] = stateTopic; return; }
            _haLegacyProblems.Remove(topic);
        }
        if (HomeAssistant.ProblemConfigTopic(_o.HomeAssistantPrefix, _ctx.AgentId, owner.Part.Id) == topic) return;
        SetRetained(topic, []);
        LogLegacyProblem(_log, topic, owner.Part.Id);
    }

    /// <summary>At each parts publish: the leftovers not matched yet, against the parts now.</summary>
    private void HomeAssistantLegacyProblems(IReadOnlyList<PartCondition> parts)
    {
        KeyValuePair<string, string>[] waiting;
        lock (_retainedLock)
        {
            if (_haLegacyProblems.Count == 0) return;
            waiting = [.. _haLegacyProblems];
        }
        foreach (var (topic, stateTopic) in waiting) ResolveLegacyProblem(topic, stateTopic, parts);
    }

    [Microsoft.Extensions.Logging.LoggerMessage(Level = Microsoft.Extensions.Logging.LogLevel.Information, Message = "Home Assistant: deleted {Topic}, a threshold sensor an earlier HealthAgent left (thresholds are attributes now)")]
    private static partial void LogLegacyConfig(Microsoft.Extensions.Logging.ILogger logger, string topic);
    [Microsoft.Extensions.Logging.LoggerMessage(Level = Microsoft.Extensions.Logging.LogLevel.Information, Message = "Home Assistant: deleted {Topic}, a per-component problem entity an earlier HealthAgent left (part {PartId} has one problem entity now)")]
    private static partial void LogLegacyProblem(Microsoft.Extensions.Logging.ILogger logger, string topic, string partId);

    /// <summary>
    /// <c>cmd/retire {"componentId": "…"}</c> — a part id (psu:2) or one source's component id (smart:sdb): a part that is
    /// gone for good (a drive pulled, a NIC removed). Its part topic and problem entity, and each of its components'
    /// state topics and measurement sensors, are cleared (empty retained payloads), so Home Assistant drops the entities.
    /// A component id clears its part too when it is the part's only observation. Refused while a source still reports
    /// any of them: it would be published again at its next change.
    /// </summary>
    private JsonObject HomeAssistantRetire(JsonObject? body)
    {
        var id = (string?)body?["componentId"] ?? throw new FormatException("retire needs {\"componentId\": \"…\"}");
        var parts = _state?.Parts ?? [];
        var part = parts.FirstOrDefault(p => p.Part.Id == id)
            ?? parts.FirstOrDefault(p => p.Observations.Count > 0 && p.Observations.All(o => o.Component.Id == id));
        var ids = part is not null ? part.Observations.Select(o => o.Component.Id).Append(id).Distinct(StringComparer.Ordinal).ToList() : [id];
        var statuses = ids.Select(c => _state?.Components.FirstOrDefault(s => s.Component.Id == c)).OfType<ComponentStatus>().ToList();
        if (statuses.FirstOrDefault(s => s.Evaluation.Verdict.State != HwState.Unknown) is { } live)
            return new JsonObject
            {
                ["ok"] = false, ["componentId"] = id,
                ["message"] = $"'{live.Component.Id}' is still reported by a source (state {HealthWords.Name(live.Evaluation.Verdict.State)}); retire only a part that is gone",
            };
        var topics = new SortedSet<string>(StringComparer.Ordinal);
        lock (_retainedLock)
            foreach (var c in ids)
                if (_haComponents.Remove(c, out var known))
                {
                    topics.UnionWith(known.Configs);
                    topics.Add(known.StateTopic);
                }
        foreach (var status in statuses)
        {
            topics.Add(_topics.State(status.Component.HwType, status.Component.Id));
            if (_ha is not null)
                foreach (var (t, _) in HomeAssistant.ReadingConfigs(_o.HomeAssistantPrefix, _topics, _ha, HaComponent.Of(status, _topics))) topics.Add(t);
        }
        if (part is not null)
        {
            if (_ha is not null) topics.Add(HomeAssistant.ProblemConfigTopic(_o.HomeAssistantPrefix, _ctx.AgentId, part.Part.Id));
            topics.Add(_topics.Part(part.Part.Id));
            if (_state is not null) RetirePart(part, _state.Rollup);
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
