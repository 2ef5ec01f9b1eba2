using System.Buffers;
using System.CommandLine;
using System.Globalization;
using System.Threading.Channels;
using HealthAgent.Publishing.Mqtt;
using MQTTnet;
using MQTTnet.Protocol;
using Spectre.Console;

namespace HealthAgent.Cli;

/// <summary>
/// `healthagent watch [--broker HOST:PORT] [--prefix P] [--filter TEXT] [--json]`: the NOC view of many agents over MQTT.
/// Subscribes to &lt;prefix&gt;/+/status, /+/health and /+/event/# and shows a live table (online/offline, worst severity,
/// system LED, last event and its age); --json prints one JSON line per change instead. Reconnects on its own.
/// </summary>
public static class WatchCommand
{
    public const string DefaultPrefix = "healthagent/v1";

    public sealed record Settings(string Host, int Port, string Prefix, string? Filter, bool Json, string? Username = null, string? Password = null);

    public static Command Build()
    {
        var broker = new Option<string>("--broker") { Description = "MQTT broker HOST:PORT", DefaultValueFactory = _ => "127.0.0.1:1883" };
        var prefix = new Option<string>("--prefix") { Description = "Topic prefix the agents publish under", DefaultValueFactory = _ => DefaultPrefix };
        var filter = new Option<string?>("--filter") { Description = "Only agents whose id contains this text" };
        var json = new Option<bool>("--json") { Description = "One JSON line per change (for scripts)" };
        var user = new Option<string?>("--username") { Description = "Broker user name (password from HEALTHAGENT_MQTT_PASSWORD)" };
        var cmd = new Command("watch", "Live table of every agent on a broker (NOC view)") { broker, prefix, filter, json, user };
        cmd.SetAction(async (p, ct) =>
        {
            if (!TryParseBroker(p.GetValue(broker)!, out var host, out var port))
            {
                Console.Error.WriteLine($"--broker: '{p.GetValue(broker)}' is not HOST:PORT");
                return 2;
            }
            var s = new Settings(host, port, p.GetValue(prefix)!, p.GetValue(filter), p.GetValue(json), p.GetValue(user), Environment.GetEnvironmentVariable("HEALTHAGENT_MQTT_PASSWORD"));
            return await RunAsync(s, Console.Out, Console.Error, ct).ConfigureAwait(false);
        });
        return cmd;
    }

