using System.Diagnostics;
using System.Threading.Channels;
using HealthAgent.Config;
using HealthAgent.Sources;
using Microsoft.Extensions.Logging;

namespace HealthAgent.Pipeline;

/// <summary>
/// Self-metrics of one source, read by publishers (OTLP: healthagent.source.*) and the web view. Updated by the
/// runner only; readers see a consistent-enough snapshot (each field is written atomically).
/// </summary>
public sealed class SourceStats(string source)
{
    private long _runs, _errors, _timeouts;
    public string Source { get; } = source;
    /// <summary>The last run completed without failing as a whole and in time.</summary>
    public bool Up { get; internal set; }
    /// <summary>A run is stuck past its timeout and no second run has been started.</summary>
    public bool Hung { get; internal set; }
    /// <summary>Duration of the last completed run.</summary>
    public TimeSpan LastDuration { get; internal set; }
    public DateTimeOffset? LastRun { get; internal set; }
    public long Runs => Interlocked.Read(ref _runs);
    /// <summary>Per-device errors plus whole-source failures plus timeouts, since start.</summary>
    public long Errors => Interlocked.Read(ref _errors);
    public long Timeouts => Interlocked.Read(ref _timeouts);

    internal void CountRun() => Interlocked.Increment(ref _runs);
    internal void CountErrors(long n) => Interlocked.Add(ref _errors, n);
    internal void CountTimeout() { Interlocked.Increment(ref _timeouts); Interlocked.Increment(ref _errors); }
}

/// <summary>
/// When runners poll: one origin and one random phase fraction (under 10 %) for all runners of a pipeline. Sources
/// with the same interval then poll at the same instants and share the thread wake-ups (at 1 s intervals the agent's
/// CPU is mostly wake-ups, not reads), while the phase, drawn once per agent, keeps agents from polling in step.
/// </summary>
public sealed record PollClock(long Origin, double PhaseFraction)
{
    public static PollClock Start(TimeProvider time) => new(time.GetTimestamp(), Random.Shared.NextDouble() * 0.1);
}

/// <summary>
/// Runs one source on its own schedule: a poll at start, then at a fixed rate, one interval apart, offset by a random
/// phase of up to 10 % of the interval so agents don't align (the offset is chosen once, not added to every interval:
/// a change waits at most one interval for the next poll; runners sharing a <see cref="PollClock"/> share it too),
/// each bounded by the source's timeout. A poll past its timeout is reported hung and cancelled, but it is not
/// abandoned: sysfs reads can't be cancelled, so no second poll starts until the stuck one returns. Push sources
/// also run their <see cref="IPushSource.RunAsync"/> loop for immediate changes.
/// <para>The runner logs a source's per-device errors on change (a warning when a device starts failing or fails
/// differently, one information line when it recovers), not every interval; sources only return them.</para>
/// </summary>
public sealed partial class SourceRunner(ISource source, SourceOptions options, ChannelWriter<SourceResult> output, ILogger logger, TimeProvider time, PollClock? clock = null)
{
    /// <summary>
    /// Device name of the error the runner reports when the whole source failed or hung: the pipeline then shows
    /// every component last seen from that source as unknown (never a stale "ok").
    /// </summary>
    public const string WholeSource = "*";

    public SourceStats Stats { get; } = new(source.Name);
    public ISource Source => source;

    /// <summary>The per-device errors last logged, by device (several errors of one device joined): "on change".</summary>
    private readonly Dictionary<string, string> _loggedErrors = new(StringComparer.Ordinal);

    public async Task RunAsync(CancellationToken ct)
    {
        var push = source is IPushSource p ? RunPushAsync(p, ct) : Task.CompletedTask;
        Task<SourceResult>? stuck = null;
        var stuckSince = 0L;
        var c = clock ?? PollClock.Start(time);
        var origin = c.Origin;
        var phase = options.Interval * c.PhaseFraction;
        long tick = 0;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var started = time.GetTimestamp();
                if (stuck is { IsCompleted: false })
                {
                    LogStillHung(logger, source.Name, time.GetElapsedTime(stuckSince).TotalSeconds);
                }
                else
                {
                    if (stuck is not null)
                    {
                        LogRecovered(logger, source.Name, time.GetElapsedTime(stuckSince).TotalSeconds);
                        Stats.Hung = false;
                        stuck = null;
                    }
                    var run = await PollOnceAsync(ct).ConfigureAwait(false);
                    if (run is not null) { stuck = run; stuckSince = started; }
                }
                var elapsed = time.GetElapsedTime(origin);
                tick = NextTick(elapsed, phase, options.Interval, tick);
                var wait = phase + options.Interval * tick - elapsed;
                if (wait > TimeSpan.Zero) await Task.Delay(wait, time, ct).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
        await push.ConfigureAwait(false);
    }

    /// <summary>One poll and no schedule (`healthagent run --once`): its result, or the hung/failed report, goes to the output.</summary>
    public Task PollOnlyOnceAsync(CancellationToken ct) => PollOnceAsync(ct);

    /// <summary>
    /// The number of the next tick (polls are due at phase + tick × interval after the start): the one after
    /// <paramref name="last"/>, or later when a slow poll has already passed it (skipped, never bunched).
    /// </summary>
    internal static long NextTick(TimeSpan elapsed, TimeSpan phase, TimeSpan interval, long last)
    {
        var passed = (long)Math.Floor((elapsed - phase) / interval); // the last tick at or before now
        return Math.Max(last + 1, passed + 1);
    }

