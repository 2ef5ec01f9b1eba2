using HealthAgent.Model;
using HealthAgent.Pipeline;

namespace HealthAgent.Publishing;

/// <summary>
/// A publisher that sends events through a transactional outbox (Pipeline/README.md): the pipeline opens the
/// publisher's outbox in state.db before <see cref="IHealthPublisher.StartAsync"/> and commits each event's outbox row
/// in the same transaction as the event itself; <see cref="IHealthPublisher.PublishEventAsync"/> then only wakes the
/// sender. The publisher deletes a row once the transport acknowledged it.
/// </summary>
public interface IOutboxPublisher : IHealthPublisher
{
    /// <summary>Bounds of this publisher's outbox.</summary>
    OutboxLimits OutboxLimits { get; }

    /// <summary>Called once, before start, with the outbox the pipeline writes this publisher's events to.</summary>
    void UseOutbox(Outbox outbox);

    /// <summary>The outbox row for an event (where it goes, its bytes, whether the bound policy may drop it first). Pure.</summary>
    OutboxEntry ToOutboxEntry(HealthEvent e);
}
