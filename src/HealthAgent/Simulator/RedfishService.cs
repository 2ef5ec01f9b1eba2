using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace HealthAgent.Simulator;

/// <summary>
/// A real Redfish service on 127.0.0.1 (Kestrel): GET of every resource <see cref="RedfishModel"/> renders,
/// PATCH of LocationIndicatorActive / IndicatorLED (identify) on the system, the chassis and the drives,
/// sessions (X-Auth-Token), optional basic auth, <c>$expand</c> as iDRAC9 offers it (target "bmc.expand"; see
/// <see cref="RedfishExpand"/>), the EventService's SSE stream (<c>/redfish/v1/SSE</c>), and the
/// simulator's control endpoints <c>GET /sim/state</c> and <c>POST /sim/set</c>. The "bmc"
/// target makes it slow, hang, or answer 503.
/// </summary>
public sealed class RedfishService : IAsyncDisposable
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private readonly Appliance _appliance;
    private readonly Simulation _sim;
    private readonly string? _user, _password;
    private readonly object _gate = new();
    private readonly ConcurrentDictionary<string, string> _sessions = new(StringComparer.Ordinal);
    private readonly List<Channel<string>> _streams = [];
    private SortedDictionary<string, JsonObject> _resources;
    private long _eventId, _requests, _expandedRequests;
    private WebApplication? _app;

    private RedfishService(Appliance appliance, Simulation sim, string? auth)
    {
        _appliance = appliance;
        _sim = sim;
        if (auth is { Length: > 0 })
        {
            var colon = auth.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0) throw new ArgumentException("--auth takes user:password");
            (_user, _password) = (auth[..colon], auth[(colon + 1)..]);
        }
        _resources = RedfishModel.Render(appliance);
        appliance.Changed += OnChanged;
    }

    /// <summary>http://127.0.0.1:PORT (the port Kestrel bound when 0 was asked for).</summary>
    public Uri BaseAddress { get; private set; } = new("http://127.0.0.1/");

    /// <summary>Requests to /redfish so far (every method, every answer).</summary>
    public long Requests => Interlocked.Read(ref _requests);

    /// <summary>GETs answered with $expand applied so far.</summary>
    public long ExpandedRequests => Interlocked.Read(ref _expandedRequests);

    /// <summary>SSE streams open now.</summary>
    public int SseClients { get { lock (_gate) return _streams.Count; } }

    /// <summary>Events sent on the SSE stream so far.</summary>
    public long EventsSent => Interlocked.Read(ref _eventId);

    /// <summary>The self-signed certificate when serving https, else null.</summary>
    public X509Certificate2? Certificate { get; private set; }

    /// <summary>SHA-256 fingerprint of <see cref="Certificate"/> as colon-separated hex (what certificateFingerprint pins).</summary>
    public string? Fingerprint => Certificate is null ? null : string.Join(':', Convert.ToHexString(Certificate.GetCertHash(HashAlgorithmName.SHA256)).Chunk(2).Select(c => new string(c)));

    public static async Task<RedfishService> StartAsync(Appliance appliance, Simulation sim, int port, string? auth, bool tls, ILoggerFactory logging, CancellationToken ct)
    {
        var svc = new RedfishService(appliance, sim, auth);
        var url = $"{(tls ? "https" : "http")}://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}";
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = ["--urls", url], ContentRootPath = AppContext.BaseDirectory });
        if (tls)
        {
            // Like a BMC: a self-signed certificate, made fresh at start; clients pin its fingerprint or trust the PEM.
            svc.Certificate = SelfSigned();
            builder.WebHost.UseKestrelHttpsConfiguration();
            builder.WebHost.ConfigureKestrel(k => k.ConfigureHttpsDefaults(h => h.ServerCertificate = svc.Certificate));
        }
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(logging);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var app = builder.Build();
        app.Map("/sim/{**rest}", svc.Control);
        app.Map("/redfish", svc.Handle);
        app.Map("/redfish/{**rest}", svc.Handle);
        await app.StartAsync(ct).ConfigureAwait(false);
        svc._app = app;
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        svc.BaseAddress = new Uri(address.TrimEnd('/') + "/");
        return svc;
    }

    private static X509Certificate2 SelfSigned()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var req = new CertificateRequest("CN=healthagent-simulated-idrac", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(System.Net.IPAddress.Loopback);
        san.AddDnsName("localhost");
        req.CertificateExtensions.Add(san.Build());
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        req.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var cert = req.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddYears(1));
        return X509CertificateLoader.LoadPkcs12(cert.Export(X509ContentType.Pkcs12), null);
    }

    // ---- change → SSE ---------------------------------------------------------------------------------

    private void OnChanged(IReadOnlyList<string> targets)
    {
        List<string> changed;
        lock (_gate)
        {
            var next = RedfishModel.Render(_appliance);
            changed = next.Where(kv => !_resources.TryGetValue(kv.Key, out var old) || old.ToJsonString() != kv.Value.ToJsonString()).Select(kv => kv.Key).ToList();
            _resources = next;
            if (targets.Contains("bmc") && _appliance.Word("bmc") is "unresponsive" or "hanging")
            {
                // A BMC that stops answering drops its event streams too.
                foreach (var s in _streams) s.Writer.TryComplete();
                _streams.Clear();
            }
            if (changed.Count == 0 || _streams.Count == 0) return;
            var id = Interlocked.Increment(ref _eventId);
            var now = DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssK", CultureInfo.InvariantCulture);
            var evt = new JsonObject
            {
                ["@odata.type"] = "#Event.v1_7_0.Event", ["Id"] = id.ToString(CultureInfo.InvariantCulture), ["Name"] = "Resource changed",
                ["Context"] = "healthagent-simulator",
                ["Events"] = new JsonArray(changed.Select((p, k) => (JsonNode)new JsonObject
                {
                    ["MemberId"] = k.ToString(CultureInfo.InvariantCulture),
                    ["EventId"] = $"{id}.{k}",
                    ["EventTimestamp"] = now,
                    ["MessageId"] = "ResourceEvent.1.3.ResourceChanged",
                    ["Message"] = "One or more resource properties have changed.",
                    ["MessageSeverity"] = next[p]["Status"]?["Health"]?.GetValue<string>() ?? "OK",
                    ["OriginOfCondition"] = RedfishModel.Link(p),
                }).ToArray()),
            };
            // text/event-stream: "id:" and "data:" lines, a blank line ends the event (WHATWG HTML, server-sent events)
            var frame = $"id: {id}\ndata: {evt.ToJsonString()}\n\n";
            foreach (var s in _streams) s.Writer.TryWrite(frame);
        }
    }

    // ---- /redfish ---------------------------------------------------------------------------------------

    private async Task Handle(HttpContext ctx)
    {
        var path = ctx.Request.Path.Value!.TrimEnd('/');
        var method = ctx.Request.Method;
        Interlocked.Increment(ref _requests);
        switch (_appliance.Word("bmc"))
        {
            case "unresponsive":
                ctx.Response.Headers.RetryAfter = "10";
                await Error(ctx, 503, "Base.1.18.ServiceTemporarilyUnavailable", "The BMC is not responding (simulated).").ConfigureAwait(false);
                return;
            case "hanging":
                try { await Task.Delay(TimeSpan.FromSeconds(60), ctx.RequestAborted).ConfigureAwait(false); } catch (OperationCanceledException) { return; }
                await Error(ctx, 503, "Base.1.18.ServiceTemporarilyUnavailable", "The BMC did not answer in time (simulated).").ConfigureAwait(false);
                return;
            case "slow":
                try { await Task.Delay(TimeSpan.FromSeconds(2), ctx.RequestAborted).ConfigureAwait(false); } catch (OperationCanceledException) { return; }
                break;
        }
        ctx.Response.Headers["OData-Version"] = "4.0";
        if (path == "/redfish" && method == "GET") { await WriteJson(ctx, new JsonObject { ["v1"] = "/redfish/v1/" }).ConfigureAwait(false); return; }

        // The service root and session creation need no credentials (Redfish specification, "Security details").
        var open = path == RedfishModel.Root || (path == RedfishModel.Root + "/SessionService/Sessions" && method == "POST");
        if (!open && !Authorized(ctx))
        {
            ctx.Response.Headers.WWWAuthenticate = "Basic realm=\"RedfishService\"";
            await Error(ctx, 401, "Base.1.18.NoValidSession", "Authentication is required.").ConfigureAwait(false);
            return;
        }

        if (path == RedfishModel.SseUri && method == "GET") { await Stream(ctx).ConfigureAwait(false); return; }
        if (path.StartsWith(RedfishModel.Root + "/SessionService/Sessions", StringComparison.Ordinal)) { await Sessions(ctx, path, method).ConfigureAwait(false); return; }

        JsonObject? doc;
        lock (_gate) doc = _resources.TryGetValue(path, out var d) ? (JsonObject)d.DeepClone() : null;
        if (doc is null) { await Error(ctx, 404, "Base.1.18.ResourceMissingAtURI", $"The resource at the URI '{path}' was not found.").ConfigureAwait(false); return; }
        if (method == "GET")
        {
            if (!await ApplyQueryAsync(ctx, doc).ConfigureAwait(false)) return;
            await WriteJson(ctx, doc).ConfigureAwait(false);
            return;
        }
        if (method == "PATCH") { await Patch(ctx, path).ConfigureAwait(false); return; }
        ctx.Response.Headers.Allow = "GET" + (Patchable(path) ? ", PATCH" : "");
        await Error(ctx, 405, "Base.1.18.OperationNotAllowed", $"{method} is not allowed on {path}.").ConfigureAwait(false);
    }

    /// <summary>
    /// Applies the query parameters of a GET: only $expand is implemented (<see cref="RedfishExpand"/>), and only while
    /// the "bmc.expand" target is true. False when an error answer was written instead.
    /// </summary>
    private async Task<bool> ApplyQueryAsync(HttpContext ctx, JsonObject doc)
    {
        foreach (var key in ctx.Request.Query.Keys)
        {
            // DSP0266 "Query parameters": an unsupported query parameter starting with $ is answered 501 Not Implemented.
            if (!key.StartsWith('$') || (key == "$expand" && _appliance.Flag("bmc.expand"))) continue;
            await Error(ctx, 501, "Base.1.18.QueryNotSupported", $"The query parameter {key} is not supported by this service.").ConfigureAwait(false);
            return false;
        }
        if (ctx.Request.Query["$expand"] is not { Count: > 0 } expand) return true;
        if (!RedfishExpand.TryParse(expand.ToString(), RedfishModel.ExpandMaxLevels, out var request, out var error))
        {
            await Error(ctx, 400, "Base.1.18.QueryParameterValueFormatError", error).ConfigureAwait(false);
            return false;
        }
        Interlocked.Increment(ref _expandedRequests);
        lock (_gate) RedfishExpand.Apply(doc, request, p => _resources.TryGetValue(p, out var r) ? r.DeepClone() : null);
        return true;
    }

    private bool Authorized(HttpContext ctx)
    {
        if (_user is null) return true;
        if (ctx.Request.Headers["X-Auth-Token"].ToString() is { Length: > 0 } token) return _sessions.Values.Contains(token);
        var h = ctx.Request.Headers.Authorization.ToString();
        if (!h.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase)) return false;
        try
        {
            var pair = Encoding.UTF8.GetString(Convert.FromBase64String(h[6..].Trim()));
            return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(pair), Encoding.UTF8.GetBytes(_user + ":" + _password));
        }
        catch (FormatException) { return false; }
    }

    private static bool Patchable(string path) =>
        path is RedfishModel.System or RedfishModel.Chassis || path.StartsWith(RedfishModel.Storage + "/Drives/", StringComparison.Ordinal);

    private async Task Patch(HttpContext ctx, string path)
    {
        if (!Patchable(path))
        {
            ctx.Response.Headers.Allow = "GET";
            await Error(ctx, 405, "Base.1.18.OperationNotAllowed", $"PATCH is not allowed on {path}.").ConfigureAwait(false);
            return;
        }
        JsonObject? body;
        try { body = await JsonNode.ParseAsync(ctx.Request.Body, cancellationToken: ctx.RequestAborted).ConfigureAwait(false) as JsonObject; }
        catch (JsonException) { body = null; }
        if (body is null || body.Count == 0) { await Error(ctx, 400, "Base.1.18.MalformedJSON", "The request body must be a JSON object.").ConfigureAwait(false); return; }
        bool? on = null;
        foreach (var (k, v) in body)
        {
            if (k == "LocationIndicatorActive" && v is JsonValue b && b.TryGetValue<bool>(out var flag)) on = flag;
            else if (k == "IndicatorLED" && v is JsonValue s && s.TryGetValue<string>(out var led) && led is "Lit" or "Blinking" or "Off") on = led != "Off";
            else
            {
                await Error(ctx, 400, "Base.1.18.PropertyUnknown", $"The property '{k}' is not known or cannot be set here (LocationIndicatorActive: bool, IndicatorLED: Lit|Blinking|Off).").ConfigureAwait(false);
                return;
            }
        }
        if (path.StartsWith(RedfishModel.Storage + "/Drives/Disk.Bay.", StringComparison.Ordinal))
        {
            var target = "drive" + path[(path.LastIndexOf('.') + 1)..];
            var now = _appliance.Word(target);
            if (now is not ("online" or "identify"))
            {
                await Error(ctx, 400, "Base.1.18.ActionNotSupported", $"Identify needs an online drive; this one is {now}.").ConfigureAwait(false);
                return;
            }
            _appliance.Set(target, on == true ? "identify" : "online");
        }
        else _appliance.Set("system.identify", on == true ? "true" : "false");
        JsonObject doc;
        lock (_gate) doc = (JsonObject)_resources[path].DeepClone();
        await WriteJson(ctx, doc).ConfigureAwait(false);
    }

    private async Task Sessions(HttpContext ctx, string path, string method)
    {
        const string coll = RedfishModel.Root + "/SessionService/Sessions";
        if (path == coll && method == "POST")
        {
            JsonObject? body;
            try { body = await JsonNode.ParseAsync(ctx.Request.Body, cancellationToken: ctx.RequestAborted).ConfigureAwait(false) as JsonObject; }
            catch (JsonException) { body = null; }
            var user = body?["UserName"]?.GetValue<string>();
            var pass = body?["Password"]?.GetValue<string>();
            if (user is null || pass is null) { await Error(ctx, 400, "Base.1.18.PropertyMissing", "UserName and Password are required.").ConfigureAwait(false); return; }
            if (_user is not null && (user != _user || pass != _password)) { await Error(ctx, 401, "Base.1.18.NoValidSession", "Invalid credentials.").ConfigureAwait(false); return; }
            var id = Guid.NewGuid().ToString("N")[..12];
            var token = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
            _sessions[id] = token;
            ctx.Response.StatusCode = 201;
            ctx.Response.Headers["X-Auth-Token"] = token;
            ctx.Response.Headers.Location = $"{coll}/{id}";
            await WriteJson(ctx, SessionDoc(id, user), status: 201).ConfigureAwait(false);
            return;
        }
        if (path == coll && method == "GET")
        {
            var ids = _sessions.Keys.Order(StringComparer.Ordinal).Select(i => $"{coll}/{i}").ToList();
            await WriteJson(ctx, new JsonObject
            {
                ["@odata.id"] = coll, ["@odata.type"] = "#SessionCollection.SessionCollection", ["Name"] = "Session Collection",
                ["Members"] = RedfishModel.Links(ids), ["Members@odata.count"] = ids.Count,
            }).ConfigureAwait(false);
            return;
        }
        var sid = path[(coll.Length + 1)..];
        if (path.Length > coll.Length && _sessions.ContainsKey(sid))
        {
            if (method == "DELETE") { _sessions.TryRemove(sid, out _); ctx.Response.StatusCode = 204; return; }
            if (method == "GET") { await WriteJson(ctx, SessionDoc(sid, _user ?? "anonymous")).ConfigureAwait(false); return; }
        }
        await Error(ctx, 404, "Base.1.18.ResourceMissingAtURI", $"The resource at the URI '{path}' was not found.").ConfigureAwait(false);
    }

    private static JsonObject SessionDoc(string id, string user) => new()
    {
        ["@odata.id"] = $"{RedfishModel.Root}/SessionService/Sessions/{id}", ["@odata.type"] = "#Session.v1_7_0.Session",
        ["Id"] = id, ["Name"] = "User Session", ["UserName"] = user,
    };

    private async Task Stream(HttpContext ctx)
    {
        var ch = Channel.CreateBounded<string>(new BoundedChannelOptions(256) { FullMode = BoundedChannelFullMode.DropOldest });
        lock (_gate) _streams.Add(ch);
        try
        {
            ctx.Response.ContentType = "text/event-stream";
            ctx.Response.Headers.CacheControl = "no-cache";
            await ctx.Response.WriteAsync(": healthagent simulator event stream\n\n", ctx.RequestAborted).ConfigureAwait(false);
            await ctx.Response.Body.FlushAsync(ctx.RequestAborted).ConfigureAwait(false);
            while (true)
            {
                using var keepAlive = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted);
                keepAlive.CancelAfter(TimeSpan.FromSeconds(15));
                string frame;
                try
                {
                    if (!await ch.Reader.WaitToReadAsync(keepAlive.Token).ConfigureAwait(false)) break;
                    frame = await ch.Reader.ReadAsync(keepAlive.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!ctx.RequestAborted.IsCancellationRequested) { frame = ": keep-alive\n\n"; }
                await ctx.Response.WriteAsync(frame, ctx.RequestAborted).ConfigureAwait(false);
                await ctx.Response.Body.FlushAsync(ctx.RequestAborted).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) { }
        catch (IOException) { }
        finally { lock (_gate) _streams.Remove(ch); }
    }

    // ---- /sim -----------------------------------------------------------------------------------------

    private async Task Control(HttpContext ctx)
    {
        var path = ctx.Request.Path.Value!.TrimEnd('/');
        if (path == "/sim/state" && ctx.Request.Method == "GET") { await WriteJson(ctx, _sim.StateJson()).ConfigureAwait(false); return; }
        if (path == "/sim/set" && ctx.Request.Method == "POST")
        {
            JsonObject? body;
            try { body = await JsonNode.ParseAsync(ctx.Request.Body, cancellationToken: ctx.RequestAborted).ConfigureAwait(false) as JsonObject; }
            catch (JsonException) { body = null; }
            var target = body?["target"]?.ToString();
            var value = body?["value"] switch { JsonValue v when v.TryGetValue<string>(out var s) => s, { } n => n.ToJsonString(), _ => null };
            if (target is null || value is null)
            {
                await WriteJson(ctx, new JsonObject { ["errors"] = new JsonArray("send {\"target\": NAME, \"value\": VALUE}; GET /sim/state lists the targets") }, 400).ConfigureAwait(false);
                return;
            }
            var errors = _appliance.Set(target, value);
            if (errors.Count > 0) { await WriteJson(ctx, new JsonObject { ["errors"] = new JsonArray(errors.Select(e => (JsonNode)e).ToArray()) }, 400).ConfigureAwait(false); return; }
            await WriteJson(ctx, _sim.StateJson()).ConfigureAwait(false);
            return;
        }
        await WriteJson(ctx, new JsonObject { ["errors"] = new JsonArray("GET /sim/state, POST /sim/set {target, value}") }, 404).ConfigureAwait(false);
    }

    private static async Task WriteJson(HttpContext ctx, JsonObject doc, int status = 200)
    {
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/json; charset=utf-8";
        await ctx.Response.WriteAsync(doc.ToJsonString(Indented), ctx.RequestAborted).ConfigureAwait(false);
    }

    private static Task Error(HttpContext ctx, int status, string messageId, string message) =>
        WriteJson(ctx, new JsonObject
        {
            ["error"] = new JsonObject
            {
                ["code"] = messageId, ["message"] = message,
                ["@Message.ExtendedInfo"] = new JsonArray(new JsonObject { ["MessageId"] = messageId, ["Message"] = message, ["Severity"] = status >= 500 ? "Critical" : "Warning" }),
            },
        }, status);

    public async ValueTask DisposeAsync()
    {
        _appliance.Changed -= OnChanged;
        Certificate?.Dispose();
        lock (_gate)
        {
            foreach (var s in _streams) s.Writer.TryComplete();
            _streams.Clear();
        }
        if (_app is not null)
        {
            await _app.StopAsync(CancellationToken.None).ConfigureAwait(false);
            await _app.DisposeAsync().ConfigureAwait(false);
        }
    }
}