    public static bool TryParseBroker(string text, out string host, out int port)
    {
        host = text; port = 1883;
        var i = text.LastIndexOf(':');
        if (i > 0 && !text.EndsWith(']'))
        {
            host = text[..i].Trim('[', ']');
            if (!int.TryParse(text[(i + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535) return false;
        }
        return host.Length > 0;
    }

    /// <summary>Runs until cancelled. Returns 0 after cancellation, 1 when the first connection fails.</summary>
    public static async Task<int> RunAsync(Settings s, TextWriter output, TextWriter error, CancellationToken ct)
    {
        var board = new WatchBoard(s.Prefix, s.Filter);
        var options = new MqttConnection(s.Host, s.Port, true, "healthagent-watch-" + Guid.NewGuid().ToString("N")[..8])
        {
            KeepAliveSeconds = 30, Username = s.Username, Password = s.Password, ConnectTimeout = TimeSpan.FromSeconds(5),
        }.Build();
        // MQTTnet's handler only queues a copy (never block inside its handlers); a slow terminal loses the oldest.
        var messages = Channel.CreateBounded<Message>(new BoundedChannelOptions(10_000) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
        using var client = MqttConnection.CreateClient(options);
        client.ApplicationMessageReceivedAsync += e =>
        {
            messages.Writer.TryWrite(new Message(e.ApplicationMessage.Topic, e.ApplicationMessage.Payload.ToArray()));
            return Task.CompletedTask;
        };
        try { await ConnectAsync(client, options, board, ct).ConfigureAwait(false); }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            error.WriteLine($"watch: cannot connect to {s.Host}:{s.Port}: {MqttConnection.Describe(e)}");
            return 1;
        }
        var reconnect = Task.Run(() => KeepConnectedAsync(client, options, board, error, ct), ct);
        try
        {
            if (s.Json) await JsonLoopAsync(messages.Reader, board, output, ct).ConfigureAwait(false);
            else await TableLoopAsync(messages.Reader, board, output, ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) { }
        try { await reconnect.ConfigureAwait(false); } catch (OperationCanceledException) { }
        try
        {
            using var bye = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await client.DisconnectAsync(cancellationToken: bye.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException) { }
        return 0;
    }

    private sealed record Message(string Topic, byte[] Payload);

    private static async Task ConnectAsync(IMqttClient client, MqttClientOptions options, WatchBoard board, CancellationToken ct)
    {
        var r = await client.ConnectAsync(options, ct).ConfigureAwait(false);
        if (r.ResultCode != MqttClientConnectResultCode.Success) throw new InvalidOperationException("refused: " + MqttConnection.Describe(r));
        var sub = new MqttClientSubscribeOptionsBuilder();
        foreach (var f in board.TopicFilters) sub.WithTopicFilter(t => t.WithTopic(f).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce));
        await client.SubscribeAsync(sub.Build(), ct).ConfigureAwait(false);
    }

    private static async Task KeepConnectedAsync(IMqttClient client, MqttClientOptions options, WatchBoard board, TextWriter error, CancellationToken ct)
    {
        var delay = TimeSpan.FromSeconds(1);
        while (!ct.IsCancellationRequested)
        {
            await Task.Delay(TimeSpan.FromSeconds(1), ct).ConfigureAwait(false);
            if (client.IsConnected) { delay = TimeSpan.FromSeconds(1); continue; }
            try
            {
                await ConnectAsync(client, options, board, ct).ConfigureAwait(false);
                error.WriteLine("watch: reconnected");
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // includes MQTTnet's "connect/disconnect is pending" right after a drop: the next round retries
                error.WriteLine($"watch: reconnect failed ({MqttConnection.Describe(e)}); retrying in {delay.TotalSeconds:0} s");
                await Task.Delay(delay, ct).ConfigureAwait(false);
                delay = TimeSpan.FromSeconds(Math.Min(5, delay.TotalSeconds * 2));
            }
        }
    }

    private static async Task JsonLoopAsync(ChannelReader<Message> messages, WatchBoard board, TextWriter output, CancellationToken ct)
    {
        await foreach (var m in messages.ReadAllAsync(ct).ConfigureAwait(false))
        {
            var now = DateTimeOffset.UtcNow;
            if (board.Apply(m.Topic, m.Payload, now) is { } row)
            {
                await output.WriteLineAsync(WatchBoard.ToJsonLine(row, now)).ConfigureAwait(false);
                await output.FlushAsync(ct).ConfigureAwait(false);
            }
        }
    }

    private static async Task TableLoopAsync(ChannelReader<Message> messages, WatchBoard board, TextWriter output, CancellationToken ct)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(output) });
        var table = Render(board, DateTimeOffset.UtcNow);
        await console.Live(table).AutoClear(false).StartAsync(async ctx =>
        {
            while (!ct.IsCancellationRequested)
            {
                // Redraw on every message, and once a second for the ages.
                using var tick = CancellationTokenSource.CreateLinkedTokenSource(ct);
                tick.CancelAfter(TimeSpan.FromSeconds(1));
                try
                {
                    var m = await messages.ReadAsync(tick.Token).ConfigureAwait(false);
                    board.Apply(m.Topic, m.Payload, DateTimeOffset.UtcNow);
                    while (messages.TryRead(out var more)) board.Apply(more.Topic, more.Payload, DateTimeOffset.UtcNow);
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested) { }
                ctx.UpdateTarget(Render(board, DateTimeOffset.UtcNow));
            }
        }).ConfigureAwait(false);
    }

    internal static Table Render(WatchBoard board, DateTimeOffset now)
    {
        var t = new Table().Border(TableBorder.Rounded).Expand()
            .AddColumns("[bold]agent[/]", "[bold]status[/]", "[bold]worst[/]", "[bold]problems now[/]", "[bold]system LED[/]", "[bold]last event[/]", "[bold]age[/]");
        foreach (var a in board.Agents)
        {
            var status = a.Online switch { true => "[green]● online[/]", false => "[red]○ offline[/]", _ => "[grey]? unknown[/]" };
            var ev = a.LastEvent is { } e
                ? $"{Severity(e.Severity)} {Markup.Escape(e.Component ?? "")}: {Markup.Escape(e.Meaning ?? e.Code ?? "")}"
                : "[grey]—[/]";
            // One line per problem (incident): the part, what it means; "+N" parts follow from it.
            var problems = a.Problems.Count == 0 ? "[grey]none[/]" : string.Join("\n", a.Problems.Select(p =>
                $"{Severity(p.Severity)}{(p.Pending ? " [grey](pending)[/]" : "")} {Markup.Escape(p.Part)}: {Markup.Escape(p.Meaning)}{(p.Consequences > 0 ? $" [grey](+{p.Consequences} affected)[/]" : "")}"));
            t.AddRow(Markup.Escape(a.AgentId), status, Severity(a.Worst), problems, Markup.Escape(a.SystemLed ?? "—"), ev,
                a.LastEvent is { } le ? Age(now - le.Time) : "[grey]—[/]");
        }
        if (board.Agents.Count == 0) t.Caption("[grey]waiting for agents…[/]");
        return t;
    }

    private static string Severity(string? s) => s switch
    {
        "critical" => "[bold red]✖ critical[/]",
        "warning" => "[bold yellow]⚠ warning[/]",
        "info" => "[blue]ℹ info[/]",
        "ok" => "[green]✔ ok[/]",
        null => "[grey]—[/]",
        _ => Markup.Escape(s),
    };

    private static string Age(TimeSpan d) => d.TotalSeconds switch
    {
        < 60 => $"{Math.Max(0, d.TotalSeconds):0} s",
        < 3600 => $"{d.TotalMinutes:0} min",
        < 86400 => $"{d.TotalHours:0} h",
        _ => $"{d.TotalDays:0} d",
    };
}
