using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using HealthAgent.Cli;
using HealthAgent.TestSupport;

namespace HealthAgent.Tests.Cli;

public sealed class WatchBoardTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 21, 20, 0, 0, TimeSpan.Zero);
    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    [Fact]
    public void Apply_HealthWithProblems_EachAgentShowsItsProblemsNotOnlyItsWorst()
    {
        var board = new WatchBoard("healthagent/v1");
        var row = board.Apply("healthagent/v1/rec-1/health", B("""
            {"schema":"healthagent/v2/health","worst":"critical","counts":{"critical":1},"problems":[
              {"id":"1","severity":"critical","since":"2026-12-04T12:00:00Z","root":{"part":{"id":"psu:2","name":"PSU 2"},"meaning":"Indicates a problem with the PSU.","action":"Replace it."},
               "consequences":[{"part":{"id":"system","name":"System health indicator"}},{"part":{"id":"redundancy","name":"PSU redundancy"}}]}]}
            """), Now)!;
        var p = Assert.Single(row.Problems);
        Assert.Equal(("PSU 2", "critical", "Indicates a problem with the PSU.", 2), (p.Part, p.Severity, p.Meaning, p.Consequences));
        var line = JsonNode.Parse(WatchBoard.ToJsonLine(row, Now))!;
        Assert.Equal("PSU 2", (string?)line["problems"]![0]!["part"]);
        var table = new StringWriter();
        var console = Spectre.Console.AnsiConsole.Create(new Spectre.Console.AnsiConsoleSettings { Out = new Spectre.Console.AnsiConsoleOutput(table), ColorSystem = Spectre.Console.ColorSystemSupport.NoColors });
        console.Profile.Width = 400;
        console.Write(WatchCommand.Render(board, Now));
        Assert.Contains("PSU 2: Indicates a problem with the PSU. (+2 affected)", table.ToString().Replace("\n", " ", StringComparison.Ordinal), StringComparison.Ordinal);
    }

    [Fact]
    public void Apply_StatusHealthEvent_BuildsTheRow()
    {
        var board = new WatchBoard("healthagent/v1");
        Assert.NotNull(board.Apply("healthagent/v1/rec-1/status", B("online"), Now));
        Assert.NotNull(board.Apply("healthagent/v1/rec-1/health", B("""{"worst":"critical","counts":{"ok":5,"critical":1},"systemLed":{"text":"blinking amber","leds":{}}}"""), Now));
        var row = board.Apply("healthagent/v1/rec-1/event/power_supply/psu:2",
            B("""{"code":"psu.fault","severity":"critical","meaning":"Indicates a problem with the PSU.","component":{"id":"psu:2","name":"PSU 2"},"time":"2026-11-21T19:59:00Z"}"""), Now)!;
        Assert.True(row.Online);
        Assert.Equal("critical", row.Worst);
        Assert.Equal("blinking amber", row.SystemLed);
        Assert.Equal(1, row.Counts["critical"]);
        Assert.Equal(new WatchEvent("psu.fault", "critical", "Indicates a problem with the PSU.", "PSU 2", Now.AddMinutes(-1)), row.LastEvent);
        var line = JsonNode.Parse(WatchBoard.ToJsonLine(row, Now))!;
        Assert.Equal(60, line["lastEvent"]!["ageSeconds"]!.GetValue<double>());
    }

    [Theory]
    [InlineData("healthagent/v1/rec-1/health", "{not json")]
    [InlineData("healthagent/v1/rec-1/health", "[1,2]")]
    [InlineData("healthagent/v1/rec-1/status", "maybe")]
    [InlineData("healthagent/v1/rec-1/event/x/y", "{\"unrelated\":true}")]
    [InlineData("healthagent/v1/rec-1/event/x/y", "\u00ff\u00fe")]
    public void Apply_UnreadablePayload_LeavesRowAndCounts(string topic, string payload)
    {
        var board = new WatchBoard("healthagent/v1");
        board.Apply("healthagent/v1/rec-1/status", B("online"), Now);
        Assert.Null(board.Apply(topic, B(payload), Now));
        Assert.Equal(1, board.Unreadable);
        Assert.True(Assert.Single(board.Agents).Online);
    }

    [Fact]
    public void Apply_OtherPrefixOrFilteredAgent_IsIgnored()
    {
        var board = new WatchBoard("healthagent/v1", filter: "rec");
        Assert.Null(board.Apply("other/v1/rec-1/status", B("online"), Now));
        Assert.Null(board.Apply("healthagent/v1/terminal-9/status", B("online"), Now));
        Assert.Null(board.Apply("healthagent/v1/rec-1/state/psu/x", B("{}"), Now));
        Assert.NotNull(board.Apply("healthagent/v1/REC-2/status", B("offline"), Now));
        Assert.False(Assert.Single(board.Agents).Online);
    }

    [Fact]
    public void Render_Table_HasOneRowPerAgentWithWords()
    {
        var board = new WatchBoard("p");
        board.Apply("p/a/status", B("online"), Now);
        board.Apply("p/b/status", B("offline"), Now);
        var w = new StringWriter();
        var c = Spectre.Console.AnsiConsole.Create(new Spectre.Console.AnsiConsoleSettings { Out = new Spectre.Console.AnsiConsoleOutput(w), Ansi = Spectre.Console.AnsiSupport.No, ColorSystem = Spectre.Console.ColorSystemSupport.NoColors });
        c.Write(WatchCommand.Render(board, Now));
        var text = w.ToString();
        Assert.Contains("online", text, StringComparison.Ordinal);
        Assert.Contains("offline", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("127.0.0.1:1883", "127.0.0.1", 1883, true)]
    [InlineData("broker.lan", "broker.lan", 1883, true)]
    [InlineData("[::1]:8883", "::1", 8883, true)]
    [InlineData("host:99999", "host", 0, false)]
    public void TryParseBroker_Forms(string text, string host, int port, bool ok)
    {
        Assert.Equal(ok, WatchCommand.TryParseBroker(text, out var h, out var p));
        if (ok) { Assert.Equal(host, h); Assert.Equal(port, p); }
    }
}

