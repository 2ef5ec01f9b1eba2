using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using HealthAgent.Config;
using HealthAgent.Model;
using HealthAgent.Pipeline;
using HealthAgent.Rules;
using HealthAgent.Sources;
using HealthAgent.Sources.FrontPanel;
using HealthAgent.TestSupport;
using HealthAgent.Tests.Pipeline;
using HealthAgent.Tests.Publishing.Mqtt;
using HealthAgent.Tests.Sources.FrontPanel;
using Microsoft.Extensions.Logging.Abstractions;

namespace HealthAgent.Tests.Incidents;

/// <summary>One PSU failure seen by the front panel and the BMC, against a real mosquitto, watched with mosquitto_sub.</summary>
public class IncidentMqttEndToEndTests
{
    private static readonly RuleSet Rules = RuleLoader.LoadEmbedded().Rules!;

    private static Observation Led(string id, string family, string led, string? derivation = null) =>
        new(new ComponentRef(id, Rules.FindFamily(family)!.HwType, id, Family: family, Derivation: derivation), [], LedText.ParseIndicator(led, Rules.FindFamily(family)!.Leds));

    private static Observation Redundancy(string health, double spare) =>
        new(new ComponentRef("redfish:bmc:psu-redundancy:1", "power_supply", "PSU redundancy", Derivation: "redfish.psu-redundancy"),
            [new Reading("health", health), new Reading("dellRedundancy", null, Reason: "none"), new Reading("psuBays", 2.0), new Reading("sparePsus", spare)]);

    [Fact]
    public async Task Psu2Fails_PanelAndBmc_ExactlyOneRaisedEventOnTheBroker_HealthHasOneProblem_ReloadRepublishesInfo()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        using var dir = new AgentDir(broker);
        var source = new ScriptedSource("frontPanel");
        await using var agent = new InProcessAgent(dir, source: source, rules: Rules);
        await agent.WaitOnlineAsync();
        source.Set(Led("panel:psu:2", "psu", "solid green"));
        source.Set(Led("panel:system:1", "system", "solid blue"));
        source.Set(Led("redfish:bmc:psu:PSU2", "psu", "solid green"));
        source.Set(Redundancy("OK", 1));
        await Task.Delay(500);

        var sub = await MosquittoClients.StartSubAsync(broker, ["-t", dir.Root + "/event/#", "-C", "1", "-W", "12", "-q", "1"]);
        source.Set(Led("panel:system:1", "system", "blinking amber"));   // the panel first …
        source.Set(Led("panel:psu:2", "psu", "blinking amber"));
        await Task.Delay(800);
        source.Set(Led("redfish:bmc:psu:PSU2", "psu", "blinking amber")); // … the BMC a moment later
        source.Set(Redundancy("Critical", 0));

        var r = await sub;
        Assert.True(r.ExitCode == 0, $"no event on the broker: {r.StandardError}");
        var ev = JsonNode.Parse(r.StandardOutput)!.AsObject();
        await Task.Delay(1500);
        Assert.Single(agent.Pipeline.History()); // one fault, one event (the history holds what was published)
        Assert.Equal(("healthagent/v2/event", "raised", "psu:2", "critical"),
            ((string?)ev["schema"], (string?)ev["kind"], (string?)ev["component"]!["id"], (string?)ev["severity"]));
        var codes = ev["incident"]!["consequences"]!.AsArray().Select(c => (string?)c!["code"]).ToList();
        Assert.Contains("psu.redundancy_lost", codes);
        Assert.Contains("system.fault", codes);

        var health = JsonNode.Parse((await MosquittoClients.SubAsync(broker, ["-t", dir.Root + "/health", "-C", "1", "-W", "5"])).StandardOutput)!;
        var problem = Assert.Single(health["problems"]!.AsArray())!;
        Assert.Equal("PSU 2", (string?)problem["root"]!["part"]!["name"]);

