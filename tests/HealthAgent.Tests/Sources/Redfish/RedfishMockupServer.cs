using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using HealthAgent.Simulator;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace HealthAgent.Tests.Sources.Redfish;

/// <summary>A broken answer the server gives for one path.</summary>
public enum Fault { Unauthorized, NotFound, ServerError, Html, Truncated, Slow }

/// <summary>How a resource looks inside an expanded answer when it is not expanded properly.</summary>
public enum ExpandedAs { Stub, Error }

/// <summary>
/// A Redfish service on 127.0.0.1:0 (Kestrel) serving a DMTF mockup tree: GET /redfish/v1/X → X/index.json. Tests change
/// resources (<see cref="Mutate"/>), inject broken answers (<see cref="Inject"/>), require credentials, and push SSE events.
/// </summary>
public sealed class RedfishMockupServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, JsonObject> _resources = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (Fault Fault, TimeSpan Delay)> _faults = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _sessions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Channel<string>, byte> _sseClients = new();
    private int _inFlight, _eventId, _sessionCounter, _slowInFlight, _expandRequests;

    private RedfishMockupServer(WebApplication app) => _app = app;

    public string Url { get; private set; } = "";
    public string? User { get; set; }
    public string? Password { get; set; }
    public string SsePath { get; set; } = "/redfish/v1/SSE";
    public ConcurrentQueue<(string Method, string Path)> Requests { get; } = new();
    public ConcurrentQueue<string> DeletedSessions { get; } = new();
    public ConcurrentQueue<string> SeenAuthorization { get; } = new();
    public int MaxInFlight { get; private set; }
    public int SlowInFlight => Volatile.Read(ref _slowInFlight);
    public int SseClients => _sseClients.Count;
    public IReadOnlyCollection<string> IssuedTokens => _sessions.Keys.ToList();

    /// <summary>
    /// ServiceRoot ProtocolFeaturesSupported.ExpandQuery to advertise; then GET with $expand is served (the simulator's
    /// <see cref="RedfishExpand"/>). Null (the default): not advertised, and $expand is answered 501 like other $ parameters.
    /// </summary>
    public JsonObject? ExpandQuery { get; set; }
    /// <summary>An HTTP status (400, 501…) to answer every $expand with, although it is advertised.</summary>
    public int? ExpandRefusal { get; set; }
    /// <summary>Delay every answer by this much (a real BMC takes 100–500 ms per request).</summary>
    public TimeSpan Latency { get; set; }
    /// <summary>Delay every answer to $expand by this much (a BMC for which expanding is slow work).</summary>
    public TimeSpan ExpandDelay { get; set; }
    /// <summary>Answer every $expand with a body over the client's 8 MiB cap.</summary>
    public bool ExpandTooLarge { get; set; }
    /// <summary>Resources that appear in expanded answers as a bare link or an error object instead of inline.</summary>
    public ConcurrentDictionary<string, ExpandedAs> ExpandBroken { get; } = new(StringComparer.Ordinal);
    /// <summary>GETs that carried $expand (served or not).</summary>
    public int ExpandRequests => Volatile.Read(ref _expandRequests);

    /// <summary>iDRAC9's ExpandQuery (every option, $levels up to 1).</summary>
    public static JsonObject Idrac9Expand() => new() { ["ExpandAll"] = true, ["Levels"] = true, ["Links"] = true, ["MaxLevels"] = 1, ["NoLinks"] = true };

    public static async Task<RedfishMockupServer> StartAsync(string caseName, X509Certificate2? certificate = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0, l => { if (certificate is not null) l.UseHttps(certificate); }));
        var app = builder.Build();
        var server = new RedfishMockupServer(app);
        server.Load(Path.Combine(AppContext.BaseDirectory, "testcases", "redfish", caseName));
        app.Run(server.HandleAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.Url = address.Replace("[::1]", "127.0.0.1", StringComparison.Ordinal);
        return server;
    }

    /// <summary>
    /// Serves a mockup tree in the layout of DMTF's Redfish-Mockup-Server (<c>&lt;tree&gt;/index.json</c> is <c>/redfish/v1</c>,
    /// <c>&lt;tree&gt;/Chassis/1U/index.json</c> is <c>/redfish/v1/Chassis/1U</c>), read in place (never copied).
    /// </summary>
    public static async Task<RedfishMockupServer> StartTreeAsync(string treeDir)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var server = new RedfishMockupServer(app);
        foreach (var file in Directory.EnumerateFiles(treeDir, "index.json", SearchOption.AllDirectories))
        {
            var rel = Path.GetRelativePath(treeDir, Path.GetDirectoryName(file)!).Replace('\\', '/');
            if (JsonNode.Parse(File.ReadAllText(file)) is JsonObject o) server._resources[rel == "." ? "/redfish/v1" : "/redfish/v1/" + rel] = o;
        }
        app.Run(server.HandleAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.Url = address.Replace("[::1]", "127.0.0.1", StringComparison.Ordinal);
        return server;
    }

    private void Load(string caseRoot)
    {
        foreach (var file in Directory.EnumerateFiles(caseRoot, "index.json", SearchOption.AllDirectories))
        {
            var rel = "/" + Path.GetRelativePath(caseRoot, Path.GetDirectoryName(file)!).Replace('\\', '/');
            _resources[rel] = JsonNode.Parse(File.ReadAllText(file))!.AsObject();
        }
    }

    /// <summary>Changes a resource in place (as the BMC would when hardware changes).</summary>
    public void Mutate(string path, Action<JsonObject> change)
    {
        var r = _resources[path];
        lock (r) change(r);
    }

    public JsonObject Resource(string path) => _resources[path];
    public void AddResource(string path, JsonObject resource) => _resources[path] = resource;
    public void Remove(string path) => _resources.TryRemove(path, out _);
    public void Inject(string path, Fault fault, TimeSpan delay = default) => _faults[path] = (fault, delay);
    public void Clear(string path) => _faults.TryRemove(path, out _);

    /// <summary>Sends one event (Redfish Event schema) to every connected SSE client.</summary>
    public void PushEvent(params string[] originsOfCondition)
    {
        var id = Interlocked.Increment(ref _eventId);
        var events = new JsonArray(originsOfCondition.Select(o => (JsonNode)new JsonObject
        {
            ["EventType"] = "Alert", ["MessageId"] = "PSU0001", ["Severity"] = "Critical",
            ["OriginOfCondition"] = new JsonObject { ["@odata.id"] = o },
        }).ToArray());
        var payload = new JsonObject { ["@odata.type"] = "#Event.v1_7_0.Event", ["Id"] = id.ToString(), ["Name"] = "Event", ["Events"] = events };
        var text = $"id: {id}\ndata: {payload.ToJsonString()}\n\n";
        foreach (var c in _sseClients.Keys) c.Writer.TryWrite(text);
    }

    /// <summary>Ends every open SSE stream (the BMC restarting its event service).</summary>
    public void DropSseClients()
    {
        foreach (var c in _sseClients.Keys) c.Writer.TryComplete();
    }

    private async Task HandleAsync(HttpContext ctx)
    {
        var path = ctx.Request.Path.Value!.TrimEnd('/');
        var method = ctx.Request.Method;
        Requests.Enqueue((method, path));
        if (ctx.Request.Headers.Authorization.ToString() is { Length: > 0 } a) SeenAuthorization.Enqueue(a);
        var now = Interlocked.Increment(ref _inFlight);
        lock (_resources) MaxInFlight = Math.Max(MaxInFlight, now);
        try
        {
            if (Latency > TimeSpan.Zero) await Task.Delay(Latency, ctx.RequestAborted);
            await ServeAsync(ctx, path, method);
        }
        catch (OperationCanceledException) when (ctx.RequestAborted.IsCancellationRequested) { }
        finally { Interlocked.Decrement(ref _inFlight); }
    }

    private async Task ServeAsync(HttpContext ctx, string path, string method)
    {
        if (method == "POST" && path == "/redfish/v1/SessionService/Sessions")
        {
            var body = await JsonNode.ParseAsync(ctx.Request.Body);
            if (User is not null && (body?["UserName"]?.GetValue<string>() != User || body?["Password"]?.GetValue<string>() != Password))
            {
                await Error(ctx, 401);
                return;
            }
            var n = Interlocked.Increment(ref _sessionCounter);
            var token = $"tok-{Guid.NewGuid():N}";
            _sessions[token] = $"/redfish/v1/SessionService/Sessions/{n}";
            ctx.Response.StatusCode = 201;
            ctx.Response.Headers["X-Auth-Token"] = token;
            ctx.Response.Headers.Location = _sessions[token];
            await ctx.Response.WriteAsJsonAsync(new { Id = n.ToString(), UserName = User });
            return;
        }
        if (!Authorized(ctx, out var sessionToken)) { await Error(ctx, 401); return; }
        if (method == "DELETE" && path.StartsWith("/redfish/v1/SessionService/Sessions/", StringComparison.Ordinal))
        {
            if (sessionToken is not null && _sessions.TryRemove(sessionToken, out _)) DeletedSessions.Enqueue(path);
            ctx.Response.StatusCode = 204;
            return;
        }
        if (_faults.TryGetValue(path, out var f))
        {
            switch (f.Fault)
            {
                case Fault.Unauthorized: await Error(ctx, 401); return;
                case Fault.NotFound: await Error(ctx, 404); return;
                case Fault.ServerError: await Error(ctx, 500); return;
                case Fault.Html:
                    ctx.Response.ContentType = "text/html";
                    await ctx.Response.WriteAsync("<!DOCTYPE html><html><body><form>iDRAC login</form></body></html>");
                    return;
                case Fault.Truncated:
                    if (!_resources.TryGetValue(path, out var full)) { await Error(ctx, 404); return; }
                    var text = full.ToJsonString();
                    ctx.Response.ContentType = "application/json";
                    await ctx.Response.WriteAsync(text[..(text.Length / 2)]);
                    return;
                case Fault.Slow:
                    Interlocked.Increment(ref _slowInFlight);
                    try { await Task.Delay(f.Delay, ctx.RequestAborted); }
                    catch (OperationCanceledException) { return; }
                    finally { Interlocked.Decrement(ref _slowInFlight); }
                    break;
            }
        }
        if (method == "GET" && path == SsePath) { await StreamEventsAsync(ctx); return; }
        if (!_resources.TryGetValue(path, out var resource)) { await Error(ctx, 404); return; }
        if (method == "PATCH")
        {
            var patch = (await JsonNode.ParseAsync(ctx.Request.Body))!.AsObject();
            lock (resource)
                foreach (var (k, v) in patch) resource[k] = v?.DeepClone();
            ctx.Response.StatusCode = 204;
            return;
        }
        if (method != "GET") { await Error(ctx, 405); return; }
        string json;
        lock (resource) json = resource.ToJsonString();
        if (path == "/redfish/v1" && ExpandQuery is { } advertised)
        {
            var root = JsonNode.Parse(json)!.AsObject();
            root["ProtocolFeaturesSupported"] = new JsonObject { ["ExpandQuery"] = advertised.DeepClone() };
            json = root.ToJsonString();
        }
        if (ctx.Request.Query["$expand"] is { Count: > 0 } expand)
        {
            Interlocked.Increment(ref _expandRequests);
            if (ExpandQuery is null) { await Error(ctx, 501); return; }
            if (ExpandRefusal is { } refusal) { await Error(ctx, refusal); return; }
            if (ExpandDelay > TimeSpan.Zero)
            {
                try { await Task.Delay(ExpandDelay, ctx.RequestAborted); }
                catch (OperationCanceledException) { return; }
            }
            if (ExpandTooLarge)
            {
                ctx.Response.ContentType = "application/json";
                await ctx.Response.WriteAsync("{\"Pad\":\"" + new string('x', 9 * 1024 * 1024) + "\"}");
                return;
            }
            if (!RedfishExpand.TryParse(expand.ToString(), ExpandQuery["MaxLevels"]?.GetValue<int>() ?? 1, out var request, out var error)) { await Error(ctx, 400); return; }
            var doc = JsonNode.Parse(json)!.AsObject();
            RedfishExpand.Apply(doc, request, ExpandedResource);
            json = doc.ToJsonString();
        }
        ctx.Response.ContentType = "application/json; charset=utf-8";
        await ctx.Response.WriteAsync(json);
    }

    /// <summary>A resource as an expanded answer holds it: a copy, or (broken, or faulty when read alone) a stub or error object.</summary>
    private JsonNode? ExpandedResource(string path)
    {
        if (!_resources.TryGetValue(path, out var r)) return null;
        var broken = ExpandBroken.TryGetValue(path, out var b) ? b : _faults.ContainsKey(path) ? ExpandedAs.Error : (ExpandedAs?)null;
        if (broken == ExpandedAs.Stub) return null;
        if (broken == ExpandedAs.Error)
            return new JsonObject
            {
                ["@odata.id"] = path,
                ["@Message.ExtendedInfo"] = new JsonArray(new JsonObject { ["MessageId"] = "Base.1.8.InternalError", ["Message"] = "The resource could not be expanded." }),
            };
        lock (r) return r.DeepClone();
    }

    private bool Authorized(HttpContext ctx, out string? token)
    {
        token = ctx.Request.Headers["X-Auth-Token"].ToString() is { Length: > 0 } t && _sessions.ContainsKey(t) ? t : null;
        if (User is null) return true;
        if (token is not null) return true;
        var auth = ctx.Request.Headers.Authorization.ToString();
        return auth == "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{User}:{Password}"));
    }

    private async Task StreamEventsAsync(HttpContext ctx)
    {
        var channel = Channel.CreateUnbounded<string>();
        _sseClients[channel] = 0;
        try
        {
            ctx.Response.ContentType = "text/event-stream";
            ctx.Response.Headers.CacheControl = "no-cache";
            await ctx.Response.WriteAsync(": connected\n\n", ctx.RequestAborted);
            await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
            await foreach (var text in channel.Reader.ReadAllAsync(ctx.RequestAborted))
            {
                await ctx.Response.WriteAsync(text, ctx.RequestAborted);
                await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
            }
        }
        catch (OperationCanceledException) { }
        finally { _sseClients.TryRemove(channel, out _); }
    }

    private static async Task Error(HttpContext ctx, int status)
    {
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/json";
        await ctx.Response.WriteAsync("{\"error\":{\"code\":\"Base.1.8.GeneralError\",\"message\":\"HTTP " + status + "\"}}");
    }

    public async ValueTask DisposeAsync()
    {
        DropSseClients();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
