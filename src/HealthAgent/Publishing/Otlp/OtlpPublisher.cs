using System.Diagnostics.Metrics;
using System.Globalization;
using System.Reflection;
using HealthAgent.Model;
using HealthAgent.Pipeline;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace HealthAgent.Publishing.Otlp;

/// <summary>
/// Publishes over OTLP: hw.* metrics (hardware semantic conventions) observed from the current health state at every
/// export, and each health event as a log record named <see cref="EventName"/>. Transport failures never throw: the
/// exporter drops a batch it cannot deliver (retry only with OTEL_DOTNET_EXPERIMENTAL_OTLP_RETRY), and
/// <see cref="OtlpExportMonitor"/> counts the failures and logs when exporting starts failing or recovers.
/// </summary>
public sealed partial class OtlpPublisher : IHealthPublisher
{
    public const string Key = "otlp";
    /// <summary>The OTLP LogRecord event_name (field 12) of every health event.</summary>
    public const string EventName = "healthagent.hw.state_change";
    /// <summary>Logger category of the event records: the OTLP instrumentation scope name of the logs.</summary>
    public const string EventCategory = "HealthAgent.Events";
    /// <summary>Instrumentation scope of the agent's self-metrics (healthagent.source.*, healthagent.otlp.*).</summary>
    public const string SelfMeterName = "HealthAgent.Agent";
    /// <summary>Series per hw.* metric before the SDK folds the rest into one otel.metric.overflow series.</summary>
    public const int CardinalityLimit = 20_000;

    private readonly OtlpPublisherOptions _options;
    private readonly ILogger _log;
    private readonly string _machineIdPath;
    private readonly Func<IReadOnlyList<SourceStats>> _sourceStats;
    private OpenTelemetrySdk? _sdk;
    private Meter? _meter, _selfMeter;
    private ILogger? _events;
    private OtlpExportMonitor? _monitor;
    private volatile IHealthState? _state;
    private long _notStartedDrops;

    private OtlpPublisher(OtlpPublisherOptions options, ILoggerFactory loggerFactory, Func<IReadOnlyList<SourceStats>>? sourceStats, string machineIdPath)
    {
        _options = options;
        _log = loggerFactory.CreateLogger<OtlpPublisher>();
        _sourceStats = sourceStats ?? (() => []);
        _machineIdPath = machineIdPath;
    }

    /// <summary>Creates the publisher (the catalog's one line). Nothing connects before <see cref="StartAsync"/>.</summary>
    /// <param name="sourceStats">The running sources' self-metrics, exported as healthagent.source.*.</param>
    public static OtlpPublisher Create(OtlpPublisherOptions options, ILoggerFactory loggerFactory, Func<IReadOnlyList<SourceStats>>? sourceStats = null) =>
        new(options, loggerFactory, sourceStats, "/etc/machine-id");

    internal static OtlpPublisher Create(OtlpPublisherOptions options, ILoggerFactory loggerFactory, Func<IReadOnlyList<SourceStats>>? sourceStats, string machineIdPath) =>
        new(options, loggerFactory, sourceStats, machineIdPath);

    public string Name => Key;

