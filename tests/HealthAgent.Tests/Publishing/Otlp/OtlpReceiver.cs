using System.Buffers.Binary;
using System.Net;
using Google.Protobuf;
using HealthAgent.Tests.Publishing.Otlp.Proto;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace HealthAgent.Tests.Publishing.Otlp;

/// <summary>
/// A collector stand-in on Kestrel (127.0.0.1, ephemeral ports): OTLP/HTTP on an HTTP/1.1 port (POST /v1/metrics and
/// /v1/logs, application/x-protobuf, 200 with an empty body) and OTLP/gRPC on an HTTP/2 cleartext (h2c) port
/// (length-prefixed frames; answer an empty message and trailer grpc-status 0). Decodes with the minimal schema.
/// </summary>
public sealed class OtlpReceiver : IAsyncDisposable
{
    private const string MetricsGrpcPath = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";
    private const string LogsGrpcPath = "/opentelemetry.proto.collector.logs.v1.LogsService/Export";

    private readonly WebApplication _app;
    private readonly Lock _lock = new();
    private readonly List<ExportMetricsServiceRequest> _metrics = [];
    private readonly List<ExportLogsServiceRequest> _logs = [];
    private readonly List<Received> _requests = [];

    /// <summary>One request as it arrived: path, content type, protocol and headers.</summary>
    public sealed record Received(string Path, string? ContentType, string Protocol, IReadOnlyDictionary<string, string> Headers);

    private OtlpReceiver(WebApplication app) => _app = app;

    public string HttpEndpoint { get; private set; } = "";
    public string GrpcEndpoint { get; private set; } = "";

