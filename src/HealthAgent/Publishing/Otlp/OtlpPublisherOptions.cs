using OpenTelemetry.Exporter;

namespace HealthAgent.Publishing.Otlp;

/// <summary>
/// Options of the OpenTelemetry publisher (<c>publishers.otlp</c> in agent.json). An empty value falls back to the
/// standard OTEL_* environment variable, then to the OpenTelemetry default; HEALTHAGENT_PUBLISHERS__OTLP__* variables
/// override agent.json.
/// </summary>
public sealed class OtlpPublisherOptions : PublisherOptions
{
    public const string GrpcProtocol = "grpc", HttpProtobufProtocol = "http/protobuf";

    /// <summary>Off unless agent.json turns it on (enabled: whether the agent exports hw.* metrics and event logs over OTLP).</summary>
    public OtlpPublisherOptions() => Enabled = false;

    /// <summary>
    /// Collector base URL, e.g. <c>http://collector:4317</c> (grpc) or <c>http://collector:4318</c> (http/protobuf;
    /// the agent appends /v1/metrics and /v1/logs). Empty: OTEL_EXPORTER_OTLP_ENDPOINT, else http://localhost:4317|4318.
    /// </summary>
    public string? Endpoint { get; set; }

    /// <summary><c>grpc</c> or <c>http/protobuf</c>. Empty: OTEL_EXPORTER_OTLP_PROTOCOL, else grpc.</summary>
    public string? Protocol { get; set; }

    /// <summary>Headers sent with every export (e.g. an API key). Empty: OTEL_EXPORTER_OTLP_HEADERS. Values are redacted in logs.</summary>
    public Dictionary<string, string> Headers { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Seconds between metric exports. Empty: OTEL_METRIC_EXPORT_INTERVAL (ms), else 60.</summary>
    public double? ExportIntervalSeconds { get; set; }

    /// <summary>Seconds one export may take. Empty: OTEL_EXPORTER_OTLP_TIMEOUT (ms), else 10.</summary>
    public double? TimeoutSeconds { get; set; }

    /// <summary>The service.name resource attribute. Empty: OTEL_SERVICE_NAME, else "healthagent".</summary>
    public string? ServiceName { get; set; }

    public override void Validate(string path, ICollection<string> errors)
    {
        base.Validate(path, errors);
        if (!string.IsNullOrWhiteSpace(Endpoint)
            && (!Uri.TryCreate(Endpoint, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.Host.Length == 0))
            errors.Add($"{path}.endpoint: must be an absolute http:// or https:// URL (is '{Redact(Endpoint)}')");
        if (!string.IsNullOrWhiteSpace(Protocol) && ParseProtocol(Protocol) is null)
            errors.Add($"{path}.protocol: must be '{GrpcProtocol}' or '{HttpProtobufProtocol}' (is '{Protocol}')");
        if (ExportIntervalSeconds is { } i && (double.IsNaN(i) || i < 0.05 || i > 86400))
            errors.Add($"{path}.exportIntervalSeconds: must be from 0.05 to 86400 (is {i})");
        if (TimeoutSeconds is { } t && (double.IsNaN(t) || t <= 0 || t > 600))
            errors.Add($"{path}.timeoutSeconds: must be above 0 and at most 600 (is {t})");
        foreach (var (k, v) in Headers)
        {
            // OTEL_EXPORTER_OTLP_HEADERS format (OTel spec, protocol/exporter.md): comma-separated key=value pairs
            if (k.Length == 0 || k.Any(c => c <= ' ' || c is ',' or '=' or ':' || c > '~'))
                errors.Add($"{path}.headers: '{k}' is not a valid header name");
            else if (v.Any(c => c is ',' or '\r' or '\n'))
                errors.Add($"{path}.headers.{k}: the value must not contain ',' or line breaks");
        }
    }

    /// <summary>The configured protocol, or null when the text is none of the two.</summary>
    public static OtlpExportProtocol? ParseProtocol(string text) => text.Trim().ToLowerInvariant() switch
    {
        GrpcProtocol => OtlpExportProtocol.Grpc,
        HttpProtobufProtocol => OtlpExportProtocol.HttpProtobuf,
        _ => null,
    };

    /// <summary>A URL without its userinfo (credentials) for logs and errors.</summary>
    public static string Redact(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var u) && u.UserInfo.Length > 0 ? url.Replace(u.UserInfo + "@", "***@", StringComparison.Ordinal) : url;
}
