using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using HealthAgent.Model;
using HealthAgent.Rules;
using HealthAgent.Web.Auth;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace HealthAgent.Web.Api;

/// <summary>The routes: the embedded page and the JSON API. Authorization: 401 without a session, 403 without the right or the CSRF header.</summary>
internal static class ApiEndpoints
{
    public const string SessionCookie = "ha_session", CsrfHeader = "X-CSRF-Token";

    private enum Need { SignedIn, Monitor, Configure }

    public static void Map(WebApplication app, WebServer srv)
    {
        app.Use(async (ctx, next) =>
        {
            var h = ctx.Response.Headers;
            h["X-Content-Type-Options"] = "nosniff";
            h["Referrer-Policy"] = "no-referrer";
            h["X-Frame-Options"] = "DENY";
            // Scripts and styles come only from this origin; LED keyframes are added through the CSSOM, not inline.
            h["Content-Security-Policy"] = "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";
            if (ctx.Request.Path.StartsWithSegments("/api")) h.CacheControl = "no-store";
            await next(ctx).ConfigureAwait(false);
        });

        StaticFiles.Map(app);

        app.MapPost("/api/login", (Func<HttpContext, Task<IResult>>)(ctx => LoginAsync(srv, ctx)));
        app.MapPost("/api/logout", (HttpContext ctx) =>
        {
            if (Check(srv, ctx, Need.SignedIn, changes: true, out var s) is { } fail) return fail;
            srv.Sessions.Remove(s!.Id);
            ctx.Response.Cookies.Delete(SessionCookie, CookieOptions(ctx, srv));
            return Ok(new JsonObject { ["ok"] = true });
        });
        app.MapGet("/api/me", (HttpContext ctx) =>
            Check(srv, ctx, Need.SignedIn, changes: false, out var s) ?? Ok(Me(s!)));
        app.MapGet("/api/health", (HttpContext ctx) =>
            Check(srv, ctx, Need.SignedIn, changes: false, out var hs) ?? Ok(ApiJson.Rollup(srv.State, srv.State.Rollup, srv.Rules, problems: hs!.Principal.CanMonitor)));
        app.MapGet("/api/components", (HttpContext ctx) =>
        {
            if (Check(srv, ctx, Need.Monitor, changes: false, out _) is { } fail) return fail;
            var rules = srv.Rules;
            return Ok(new JsonArray(srv.State.Components.Select(c => (JsonNode)ApiJson.Component(srv.State, c, rules)).ToArray()));
        });
        // Physical parts, most severe first, each with every source's observation (docs/schemas/common.json#/$defs/part).
        app.MapGet("/api/parts", (HttpContext ctx) =>
            Check(srv, ctx, Need.Monitor, changes: false, out _)
            ?? Ok(new JsonArray(srv.State.Parts.Select(p => (JsonNode)HealthJson.Part(p)).ToArray())));
        app.MapGet("/api/events", (HttpContext ctx) =>
        {
            if (Check(srv, ctx, Need.Monitor, changes: false, out _) is { } fail) return fail;
            var q = ctx.Request.Query;
            var limit = int.TryParse(q["limit"], NumberStyles.None, CultureInfo.InvariantCulture, out var l) ? Math.Clamp(l, 1, 1000) : 200;
            Severity? min = null;
            if (q["minSeverity"].ToString() is { Length: > 0 } ms)
            {
                if (!HealthWords.Severities.TryGetValue(ms.ToLowerInvariant(), out var sev)) return Error(400, $"minSeverity '{ms}' is not one of: ok, info, warning, critical");
                min = sev;
            }
            var component = q["component"].ToString() is { Length: > 0 } c ? c : null;
            var events = srv.State.History(limit, min, component);
            return Ok(new JsonArray(events.Select(e => (JsonNode)ApiJson.Event(e, srv.Acknowledgements.GetValueOrDefault(e.EventId))).ToArray()));
        });
        app.MapPost("/api/events/{id}/ack", async (HttpContext ctx, string id) =>
        {
            if (Check(srv, ctx, Need.Monitor, changes: true, out var s) is { } fail) return fail;
            if (!Guid.TryParse(id, out var eventId)) return Error(400, "event id is not a GUID");
            if (!await srv.State.AcknowledgeAsync(eventId, s!.Principal.Name, ctx.RequestAborted).ConfigureAwait(false)) return Error(404, "no such event");
            var ack = new Acknowledgement(s.Principal.Name, srv.Settings.Time.GetUtcNow());
            srv.Acknowledgements[eventId] = ack;
            WebLog.Acknowledged(srv.Log, eventId, s.Principal.Name);
            return Ok(new JsonObject { ["ok"] = true, ["eventId"] = eventId.ToString(), ["acknowledgedBy"] = ack.User, ["acknowledgedAt"] = ack.Time });
        });
        app.MapPost("/api/components/{id}/identify", async (HttpContext ctx, string id) =>
        {
            if (Check(srv, ctx, Need.Monitor, changes: true, out var s) is { } fail) return fail;
            var on = true;
            if (await ReadBodyAsync(ctx).ConfigureAwait(false) is JsonObject body && body["on"] is JsonValue v && v.TryGetValue<bool>(out var b)) on = b;
            if (!srv.State.Components.Any(c => c.Component.Id == id)) return Error(404, "no such component");
            WebLog.Identify(srv.Log, on, id, s!.Principal.Name);
            return await srv.State.IdentifyAsync(id, on, ctx.RequestAborted).ConfigureAwait(false)
                ? Ok(new JsonObject { ["ok"] = true, ["componentId"] = id, ["on"] = on })
                : Error(409, "no source can switch this component's identify LED");
        });
        app.MapPost("/api/rules/reload", (HttpContext ctx) =>
        {
            if (Check(srv, ctx, Need.Configure, changes: true, out var s) is { } fail) return fail;
            if (srv.Settings.RulesDirectory is not { } dir) return Error(409, "no rules directory is configured (rulesDirectory); the agent runs on the rule tables built into it");
            var (rules, errors) = RuleLoader.LoadDirectory(dir);
            if (rules is null)
            {
                WebLog.RulesReloadFailed(srv.Log, s!.Principal.Name, errors.Count);
                return Json(422, new JsonObject { ["ok"] = false, ["errors"] = new JsonArray(errors.Select(e => (JsonNode)e.ToString()).ToArray()) });
            }
            srv.Rules = rules;
            srv.Settings.RulesReloaded?.Invoke(rules);
            WebLog.RulesReloaded(srv.Log, s!.Principal.Name, rules.Version);
            return Ok(new JsonObject { ["ok"] = true, ["version"] = rules.Version, ["families"] = rules.Families.Count, ["derivations"] = rules.Derivations.Count });
        });
        app.MapGet("/api/explain", (HttpContext ctx) =>
            Check(srv, ctx, Need.SignedIn, changes: false, out _) ?? Explain(srv.Rules, ctx.Request.Query["family"], ctx.Request.Query["led"]));
        app.MapGet("/api/stream", (HttpContext ctx) =>
            Check(srv, ctx, Need.SignedIn, changes: false, out var s) is { } fail ? fail.ExecuteAsync(ctx) : EventStream.RunAsync(srv, s!, ctx));
        app.MapFallback("/api/{**rest}", () => Error(404, "no such endpoint"));
    }

