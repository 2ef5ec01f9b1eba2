using System.Collections.Concurrent;
using HealthAgent.Model;
using HealthAgent.Rules;
using HealthAgent.Sources;
using HealthAgent.Sources.Redfish;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace HealthAgent.Tests.Sources.Redfish;

internal static class RedfishTestKit
{
    public static readonly RuleSet Rules = RuleLoader.LoadEmbedded().Rules ?? throw new InvalidOperationException("embedded rules do not load");

    public const string Sys = "/redfish/v1/Systems/System.Embedded.1";
    public const string Ch = "/redfish/v1/Chassis/System.Embedded.1";
    public const string Sto = Sys + "/Storage/RAID.Integrated.1-1";
    public const string Psus = Ch + "/PowerSubsystem/PowerSupplies";

    public static RedfishSource Create(RedfishMockupServer server, Action<RedfishEndpointOptions>? tweak = null, double intervalSeconds = 3600, ILoggerFactory? logs = null, string? url = null)
    {
        var ep = new RedfishEndpointOptions { Name = "bmc", Url = url ?? server.Url, TimeoutSeconds = 5 };
        tweak?.Invoke(ep);
        var o = new RedfishOptions { Enabled = true, IntervalSeconds = intervalSeconds, Endpoints = [ep] };
        return new RedfishSource(o, new SourceContext(logs ?? NullLoggerFactory.Instance, Rules, TimeProvider.System));
    }

    /// <summary>Logs a poll's per-device errors as the agent does (the runner logs them on change; sources do not).</summary>
    public static void LogAsTheRunner(ISource source, SourceResult result, ILoggerFactory logs) =>
        new HealthAgent.Pipeline.SourceRunner(source, new HealthAgent.Config.SourceOptions(), System.Threading.Channels.Channel.CreateUnbounded<SourceResult>().Writer,
            logs.CreateLogger("HealthAgent.Sources." + source.Name), TimeProvider.System).LogDeviceErrorsOnChange(result.Errors);

    public static Dictionary<string, Evaluation> Evaluate(SourceResult r)
    {
        var ev = new Evaluator(Rules);
        return r.Observations.ToDictionary(o => o.Component.Id, o => ev.Evaluate(o));
    }

    public static string Led(this Evaluation e) => e.Led?.ToString() ?? "(no led)";

    public static async Task<Dictionary<string, Evaluation>> PollAsync(RedfishSource s) => Evaluate(await s.PollAsync(CancellationToken.None));

    /// <summary>Polls until <paramref name="done"/> holds or 10 s pass (behaviour waits, not timing assertions).</summary>
    public static async Task<T> EventuallyAsync<T>(Func<Task<T>> read, Func<T, bool> done)
    {
        var until = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var v = await read();
            if (done(v) || DateTime.UtcNow > until) return v;
            await Task.Delay(50);
        }
    }
}

/// <summary>Collects every formatted log message, with its exception, for the never-log-credentials tests.</summary>
internal sealed class CapturingLoggerProvider : ILoggerProvider
{
    public ConcurrentQueue<string> Messages { get; } = new();
    public ILogger CreateLogger(string categoryName) => new L(this);
    public void Dispose() { }

    private sealed class L(CapturingLoggerProvider p) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var args = state is IEnumerable<KeyValuePair<string, object?>> kv ? string.Join(" ", kv.Select(x => $"{x.Key}={x.Value}")) : "";
            p.Messages.Enqueue($"{logLevel}: {formatter(state, exception)} {args} {exception}");
        }
    }
}