    public static async Task<OtlpReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, 0, o => o.Protocols = HttpProtocols.Http1);
            k.Listen(IPAddress.Loopback, 0, o => o.Protocols = HttpProtocols.Http2); // h2c: prior-knowledge HTTP/2 without TLS
        });
        var app = builder.Build();
        var receiver = new OtlpReceiver(app);
        app.MapPost("/v1/metrics", ctx => receiver.HandleHttpAsync(ctx, b => receiver.Add(ExportMetricsServiceRequest.Parser.ParseFrom(b))));
        app.MapPost("/v1/logs", ctx => receiver.HandleHttpAsync(ctx, b => receiver.Add(ExportLogsServiceRequest.Parser.ParseFrom(b))));
        app.MapPost(MetricsGrpcPath, ctx => receiver.HandleGrpcAsync(ctx, b => receiver.Add(ExportMetricsServiceRequest.Parser.ParseFrom(b))));
        app.MapPost(LogsGrpcPath, ctx => receiver.HandleGrpcAsync(ctx, b => receiver.Add(ExportLogsServiceRequest.Parser.ParseFrom(b))));
        await app.StartAsync();
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.ToList();
        // Kestrel lists the endpoints in the order they were configured
        receiver.HttpEndpoint = addresses[0];
        receiver.GrpcEndpoint = addresses[1];
        return receiver;
    }

    public string Endpoint(string protocol) => protocol == "grpc" ? GrpcEndpoint : HttpEndpoint;

    public IReadOnlyList<ExportMetricsServiceRequest> MetricRequests { get { lock (_lock) return _metrics.ToList(); } }
    public IReadOnlyList<ExportLogsServiceRequest> LogRequests { get { lock (_lock) return _logs.ToList(); } }
    public IReadOnlyList<Received> Requests { get { lock (_lock) return _requests.ToList(); } }

    /// <summary>Fails the next <paramref name="count"/> requests with 503 (HTTP) or grpc-status 14 UNAVAILABLE (gRPC).</summary>
    public int FailNext { get; set; }

    private void Add(ExportMetricsServiceRequest r) { lock (_lock) _metrics.Add(r); }
    private void Add(ExportLogsServiceRequest r) { lock (_lock) _logs.Add(r); }

    private bool Record(HttpContext ctx)
    {
        lock (_lock)
        {
            _requests.Add(new Received(ctx.Request.Path, ctx.Request.ContentType, ctx.Request.Protocol,
                ctx.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString())));
            if (FailNext <= 0) return true;
            FailNext--;
            return false;
        }
    }

    private async Task HandleHttpAsync(HttpContext ctx, Action<byte[]> decode)
    {
        var body = await ReadAllAsync(ctx);
        if (!Record(ctx)) { ctx.Response.StatusCode = 503; return; }
        if (ctx.Request.ContentType != "application/x-protobuf") { ctx.Response.StatusCode = 415; return; }
        decode(body);
        ctx.Response.StatusCode = 200;
        ctx.Response.ContentType = "application/x-protobuf";
    }

    private async Task HandleGrpcAsync(HttpContext ctx, Action<byte[]> decode)
    {
        var body = await ReadAllAsync(ctx);
        var ok = Record(ctx);
        ctx.Response.StatusCode = 200;
        ctx.Response.ContentType = "application/grpc";
        if (!ok)
        {
            ctx.Response.AppendTrailer("grpc-status", "14");
            ctx.Response.AppendTrailer("grpc-message", "receiver told to fail");
            return;
        }
        // gRPC over HTTP/2 message framing: 1 byte compressed flag, 4 bytes big-endian length, then the message
        if (body.Length < 5 || body[0] != 0) throw new InvalidDataException($"bad gRPC frame (length {body.Length}, flag {(body.Length > 0 ? body[0] : -1)})");
        var length = BinaryPrimitives.ReadUInt32BigEndian(body.AsSpan(1, 4));
        if (length != body.Length - 5) throw new InvalidDataException($"gRPC frame says {length} bytes, body has {body.Length - 5}");
        decode(body[5..]);
        await ctx.Response.Body.WriteAsync(new byte[5]); // an empty Export*ServiceResponse
        ctx.Response.AppendTrailer("grpc-status", "0");
    }

    private static async Task<byte[]> ReadAllAsync(HttpContext ctx)
    {
        using var ms = new MemoryStream();
        await ctx.Request.Body.CopyToAsync(ms);
        return ms.ToArray();
    }

    /// <summary>Waits until <paramref name="done"/> holds, polling; fails the test after <paramref name="timeout"/>.</summary>
    public static async Task WaitUntilAsync(Func<bool> done, TimeSpan timeout, string what)
    {
        var until = DateTime.UtcNow + timeout;
        while (!done())
        {
            if (DateTime.UtcNow > until) Assert.Fail($"timed out after {timeout.TotalSeconds} s waiting for {what}");
            await Task.Delay(20);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>Lookups over decoded OTLP messages.</summary>
public static class OtlpMessages
{
    public static string? Str(this IEnumerable<KeyValue> attributes, string key) =>
        attributes.FirstOrDefault(a => a.Key == key)?.Value is { } v ? v.ValueCase switch
        {
            AnyValue.ValueOneofCase.StringValue => v.StringValue,
            AnyValue.ValueOneofCase.IntValue => v.IntValue.ToString(System.Globalization.CultureInfo.InvariantCulture),
            AnyValue.ValueOneofCase.BoolValue => v.BoolValue ? "true" : "false",
            AnyValue.ValueOneofCase.DoubleValue => v.DoubleValue.ToString(System.Globalization.CultureInfo.InvariantCulture),
            _ => v.ToString(),
        } : null;

    public static double Value(this NumberDataPoint p) =>
        p.ValueCase == NumberDataPoint.ValueOneofCase.AsInt ? p.AsInt : p.AsDouble;

    /// <summary>The newest export's metrics, by name (cumulative: each export carries the full current picture).</summary>
    public static Dictionary<string, Metric> LatestMetrics(this IReadOnlyList<ExportMetricsServiceRequest> requests) =>
        requests.Count == 0 ? [] : requests[^1].ResourceMetrics.SelectMany(r => r.ScopeMetrics).SelectMany(s => s.Metrics)
            .GroupBy(m => m.Name).ToDictionary(g => g.Key, g => g.Last());

    public static IEnumerable<NumberDataPoint> Points(this Metric m) =>
        m.DataCase == Metric.DataOneofCase.Gauge ? m.Gauge.DataPoints : m.Sum.DataPoints;
}