    private static async Task<IResult> LoginAsync(WebServer srv, HttpContext ctx)
    {
        var address = ctx.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        var body = await ReadBodyAsync(ctx).ConfigureAwait(false);
        var user = (body?["username"] as JsonValue)?.TryGetValue<string>(out var u) == true ? u.Trim() : "";
        var password = (body?["password"] as JsonValue)?.TryGetValue<string>(out var p) == true ? p : "";
        if (user.Length == 0 || user.Length > 256 || password.Length == 0 || password.Length > 1024)
            return Error(400, "send JSON {\"username\": \"…\", \"password\": \"…\"}");

        var wait = srv.Limiter.RetryAfter(user, address);
        if (wait > TimeSpan.Zero)
        {
            WebLog.RateLimited(srv.Log, user, address, wait.TotalSeconds);
            ctx.Response.Headers.RetryAfter = Math.Ceiling(wait.TotalSeconds).ToString(CultureInfo.InvariantCulture);
            return Error(429, "too many failed sign-ins; try again later");
        }
        var configured = (srv.Options.Users ?? []).FirstOrDefault(x => string.Equals(x.Name, user, StringComparison.OrdinalIgnoreCase));
        var ok = configured is null ? Fail() : PasswordHasher.Verify(password, configured.PasswordHash);
        var principal = ok ? AccessPolicy.Resolve(srv.Options, user) : null;
        if (principal is null)
        {
            srv.Limiter.Failed(user, address);
            WebLog.SignInFailed(srv.Log, user, address);
            return Error(401, "wrong user name or password");
        }
        srv.Limiter.Succeeded(user);
        var session = srv.Sessions.Create(principal);
        ctx.Response.Cookies.Append(SessionCookie, session.Id, CookieOptions(ctx, srv));
        WebLog.SignedIn(srv.Log, principal.Name, Roles.Name(principal.Role), address);
        var me = Me(session);
        me["csrfToken"] = session.CsrfToken;
        return Ok(me);

        static bool Fail() { PasswordHasher.Dummy("x"); return false; }
    }