    /// <summary>One poll. Returns the still-running task when it timed out (the caller must not start another).</summary>
    private async Task<Task<SourceResult>?> PollOnceAsync(CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var sw = Stopwatch.StartNew();
        // A source that may block synchronously (a FIFO in sysfs) is started on a pool thread so it cannot block the
        // runner; one that offloads its blocking reads itself is called directly, saving a thread hop per poll.
        var poll = source.PollNeverBlocks ? Start(source, cts.Token) : Task.Run(() => source.PollAsync(cts.Token), CancellationToken.None);
        // No timer per poll (see Deadlines); a test clock keeps Task.WaitAsync.
        if (time == TimeProvider.System) await Deadlines.WhenDoneWithin(poll, options.Timeout, ct).ConfigureAwait(false);
        else await ((Task)poll.WaitAsync(options.Timeout, time, ct)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        ct.ThrowIfCancellationRequested();
        Stats.CountRun();
        Stats.LastRun = time.GetUtcNow();
        if (!poll.IsCompleted)
        {
            cts.Cancel();
            Stats.CountTimeout();
            Stats.Up = false;
            Stats.Hung = true;
            LogHung(logger, source.Name, options.Timeout.TotalSeconds);
            await ReportWholeAsync($"source '{source.Name}' is hung: a poll has run past its {options.Timeout.TotalSeconds:0.##} s timeout", ct).ConfigureAwait(false);
            _ = poll.ContinueWith(static t => _ = t.Exception, TaskScheduler.Default); // observed later or never
            return poll;
        }
        Stats.LastDuration = sw.Elapsed;
        try
        {
            var result = await poll.ConfigureAwait(false);
            Stats.CountErrors(result.Errors.Count);
            if (!Stats.Up) LogUp(logger, source.Name, result.Observations.Count, result.Errors.Count);
            Stats.Up = true;
            if (result.NotPresent is { } why) LogNotPresent(logger, source.Name, why);
            LogDeviceErrorsOnChange(result.Errors);
            await output.WriteAsync(result with { Complete = true }, ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { throw; }
        catch (Exception e)
        {
            Stats.CountErrors(1);
            if (Stats.Up || Stats.Runs == 1) LogFailed(logger, source.Name, e.Message);
            Stats.Up = false;
            await ReportWholeAsync($"source '{source.Name}' failed: {e.Message}", ct).ConfigureAwait(false);
        }
        return null;
    }

    /// <summary>Logs each device whose error is new or different, and each device that no longer has one.</summary>
    internal void LogDeviceErrorsOnChange(IReadOnlyList<SourceError> errors)
    {
        var now = errors.GroupBy(e => e.Device, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => string.Join("; ", g.Select(e => e.Message).Distinct(StringComparer.Ordinal)), StringComparer.Ordinal);
        foreach (var (device, message) in now)
            if (!_loggedErrors.TryGetValue(device, out var before) || before != message) LogDeviceError(logger, source.Name, device, message);
        foreach (var device in _loggedErrors.Keys.Where(d => !now.ContainsKey(d)))
            LogDeviceRecovered(logger, source.Name, device);
        _loggedErrors.Clear();
        foreach (var (device, message) in now) _loggedErrors[device] = message;
    }

    private static Task<SourceResult> Start(ISource s, CancellationToken ct)
    {
        try { return s.PollAsync(ct); }
        catch (Exception e) { return Task.FromException<SourceResult>(e); }
    }

    private ValueTask ReportWholeAsync(string message, CancellationToken ct) =>
        output.WriteAsync(new SourceResult(source.Name, [], [new SourceError(WholeSource, message)]), ct);

    private async Task RunPushAsync(IPushSource p, CancellationToken ct)
    {
        // The push loop is restarted after a failure (a dropped netlink socket, an SSE stream that ended).
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await p.RunAsync(output, ct).ConfigureAwait(false);
                if (!ct.IsCancellationRequested) await Task.Delay(options.Interval, time, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { return; }
            catch (Exception e)
            {
                Stats.CountErrors(1);
                LogPushFailed(logger, source.Name, e.Message);
                try { await Task.Delay(options.Interval, time, ct).ConfigureAwait(false); }
                catch (OperationCanceledException) { return; }
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "source {Source}: poll still running after its {Timeout:0.##} s timeout; reported hung, no second poll is started")]
    private static partial void LogHung(ILogger logger, string source, double timeout);
    [LoggerMessage(Level = LogLevel.Debug, Message = "source {Source}: still hung ({Seconds:0.#} s)")]
    private static partial void LogStillHung(ILogger logger, string source, double seconds);
    [LoggerMessage(Level = LogLevel.Information, Message = "source {Source}: the hung poll returned after {Seconds:0.#} s")]
    private static partial void LogRecovered(ILogger logger, string source, double seconds);
    [LoggerMessage(Level = LogLevel.Information, Message = "source {Source}: up ({Observations} components, {Errors} device errors)")]
    private static partial void LogUp(ILogger logger, string source, int observations, int errors);
    [LoggerMessage(Level = LogLevel.Debug, Message = "source {Source}: not present: {Why}")]
    private static partial void LogNotPresent(ILogger logger, string source, string why);
    [LoggerMessage(Level = LogLevel.Warning, Message = "source {Source}: {Device}: {Message}")]
    private static partial void LogDeviceError(ILogger logger, string source, string device, string message);
    [LoggerMessage(Level = LogLevel.Information, Message = "source {Source}: {Device}: no error any more")]
    private static partial void LogDeviceRecovered(ILogger logger, string source, string device);
    [LoggerMessage(Level = LogLevel.Warning, Message = "source {Source}: poll failed: {Message}")]
    private static partial void LogFailed(ILogger logger, string source, string message);
    [LoggerMessage(Level = LogLevel.Warning, Message = "source {Source}: push loop failed, restarting after one interval: {Message}")]
    private static partial void LogPushFailed(ILogger logger, string source, string message);
}
