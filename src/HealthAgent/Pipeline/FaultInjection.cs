using System.Diagnostics;

namespace HealthAgent.Pipeline;

/// <summary>
/// Crash points for process-level tests of durability, set by the environment variable <c>HA_FAULT</c> (not
/// HEALTHAGENT_…: those are configuration). The only point today: <c>HA_FAULT=kill-after-event-commit</c> makes the
/// process SIGKILL itself right after the first event (history, sequence number, condition and outbox rows) is committed
/// and before any publisher is told — the window in which an event used to be lost. <c>kill-after-event-commit:N</c>
/// kills after the N-th. Unset (always, in production) it costs one comparison per event.
/// </summary>
internal static class FaultInjection
{
    public const string Variable = "HA_FAULT";
    private const string AfterEventCommit = "kill-after-event-commit";
    private static readonly int KillAfterEvents = Parse(Environment.GetEnvironmentVariable(Variable));
    private static int _events;

    private static int Parse(string? value) => value switch
    {
        null or "" => 0,
        AfterEventCommit => 1,
        _ when value.StartsWith(AfterEventCommit + ":", StringComparison.Ordinal) && int.TryParse(value.AsSpan(AfterEventCommit.Length + 1), out var n) && n > 0 => n,
        _ => throw new InvalidOperationException($"{Variable}={value}: unknown fault (known: {AfterEventCommit}[:N])"),
    };

    /// <summary>An event was just committed and no publisher has seen it yet.</summary>
    public static void EventCommitted()
    {
        if (KillAfterEvents == 0 || Interlocked.Increment(ref _events) != KillAfterEvents) return;
        Console.Error.WriteLine($"{Variable}: killing the process after event commit {KillAfterEvents}");
        Console.Error.Flush();
        Process.GetCurrentProcess().Kill(); // SIGKILL: no finally blocks, no disposal, as on a power cut of the process
    }
}
