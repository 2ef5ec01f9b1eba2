using System.Diagnostics.Tracing;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;

namespace HealthAgent.Publishing.Otlp;

/// <summary>
/// Counts failed OTLP exports and logs when exporting starts failing and when it recovers (not every interval).
/// The OTLP exporter never throws; it reports through its EventSource "OpenTelemetry-Exporter-OpenTelemetryProtocol":
/// Error-level events are failures (collector unreachable, HTTP/gRPC error status, timeout), "ExportSuccess" and a
/// Verbose-level "export succeeded" mark recovery. The EventSource is process-wide: one agent runs one OTLP publisher.
/// </summary>
internal sealed partial class OtlpExportMonitor : EventListener
{
    private const string SourceName = "OpenTelemetry-Exporter-OpenTelemetryProtocol";
    private readonly ILogger _log;
    private readonly Lock _lock = new();
    private long _errors;
    private bool _failing;
    private string? _lastReason;

    // EventListener's base constructor calls OnEventSourceCreated for sources that already exist, before _log is
    // assigned: OnEventWritten ignores events until then.
    public OtlpExportMonitor(ILogger log) => _log = log;

    public long Errors => Interlocked.Read(ref _errors);

    protected override void OnEventSourceCreated(EventSource source)
    {
        if (source.Name == SourceName) EnableEvents(source, EventLevel.Verbose);
    }

    protected override void OnEventWritten(EventWrittenEventArgs e)
    {
        if (e.EventSource.Name != SourceName || _log is null) return; // _log: see the constructor
        if (e.Level is EventLevel.Error or EventLevel.Critical)
        {
            Interlocked.Increment(ref _errors);
            var reason = Describe(e);
            // metrics and logs fail alike when the collector is down: the signal's URL is not part of "the reason changed"
            var key = e.EventName + ": " + string.Join("; ", Texts(e).Where(t => !Uri.IsWellFormedUriString(t, UriKind.Absolute)));
            lock (_lock)
            {
                if (_failing && key == _lastReason) return;
                _failing = true;
                _lastReason = key;
            }
            Log.Failing(_log, reason);
        }
        else if (e.EventName is { } name && name.Contains("Success", StringComparison.OrdinalIgnoreCase))
        {
            lock (_lock)
            {
                if (!_failing) return;
                _failing = false;
                _lastReason = null;
            }
            Log.Recovered(_log, Errors);
        }
    }

    /// <summary>Event name plus its text payloads, first line only (no stack traces in the agent log).</summary>
    private static string Describe(EventWrittenEventArgs e) => $"{e.EventName}: {string.Join("; ", Texts(e))}";

    private static IEnumerable<string> Texts(EventWrittenEventArgs e) =>
        (e.Payload ?? []).OfType<string>().Select(p => Credentials().Replace(p.Split('\n')[0].Trim(), "//***@")).Where(p => p.Length > 0);

    /// <summary>URL userinfo ("//user:password@host") in exporter messages: never logged.</summary>
    [GeneratedRegex(@"//[^/@\s]+@")]
    private static partial Regex Credentials();

    private static partial class Log
    {
        [LoggerMessage(EventId = 10, Level = LogLevel.Warning, Message = "OTLP export failing ({Reason}); the batch is dropped, further failures are counted and logged when the reason changes")]
        public static partial void Failing(ILogger logger, string reason);

        [LoggerMessage(EventId = 11, Level = LogLevel.Information, Message = "OTLP export recovered ({Errors} failed exports so far)")]
        public static partial void Recovered(ILogger logger, long errors);
    }
}
