using System.Runtime.CompilerServices;
using System.Threading.Channels;
using HealthAgent.Model;
using HealthAgent.Publishing;
using HealthAgent.Rules;

namespace HealthAgent.Tests.Web;

/// <summary>
/// A small, real <see cref="IHealthState"/> for the web tests: observations go through the real <see cref="Evaluator"/>
/// and rule tables; a verdict change records an event and is pushed to every watcher, as the pipeline does.
/// </summary>
public sealed class InMemoryHealthState(string agentId, RuleSet rules, TimeProvider? time = null) : IHealthState
{
    private readonly Evaluator _evaluator = new(rules);
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly object _lock = new();
    private readonly Dictionary<string, ComponentStatus> _components = new(StringComparer.Ordinal);
    private readonly List<ComponentRef> _order = [];
    private readonly List<HealthEvent> _history = [];
    private readonly List<Channel<HealthChange>> _watchers = [];
    private readonly string _bootId = Guid.NewGuid().ToString("N")[..8];
    private HealthRollup _rollup = new(Severity.Ok, new Dictionary<Severity, int>(), null, DateTimeOffset.UnixEpoch);
    private long _seq;

    public string AgentId => agentId;
    public List<(Guid EventId, string User)> Acknowledged { get; } = [];
    public List<(string ComponentId, bool On)> Identified { get; } = [];
    /// <summary>Components whose identify LED a "source" can switch.</summary>
    public HashSet<string> Identifiable { get; } = new(StringComparer.Ordinal);

    public int WatcherCount { get { lock (_lock) { return _watchers.Count; } } }

    public IReadOnlyList<ComponentStatus> Components { get { lock (_lock) { return _order.Select(c => _components[c.Id]).ToList(); } } }
    public HealthRollup Rollup { get { lock (_lock) { return _rollup; } } }

    /// <summary>Evaluates an observation and publishes the change (an event when the verdict changed).</summary>
    public HealthChange Observe(Observation obs)
    {
        HealthChange change;
        List<Channel<HealthChange>> watchers;
        lock (_lock)
        {
            var now = _time.GetUtcNow();
            var c = obs.Component;
            _components.TryGetValue(c.Id, out var prev);
            var eval = _evaluator.Evaluate(obs, prev?.Evaluation);
            var changed = prev is null || prev.Evaluation.Verdict != eval.Verdict || !Equals(prev.Evaluation.Led, eval.Led);
            var status = new ComponentStatus(eval, changed ? now : prev!.Since, now);
            if (prev is null) _order.Add(c);
            _components[c.Id] = status;
            HealthEvent? e = null;
            if (changed && (prev is not null || eval.Verdict.Severity != Severity.Ok))
            {
                var kind = eval.Verdict.Severity == Severity.Ok ? EventKind.Cleared : prev is null || prev.Evaluation.Verdict.Severity == Severity.Ok ? EventKind.Raised : EventKind.Changed;
                e = new HealthEvent(Guid.NewGuid(), agentId, _bootId, ++_seq, now, kind, c, eval.Led, eval.Rule?.Id, eval.Verdict.Code,
                    eval.Verdict.State, eval.Verdict.Severity, eval.Verdict.Meaning, eval.Verdict.Action, eval.Readings,
                    prev?.Evaluation.Led, prev?.Evaluation.Rule?.Id, prev?.Evaluation.Verdict.State, prev?.Evaluation.Verdict.Severity);
                _history.Add(e);
            }
            _rollup = ComputeRollup(now);
            change = new HealthChange(e, status, _rollup);
            watchers = [.. _watchers];
        }
        foreach (var w in watchers) w.Writer.TryWrite(change);
        return change;
    }

    private HealthRollup ComputeRollup(DateTimeOffset now)
    {
        var counts = _components.Values.GroupBy(s => s.Evaluation.Verdict.Severity).ToDictionary(g => g.Key, g => g.Count());
        var worst = _components.Values.Select(s => s.Evaluation.Verdict.Severity).DefaultIfEmpty(Severity.Ok).Max();
        var system = _components.Values.FirstOrDefault(s => s.Component.Family == "system")?.Evaluation.Led;
        return new HealthRollup(worst, counts, system, now);
    }

    public IReadOnlyList<HealthEvent> History(int limit = 200, Severity? minSeverity = null, string? componentId = null)
    {
        lock (_lock)
        {
            return _history.AsEnumerable().Reverse()
                .Where(e => minSeverity is null || e.Severity >= minSeverity)
                .Where(e => componentId is null || e.Component.Id == componentId)
                .Take(limit).ToList();
        }
    }

    public async IAsyncEnumerable<HealthChange> WatchAsync([EnumeratorCancellation] CancellationToken ct)
    {
        var ch = Channel.CreateBounded<HealthChange>(new BoundedChannelOptions(1000) { FullMode = BoundedChannelFullMode.DropOldest });
        lock (_lock) { _watchers.Add(ch); }
        try
        {
            while (await ch.Reader.WaitToReadAsync(ct).ConfigureAwait(false))
                while (ch.Reader.TryRead(out var c)) yield return c;
        }
        finally
        {
            lock (_lock) { _watchers.Remove(ch); }
        }
    }

    public Task<bool> AcknowledgeAsync(Guid eventId, string user, CancellationToken ct)
    {
        lock (_lock)
        {
            if (!_history.Any(e => e.EventId == eventId)) return Task.FromResult(false);
            Acknowledged.Add((eventId, user));
            return Task.FromResult(true);
        }
    }

    public bool CanIdentify(string componentId) => Identifiable.Contains(componentId);

    public Task<bool> IdentifyAsync(string componentId, bool on, CancellationToken ct)
    {
        lock (_lock)
        {
            if (!Identifiable.Contains(componentId)) return Task.FromResult(false);
            Identified.Add((componentId, on));
            return Task.FromResult(true);
        }
    }
}
