using System.Diagnostics;

namespace HealthAgent.Sources;

/// <summary>
/// Timeouts for work that nearly always finishes in time (a poll, a batch of sysfs reads), without a timer per call.
/// <see cref="Task.WaitAsync(TimeSpan)"/> arms a runtime timer each time; when the work ends first the timer is
/// removed, but the timer thread still wakes for it and hands its queue to a pool thread — at 1 s intervals those
/// wake-ups were a third of the agent's CPU. Here one thread sleeps until the earliest deadline, or without a
/// timeout while there is none, and is signalled only when a new deadline is earlier than the one it sleeps for. Met
/// deadlines are only marked; the thread drops them the next time it wakes. Polls of one tick share two wake-ups.
/// </summary>
public static class Deadlines
{
    private sealed class Entry(long due)
    {
        public long Due { get; } = due;
        // Synchronous continuations: work that ends in time resumes its awaiter on the thread it ended on, without a
        // hop; a late answer is handed to the pool (Loop), so waiters never run on the deadline thread.
        public readonly TaskCompletionSource<bool> Result = new();
    }

    private static readonly object Gate = new();
    private static readonly PriorityQueue<Entry, long> Queue = new();
    private static long _sleepingUntil = long.MaxValue;
    private static bool _started;

    /// <summary>
    /// True when <paramref name="task"/> completes (in any way) within <paramref name="timeout"/>, false when the
    /// timeout passes first; the task itself is not touched. Throws <see cref="OperationCanceledException"/> on <paramref name="ct"/>.
    /// Deadlines follow the system's monotonic clock (a test clock needs <see cref="Task.WaitAsync(TimeSpan, TimeProvider)"/>).
    /// </summary>
    public static Task<bool> WhenDoneWithin(Task task, TimeSpan timeout, CancellationToken ct = default)
    {
        if (task.IsCompleted) return Task.FromResult(true);
        var e = new Entry(Stopwatch.GetTimestamp() + (long)Math.Ceiling(timeout.TotalSeconds * Stopwatch.Frequency));
        task.ContinueWith(static (_, s) => ((Entry)s!).Result.TrySetResult(true), e, CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        lock (Gate)
        {
            if (!e.Result.Task.IsCompleted) Queue.Enqueue(e, e.Due);
            if (!_started)
            {
                _started = true;
                new Thread(Loop, 128 * 1024) { IsBackground = true, Name = "deadlines" }.Start();
            }
            else if (e.Due < _sleepingUntil) Monitor.Pulse(Gate);
        }
        return ct.CanBeCanceled ? e.Result.Task.WaitAsync(ct) : e.Result.Task;
    }

    private static void Loop()
    {
        var late = new List<Entry>();
        while (true)
        {
            lock (Gate)
            {
                var now = Stopwatch.GetTimestamp(); // not TickCount64: its coarse clock could end a wait a few ms early
                // Met deadlines at the front go without a wake-up of their own; late ones are collected.
                while (Queue.TryPeek(out var e, out var due) && (e.Result.Task.IsCompleted || due <= now))
                {
                    Queue.Dequeue();
                    if (!e.Result.Task.IsCompleted) late.Add(e);
                }
                if (late.Count == 0)
                {
                    _sleepingUntil = Queue.TryPeek(out _, out var next) ? next : long.MaxValue;
                    Monitor.Wait(Gate, _sleepingUntil == long.MaxValue ? Timeout.Infinite : (int)Math.Min(Math.Ceiling((next - now) * 1000.0 / Stopwatch.Frequency), int.MaxValue));
                    continue;
                }
            }
            foreach (var e in late) ThreadPool.UnsafeQueueUserWorkItem(static x => x.Result.TrySetResult(false), e, preferLocal: false);
            late.Clear();
        }
    }
}