    private static JsonObject Me(Session s) => new()
    {
        ["user"] = s.Principal.Name,
        ["role"] = Roles.Name(s.Principal.Role),
        ["privileges"] = new JsonArray(s.Principal.Privileges.Select(p => (JsonNode)p).ToArray()),
        ["csrfToken"] = s.CsrfToken,
        ["expires"] = s.Expires,
    };

    private static CookieOptions CookieOptions(HttpContext ctx, WebServer srv) => new()
    {
        HttpOnly = true,
        SameSite = SameSiteMode.Strict,
        Secure = ctx.Request.IsHttps,
        Path = "/",
        MaxAge = srv.Options.SessionLifetime,
    };

    /// <summary>Null when the request may go ahead; otherwise the 401/403 to answer.</summary>
    private static IResult? Check(WebServer srv, HttpContext ctx, Need need, bool changes, out Session? session)
    {
        session = srv.Sessions.Touch(ctx.Request.Cookies[SessionCookie]);
        if (session is null) return Error(401, "sign in first");
        if (changes && !session.CsrfMatches(ctx.Request.Headers[CsrfHeader].ToString()))
            return Error(403, $"missing or wrong {CsrfHeader} header");
        var p = session.Principal;
        return need switch
        {
            Need.Monitor when !p.CanMonitor => Error(403, "needs the System Health Monitoring privilege (operator or administrator)"),
            Need.Configure when !p.CanConfigure => Error(403, "needs the administrator role"),
            _ => null,
        };
    }

    private static IResult Explain(RuleSet rules, string? familyName, string? led)
    {
        if (string.IsNullOrWhiteSpace(familyName))
            return Ok(new JsonObject { ["families"] = new JsonArray(rules.Families.Select(f => (JsonNode)ApiJson.Family(f)).ToArray()) });
        var fam = rules.FindFamily(familyName);
        if (fam is null) return Error(400, $"unknown family '{familyName}' (families: {string.Join(", ", rules.Families.Select(f => f.Name))})");
        var known = new JsonArray(fam.Rules.Select(r => (JsonNode)Cli.ExplainCommand.RuleJson(fam, r)).ToArray());
        if (string.IsNullOrWhiteSpace(led))
        {
            var f = ApiJson.Family(fam);
            f["rules"] = known;
            return Ok(f);
        }
        RuleMatch match;
        try { match = RuleEngine.Explain(fam, led); }
        catch (LedTextException e)
        {
            return Json(400, new JsonObject { ["error"] = e.Message, ["examples"] = new JsonArray(fam.Rules.Take(3).Select(r => (JsonNode)r.Led.ToString()).ToArray()) });
        }
        var answer = new JsonObject
        {
            ["family"] = fam.Name,
            ["title"] = fam.Title,
            ["seen"] = match.Seen.ToString(),
            ["matched"] = match.Best is not null,
            ["ambiguous"] = match.IsAmbiguous,
            ["answers"] = new JsonArray(match.Candidates.Select(r => (JsonNode)Cli.ExplainCommand.RuleJson(fam, r, match.Seen)).ToArray()),
        };
        if (match.Best is null) answer["known"] = new JsonArray(fam.Rules.Select(r => (JsonNode)r.Led.ToString()).ToArray());
        return Ok(answer);
    }

    private static async Task<JsonNode?> ReadBodyAsync(HttpContext ctx)
    {
        if (ctx.Request.ContentLength is 0) return null;
        try { return await JsonNode.ParseAsync(ctx.Request.Body, cancellationToken: ctx.RequestAborted).ConfigureAwait(false); }
        catch (JsonException) { return null; }
        catch (BadHttpRequestException) { return null; }
    }

    internal static IResult Ok(JsonNode body) => Json(200, body);
    internal static IResult Error(int status, string message) => Json(status, new JsonObject { ["error"] = message });
    internal static IResult Json(int status, JsonNode body) =>
        Results.Text(body.ToJsonString(Cli.Json.Options), "application/json; charset=utf-8", statusCode: status);
}