        // Rules held once: a reload reaches the retained info.
        agent.Config.RuleHolder.Replace(Rules with { Version = "reloaded-0001" });
        var info = JsonNode.Parse((await MosquittoClients.SubAsync(broker, ["-t", dir.Root + "/info", "-C", "1", "-W", "5"])).StandardOutput)!;
        Assert.Equal("reloaded-0001", (string?)info["rulesVersion"]);
    }

    /// <summary>
    /// Issue 13 leftover: the panel reports its LEDs one line at a time, and health was published once per line. A real
    /// front panel on a pseudo-terminal sends six LED changes in one burst (four NIC ports lose their link, two come back
    /// at a lower speed): a mosquitto_sub on health and events sees six events — one per incident change, none held back
    /// — and ONE health message, which carries the final state.
    /// </summary>
    [Fact]
    public async Task PanelBurstOnPty_SixLedLines_SixEvents_OneHealthWithTheFinalState()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        using var dir = new AgentDir(broker);
        using var pty = new PanelPty(Path.Combine(dir.Path, "panel"));
        // heartbeat check off for the test (3600 s): the LEDs stay known without a heartbeat line every second
        var panel = new FrontPanelSource(new FrontPanelOptions { Enabled = true, Device = pty.Link, HeartbeatSeconds = 3600 },
            new SourceContext(NullLoggerFactory.Instance, Rules, TimeProvider.System));
        await using var agent = new InProcessAgent(dir, source: panel, options: new SourceOptions { IntervalSeconds = 3600 }, rules: Rules);
        await agent.WaitOnlineAsync();
        Assert.True(await Task.Run(() => pty.WaitForSync(TimeSpan.FromSeconds(10))), "the panel source never sent SYNC");
        for (var n = 1; n <= 4; n++) pty.Led("nic", n.ToString(CultureInfo.InvariantCulture), "link solid green; activity off");
        pty.Led("psu", "1", "solid green");
        pty.Heartbeat(1);
        await WaitForHealthAsync(broker, dir, h => (int?)h["counts"]?["ok"] == 5);

        using var sub = await LineSubscriber.StartAsync(broker, "-t", dir.Root + "/health", "-t", dir.Root + "/event/#");
        pty.Write(string.Concat(
            FrontPanelParser.Frame("LED nic 1 link off; activity off"), FrontPanelParser.Frame("LED nic 2 link off; activity off"),
            FrontPanelParser.Frame("LED nic 3 link off; activity off"), FrontPanelParser.Frame("LED nic 4 link off; activity off"),
            FrontPanelParser.Frame("LED nic 1 link solid amber; activity off"), FrontPanelParser.Frame("LED nic 2 link solid amber; activity off")));

        // Until the health that reflects the last line is in, then as long again as a burst may be held: nothing more.
        var final = await sub.WaitForAsync(l => l.Topic.EndsWith("/health", StringComparison.Ordinal)
            && l.Json["problems"]!.AsArray().Count(p => (string?)p!["root"]!["led"]?["text"] == "link solid amber; activity off") == 2, TimeSpan.FromSeconds(20));
        await Task.Delay(HealthPipeline.PublishMaxDelay + HealthPipeline.PublishQuiet);
        var lines = sub.Lines.ToList();
        var health = lines.Where(l => l.Topic.EndsWith("/health", StringComparison.Ordinal)).ToList();
        var events = lines.Where(l => l.Topic.Contains("/event/", StringComparison.Ordinal)).Select(l => ((string?)l.Json["kind"], (string?)l.Json["component"]!["id"])).ToList();
        Assert.True(health.Count == 1, $"{health.Count} health messages for one burst:\n" + string.Join("\n", health.Select(h => h.Json["counts"]!.ToJsonString())));
        Assert.Same(final.Json, health[0].Json);
        Assert.Equal([("raised", "nic:1"), ("raised", "nic:2"), ("raised", "nic:3"), ("raised", "nic:4"), ("changed", "nic:1"), ("changed", "nic:2")], events);
        Assert.Equal(("warning", 4, 4), ((string?)final.Json["worst"], final.Json["problems"]!.AsArray().Count, (int?)final.Json["counts"]!["warning"]));
        await PayloadSchemas.AssertValidAsync(("health.json", final.Json));
    }

    private static async Task<JsonNode> WaitForHealthAsync(MosquittoBroker broker, AgentDir dir, Func<JsonNode, bool> done)
    {
        var sw = Stopwatch.StartNew();
        while (true)
        {
            var r = await MosquittoClients.SubAsync(broker, ["-t", dir.Root + "/health", "-C", "1", "-W", "2"]);
            if (r.ExitCode == 0 && JsonNode.Parse(r.StandardOutput) is { } h && done(h)) return h;
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(20), "health never got there: " + r.StandardOutput);
            await Task.Delay(100);
        }
    }

    /// <summary>A running `mosquitto_sub -v -R` (new messages only, in the order the broker sends them to one client), line by line.</summary>
    private sealed class LineSubscriber : IDisposable
    {
        private readonly Process _p;
        public readonly ConcurrentQueue<(string Topic, JsonNode Json)> Lines = new();

        private LineSubscriber(MosquittoBroker broker, string id, string[] filters)
        {
            _p = Process.Start(new ProcessStartInfo("mosquitto_sub", ["-h", broker.Host, "-p", broker.Port.ToString(CultureInfo.InvariantCulture), "-i", id, "-q", "1", "-v", "-R", .. filters])
                { RedirectStandardOutput = true, UseShellExecute = false })!;
            _p.OutputDataReceived += (_, e) =>
            {
                if (e.Data?.Split(' ', 2) is [var topic, var payload]) Lines.Enqueue((topic, JsonNode.Parse(payload)!));
            };
            _p.BeginOutputReadLine();
        }

        public static async Task<LineSubscriber> StartAsync(MosquittoBroker broker, params string[] filters)
        {
            var id = "burst-" + Guid.NewGuid().ToString("N")[..8];
            var s = new LineSubscriber(broker, id, filters);
            var sw = Stopwatch.StartNew();
            while (!broker.Log.Contains($"Received SUBSCRIBE from {id}", StringComparison.Ordinal))
            {
                Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), "mosquitto_sub never subscribed");
                await Task.Delay(20);
            }
            await Task.Delay(100); // SUBACK
            return s;
        }

        public async Task<(string Topic, JsonNode Json)> WaitForAsync(Func<(string Topic, JsonNode Json), bool> match, TimeSpan timeout)
        {
            var sw = Stopwatch.StartNew();
            while (true)
            {
                foreach (var l in Lines) if (match(l)) return l;
                Assert.True(sw.Elapsed < timeout, "not seen; lines:\n" + string.Join("\n", Lines.Select(l => l.Topic + " " + l.Json.ToJsonString())));
                await Task.Delay(50);
            }
        }

        public void Dispose()
        {
            try { _p.Kill(); _p.WaitForExit(5000); } catch (InvalidOperationException) { }
            _p.Dispose();
        }
    }
}
