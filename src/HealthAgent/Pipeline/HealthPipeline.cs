using System.Runtime.CompilerServices;
using System.Threading.Channels;
using HealthAgent.Config;
using HealthAgent.Model;
using HealthAgent.Publishing;
using HealthAgent.Rules;
using HealthAgent.Sources;
using Microsoft.Extensions.Logging;

namespace HealthAgent.Pipeline;

/// <summary>
/// Sources → runner → one state loop (evaluate, track, create events, persist) → publishers. Implements
/// <see cref="IHealthState"/> for publishers (republish) and the web view. All state changes happen on the single
/// state loop, so publishers see events and states in order.
/// </summary>
public sealed partial class HealthPipeline : IHealthState, IAsyncDisposable
{
    /// <summary>A component whose only change is its readings is republished at most this often.</summary>
    public static readonly TimeSpan ReadingsRepublish = TimeSpan.FromSeconds(30);

    private readonly Channel<SourceResult> _input = Channel.CreateBounded<SourceResult>(new BoundedChannelOptions(1024) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    private readonly IReadOnlyList<(ISource Source, SourceOptions Options)> _sources;
    private readonly IReadOnlyList<IHealthPublisher> _publishers;
    private readonly HealthStore _store;
    private readonly List<(Outbox Outbox, Func<HealthEvent, OutboxEntry> Entry)> _outboxes = [];
    private readonly StateTracker _tracker;
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
        // Transactional outbox: an event and its outbox rows commit together (Pipeline/README.md).
        foreach (var p in publishers.OfType<IOutboxPublisher>())
        {
            var outbox = _store.OpenOutbox(p.Name, p.OutboxLimits);
            p.UseOutbox(outbox);
            _outboxes.Add((outbox, p.ToOutboxEntry));
        }
        _rollup = HealthRollups.Of([], _time.GetUtcNow());
        var clock = PollClock.Start(_time);
        foreach (var (s, o) in sources)
            _runners.Add(new SourceRunner(s, o, _input.Writer, loggers.CreateLogger("HealthAgent.Sources." + s.Name), _time, clock));
    }

    public string AgentId { get; }
    public string BootId { get; }

    /// <summary>Evaluates with a reloaded, already validated rule set from the next observation on.</summary>
    public void UseRules(RuleSet rules)
    {
        _tracker.UseRules(rules);
        Rules = rules;
    }

    /// <summary>The rule set evaluations use now (the one given at start, or the last reloaded one).</summary>
    public RuleSet Rules { get; private set; }
    public IReadOnlyList<ComponentStatus> Components => _components;
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
            var r = _tracker.Observe(obs, now);
            var id = obs.Component.Id;
            HealthEvent? e = null;
            if ((r.Transition is not null || r.StatusChanged) && _tracker.Accepted(id) is { } accepted)
                e = _store.Record(id, accepted, r.Transition is { } t ? seq => CreateEvent(t, seq, now) : null, _outboxes);
            if (e is not null) FaultInjection.EventCommitted();

            var publishState = r.StatusChanged || (r.ReadingsChanged && (!_lastStatePublish.TryGetValue(id, out var last) || now - last >= ReadingsRepublish));
            if (publishState) _lastStatePublish[id] = now;
            if (e is not null || r.StatusChanged) LogChange(obs.Component, r, e);

            if (publishState || e is not null)
            {
                _components = _tracker.Statuses.OrderBy(s => s.Component.Id, StringComparer.Ordinal).ToArray();
                var rollup = HealthRollups.Of(_components, now);
                var rollupChanged = !HealthRollups.Same(rollup, _rollup);
                if (rollupChanged) _rollup = rollup;
                foreach (var p in _publishers)
                {
                    try
                    {
                        if (e is not null) await p.PublishEventAsync(e, ct).ConfigureAwait(false);
                        if (publishState) await p.PublishStateAsync(r.Status, ct).ConfigureAwait(false);
                        if (rollupChanged) await p.PublishRollupAsync(_rollup, ct).ConfigureAwait(false);
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException and not OutOfMemoryException)
                    {
                        LogPublisherError(_log, p.Name, ex.Message);
                    }
                }
                Broadcast(new HealthChange(e, publishState ? r.Status : null, _rollup));
            }
        }
    }

    /// <summary>
    /// One console line per change: an event, or a state first seen or whose verdict (or unknown reason) changed. An
    /// LED that only flips between rows of the same verdict (a NIC's activity) is published, not logged again.
    /// </summary>
    private void LogChange(ComponentRef component, TrackResult r, HealthEvent? e)
    {
        var eval = r.Transition?.Evaluation ?? r.Status.Evaluation;
        var v = eval.Verdict;
        var key = v.State == HwState.Unknown ? "unknown: " + eval.UnknownReason : $"{v.Code} {v.Severity} {v.State}";
        if (e is null && _loggedAs.TryGetValue(component.Id, out var last) && last == key) return;
        _loggedAs[component.Id] = key;
        var severity = e?.Severity ?? v.Severity;
        var what = ChangeText.What(eval, _tracker.Rules);
        if (e is not null && e.Kind == EventKind.Cleared) what = "cleared: " + what;
        var action = v.State == HwState.Unknown ? "why: " + eval.UnknownReason : severity >= Severity.Warning ? e?.Action ?? v.Action : "";
        LogComponent(_log, severity >= Severity.Warning ? LogLevel.Warning : LogLevel.Information,
            HealthWords.Name(severity), ChangeText.PartName(component), what, action);
    }

    private HealthEvent CreateEvent(Transition t, long seq, DateTimeOffset now)
    {
        var ev = t.Evaluation;
        var v = ev.Verdict;
        IndicatorState? fromLed = null;
        if (t.From?.Led is { } fl && ev.Led is { } led)
        {
            try { fromLed = LedText.ParseIndicator(fl, led.LedNames); } catch (FormatException) { }
        }
        return new HealthEvent(Guid.NewGuid(), AgentId, BootId, seq, now, t.Kind, ev.Component, ev.Led, ev.Rule?.Id,
            v.Code, v.State, v.Severity, v.Meaning, v.Action, ev.Readings, fromLed, t.From?.RuleId, t.From?.State, t.From?.Severity);
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
    public static HealthRollup Of(IReadOnlyList<ComponentStatus> components, DateTimeOffset now)
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
        system ??= IndicatorState.Single("status", worst >= Severity.Warning ? LedState.Blinking(LedColor.Amber) : LedState.Solid(LedColor.Blue));
        return new HealthRollup(worst, counts, system, now);
    }

    public static bool Same(HealthRollup a, HealthRollup b) =>
        a.Worst == b.Worst && Equals(a.SystemLed, b.SystemLed) && a.Counts.Count == b.Counts.Count && a.Counts.All(kv => b.Counts.GetValueOrDefault(kv.Key) == kv.Value);
}