public sealed class WatchCommandTests
{
    private const string Prefix = "healthagent/v1";

    /// <summary>
    /// Two agents on a real mosquitto: agent-a's status comes from a long-lived mosquitto_pub holding a will
    /// (offline, retained); agent-b publishes retained status and health. Killing agent-a's process drops its socket
    /// without DISCONNECT, the broker publishes the will, and `watch --json` shows agent-a offline.
    /// </summary>
    [Fact]
    public async Task WatchJson_TwoAgents_OneGoesOfflineByItsWill()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        var port = broker.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        using var agentA = Process.Start(new ProcessStartInfo("mosquitto_pub",
            ["-h", broker.Host, "-p", port, "-i", "agent-a", "-q", "1", "-r", "-t", $"{Prefix}/agent-a/status", "-l",
             "--will-topic", $"{Prefix}/agent-a/status", "--will-payload", "offline", "--will-retain", "--will-qos", "1"])
        { RedirectStandardInput = true, UseShellExecute = false })!;
        try
        {
            await agentA.StandardInput.WriteLineAsync("online");
            await agentA.StandardInput.FlushAsync();
            await Pub(broker, "-r", "-t", $"{Prefix}/agent-a/health", "-m", """{"worst":"ok","counts":{"ok":9},"systemLed":{"text":"solid blue"}}""");
            await Pub(broker, "-r", "-t", $"{Prefix}/agent-b/status", "-m", "online");
            await Pub(broker, "-r", "-t", $"{Prefix}/agent-b/health", "-m", """{"worst":"critical","counts":{"ok":7,"critical":2},"systemLed":{"text":"blinking amber"}}""");

            var output = new LineWriter();
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            var watch = WatchCommand.RunAsync(new WatchCommand.Settings(broker.Host, broker.Port, Prefix, null, Json: true), output, TextWriter.Null, cts.Token);

            await output.WaitForAsync(l => Is(l, "agent-a", online: true) && l["worst"]?.GetValue<string>() is not null, cts.Token);
            await output.WaitForAsync(l => Is(l, "agent-b", online: true) && l["systemLed"]?.GetValue<string>() == "blinking amber", cts.Token);

            // An event while watching: agent-b's PSU.
            await Pub(broker, "-q", "1", "-t", $"{Prefix}/agent-b/event/power_supply/psu_2",
                "-m", """{"code":"psu.fault","severity":"critical","meaning":"Indicates a problem with the PSU.","component":{"id":"psu:2","name":"PSU 2"}}""");
            var ev = await output.WaitForAsync(l => Is(l, "agent-b", online: true) && l["lastEvent"]?["code"]?.GetValue<string>() == "psu.fault", cts.Token);
            Assert.Equal("PSU 2", ev["lastEvent"]!["component"]!.GetValue<string>());

            agentA.Kill(); // SIGKILL: the socket closes without DISCONNECT → the broker sends the will [MQTT-3.1.2-8]
            var off = await output.WaitForAsync(l => Is(l, "agent-a", online: false), cts.Token);
            Assert.Equal("ok", off["worst"]!.GetValue<string>()); // the rest of the row is kept
            Assert.DoesNotContain(output.Lines, l => Is(l, "agent-b", online: false));

            await cts.CancelAsync();
            Assert.Equal(0, await watch);
        }
        finally
        {
            if (!agentA.HasExited) agentA.Kill();
        }
    }

    [Fact]
    public async Task Watch_NoBroker_FailsWithAClearMessage()
    {
        var error = new StringWriter();
        var rc = await WatchCommand.RunAsync(new WatchCommand.Settings("127.0.0.1", MosquittoBroker.GetFreePort(), Prefix, null, Json: true), TextWriter.Null, error, CancellationToken.None);
        Assert.Equal(1, rc);
        Assert.Contains("cannot connect to 127.0.0.1:", error.ToString(), StringComparison.Ordinal);
    }

    private static bool Is(JsonNode l, string agent, bool online) =>
        l["agent"]?.GetValue<string>() == agent && l["online"]?.GetValue<bool>() == online;

    private static async Task Pub(MosquittoBroker broker, params string[] args)
    {
        var r = await MosquittoClients.PubAsync(broker, args);
        Assert.True(r.ExitCode == 0, r.StandardError);
    }

    /// <summary>Collects the JSON lines `watch --json` prints and lets a test wait for one.</summary>
    private sealed class LineWriter : TextWriter
    {
        private readonly StringBuilder _partial = new();
        private readonly List<JsonNode> _lines = [];
        private readonly SemaphoreSlim _signal = new(0);

        public override Encoding Encoding => Encoding.UTF8;
        public IReadOnlyList<JsonNode> Lines { get { lock (_lines) { return [.. _lines]; } } }

        public override void Write(char value)
        {
            lock (_lines)
            {
                if (value != '\n') { _partial.Append(value); return; }
                _lines.Add(JsonNode.Parse(_partial.ToString())!); // every line must be JSON
                _partial.Clear();
            }
            _signal.Release();
        }

        public async Task<JsonNode> WaitForAsync(Func<JsonNode, bool> match, CancellationToken ct)
        {
            while (true)
            {
                if (Lines.FirstOrDefault(match) is { } hit) return hit;
                await _signal.WaitAsync(ct);
            }
        }
    }
}
