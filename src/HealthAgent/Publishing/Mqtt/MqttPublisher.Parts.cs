using HealthAgent.Model;

namespace HealthAgent.Publishing.Mqtt;

/// <summary>
/// The per-part retained topics (<c>&lt;root&gt;/part/&lt;partId&gt;</c>, healthagent/v2/part): one per physical part,
/// published when the part's verdict, LED, observations or incident change — not at every poll (the payload carries no
/// readings) — and cleared (empty retained payload) when the part is retired or no longer exists (a rules reload mapped
/// its observations to another part). Each part's Home Assistant problem entity reads this topic
/// (MqttPublisher.HomeAssistant.cs).
/// </summary>
public sealed partial class MqttPublisher
{
    /// <summary>What was last built for a part's topic; <c>Retired</c>: cleared by cmd/retire, published again when it changes.</summary>
    private sealed record PartPublished(string Name, byte[] Payload, bool Retired);

    // part id → its last payload; guarded by _retainedLock
    private readonly Dictionary<string, PartPublished> _partsPublished = new(StringComparer.Ordinal);

    public ValueTask PublishPartsAsync(IReadOnlyList<PartCondition> parts, HealthRollup rollup, CancellationToken ct)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var p in parts)
        {
            var id = p.Part.Id;
            if (!seen.Add(id)) continue;
            var payload = PartPayload(p, rollup);
            bool changed, config;
            lock (_retainedLock)
            {
                var last = _partsPublished.GetValueOrDefault(id);
                changed = last is null || !last.Payload.AsSpan().SequenceEqual(payload);
                // the discovery config when the part is new, renamed, or back after it was retired
                config = last is null || last.Retired && changed || last.Name != p.Part.Name;
                if (changed) _partsPublished[id] = new PartPublished(p.Part.Name, payload, false);
            }
            // Config before state: Home Assistant subscribes to the state topic when it reads the config.
            if (config) HomeAssistantProblem(p); // MqttPublisher.HomeAssistant.cs
            if (changed) SetRetained(_topics.Part(id), payload);
        }
        List<string> gone;
        lock (_retainedLock)
        {
            gone = [.. _partsPublished.Keys.Where(k => !seen.Contains(k))];
            foreach (var id in gone) _partsPublished.Remove(id);
        }
        foreach (var id in gone)
        {
            // [MQTT-3.3.1-10/11] an empty retained payload deletes the retained message; Home Assistant the entity
            HomeAssistantProblemGone(id);
            SetRetained(_topics.Part(id), []);
            LogPartGone(_log, id);
        }
        HomeAssistantLegacyProblems(parts);
        return ValueTask.CompletedTask;
    }

    private byte[] PartPayload(PartCondition p, HealthRollup rollup)
    {
        var incident = rollup.IncidentOf(p.Part.Id);
        return HealthJson.Bytes(HealthJson.PartState(_ctx.AgentId, p, incident, incident is not null && rollup.IsPending(incident)));
    }

    /// <summary>
    /// cmd/retire: the part's topic is cleared and stays so until the part changes from what it is now (it came back);
    /// remembered as it is now, so the publish of the change that made it unknown does not bring it back.
    /// </summary>
    private void RetirePart(PartCondition part, HealthRollup rollup)
    {
        var payload = PartPayload(part, rollup);
        lock (_retainedLock) _partsPublished[part.Part.Id] = new PartPublished(part.Part.Name, payload, true);
        SetRetained(_topics.Part(part.Part.Id), []);
    }

    [Microsoft.Extensions.Logging.LoggerMessage(Level = Microsoft.Extensions.Logging.LogLevel.Information, Message = "MQTT: part {PartId} no longer exists (rules changed): its retained topic and discovery config are cleared")]
    private static partial void LogPartGone(Microsoft.Extensions.Logging.ILogger logger, string partId);
}
