using System.Runtime.CompilerServices;
using System.Threading.Channels;
using HealthAgent.Config;
using HealthAgent.Incidents;
using HealthAgent.Model;
using HealthAgent.Publishing;
using HealthAgent.Rules;
using HealthAgent.Sources;
using Microsoft.Extensions.Logging;

namespace HealthAgent.Pipeline;

/// <summary>
/// Sources → runner → one state loop (evaluate, track per component, fuse parts, correlate incidents, persist, one
/// publish per change) → publishers. Implements
/// <see cref="IHealthState"/> for publishers (republish) and the web view. All state changes happen on the single
/// state loop, so publishers see events and states in order.
/// </summary>
public sealed partial class HealthPipeline : IHealthState, IAsyncDisposable
{
    /// <summary>A component whose only change is its readings is republished at most this often.</summary>
    public static readonly TimeSpan ReadingsRepublish = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The roll-up and the part topics are published once per burst of changes: this long after the last change (a
    /// front panel reports its LEDs one line at a time), but never more than <see cref="PublishMaxDelay"/> after the
    /// first, so a steady stream of changes still publishes. Events and component states are published at once.
    /// </summary>
    public static readonly TimeSpan PublishQuiet = TimeSpan.FromMilliseconds(250), PublishMaxDelay = TimeSpan.FromSeconds(1);

    private readonly Channel<SourceResult> _input = Channel.CreateBounded<SourceResult>(new BoundedChannelOptions(1024) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    private readonly IReadOnlyList<(ISource Source, SourceOptions Options)> _sources;
    private readonly IReadOnlyList<IHealthPublisher> _publishers;
    private readonly HealthStore _store;
    private readonly List<(Outbox Outbox, Func<HealthEvent, OutboxEntry> Entry)> _outboxes = [];
    private readonly StateTracker _tracker;
    private readonly IncidentEngine _incidents;
    private readonly Dictionary<string, string> _sourceOf = new(StringComparer.Ordinal);
    private ITimer? _dueTimer, _publishTimer;
    private DateTimeOffset? _dueAt, _publishAt, _burstStart;
    private HealthRollup? _publishedRollup;
    private volatile IReadOnlyList<PartCondition> _parts = [];
    private readonly ILogger _log;
    private readonly ILoggerFactory _loggers;
    private readonly TimeProvider _time;
    private readonly List<SourceRunner> _runners = [];
    private readonly Dictionary<string, DateTimeOffset> _lastStatePublish = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _loggedAs = new(StringComparer.Ordinal);

    /// <summary>EventId of the one log line per component change (see <see cref="ChangeText"/>).</summary>
    public const int ComponentChangeEventId = 100;
    private readonly Dictionary<string, Dictionary<string, ComponentRef>> _bySource = new(StringComparer.Ordinal);
    private readonly List<Channel<HealthChange>> _watchers = [];
    private readonly Lock _watchLock = new();
    private volatile ComponentStatus[] _components = [];
    private HealthRollup _rollup;
    private int _disposed;

    public HealthPipeline(string agentId, string bootId, RuleSet rules, string stateDirectory,
        IReadOnlyList<(ISource Source, SourceOptions Options)> sources, IReadOnlyList<IHealthPublisher> publishers,
        ILoggerFactory loggers, TimeProvider? time = null)
    {
        AgentId = agentId;
        BootId = bootId;
        _sources = sources;
        _publishers = publishers;
        _loggers = loggers;
        _log = loggers.CreateLogger("HealthAgent.Pipeline");
        _time = time ?? TimeProvider.System;
        _store = new HealthStore(Path.Combine(stateDirectory, "state.db"));
        if (_store.MovedAside is { } moved) LogStoreCorrupt(_log, moved);
        _tracker = new StateTracker(new Evaluator(rules), _store.LoadConditions());
        Rules = rules;
        _incidents = new IncidentEngine(rules, _store.LoadIncidents());
        // Transactional outbox: an event and its outbox rows commit together (Pipeline/README.md).
        foreach (var p in publishers.OfType<IOutboxPublisher>())
        {
            var outbox = _store.OpenOutbox(p.Name, p.OutboxLimits);
            p.UseOutbox(outbox);
            _outboxes.Add((outbox, p.ToOutboxEntry));
        }
        _rollup = HealthRollups.Of([], _time.GetUtcNow(), _incidents.Incidents);
        var clock = PollClock.Start(_time);
        foreach (var (s, o) in sources)
            _runners.Add(new SourceRunner(s, o, _input.Writer, loggers.CreateLogger("HealthAgent.Sources." + s.Name), _time, clock));
    }

    public string AgentId { get; }
    public string BootId { get; }

    /// <summary>The source key a pipeline-internal wake-up carries (a held condition is due to be raised on its own).</summary>
    public const string Tick = "(incidents)";

    /// <summary>The source key of the wake-up that publishes a burst's roll-up and part topics (<see cref="PublishQuiet"/>).</summary>
    public const string Publish = "(publish)";

    /// <summary>Evaluates with a reloaded, already validated rule set from the next observation on.</summary>
    public void UseRules(RuleSet rules)
    {
        _tracker.UseRules(rules);
        _incidents.UseRules(rules);
        Rules = rules;
    }

    /// <summary>The rule set evaluations use now (the one given at start, or the last reloaded one).</summary>
    public RuleSet Rules { get; private set; }
    public IReadOnlyList<ComponentStatus> Components => _components;
    /// <summary>Physical parts (several sources' components fused), most severe first.</summary>
    public IReadOnlyList<PartCondition> Parts => _parts;
    public HealthRollup Rollup => _rollup;
    public IReadOnlyList<SourceStats> SourceStats => _runners.Select(r => r.Stats).ToList();
    /// <summary>Where extra results enter (tests, the simulator); sources write here too.</summary>
    public ChannelWriter<SourceResult> Input => _input.Writer;

    /// <summary>The boot id from /proc/sys/kernel/random/boot_id, or a fresh one per process when unreadable.</summary>
    public static string ReadBootId(string hostRoot = "/")
    {
        try { return File.ReadAllText(Path.Combine(hostRoot, "proc/sys/kernel/random/boot_id")).Trim(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return Guid.NewGuid().ToString(); }
    }

    /// <summary>Runs until <paramref name="ct"/> is cancelled, then stops sources and (within <paramref name="stopTimeout"/>) the publishers.</summary>
    public async Task RunAsync(CancellationToken ct, TimeSpan? stopTimeout = null)
    {
        foreach (var p in _publishers) await p.StartAsync(this, ct).ConfigureAwait(false);
        using var sourcesCts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var runners = _runners.Select(r => Task.Run(() => r.RunAsync(sourcesCts.Token), CancellationToken.None)).ToList();
        LogStarted(_log, AgentId, _runners.Count, string.Join(", ", _runners.Select(r => r.Source.Name)), string.Join(", ", _publishers.Select(p => p.Name)));
        try
        {
            string? lastError = null;
            await foreach (var result in _input.Reader.ReadAllAsync(ct).ConfigureAwait(false))
            {
                try
                {
                    await ProcessAsync(result, ct).ConfigureAwait(false);
                    lastError = null;
                }
                catch (Exception e) when (e is not OperationCanceledException and not OutOfMemoryException)
                {
                    // A full disk or a broken state store must not stop the agent: log (on change) and go on.
                    if (e.Message != lastError) LogStateLoopError(_log, result.Source, e.Message);
                    lastError = e.Message;
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
        await sourcesCts.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(runners).WaitAsync(TimeSpan.FromSeconds(2)).ContinueWith(_ => { }, TaskScheduler.Default).ConfigureAwait(false);
        _dueTimer?.Dispose();
        _publishTimer?.Dispose();
        // The last burst's roll-up and parts are not lost to a stop: published before the publishers stop.
        if (_publishAt is not null) await PublishBurstAsync(CancellationToken.None).ConfigureAwait(false);

        using var stop = new CancellationTokenSource(stopTimeout ?? TimeSpan.FromSeconds(5));
        foreach (var p in _publishers)
        {
            try { await p.StopAsync(stop.Token).ConfigureAwait(false); }
            catch (Exception e) when (e is not OutOfMemoryException) { LogPublisherError(_log, p.Name, e.Message); }
        }
        lock (_watchLock) foreach (var w in _watchers) w.Writer.TryComplete();
    }

    /// <summary>
    /// `healthagent run --once`: every source polled once (each within its timeout), the results evaluated and
    /// published, then the publishers stopped (they flush within <paramref name="stopTimeout"/>). Returns what the
    /// exit code reports: the worst severity, and whether anything could not be told (unknown state, a source failed).
    /// </summary>
    public async Task<(Severity Worst, bool AnyUnknown)> RunOnceAsync(CancellationToken ct, TimeSpan? stopTimeout = null)
    {
        foreach (var p in _publishers) await p.StartAsync(this, ct).ConfigureAwait(false);
        LogStarted(_log, AgentId, _runners.Count, string.Join(", ", _runners.Select(r => r.Source.Name)), string.Join(", ", _publishers.Select(p => p.Name)));
        var polls = Task.WhenAll(_runners.Select(r => Task.Run(() => r.PollOnlyOnceAsync(ct), CancellationToken.None)));
        var failed = false;
        // Drain while polling: the input channel is bounded, a runner waits when it is full.
        while (true)
        {
            while (_input.Reader.TryRead(out var result))
            {
                failed |= result.Errors.Any(e => e.Device == SourceRunner.WholeSource);
                try { await ProcessAsync(result, ct).ConfigureAwait(false); }
                catch (Exception e) when (e is not OperationCanceledException and not OutOfMemoryException) { LogStateLoopError(_log, result.Source, e.Message); }
            }
            if (polls.IsCompleted) break;
            await Task.WhenAny(polls, _input.Reader.WaitToReadAsync(ct).AsTask()).ConfigureAwait(false);
        }
        await polls.ConfigureAwait(false);
        _publishTimer?.Dispose();
        if (_publishAt is not null) await PublishBurstAsync(ct).ConfigureAwait(false);
        using var stop = new CancellationTokenSource(stopTimeout ?? TimeSpan.FromSeconds(10));
        await Task.WhenAll(_publishers.Select(p => p.FlushAsync(stop.Token))).ConfigureAwait(false);
        foreach (var p in _publishers)
        {
            try { await p.StopAsync(stop.Token).ConfigureAwait(false); }
            catch (Exception e) when (e is not OutOfMemoryException) { LogPublisherError(_log, p.Name, e.Message); }
        }
        var statuses = _tracker.Statuses;
        var worst = statuses.Select(s => s.Evaluation.Verdict.Severity).DefaultIfEmpty(Severity.Ok).Max();
        return (worst, failed || statuses.Any(s => s.Evaluation.Verdict.State == HwState.Unknown));
    }

    /// <summary>One source result through the state loop (public for tests that drive the pipeline directly).</summary>
    public async Task ProcessAsync(SourceResult result, CancellationToken ct)
    {
        var now = _time.GetUtcNow();
        // A burst whose quiet time is over goes out before this result starts the next one (its wake-up may still
        // be queued behind this result).
        await PublishBurstIfDueAsync(now, ct).ConfigureAwait(false);
        if (result.Source == Publish) return;
        var conditions = new List<(string, TrackedCondition)>();
        var states = new List<ComponentStatus>();
        var recompute = result.Source == Tick || _incidents.NextDue <= now;
        var statusChanged = false;
        // The due timer has fired: arm it again below even when the hold is not over yet (a timer may fire a little
        // early, its delay is whole milliseconds), or the held condition would wait for the next source result.
        if (result.Source == Tick) _dueAt = null;
        if (result.Source != Tick)
        {
            IReadOnlyList<Observation> observations = result.Observations;
            if (!_bySource.TryGetValue(result.Source, out var seen)) _bySource[result.Source] = seen = new(StringComparer.Ordinal);
            foreach (var o in observations) seen[o.Component.Id] = o.Component;
            // What the source showed before and not now is no longer known (unknown neither raises nor clears): the source
            // failed as a whole, or a complete poll no longer lists the component (a drive pulled, an md array stopped).
            var missing = result.Errors.FirstOrDefault(e => e.Device == SourceRunner.WholeSource)?.Message
                ?? (result.Complete ? $"no longer reported by source '{result.Source}' (removed, or its device cannot be found)" : null);
            if (missing is not null && seen.Count > observations.Count)
            {
                var present = observations.Select(o => o.Component.Id).ToHashSet(StringComparer.Ordinal);
                observations = [.. observations, .. seen.Values.Where(c => !present.Contains(c.Id)).Select(c => new Observation(c, [], null, missing))];
            }
            foreach (var obs in observations)
            {
                var id = obs.Component.Id;
                _sourceOf[id] = result.Source;
                var r = _tracker.Observe(obs, now, result.Source);
                if ((r.Transition is not null || r.StatusChanged) && _tracker.Accepted(id) is { } accepted) conditions.Add((id, accepted));
                recompute |= r.Transition is not null;
                var publishState = r.StatusChanged || (r.ReadingsChanged && (!_lastStatePublish.TryGetValue(id, out var last) || now - last >= ReadingsRepublish));
                if (publishState)
                {
                    _lastStatePublish[id] = now;
                    states.Add(r.Status);
                }
                if (r.StatusChanged) LogChange(obs.Component, r);
                statusChanged |= r.StatusChanged;
            }
        }

        // Incidents from every accepted condition; conditions, open incidents and their events in one transaction.
        var changes = recompute ? _incidents.Update(AcceptedObservations(), now) : [];
        IReadOnlyList<HealthEvent> events = [];
        if (conditions.Count > 0 || recompute)
            events = _store.Record(conditions, recompute ? _incidents.Incidents : null, changes.Select(c => (Func<long, HealthEvent>)(seq => CreateEvent(c, seq, now))).ToList(), _outboxes);
        if (events.Count > 0) FaultInjection.EventCommitted();
        foreach (var e in events) LogIncident(e);
        ScheduleDue();
        if (states.Count == 0 && events.Count == 0 && !recompute) return;

        // Every event and state of this result at once (events are never delayed); the roll-up and the part topics
        // once per burst (PublishQuiet), after the events they reflect. _rollup and _parts are current at once.
        if (states.Count > 0) _components = _tracker.Statuses.OrderBy(s => s.Component.Id, StringComparer.Ordinal).ToArray();
        _parts = FuseParts(_components);
        var rollup = HealthRollups.Of(_components, now, _incidents.Incidents, _incidents.Pending);
        var rollupChanged = !HealthRollups.Same(rollup, _rollup);
        if (rollupChanged) _rollup = rollup;
        foreach (var p in _publishers)
        {
            try
            {
                foreach (var e in events) await p.PublishEventAsync(e, ct).ConfigureAwait(false);
                foreach (var s in states) await p.PublishStateAsync(s, ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException and not OutOfMemoryException)
            {
                LogPublisherError(_log, p.Name, ex.Message);
            }
        }
        // A readings-only republish changes neither the roll-up nor a part topic (they carry no readings); an incident
        // change makes an event or changes the roll-up.
        if (rollupChanged || statusChanged || events.Count > 0) SchedulePublish(now);
        foreach (var e in events) Broadcast(new HealthChange(e, null, _rollup));
        foreach (var s in states) Broadcast(new HealthChange(null, s, _rollup));
        if (events.Count == 0 && states.Count == 0 && rollupChanged) Broadcast(new HealthChange(null, null, _rollup));
        await PublishBurstIfDueAsync(now, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// A change to publish: the burst's roll-up and part topics go out <see cref="PublishQuiet"/> after its last change,
    /// at most <see cref="PublishMaxDelay"/> after its first.
    /// </summary>
    private void SchedulePublish(DateTimeOffset now)
    {
        _burstStart ??= now;
        var at = now + PublishQuiet;
        if (at > _burstStart.Value + PublishMaxDelay) at = _burstStart.Value + PublishMaxDelay;
        _publishAt = at;
        ArmPublish(at);
    }

    private void ArmPublish(DateTimeOffset at)
    {
        // +1 ms: a timer may fire a little early (whole milliseconds); an early wake-up arms it again (below).
        var delay = at - _time.GetUtcNow() + TimeSpan.FromMilliseconds(1);
        if (delay < TimeSpan.Zero) delay = TimeSpan.Zero;
        if (_publishTimer is null)
            _publishTimer = _time.CreateTimer(_ => _input.Writer.TryWrite(new SourceResult(Publish, [], [])), null, delay, Timeout.InfiniteTimeSpan);
        else _publishTimer.Change(delay, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Publishes the burst when it is due (also from any result that arrives later: a wake-up lost to a full input channel is not needed).</summary>
    private async Task PublishBurstIfDueAsync(DateTimeOffset now, CancellationToken ct)
    {
        if (_publishAt is not { } at) return;
        if (now >= at) await PublishBurstAsync(ct).ConfigureAwait(false);
        else ArmPublish(at);
    }

    /// <summary>The roll-up (when it changed since the last publish) and every part (each publisher sends only those that changed).</summary>
    private async Task PublishBurstAsync(CancellationToken ct)
    {
        _publishAt = null;
        _burstStart = null;
        var rollup = _rollup;
        var rollupChanged = _publishedRollup is null || !HealthRollups.Same(rollup, _publishedRollup);
        _publishedRollup = rollup;
        foreach (var p in _publishers)
        {
            try
            {
                if (rollupChanged) await p.PublishRollupAsync(rollup, ct).ConfigureAwait(false);
                await p.PublishPartsAsync(_parts, rollup, ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException and not OutOfMemoryException)
            {
                LogPublisherError(_log, p.Name, ex.Message);
            }
        }
    }

    /// <summary>Every accepted condition as an observation of its part (a condition persisted before a restart and not seen since keeps its verdict).</summary>
    private IEnumerable<PartObservation> AcceptedObservations()
    {
        foreach (var (id, c, eval) in _tracker.AcceptedConditions())
        {
            var component = eval?.Component ?? c.Component ?? new ComponentRef(id, "unknown", id);
            var verdict = eval?.Verdict ?? (_tracker.Rules.FindVerdict(c.RuleId, c.Code) is { } v ? v with { State = c.State, Severity = c.Severity }
                : new Verdict(c.State, c.Severity, c.Code, c.Code, "See the component's state."));
            yield return new PartObservation(c.Source ?? _sourceOf.GetValueOrDefault(id) ?? "", component, verdict, eval?.Led, c.RuleId, eval?.Readings ?? [], c.Since);
        }
    }

    /// <summary>
    /// One console line per change. A component's own line when it is first seen (unless it starts in a fault), turns
    /// unknown, its unknown reason changes or it is readable again; every other change — a fault, its change, its
    /// clearing — is told once by its incident's line (one fault, one line), so the component's line goes to Debug.
    /// An LED that only flips between rows of the same verdict is published, not logged.
    /// </summary>
    private void LogChange(ComponentRef component, TrackResult r)
    {
        var eval = r.Status.Evaluation;
        var v = eval.Verdict;
        var key = v.State == HwState.Unknown ? "unknown: " + eval.UnknownReason : $"{v.Code} {v.Severity} {v.State}";
        var first = !_loggedAs.TryGetValue(component.Id, out var last);
        if (!first && last == key) return;
        _loggedAs[component.Id] = key;
        var level = first ? v.Severity >= Severity.Warning && v.State != HwState.Unknown ? LogLevel.Debug : LogLevel.Information
            : v.State == HwState.Unknown || last!.StartsWith("unknown: ", StringComparison.Ordinal) ? LogLevel.Information : LogLevel.Debug;
        var action = v.State == HwState.Unknown ? "why: " + eval.UnknownReason : "";
        LogComponent(_log, level, HealthWords.Name(v.Severity), ChangeText.PartName(component), ChangeText.What(eval, _tracker.Rules), action);
    }

    /// <summary>An incident's event as one console line: the root part, its LED and reading, meaning, what follows; the action below.</summary>
    private void LogIncident(HealthEvent e)
    {
        var root = e.Incident.Root.Chosen;
        var eval = _tracker.Statuses.FirstOrDefault(s => s.Component.Id == root.Component.Id)?.Evaluation;
        var what = eval is not null && eval.Verdict.Code == root.Verdict.Code ? ChangeText.What(eval, _tracker.Rules)
            : (root.Led is { } led ? led + " — " : "") + root.Verdict.Meaning;
        if (e.Kind == EventKind.Cleared) what = "cleared: " + what;
        else if (e.Kind == EventKind.Changed) what = "changed: " + what;
        if (e.Incident.Consequences.Count > 0 && e.Kind != EventKind.Cleared)
            what += " (also: " + string.Join(", ", e.Incident.Consequences.Select(c => c.Part.Name)) + ")";
        LogComponent(_log, e.Severity >= Severity.Warning ? LogLevel.Warning : LogLevel.Information,
            HealthWords.Name(e.Severity), ChangeText.PartName(e.Component), what, e.Severity >= Severity.Warning ? e.Action : "");
    }

    private IReadOnlyList<PartCondition> FuseParts(IReadOnlyList<ComponentStatus> components) =>
        IncidentEngine.Fuse(_incidents.Parts, components.Select(s => new PartObservation(_sourceOf.GetValueOrDefault(s.Component.Id) ?? "", s.Component,
                s.Evaluation.Verdict, s.Evaluation.Led, s.Evaluation.Rule?.Id, s.Evaluation.Readings, s.Since)))
            .Select(p => p.Part)
            .OrderByDescending(p => p.Verdict.State != HwState.Unknown && p.Severity >= Severity.Warning).ThenByDescending(p => p.Severity)
            .ThenBy(p => p.Part.Name, StringComparer.Ordinal).ToList();

    /// <summary>Wakes the state loop when a held condition is due to be raised on its own (nothing else may arrive by then).</summary>
    private void ScheduleDue()
    {
        var due = _incidents.NextDue;
        if (due == _dueAt) return;
        _dueAt = due;
        _dueTimer?.Dispose();
        _dueTimer = null;
        if (due is not { } at) return;
        var delay = at - _time.GetUtcNow() + TimeSpan.FromMilliseconds(1); // not before the hold ends
        _dueTimer = _time.CreateTimer(_ => _input.Writer.TryWrite(new SourceResult(Tick, [], [])), null, delay < TimeSpan.Zero ? TimeSpan.Zero : delay, Timeout.InfiniteTimeSpan);
    }

    private HealthEvent CreateEvent(IncidentChange c, long seq, DateTimeOffset now)
    {
        EventFrom? from = null;
        if (c.Before is { } b && c.Kind != EventKind.Raised)
            from = new EventFrom(b.Root.Part, b.Root.Verdict.Code, b.Root.Verdict.State, b.Severity, b.Root.Chosen.Led, b.Root.Chosen.RuleId);
        return new HealthEvent(Guid.NewGuid(), AgentId, BootId, seq, now, c.Kind, c.Incident, from);
    }

    private void Broadcast(HealthChange change)
    {
        lock (_watchLock) foreach (var w in _watchers) w.Writer.TryWrite(change);
    }

    public IReadOnlyList<HealthEvent> History(int limit = 200, Severity? minSeverity = null, string? componentId = null) =>
        _store.History(limit, minSeverity, componentId);

    public async IAsyncEnumerable<HealthChange> WatchAsync([EnumeratorCancellation] CancellationToken ct)
    {
        // Bounded per watcher: a slow web client loses the oldest changes, never the agent's memory.
        var ch = Channel.CreateBounded<HealthChange>(new BoundedChannelOptions(1000) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
        lock (_watchLock) _watchers.Add(ch);
        try
        {
            await foreach (var c in ch.Reader.ReadAllAsync(ct).ConfigureAwait(false)) yield return c;
        }
        finally
        {
            lock (_watchLock) _watchers.Remove(ch);
        }
    }

    public Task<bool> AcknowledgeAsync(Guid eventId, string user, CancellationToken ct) =>
        Task.FromResult(_store.Acknowledge(eventId, user, _time.GetUtcNow()));

    public bool CanIdentify(string componentId) => _sources.Any(s => s.Source is IIdentifySource ids && ids.CanIdentify(componentId));

    public async Task<bool> IdentifyAsync(string componentId, bool on, CancellationToken ct)
    {
        foreach (var (s, _) in _sources)
            if (s is IIdentifySource ids && await ids.IdentifyAsync(componentId, on, ct).ConfigureAwait(false)) return true;
        return false;
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        _dueTimer?.Dispose();
        _publishTimer?.Dispose();
        foreach (var p in _publishers) await p.DisposeAsync().ConfigureAwait(false);
        _store.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "agent {AgentId}: {Count} source(s) [{Sources}], publishers [{Publishers}]")]
    private static partial void LogStarted(ILogger logger, string agentId, int count, string sources, string publishers);
    /// <summary>A component's change. The console formatter (Cli/ConsoleLog) lays out {Health}, {Part}, {What} and {Action}.</summary>
    [LoggerMessage(EventId = ComponentChangeEventId, Message = "{Health} {Part}: {What} {Action}")]
    private static partial void LogComponent(ILogger logger, LogLevel level, string health, string part, string what, string action);
    [LoggerMessage(Level = LogLevel.Warning, Message = "publisher {Publisher}: {Message}")]
    private static partial void LogPublisherError(ILogger logger, string publisher, string message);
    [LoggerMessage(Level = LogLevel.Error, Message = "state loop: a result of {Source} could not be processed: {Message}")]
    private static partial void LogStateLoopError(ILogger logger, string source, string message);
    [LoggerMessage(Level = LogLevel.Error, Message = "state store was corrupt: moved aside to {Moved}; starting with a fresh one (conditions raised before may be raised again)")]
    private static partial void LogStoreCorrupt(ILogger logger, string moved);
}

/// <summary>
/// The roll-up: worst severity over all components, counts per severity, and the system health LED — the "system"
/// family component's LED when there is one (the most severe of several), else derived from the worst severity the way the seed appliance's
/// system LED behaves: ok/info → solid blue (healthy), warning/critical → blinking amber (fault).
/// </summary>
public static class HealthRollups
{
    /// <param name="pending">Held incidents (no raised event yet): problems too, marked pending.</param>
    public static HealthRollup Of(IReadOnlyList<ComponentStatus> components, DateTimeOffset now, IReadOnlyList<Incident>? incidents = null,
        IReadOnlyList<Incident>? pending = null)
    {
        var counts = Enum.GetValues<Severity>().ToDictionary(s => s, _ => 0);
        var worst = Severity.Ok;
        IndicatorState? system = null;
        var systemSeverity = Severity.Ok;
        foreach (var c in components)
        {
            var s = c.Evaluation.Verdict.Severity;
            counts[s]++;
            if (s > worst) worst = s;
            // Several readers of the system LED (front panel and BMC): the most severe one wins.
            if (c.Component.Family == "system" && c.Evaluation.Led is { IsKnown: true } led && (system is null || s > systemSeverity))
            {
                system = led;
                systemSeverity = s;
            }
        }
        // Worst agrees with the problems: an incident stays open while its part cannot be read (unknown neither raises
        // nor clears), so it counts even when no component shows its severity now.
        foreach (var i in (incidents ?? []).Concat(pending ?? []))
            if (i.Severity > worst) worst = i.Severity;
        system ??= IndicatorState.Single("status", worst >= Severity.Warning ? LedState.Blinking(LedColor.Amber) : LedState.Solid(LedColor.Blue));
        return new HealthRollup(worst, counts, system, now, incidents ?? [], pending ?? []);
    }

    public static bool Same(HealthRollup a, HealthRollup b) =>
        a.Worst == b.Worst && Equals(a.SystemLed, b.SystemLed) && a.Counts.Count == b.Counts.Count && a.Counts.All(kv => b.Counts.GetValueOrDefault(kv.Key) == kv.Value)
        && SameIncidents(a.Incidents, b.Incidents) && SameIncidents(a.Pending, b.Pending);

    private static bool SameIncidents(IReadOnlyList<Incident>? a, IReadOnlyList<Incident>? b) =>
        (a ?? []).Count == (b ?? []).Count
        && (a ?? []).Zip(b ?? []).All(p => p.First.Id == p.Second.Id && p.First.Severity == p.Second.Severity && IncidentEngine.Same(p.First, p.Second));
}
