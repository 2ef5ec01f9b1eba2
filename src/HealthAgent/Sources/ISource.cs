using System.Threading.Channels;
using HealthAgent.Model;

namespace HealthAgent.Sources;

/// <summary>
/// A source of observations. <see cref="PollAsync"/> returns what it saw: observations, per-device errors, or
/// "not present". It throws only when it fails as a whole; the runner owns interval, jitter and timeout.
/// </summary>
public interface ISource
{
    /// <summary>Catalog key, equal to the folder name and the agent.json key (e.g. "hwmon").</summary>
    string Name { get; }

    Task<SourceResult> PollAsync(CancellationToken ct);

    /// <summary>
    /// True when <see cref="PollAsync"/> never blocks its caller: blocking reads run on the source's own workers
    /// (<see cref="KernelFiles"/>) or it returns a cached view. The runner then calls it without a thread hop; otherwise
    /// it starts each poll on a pool thread so that a read stuck in the kernel cannot block the runner.
    /// </summary>
    bool PollNeverBlocks => false;
}

/// <summary>A source that can also push changes as they happen (netlink link events, Redfish SSE, serial lines).</summary>
public interface IPushSource : ISource
{
    /// <summary>Runs until cancelled, writing partial results the moment something changes.</summary>
    Task RunAsync(ChannelWriter<SourceResult> changes, CancellationToken ct);
}

/// <summary>One device or file that could not be read; the rest of the poll still counts.</summary>
public sealed record SourceError(string Device, string Message);

/// <summary>The outcome of one poll.</summary>
/// <param name="NotPresent">Set when there is nothing to read on this machine (no hwmon chips, no md arrays): logged at Debug, not an error.</param>
public sealed record SourceResult(string Source, IReadOnlyList<Observation> Observations, IReadOnlyList<SourceError> Errors, string? NotPresent = null)
{
    /// <summary>
    /// Set by the runner on a poll's result: it lists every component the source can see now, so one it reported
    /// before and not now is gone (shown unknown, never left at its last state). Pushed results are partial.
    /// </summary>
    public bool Complete { get; init; }

    public static SourceResult Absent(string source, string why) => new(source, [], [], why);
}

/// <summary>A source that can switch a component's identify (ID) LED, e.g. Redfish LocationIndicatorActive.</summary>
public interface IIdentifySource : ISource
{
    /// <summary>False when the component is not this source's or the hardware refused.</summary>
    Task<bool> IdentifyAsync(string componentId, bool on, CancellationToken ct);

    /// <summary>Whether this source can switch the component's identify LED (the web view offers "Identify" only then).</summary>
    bool CanIdentify(string componentId);
}
