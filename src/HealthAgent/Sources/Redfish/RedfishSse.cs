using System.Text;
using Microsoft.Extensions.Logging;

namespace HealthAgent.Sources.Redfish;

/// <summary>One server-sent event: its id (for Last-Event-ID), event type and the joined data lines.</summary>
public sealed record SseEvent(string? Id, string? Type, string Data);

/// <summary>
/// Redfish SSE (EventService.ServerSentEventUri, text/event-stream; iDRAC: /redfish/v1/SSE). Parses the WHATWG
/// event-stream format and keeps a subscription open with reconnects and exponential backoff. Polling goes on
/// regardless: events only make changes arrive sooner.
/// </summary>
public sealed partial class RedfishSse(RedfishClient client, string endpoint, ILogger log, TimeProvider time)
{
    /// <summary>First and largest delay between reconnects; the delay doubles per failure and resets after a healthy connection.</summary>
    public static readonly TimeSpan MinBackoff = TimeSpan.FromSeconds(1), MaxBackoff = TimeSpan.FromSeconds(60);

    /// <summary>Parses an event stream. HTML spec "event stream interpretation": lines end in LF, CR or CRLF; a blank line dispatches.</summary>
    public static async IAsyncEnumerable<SseEvent> ReadEventsAsync(TextReader reader, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        string? id = null, type = null;
        var data = new StringBuilder();
        var hasData = false;
        while (await reader.ReadLineAsync(ct).ConfigureAwait(false) is { } line)
        {
            if (line.Length == 0)
            {
                if (hasData) yield return new SseEvent(id, type, data.ToString());
                data.Clear();
                hasData = false;
                type = null;
                continue;
            }
            if (line[0] == ':') continue; // comment / keep-alive
            var colon = line.IndexOf(':');
            var field = colon < 0 ? line : line[..colon];
            var value = colon < 0 ? "" : line[(colon + 1)..];
            if (value.StartsWith(' ')) value = value[1..];
            switch (field)
            {
                case "data":
                    if (hasData) data.Append('\n');
                    data.Append(value);
                    hasData = true;
                    // Bound memory: a stream that never sends a blank line must not grow forever.
                    if (data.Length > 1024 * 1024) { data.Clear(); hasData = false; }
                    break;
                case "id" when !value.Contains('\0'): id = value; break;
                case "event": type = value; break;
            }
        }
    }

    /// <summary>Subscribes to <paramref name="uri"/> until cancelled, calling <paramref name="onEvent"/> for each event.</summary>
    public async Task RunAsync(string uri, Func<SseEvent, Task> onEvent, Action onConnected, CancellationToken ct)
    {
        var backoff = MinBackoff;
        string? lastError = null;
        while (!ct.IsCancellationRequested)
        {
            var connectedAt = time.GetUtcNow();
            var (resp, error) = await client.OpenEventStreamAsync(uri, ct).ConfigureAwait(false);
            var healthy = false;
            if (resp is not null)
            {
                using (resp)
                {
                    if (lastError is not null) LogSseConnected(log, endpoint, uri);
                    lastError = null;
                    onConnected(); // events may have been missed while disconnected: the caller re-walks
                    try
                    {
                        await using var stream = await resp.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
                        using var reader = new StreamReader(stream, Encoding.UTF8);
                        await foreach (var e in ReadEventsAsync(reader, ct).ConfigureAwait(false))
                        {
                            healthy = true;
                            try { await onEvent(e).ConfigureAwait(false); }
                            catch (Exception ex) when (ex is not OperationCanceledException) { LogSseHandlerFailed(log, endpoint, client.Scrub(ex.Message)); }
                        }
                        error = "the event stream ended";
                    }
                    catch (Exception ex) when (ex is IOException or HttpRequestException && !ct.IsCancellationRequested)
                    {
                        error = "the event stream broke: " + client.Scrub(ex.Message);
                    }
                }
            }
            if (ct.IsCancellationRequested) break;
            if (healthy || time.GetUtcNow() - connectedAt > TimeSpan.FromSeconds(30)) backoff = MinBackoff;
            if (error != lastError) LogSseDown(log, endpoint, error ?? "", backoff.TotalSeconds);
            lastError = error;
            // Full jitter around the backoff so many agents do not reconnect to one BMC in step.
            var delay = TimeSpan.FromMilliseconds(backoff.TotalMilliseconds * (0.5 + Random.Shared.NextDouble() / 2));
            try { await Task.Delay(delay, time, ct).ConfigureAwait(false); }
            catch (OperationCanceledException) { break; }
            backoff = TimeSpan.FromTicks(Math.Min(MaxBackoff.Ticks, backoff.Ticks * 2));
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "redfish {Endpoint}: event stream {Uri} connected")]
    private static partial void LogSseConnected(ILogger log, string endpoint, string uri);

    [LoggerMessage(Level = LogLevel.Warning, Message = "redfish {Endpoint}: event stream unavailable ({Error}); polling continues, retrying in about {Seconds} s")]
    private static partial void LogSseDown(ILogger log, string endpoint, string error, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "redfish {Endpoint}: handling an event failed: {Error}")]
    private static partial void LogSseHandlerFailed(ILogger log, string endpoint, string error);
}
