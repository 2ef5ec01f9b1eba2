using System.Runtime.CompilerServices;
using System.Threading.Channels;
using HealthAgent.Incidents;
using HealthAgent.Model;
using HealthAgent.Publishing;
using HealthAgent.Rules;

namespace HealthAgent.Tests.Web;

/// <summary>
/// A small, real <see cref="IHealthState"/> for the web tests: observations go through the real <see cref="Evaluator"/>,
/// rule tables and <see cref="IncidentEngine"/> (parts fused, consequences folded into their cause's incident; the
/// correlation window passes at once); an incident change records an event and is pushed to every watcher, as the
/// pipeline does. Components whose id starts with "redfish:" come from source redfish, the others from the front panel.
/// </summary>
public sealed class InMemoryHealthState(string agentId, RuleSet rules, TimeProvider? time = null) : IHealthState
{
    private readonly Evaluator _evaluator = new(rules);
    private readonly IncidentEngine _incidents = new(rules);
    private IReadOnlyList<PartCondition> _parts = [];
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
    public IReadOnlyList<PartCondition> Parts { get { lock (_lock) { return _parts; } } }

    private static string SourceOf(ComponentRef c) => c.Id.StartsWith("redfish:", StringComparison.Ordinal) ? "redfish" : "frontPanel";

    /// <summary>Evaluates an observation and publishes the change (an event when an incident changed).</summary>
    public HealthChange Observe(Observation obs) => ObserveAll(obs);

    /// <summary>Several observations as one source result: evaluated together, then incidents updated once.</summary>
    public HealthChange ObserveAll(params Observation[] all)
    {
        HealthChange change = null!;
        List<Channel<HealthChange>> watchers;
        lock (_lock)
        {
            var now = _time.GetUtcNow();
            ComponentStatus status = null!;
            var statuses = new List<ComponentStatus>();
            foreach (var obs in all)
            {
            var c = obs.Component;
            _components.TryGetValue(c.Id, out var prev);
            var eval = _evaluator.Evaluate(obs, prev?.Evaluation);
            var changed = prev is null || prev.Evaluation.Verdict != eval.Verdict || !Equals(prev.Evaluation.Led, eval.Led);
            status = new ComponentStatus(eval, changed ? now : prev!.Since, now);
            if (prev is null) _order.Add(c);
            _components[c.Id] = status;
            statuses.Add(status);
            }
            HealthEvent? e = null;
            var observations = _components.Values.Where(x => x.Evaluation.Verdict.State != HwState.Unknown)
                .Select(x => new PartObservation(SourceOf(x.Component), x.Component, x.Evaluation.Verdict, x.Evaluation.Led, x.Evaluation.Rule?.Id, x.Evaluation.Readings, x.Since)).ToList();
            var changes = _incidents.Update(observations, now).ToList();
            if (_incidents.NextDue is { } due) changes.AddRange(_incidents.Update(observations, due));
            foreach (var ch in changes)
            {
                var from = ch.Before is { } b && ch.Kind != EventKind.Raised
                    ? new EventFrom(b.Root.Part, b.Root.Verdict.Code, b.Root.Verdict.State, b.Severity, b.Root.Chosen.Led, b.Root.Chosen.RuleId) : null;
                e = new HealthEvent(Guid.NewGuid(), agentId, _bootId, ++_seq, now, ch.Kind, ch.Incident, from);
                _history.Add(e);
            }
            _parts = IncidentEngine.Fuse(_incidents.Parts, _components.Values.Select(x => new PartObservation(SourceOf(x.Component), x.Component,
                    x.Evaluation.Verdict, x.Evaluation.Led, x.Evaluation.Rule?.Id, x.Evaluation.Readings, x.Since)))
                .Select(p => p.Part).OrderByDescending(p => p.Severity).ThenBy(p => p.Part.Name, StringComparer.Ordinal).ToList();
            _rollup = ComputeRollup(now);
            change = new HealthChange(e, status, _rollup);
            watchers = [.. _watchers];
            foreach (var st in statuses.Take(statuses.Count - 1))
                foreach (var w in watchers) w.Writer.TryWrite(new HealthChange(null, st, _rollup));
        }
        foreach (var w in watchers) w.Writer.TryWrite(change);
        return change;
    }

    private HealthRollup ComputeRollup(DateTimeOffset now)
    {
        var counts = _components.Values.GroupBy(s => s.Evaluation.Verdict.Severity).ToDictionary(g => g.Key, g => g.Count());
        var worst = _components.Values.Select(s => s.Evaluation.Verdict.Severity).DefaultIfEmpty(Severity.Ok).Max();
        var system = _components.Values.FirstOrDefault(s => s.Component.Family == "system")?.Evaluation.Led;
        return new HealthRollup(worst, counts, system, now, _incidents.Incidents);
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
