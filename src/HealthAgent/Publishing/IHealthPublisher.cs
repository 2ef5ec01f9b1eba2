using HealthAgent.Model;

namespace HealthAgent.Publishing;

/// <summary>
/// A publisher (MQTT, OTLP). It never throws on transport failure: it owns reconnection and a bounded, durable
/// queue, and counts anything it drops. Calls come from the pipeline's single state loop, in order.
/// </summary>
public interface IHealthPublisher : IAsyncDisposable
{
    /// <summary>Catalog key, equal to the folder name and the agent.json key under "publishers".</summary>
    string Name { get; }

    /// <summary>Starts connecting in the background; returns at once.</summary>
    Task StartAsync(IHealthState state, CancellationToken ct);

    /// <summary>An event to deliver (durably where the transport allows).</summary>
    ValueTask PublishEventAsync(HealthEvent e, CancellationToken ct);

    /// <summary>A component's state changed (or was first seen).</summary>
    ValueTask PublishStateAsync(ComponentStatus status, CancellationToken ct);

    /// <summary>The roll-up changed (called once per burst of changes, after the events it reflects).</summary>
    ValueTask PublishRollupAsync(HealthRollup rollup, CancellationToken ct);

    /// <summary>
    /// Every physical part now, with the roll-up whose incidents they belong to; called once per burst of changes
    /// (after <see cref="PublishRollupAsync"/>). A part missing from the list is gone (a rules reload mapped its
    /// observations elsewhere). Publishers that keep per-part topics send only what changed.
    /// </summary>
    ValueTask PublishPartsAsync(IReadOnlyList<PartCondition> parts, HealthRollup rollup, CancellationToken ct) => ValueTask.CompletedTask;

    /// <summary>Clean stop (MQTT: publish offline, then DISCONNECT).</summary>
    Task StopAsync(CancellationToken ct);

    /// <summary>
    /// `healthagent run --once`: returns when everything published so far has reached its destination (or when
    /// <paramref name="ct"/> ends); never throws for transport failures. Called before <see cref="StopAsync"/>.
    /// </summary>
    Task FlushAsync(CancellationToken ct) => Task.CompletedTask;
}

/// <summary>What the agent knows right now, for publishers (republish after reconnect) and the web view.</summary>
public interface IHealthState
{
    string AgentId { get; }
    /// <summary>Every component as its source sees it (the observation layer).</summary>
    IReadOnlyList<ComponentStatus> Components { get; }
    /// <summary>Physical parts, each with every source's observation, most severe first.</summary>
    IReadOnlyList<PartCondition> Parts { get; }
    /// <summary>The roll-up, with the open incidents (problems).</summary>
    HealthRollup Rollup { get; }

    /// <summary>Persisted event history, newest first.</summary>
    IReadOnlyList<HealthEvent> History(int limit = 200, Severity? minSeverity = null, string? componentId = null);

    /// <summary>Live changes (events and state updates) until cancelled.</summary>
    IAsyncEnumerable<HealthChange> WatchAsync(CancellationToken ct);

    /// <summary>Marks an event acknowledged by a user; false when no such event.</summary>
    Task<bool> AcknowledgeAsync(Guid eventId, string user, CancellationToken ct);

    /// <summary>Turns a component's identify (ID) LED on or off where a source supports it; false when none does.</summary>
    Task<bool> IdentifyAsync(string componentId, bool on, CancellationToken ct);

    /// <summary>Whether a source can switch this component's identify LED (false: no "Identify" is offered).</summary>
    bool CanIdentify(string componentId) => false;
}

/// <summary>One live change: an event, or a component status update (Event null).</summary>
public sealed record HealthChange(HealthEvent? Event, ComponentStatus? Status, HealthRollup Rollup);
