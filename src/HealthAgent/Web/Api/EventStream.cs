using System.Text;
using System.Text.Json.Nodes;
using HealthAgent.Publishing;
using HealthAgent.Web.Auth;
using Microsoft.AspNetCore.Http;

namespace HealthAgent.Web.Api;

/// <summary>
/// GET /api/stream: Server-Sent Events (WHATWG HTML, "Server-sent events") from <see cref="IHealthState.WatchAsync"/>.
/// Every signed-in role gets <c>rollup</c>; System Health Monitoring also gets <c>status</c> and <c>event</c>.
/// A comment every 15 s keeps proxies from closing the stream; it ends with <c>expired</c> when the session does.
/// </summary>
internal static class EventStream
{
    private static readonly TimeSpan Heartbeat = TimeSpan.FromSeconds(15);

    public static async Task RunAsync(WebServer srv, Session session, HttpContext ctx)
    {
        ctx.Response.ContentType = "text/event-stream";
        ctx.Response.Headers.CacheControl = "no-store";
        ctx.Response.Headers["X-Accel-Buffering"] = "no";
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted, srv.Stopping);
        var ct = cts.Token;
        var changes = srv.State.WatchAsync(ct).GetAsyncEnumerator(ct);
        Task<bool>? next = null;
        try
        {
            await WriteAsync(ctx, "retry: 3000\n: connected\n\n", ct).ConfigureAwait(false);
            Task? beat = null;
            while (!ct.IsCancellationRequested)
            {
                next ??= changes.MoveNextAsync().AsTask();
                beat ??= Task.Delay(Heartbeat, ct); // one timer per beat, however many changes arrive in between
                if (await Task.WhenAny(next, beat).ConfigureAwait(false) != next)
                {
                    beat = null;
                    if (!srv.Sessions.IsAlive(session)) { await WriteAsync(ctx, "event: expired\ndata: {}\n\n", ct).ConfigureAwait(false); return; }
                    await WriteAsync(ctx, ": keep-alive\n\n", ct).ConfigureAwait(false);
                    continue;
                }
                if (!await next.ConfigureAwait(false)) return;
                next = null;
                if (!srv.Sessions.IsAlive(session)) { await WriteAsync(ctx, "event: expired\ndata: {}\n\n", ct).ConfigureAwait(false); return; }
                await WriteAsync(ctx, Format(srv, session, changes.Current), ct).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) { }
        catch (IOException) { } // client went away
        catch (Exception e) when (e is not OutOfMemoryException) { WebLog.StreamFailed(srv.Log, e); }
        finally
        {
            await cts.CancelAsync().ConfigureAwait(false);
            // An async iterator cannot be disposed while a MoveNextAsync is pending (NotSupportedException): a client
            // that went away mid-wait leaves one; the cancellation ends it, then the watcher is removed.
            if (next is not null) await ((Task)next).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            try { await changes.DisposeAsync().ConfigureAwait(false); }
            catch (OperationCanceledException) { }
        }
    }

    private static string Format(WebServer srv, Session session, HealthChange change)
    {
        var sb = new StringBuilder();
        var rules = srv.Rules;
        if (session.Principal.CanMonitor)
        {
            if (change.Status is { } st) Append(sb, "status", ApiJson.Component(srv.State, st, rules));
            if (change.Event is { } e) Append(sb, "event", ApiJson.Event(e, srv.Acknowledgements.GetValueOrDefault(e.EventId)));
        }
        Append(sb, "rollup", ApiJson.Rollup(srv.State, change.Rollup, rules, problems: session.Principal.CanMonitor));
        return sb.ToString();
    }

    // JSON has no raw newlines in compact form, so one data: line per message is enough.
    private static void Append(StringBuilder sb, string name, JsonNode data) =>
        sb.Append("event: ").Append(name).Append("\ndata: ").Append(data.ToJsonString(Cli.Json.Options)).Append("\n\n");

    private static async Task WriteAsync(HttpContext ctx, string text, CancellationToken ct)
    {
        await ctx.Response.WriteAsync(text, ct).ConfigureAwait(false);
        await ctx.Response.Body.FlushAsync(ct).ConfigureAwait(false);
    }
}
