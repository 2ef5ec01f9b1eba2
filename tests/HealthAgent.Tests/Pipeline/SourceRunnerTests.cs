using System.Threading.Channels;
using HealthAgent.Config;
using HealthAgent.Model;
using HealthAgent.Pipeline;
using HealthAgent.Sources;
using Microsoft.Extensions.Logging.Abstractions;
using static HealthAgent.Tests.Pipeline.PipelineFixtures;

namespace HealthAgent.Tests.Pipeline;

public sealed class SourceRunnerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("runner-test-").FullName;

    public void Dispose() { try { Directory.Delete(_dir, true); } catch (IOException) { } }

    /// <summary>Reads a file synchronously on its first poll, as a sysfs source does (a FIFO makes it hang).</summary>
    private sealed class FileSource(string path) : ISource
    {
        private int _polls;
        public string Name => "file";
        public int Polls => _polls;
        public Task<SourceResult> PollAsync(CancellationToken ct)
        {
            if (Interlocked.Increment(ref _polls) == 1) File.ReadAllText(path); // not cancellable
            return Task.FromResult(new SourceResult(Name, [Psu("solid green")], []));
        }
    }

    private sealed class FailingSource : ISource
    {
        public string Name => "failing";
        public Task<SourceResult> PollAsync(CancellationToken ct) => throw new IOException("bus error");
    }

    /// <summary>Declares it never blocks, so the runner calls it directly; it throws before returning a task.</summary>
    private sealed class ThrowsInlineSource : ISource
    {
        public string Name => "inline";
        public bool PollNeverBlocks => true;
        public Task<SourceResult> PollAsync(CancellationToken ct) => throw new IOException("bus error");
    }

    /// <summary>Declares it never blocks but does not answer in time (a cached view waiting on a first read).</summary>
    private sealed class SlowAsyncSource : ISource
    {
        public string Name => "slow";
        public bool PollNeverBlocks => true;
        public TaskCompletionSource<SourceResult> Answer { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public Task<SourceResult> PollAsync(CancellationToken ct) => Answer.Task;
    }

    private sealed class PartialSource : ISource
    {
        public string Name => "partial";
        public Task<SourceResult> PollAsync(CancellationToken ct) =>
            Task.FromResult(new SourceResult(Name, [Psu("solid green")], [new SourceError("psu:2", "EIO"), new SourceError("psu:3", "EIO")]));
    }

    private static async Task Until(Func<bool> cond, int ms = 5000)
    {
        var end = Environment.TickCount64 + ms;
        while (!cond()) { if (Environment.TickCount64 > end) throw new TimeoutException(); await Task.Delay(10); }
    }

    [Fact]
    public async Task Run_PollStuckOnFifo_ReportsHungAndStartsNoSecondPollUntilItReturns()
    {
        var fifo = Path.Combine(_dir, "temp1_input");
        Assert.Equal(0, (await HealthAgent.TestSupport.ProcessRunner.RunAsync("mkfifo", [fifo], TimeSpan.FromSeconds(5))).ExitCode);
        var source = new FileSource(fifo);
        var output = Channel.CreateUnbounded<SourceResult>();
        var runner = new SourceRunner(source, new SourceOptions { IntervalSeconds = 0.2, TimeoutSeconds = 0.1 }, output.Writer, NullLogger.Instance, TimeProvider.System);
        using var cts = new CancellationTokenSource();
        var run = runner.RunAsync(cts.Token);

        await Until(() => runner.Stats.Hung);
        await Task.Delay(600); // three more intervals pass while the read is stuck
        Assert.Equal(1, source.Polls);
        Assert.True(runner.Stats.Hung);
        Assert.False(runner.Stats.Up);
        Assert.Equal(1, runner.Stats.Timeouts);

        await File.WriteAllTextAsync(fifo, "42000\n"); // the read returns
        await Until(() => source.Polls >= 2 && runner.Stats.Up);
        Assert.False(runner.Stats.Hung);
        Assert.True(output.Reader.TryRead(out var hung));
        Assert.Equal(SourceRunner.WholeSource, Assert.Single(hung.Errors).Device); // components shown unknown meanwhile
        Assert.Contains("hung", hung.Errors[0].Message, StringComparison.Ordinal);
        Assert.True(output.Reader.TryRead(out var r));
        Assert.Single(r.Observations);
        Assert.True(r.Complete); // a poll lists everything the source sees
        await cts.CancelAsync();
        await run;
    }

    [Fact]
    public async Task Run_SourceThrowsAsAWhole_DownAndCountedButRunnerKeepsGoing()
    {
        var output = Channel.CreateUnbounded<SourceResult>();
        var runner = new SourceRunner(new FailingSource(), new SourceOptions { IntervalSeconds = 0.05 }, output.Writer, NullLogger.Instance, TimeProvider.System);
        using var cts = new CancellationTokenSource();
        var run = runner.RunAsync(cts.Token);
        await Until(() => runner.Stats.Runs >= 3);
        Assert.False(runner.Stats.Up);
        Assert.True(output.Reader.TryRead(out var failed));
        Assert.Equal("source 'failing' failed: bus error", Assert.Single(failed.Errors).Message);
        Assert.True(runner.Stats.Errors >= 3);
        await cts.CancelAsync();
        await run;
    }

    [Fact]
    public async Task Run_NeverBlockingSourceThrowsBeforeReturningATask_CountedAsAFailedPollLikeAnyOther()
    {
        var output = Channel.CreateUnbounded<SourceResult>();
        var runner = new SourceRunner(new ThrowsInlineSource(), new SourceOptions { IntervalSeconds = 0.05 }, output.Writer, NullLogger.Instance, TimeProvider.System);
        using var cts = new CancellationTokenSource();
        var run = runner.RunAsync(cts.Token);
        await Until(() => runner.Stats.Runs >= 3);
        Assert.False(runner.Stats.Up);
        Assert.True(output.Reader.TryRead(out var failed));
        Assert.Equal("source 'inline' failed: bus error", Assert.Single(failed.Errors).Message);
        await cts.CancelAsync();
        await run;
    }

    [Fact]
    public async Task Run_NeverBlockingSourcePastItsTimeout_ReportedHungThenUpWhenItAnswers()
    {
        var source = new SlowAsyncSource();
        var output = Channel.CreateUnbounded<SourceResult>();
        var runner = new SourceRunner(source, new SourceOptions { IntervalSeconds = 0.2, TimeoutSeconds = 0.1 }, output.Writer, NullLogger.Instance, TimeProvider.System);
        using var cts = new CancellationTokenSource();
        var run = runner.RunAsync(cts.Token);
        await Until(() => runner.Stats.Hung);
        Assert.Equal(1, runner.Stats.Timeouts);
        source.Answer.SetResult(new SourceResult("slow", [Psu("solid green")], []));
        await Until(() => runner.Stats.Up && !runner.Stats.Hung);
        Assert.True(output.Reader.TryRead(out var hung));
        Assert.Contains("hung", Assert.Single(hung.Errors).Message, StringComparison.Ordinal);
        await cts.CancelAsync();
        await run;
    }

    [Fact]
    public async Task Run_DeviceErrors_CountedResultStillDelivered()
    {
        var output = Channel.CreateUnbounded<SourceResult>();
        var runner = new SourceRunner(new PartialSource(), new SourceOptions { IntervalSeconds = 10 }, output.Writer, NullLogger.Instance, TimeProvider.System);
        using var cts = new CancellationTokenSource();
        var run = runner.RunAsync(cts.Token);
        var r = await output.Reader.ReadAsync();
        Assert.Single(r.Observations);
        Assert.True(runner.Stats.Up);
        Assert.Equal(2, runner.Stats.Errors);
        Assert.True(runner.Stats.LastDuration >= TimeSpan.Zero);
        await cts.CancelAsync();
        await run;
    }

    [Fact]
    public async Task Run_PushSource_ChangesArriveWithoutWaitingForTheInterval()
    {
        var source = new ScriptedSource();
        var output = Channel.CreateUnbounded<SourceResult>();
        var runner = new SourceRunner(source, new SourceOptions { IntervalSeconds = 3600 }, output.Writer, NullLogger.Instance, TimeProvider.System);
        using var cts = new CancellationTokenSource();
        var run = runner.RunAsync(cts.Token);
        await output.Reader.ReadAsync(); // the first (empty) poll
        source.Set(Psu("blinking amber"));
        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        var pushed = await output.Reader.ReadAsync(wait.Token);
        Assert.Equal("blinking amber", pushed.Observations.Single().Observed!.ToString());
        await cts.CancelAsync();
        await run;
    }

    [Theory]
    // elapsed, phase, interval (ms), last tick → next tick
    [InlineData(3, 40, 1000, 0, 1)]      // first poll at start took 3 ms: next at phase + 1 interval
    [InlineData(1045, 40, 1000, 1, 2)]   // a 5 ms poll at tick 1: the next tick, not "now + interval"
    [InlineData(1999, 40, 1000, 1, 2)]   // a slow poll that ends just before tick 2 is due: tick 2
    [InlineData(2500, 40, 1000, 1, 3)]   // a poll that overran tick 2: skip it, never two polls back to back
    [InlineData(30, 40, 1000, 0, 1)]     // still before the phase: tick 1
    public void NextTick_FixedRate_SkipsMissedTicks(int elapsedMs, int phaseMs, int intervalMs, long last, long expected) =>
        Assert.Equal(expected, SourceRunner.NextTick(TimeSpan.FromMilliseconds(elapsedMs), TimeSpan.FromMilliseconds(phaseMs), TimeSpan.FromMilliseconds(intervalMs), last));

    [Fact]
    public void DeviceErrors_LoggedOnChangeOnly_RecoveryOnce()
    {
        var logs = new HealthAgent.Tests.Sources.Redfish.CapturingLoggerProvider();
        var runner = new SourceRunner(new PartialSource(), new SourceOptions(), Channel.CreateUnbounded<SourceResult>().Writer, logs.CreateLogger("runner"), TimeProvider.System);
        string[] Poll(params SourceError[] errors)
        {
            logs.Messages.Clear();
            runner.LogDeviceErrorsOnChange(errors);
            return logs.Messages.Select(m => m[..m.IndexOf(" Source=", StringComparison.Ordinal)]).Order(StringComparer.Ordinal).ToArray();
        }

        Assert.Equal(["Warning: source partial: hwmon0: temp1_input: EIO; temp2_input: EIO", "Warning: source partial: sda: open failed"],
            Poll(new("hwmon0", "temp1_input: EIO"), new("hwmon0", "temp2_input: EIO"), new("sda", "open failed")));
        Assert.Empty(Poll(new("hwmon0", "temp1_input: EIO"), new("hwmon0", "temp2_input: EIO"), new("sda", "open failed")));
        Assert.Equal(["Information: source partial: sda: no error any more", "Warning: source partial: hwmon0: temp1_input: EIO"],
            Poll(new SourceError("hwmon0", "temp1_input: EIO")));
        Assert.Equal(["Information: source partial: hwmon0: no error any more"], Poll());
        Assert.Empty(Poll());
    }
}
