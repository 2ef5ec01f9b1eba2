using System.Diagnostics;
using HealthAgent.Sources;

namespace HealthAgent.Tests.Sources;

public class DeadlinesTests
{
    [Fact]
    public async Task WhenDoneWithin_TaskEndsInTime_TrueAtOnceWhetherItSucceededOrFailed()
    {
        var ok = new TaskCompletionSource();
        var failed = new TaskCompletionSource();
        var a = Deadlines.WhenDoneWithin(ok.Task, TimeSpan.FromSeconds(30));
        var b = Deadlines.WhenDoneWithin(failed.Task, TimeSpan.FromSeconds(30));
        ok.SetResult();
        failed.SetException(new IOException("EIO"));
        Assert.True(await a.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.True(await b.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.True(await Deadlines.WhenDoneWithin(Task.CompletedTask, TimeSpan.Zero));
    }

    [Fact]
    public async Task WhenDoneWithin_TaskNeverEnds_FalseNotBeforeItsTimeout()
    {
        var never = new TaskCompletionSource().Task;
        var sw = Stopwatch.StartNew();
        Assert.False(await Deadlines.WhenDoneWithin(never, TimeSpan.FromMilliseconds(150)).WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.True(sw.ElapsedMilliseconds >= 150, $"late after {sw.ElapsedMilliseconds} ms");
    }

    [Fact]
    public async Task WhenDoneWithin_EarlierDeadlineWhileTheThreadSleepsForALaterOne_StillOnTime()
    {
        var never = new TaskCompletionSource().Task;
        var far = Deadlines.WhenDoneWithin(never, TimeSpan.FromSeconds(20));
        await Task.Delay(50); // the thread now sleeps for the far deadline
        var sw = Stopwatch.StartNew();
        Assert.False(await Deadlines.WhenDoneWithin(never, TimeSpan.FromMilliseconds(100)).WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.InRange(sw.ElapsedMilliseconds, 100, 9_000);
        Assert.False(far.IsCompleted);
    }

    [Fact]
    public async Task WhenDoneWithin_ManyMixed_EachAnswerMatchesWhetherItsTaskEndedBeforeItsDeadline()
    {
        var sw = Stopwatch.StartNew();
        var cases = Enumerable.Range(0, 200).Select(i =>
        {
            var work = new TaskCompletionSource();
            var timeout = TimeSpan.FromMilliseconds(50 + i % 7 * 40);
            return (Work: work, Ends: i % 2 == 0, Answer: Deadlines.WhenDoneWithin(work.Task, timeout), Timeout: timeout);
        }).ToList();
        foreach (var c in cases.Where(c => c.Ends)) c.Work.SetResult();
        var answers = await Task.WhenAll(cases.Select(c => c.Answer)).WaitAsync(TimeSpan.FromSeconds(20));
        for (var i = 0; i < cases.Count; i++) Assert.Equal(cases[i].Ends, answers[i]);
        Assert.True(sw.Elapsed >= cases.Where(c => !c.Ends).Max(c => c.Timeout));
    }

    [Fact]
    public async Task WhenDoneWithin_Cancelled_Throws()
    {
        using var cts = new CancellationTokenSource();
        var wait = Deadlines.WhenDoneWithin(new TaskCompletionSource().Task, TimeSpan.FromSeconds(30), cts.Token);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => wait);
    }
}