    /// <summary>Effective protocol: the option, else OTEL_EXPORTER_OTLP_PROTOCOL, else grpc.</summary>
    public OtlpExportProtocol Protocol =>
        OtlpPublisherOptions.ParseProtocol(First(_options.Protocol, Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_PROTOCOL")) ?? "")
        ?? OtlpExportProtocol.Grpc;

    /// <summary>Failed exports (metrics and logs) since start.</summary>
    public long ExportErrors => _monitor?.Errors ?? 0;

    /// <summary>Events that arrived before <see cref="StartAsync"/> and were not exported.</summary>
    public long DroppedEvents => Interlocked.Read(ref _notStartedDrops);

    public Task StartAsync(IHealthState state, CancellationToken ct)
    {
        _state = state;
        if (_sdk is not null) return Task.CompletedTask;
        try
        {
            var protocol = Protocol;
            var endpoint = First(_options.Endpoint, null);
            _monitor = new OtlpExportMonitor(_log);
            var version = AgentVersion();
            _sdk = OpenTelemetrySdk.Create(b => b
                .ConfigureResource(r => ConfigureResource(r, state.AgentId, version))
                .WithMetrics(m => m
                    .AddMeter(HwMetrics.MeterName, SelfMeterName)
                    // hw.status has 5 series per component: lift the SDK's 2000-series default well above any appliance
                    .AddView(i => i.Meter.Name == HwMetrics.MeterName ? new MetricStreamConfiguration { CardinalityLimit = CardinalityLimit } : null)
                    .AddOtlpExporter((e, reader) =>
                    {
                        ConfigureExporter(e, protocol, endpoint, "v1/metrics");
                        // hw.errors is a counter: cumulative, so a collector sees totals, not per-interval deltas
                        reader.TemporalityPreference = MetricReaderTemporalityPreference.Cumulative;
                        if (_options.ExportIntervalSeconds is { } s)
                            reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = (int)Math.Max(50, s * 1000);
                    }))
                .WithLogging(l => l.AddProcessor(new EventAttributes()).AddOtlpExporter((e, p) =>
                {
                    ConfigureExporter(e, protocol, endpoint, "v1/logs");
                    // events should reach the collector within a second, not the 5 s BatchLogRecordProcessor default
                    if (Environment.GetEnvironmentVariable("OTEL_BLRP_SCHEDULE_DELAY") is null)
                        p.BatchExportProcessorOptions.ScheduledDelayMilliseconds = 1000;
                }), o => { o.IncludeFormattedMessage = true; o.IncludeScopes = false; }));
            _meter = new Meter(HwMetrics.MeterName, version);
            _ = new HwInstruments(_meter, () => _state);
            _selfMeter = new Meter(SelfMeterName, version);
            RegisterSelfMetrics(_selfMeter);
            _events = _sdk.GetLoggerFactory().CreateLogger(EventCategory);
            Log.Started(_log, protocol == OtlpExportProtocol.Grpc ? OtlpPublisherOptions.GrpcProtocol : OtlpPublisherOptions.HttpProtobufProtocol,
                OtlpPublisherOptions.Redact(endpoint ?? First(Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT"), null) ?? "the default endpoint"));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // a bad OTEL_* variable or option the validation did not catch: run without OTLP rather than stop the agent
            Log.StartFailed(_log, e.Message);
            DisposeSdk();
        }
        return Task.CompletedTask;
    }

    public ValueTask PublishEventAsync(HealthEvent e, CancellationToken ct)
    {
        if (_events is not { } events)
        {
            if (Interlocked.Increment(ref _notStartedDrops) == 1) Log.NotStarted(_log);
            return ValueTask.CompletedTask;
        }
        Log.StateChange(events, LevelOf(e.Severity, e.Kind), e.Time.ToString("O", CultureInfo.InvariantCulture),
            e.Component.Id, e.Component.HwType, e.Component.Name, HealthWords.Name(e.State), KindName(e.Kind),
            HealthWords.Name(e.Severity), e.Code, e.Meaning, e.Action, e.RuleId ?? "", e.Led?.ToString() ?? "",
            e.FromState is { } fs ? HealthWords.Name(fs) : "", e.FromSeverity is { } fsev ? HealthWords.Name(fsev) : "",
            e.FromRuleId ?? "", e.FromLed?.ToString() ?? "", e.EventId.ToString(), e.Seq, e.AgentId);
        return ValueTask.CompletedTask;
    }

    /// <summary>Nothing to send: hw.status and readings are observed from <see cref="IHealthState"/> at each export.</summary>
    public ValueTask PublishStateAsync(ComponentStatus status, CancellationToken ct) => ValueTask.CompletedTask;

    /// <summary>Nothing to send: the roll-up is the set of hw.status series.</summary>
    public ValueTask PublishRollupAsync(HealthRollup rollup, CancellationToken ct) => ValueTask.CompletedTask;

    /// <summary>Exports what is pending (metrics now, queued event records), waiting at most 5 s; nothing when already cancelled.</summary>
    public Task StopAsync(CancellationToken ct)
    {
        if (!ct.IsCancellationRequested) Flush(TimeSpan.FromSeconds(5));
        return Task.CompletedTask;
    }

    /// <summary>Collects and exports metrics and queued logs now; true when both exports completed in time.</summary>
    public bool Flush(TimeSpan timeout)
    {
        if (_sdk is not { } sdk) return false;
        var ms = (int)Math.Clamp(timeout.TotalMilliseconds, 0, int.MaxValue);
        var logs = sdk.LoggerProvider.ForceFlush(ms);
        var metrics = sdk.MeterProvider.ForceFlush(ms);
        return logs && metrics;
    }

    public ValueTask DisposeAsync()
    {
        DisposeSdk();
        return ValueTask.CompletedTask;
    }

    private void DisposeSdk()
    {
        _events = null;
        _meter?.Dispose();
        _meter = null;
        _selfMeter?.Dispose();
        _selfMeter = null;
        _sdk?.Dispose(); // flushes what is queued, bounded by the exporter timeout
        _sdk = null;
        _monitor?.Dispose();
        _monitor = null;
    }

    /// <summary>
    /// The agent's own health: per source (attribute healthagent.source) up, hung, last run duration, runs and errors;
    /// and this publisher's failed exports.
    /// </summary>
    private void RegisterSelfMetrics(Meter m)
    {
        IEnumerable<Measurement<T>> PerSource<T>(Func<SourceStats, T> value) where T : struct
        {
            IReadOnlyList<SourceStats> stats;
            try { stats = _sourceStats(); }
            catch (Exception) { yield break; } // a callback must not throw: it would drop the metric
            foreach (var s in stats) yield return new Measurement<T>(value(s), new KeyValuePair<string, object?>("healthagent.source", s.Source));
        }
        m.CreateObservableGauge("healthagent.source.up", () => PerSource(s => s.Up ? 1 : 0), "1", "1 when the source's last run completed in time without failing as a whole");
        m.CreateObservableGauge("healthagent.source.hung", () => PerSource(s => s.Hung ? 1 : 0), "1", "1 while a run is stuck past its timeout");
        m.CreateObservableGauge("healthagent.source.duration", () => PerSource(s => s.LastDuration.TotalSeconds), "s", "Duration of the source's last completed run");
        m.CreateObservableCounter("healthagent.source.runs", () => PerSource(s => s.Runs), "{run}", "Runs of the source since start");
        m.CreateObservableCounter("healthagent.source.errors", () => PerSource(s => s.Errors), "{error}", "Per-device errors, whole-source failures and timeouts since start");
        m.CreateObservableCounter("healthagent.otlp.export.errors", () => ExportErrors, "{error}", "Failed OTLP exports (metrics and logs) since start");
    }

    private void ConfigureResource(ResourceBuilder r, string agentId, string version)
    {
        var attributes = new List<KeyValuePair<string, object>>
        {
            new("host.name", Environment.MachineName),
            new("service.instance.id", agentId),
            new("healthagent.agent.id", agentId),
        };
        if (ReadMachineId(_machineIdPath) is { } hostId) attributes.Add(new("host.id", hostId));
        var serviceName = First(_options.ServiceName, Environment.GetEnvironmentVariable("OTEL_SERVICE_NAME")) ?? "healthagent";
        r.AddService(serviceName, serviceVersion: version, autoGenerateServiceInstanceId: false).AddAttributes(attributes);
    }

    private void ConfigureExporter(OtlpExporterOptions e, OtlpExportProtocol protocol, string? endpoint, string signalPath)
    {
        e.Protocol = protocol;
        if (endpoint is not null)
        {
            // An endpoint set in code is used as is; OTLP/HTTP needs the signal path (/v1/metrics, /v1/logs) on it.
            e.Endpoint = protocol == OtlpExportProtocol.HttpProtobuf
                ? new Uri(endpoint.TrimEnd('/') + "/" + signalPath)
                : new Uri(endpoint);
        }
        if (_options.Headers.Count > 0) e.Headers = string.Join(",", _options.Headers.Select(h => h.Key + "=" + h.Value));
        if (_options.TimeoutSeconds is { } t) e.TimeoutMilliseconds = (int)Math.Max(1, t * 1000);
    }

    /// <summary>/etc/machine-id (systemd, machine-id(5)): 32 lower-case hex digits; null when missing or malformed.</summary>
    internal static string? ReadMachineId(string path)
    {
        try
        {
            var id = File.ReadAllText(path).Trim();
            return id.Length == 32 && id.All(char.IsAsciiHexDigitLower) ? id : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    private static string AgentVersion() =>
        typeof(OtlpPublisher).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? typeof(OtlpPublisher).Assembly.GetName().Version?.ToString() ?? "0.0.0";

    private static string? First(string? a, string? b) =>
        !string.IsNullOrWhiteSpace(a) ? a.Trim() : !string.IsNullOrWhiteSpace(b) ? b.Trim() : null;

    /// <summary>
    /// Event severity → log level → OTLP severity_number: ok and info → Information (9, INFO), warning → Warning
    /// (13, WARN), critical → Error (17, ERROR). A cleared event is Information whatever it cleared.
    /// </summary>
    internal static LogLevel LevelOf(Severity s, EventKind kind) => kind == EventKind.Cleared ? LogLevel.Information : s switch
    {
        Severity.Warning => LogLevel.Warning,
        Severity.Critical => LogLevel.Error,
        _ => LogLevel.Information,
    };

    private static string KindName(EventKind k) => k switch { EventKind.Raised => "raised", EventKind.Changed => "changed", _ => "cleared" };

    /// <summary>Event record attribute names: placeholder → OpenTelemetry attribute. Empty values (no rule, no previous state) are left out.</summary>
    internal static readonly IReadOnlyDictionary<string, string> EventAttributeNames = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["hwId"] = "hw.id", ["hwType"] = "hw.type", ["hwName"] = "hw.name", ["hwState"] = "hw.state",
        ["eventKind"] = "healthagent.event.kind", ["severity"] = "healthagent.severity", ["code"] = "healthagent.code",
        ["meaning"] = "healthagent.meaning", ["action"] = "healthagent.action", ["ruleId"] = "healthagent.rule.id",
        ["led"] = "healthagent.led", ["fromState"] = "healthagent.from.state", ["fromSeverity"] = "healthagent.from.severity",
        ["fromRuleId"] = "healthagent.from.rule.id", ["fromLed"] = "healthagent.from.led", ["eventId"] = "healthagent.event.id",
        ["seq"] = "healthagent.event.seq", ["agentId"] = "healthagent.agent.id",
    };

    /// <summary>
    /// Shapes the event record before the exporter's batch processor serialises it: renames the attributes, leaves out
    /// empty ones and the message template (the body carries the formatted text), and stamps the record with the
    /// event's own time (when the agent saw the change) instead of the time it was logged.
    /// </summary>
    private sealed class EventAttributes : BaseProcessor<LogRecord>
    {
        public override void OnEnd(LogRecord data)
        {
            if (data.CategoryName != EventCategory || data.Attributes is not { } attributes) return;
            var renamed = new List<KeyValuePair<string, object?>>(attributes.Count);
            foreach (var a in attributes)
            {
                if (a.Key == "time" && a.Value is string text
                    && DateTimeOffset.TryParseExact(text, "O", CultureInfo.InvariantCulture, DateTimeStyles.None, out var time))
                    data.Timestamp = time.UtcDateTime;
                else if (a.Value is null or "" || a.Key == "{OriginalFormat}") continue;
                else renamed.Add(EventAttributeNames.TryGetValue(a.Key, out var name) ? new(name, a.Value) : a);
            }
            data.Attributes = renamed;
        }
    }

    private static partial class Log
    {
        // Placeholders become log record attributes; EventAttributes renames them to their OTel names (hwId → hw.id)
        // because the source generator only accepts C# identifiers as placeholders.
        [LoggerMessage(EventId = 1, EventName = EventName,
            Message = "{hwName} ({hwId}) {eventKind}: {hwState}, {severity} {code}. {meaning} Action: {action} " +
                      "[rule {ruleId}, LED {led}; was {fromState} {fromSeverity}, rule {fromRuleId}, LED {fromLed}; event {eventId} #{seq} at {time}; {hwType}; agent {agentId}]")]
        public static partial void StateChange(ILogger logger, LogLevel level, string time,
            string hwId, string hwType, string hwName, string hwState, string eventKind, string severity, string code, string meaning, string action,
            string ruleId, string led, string fromState, string fromSeverity, string fromRuleId, string fromLed, string eventId, long seq, string agentId);

        [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "OTLP publisher exporting over {Protocol} to {Endpoint}")]
        public static partial void Started(ILogger logger, string protocol, string endpoint);

        [LoggerMessage(EventId = 3, Level = LogLevel.Error, Message = "OTLP publisher could not start and stays off: {Reason}")]
        public static partial void StartFailed(ILogger logger, string reason);

        [LoggerMessage(EventId = 4, Level = LogLevel.Warning, Message = "OTLP publisher got an event before it was started; such events are counted and dropped")]
        public static partial void NotStarted(ILogger logger);
    }
}
