using System.Text.Json.Nodes;
using HealthAgent.Model;
using HealthAgent.Pipeline;
using HealthAgent.TestSupport;
using Microsoft.Extensions.Logging;
using static HealthAgent.Tests.Pipeline.PipelineFixtures;

namespace HealthAgent.Tests.Publishing.Mqtt;

/// <summary>The agent against a real mosquitto: topic tree, will, clean stop, outages and crashes.</summary>
public class MqttPublisherEndToEndTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);

    private static async Task<string> RetainedAsync(MosquittoBroker broker, string topic)
    {
        var r = await MosquittoClients.SubAsync(broker, ["-t", topic, "-C", "1", "-W", "5"]);
        Assert.True(r.ExitCode == 0, $"no retained message on {topic}: {r.StandardError}");
        return r.StandardOutput.Trim();
    }

    [Fact]
    public async Task PsuFails_StateEventAndRollupReachMosquittoSub()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        using var dir = new AgentDir(broker);
        await using var agent = new InProcessAgent(dir);
        await agent.WaitOnlineAsync();
        agent.Source.Set(Psu("solid green"));
        var sub = await MosquittoClients.StartSubAsync(broker, ["-t", dir.Root + "/event/#", "-C", "1", "-W", "10", "-q", "1"]);
        agent.Source.Set(Psu("blinking amber"));

        var ev = JsonNode.Parse((await sub).StandardOutput)!.AsObject();
        Assert.Equal("healthagent/v1/event", (string?)ev["schema"]);
        Assert.Equal("raised", (string?)ev["kind"]);
        Assert.Equal("psu.fault", (string?)ev["code"]);
        Assert.Equal("critical", (string?)ev["severity"]);
        Assert.Equal("failed", (string?)ev["state"]);
        Assert.Equal("psu.problem", (string?)ev["ruleId"]);
        Assert.Equal("blinking amber", (string?)ev["led"]!["text"]);
        Assert.Equal("ok", (string?)ev["from"]!["severity"]);
        Assert.Equal("psu:1", (string?)ev["component"]!["id"]);
        Assert.Equal("test-agent", (string?)ev["agentId"]);
        Assert.True(Guid.TryParse((string?)ev["eventId"], out _));
        Assert.Contains("PSU", (string?)ev["meaning"], StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty((string?)ev["action"]));

        var state = JsonNode.Parse(await RetainedAsync(broker, dir.Root + "/state/power_supply/psu:1"))!.AsObject();
        Assert.Equal("healthagent/v1/state", (string?)state["schema"]);
        Assert.Equal("psu.fault", (string?)state["code"]);
        Assert.Equal("blinking amber", (string?)state["led"]!["text"]);
        Assert.Equal("blinking", (string?)state["led"]!["leds"]!["status"]!["pattern"]);

        var health = JsonNode.Parse(await RetainedAsync(broker, dir.Root + "/health"))!.AsObject();
        Assert.Equal("critical", (string?)health["worst"]);
        Assert.Equal(1, (int?)health["counts"]!["critical"]);
        Assert.Equal("blinking amber", (string?)health["systemLed"]!["text"]);
        Assert.True((bool?)health["systemLedDerived"]);

        Assert.Equal("online", await RetainedAsync(broker, dir.Root + "/status"));
        var info = JsonNode.Parse(await RetainedAsync(broker, dir.Root + "/info"))!.AsObject();
        Assert.Equal("healthagent/v1/info", (string?)info["schema"]);
        Assert.False(string.IsNullOrEmpty((string?)info["rulesVersion"]));
    }

    /// <summary>Collects log lines (a real ILoggerProvider).</summary>
    private sealed class ListLogger : Microsoft.Extensions.Logging.ILoggerProvider, Microsoft.Extensions.Logging.ILogger
    {
        public readonly System.Collections.Concurrent.ConcurrentQueue<string> Lines = new();
        public Microsoft.Extensions.Logging.ILogger CreateLogger(string categoryName) => this;
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;
        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Lines.Enqueue(formatter(state, exception));
        public void Dispose() { }
    }

    [Fact]
    public async Task NoBrokerReachable_AgentKeepsRunningQueuesAndSaysSoOnce()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        using var dir = new AgentDir(broker);
        await broker.StopAsync(); // the configured port now refuses connections
        var log = new ListLogger();
        using var loggers = Microsoft.Extensions.Logging.LoggerFactory.Create(b => b.AddProvider(log).SetMinimumLevel(Microsoft.Extensions.Logging.LogLevel.Debug));
        await using var agent = new InProcessAgent(dir, loggers);
        agent.Source.Set(Psu("solid green"));
        agent.Source.Set(Psu("blinking amber"));
        agent.Source.Set(Psu("off"));
        await Task.Delay(3000); // several reconnect attempts (backoff from 0.5 s, at most 1 s here)
        Assert.Equal(2, agent.Publisher.Outbox.Count);
        Assert.Equal(1, log.Lines.Count(l => l.Contains("unreachable", StringComparison.Ordinal)));
        Assert.Equal(2, agent.Pipeline.History().Count);

        await broker.RestartAsync();
        await agent.WaitOnlineAsync(TimeSpan.FromSeconds(10));
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (agent.Publisher.Outbox.Count > 0 && DateTime.UtcNow < deadline) await Task.Delay(50);
        Assert.Equal(0, agent.Publisher.Outbox.Count);
    }

    [Fact]
    public async Task BrokerRestartedWithoutPersistence_RetainedTopicsRepublishedAfterReconnect()
    {
        await using var broker = await MosquittoBroker.StartAsync(); // no persistence: a restart forgets retained messages
        using var dir = new AgentDir(broker);
        await using var agent = new InProcessAgent(dir);
        await agent.WaitOnlineAsync();
        agent.Source.Set(Psu("off"));
        await Task.Delay(300);
        await broker.RestartAsync();
        await Task.Delay(200);
        await agent.WaitOnlineAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("psu.no_input", (string?)JsonNode.Parse(await RetainedAsync(broker, dir.Root + "/state/power_supply/psu:1"))!["code"]);
        Assert.Equal("warning", (string?)JsonNode.Parse(await RetainedAsync(broker, dir.Root + "/health"))!["worst"]);
        Assert.Equal("online", await RetainedAsync(broker, dir.Root + "/status"));
    }

    [Fact]
    public async Task CmdRepublish_RepliesWithCorrelationId()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        using var dir = new AgentDir(broker);
        await using var agent = new InProcessAgent(dir);
        await agent.WaitOnlineAsync();
        await Task.Delay(200); // let the SUBSCRIBE to cmd/+ complete
        var sub = await MosquittoClients.StartSubAsync(broker, ["-t", dir.Root + "/reply/#", "-C", "2", "-W", "10"]);
        await MosquittoClients.PubAsync(broker, ["-t", dir.Root + "/cmd/republish", "-m", "{\"correlationId\":\"abc\"}", "-q", "1"]);
        await MosquittoClients.PubAsync(broker, ["-t", dir.Root + "/cmd/identify", "-m", "{\"componentId\":\"psu:1\",\"on\":true}", "-q", "1"]);
        var lines = (await sub).StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        var republish = lines.Single(l => (string?)l["verb"] == "republish");
        Assert.True((bool?)republish["ok"]);
        Assert.Equal("abc", (string?)republish["correlationId"]);
        var identify = lines.Single(l => (string?)l["verb"] == "identify");
        Assert.False((bool?)identify["ok"]); // the scripted source has no identify LED
    }

    [Fact]
    [Trait(AgentCommand.Category, AgentCommand.Process)]
    public async Task AgentProcessKilled_WillPublishesOffline()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        using var dir = new AgentDir(broker);
        await using var agent = new AgentProcess(dir);
        await agent.WaitForOutputAsync("MQTT: connected", Wait);
        await Task.Delay(100);
        Assert.Equal("online", await RetainedAsync(broker, dir.Root + "/status"));
        var sub = await MosquittoClients.StartSubAsync(broker, ["-t", dir.Root + "/status", "-R", "-C", "1", "-W", "10"]);
        agent.Kill();
        Assert.Equal("offline", (await sub).StandardOutput.Trim());
    }

    [Fact]
    [Trait(AgentCommand.Category, AgentCommand.Process)]
    public async Task AgentProcessSigterm_PublishesOfflineAndExitsZero()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        using var dir = new AgentDir(broker, willDelaySeconds: 30); // a will could not arrive within this test
        await using var agent = new AgentProcess(dir);
        await agent.WaitForOutputAsync("MQTT: connected", Wait);
        await Task.Delay(100);
        var sub = await MosquittoClients.StartSubAsync(broker, ["-t", dir.Root + "/status", "-R", "-C", "1", "-W", "5"]);
        Assert.Equal(0, await agent.TerminateAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal("offline", (await sub).StandardOutput.Trim());
        Assert.Contains("MQTT: stopped", agent.Output, StringComparison.Ordinal);
    }

    [Fact]
    [Trait(AgentCommand.Category, AgentCommand.Process)]
    public async Task RunWithInvalidMqttOptions_ExitsOneListingEveryError()
    {
        var dir = Directory.CreateTempSubdirectory("healthagent-badconfig-").FullName;
        try
        {
            var config = Path.Combine(dir, "agent.json");
            await File.WriteAllTextAsync(config, """{ "publishers": { "mqtt": { "port": 70000, "willDelaySeconds": 31 } } }""");
            var r = await AgentCommand.RunAsync(["run", "--config", config], TimeSpan.FromSeconds(30));
            Assert.Equal(1, r.ExitCode);
            Assert.Contains("publishers.mqtt.port", r.StandardError, StringComparison.Ordinal);
            Assert.Contains("publishers.mqtt.willDelaySeconds", r.StandardError, StringComparison.Ordinal);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public async Task BrokerDownTenSecondsDuringStream_EveryEventArrivesInOrderOnce()
    {
        await using var broker = await MosquittoBroker.StartAsync(Collector.QueueEverything(persistence: true));
        using var dir = new AgentDir(broker);
        await using var collector = await Collector.StartAsync(broker, dir.Root + "/event/#");
        await using var agent = new InProcessAgent(dir);
        await agent.WaitOnlineAsync();

        var flips = 0;
        async Task StreamAsync(TimeSpan duration)
        {
            var end = DateTime.UtcNow + duration;
            while (DateTime.UtcNow < end)
            {
                agent.Source.Set(Psu(flips++ % 2 == 0 ? "blinking amber" : "solid green"));
                await Task.Delay(50);
            }
        }
        await StreamAsync(TimeSpan.FromSeconds(1));
        await broker.StopAsync();
        await StreamAsync(TimeSpan.FromSeconds(10));
        await broker.RestartAsync();
        await StreamAsync(TimeSpan.FromSeconds(1));

        await Task.Delay(300); // the state loop has taken every flip
        var sent = agent.Pipeline.History(10_000).OrderBy(e => e.Seq).ToList();
        Assert.True(sent.Count >= 100, $"only {sent.Count} events");
        await collector.WaitForAsync(m => m.Select(j => (string?)j["eventId"]).Distinct().Count() >= sent.Count, TimeSpan.FromSeconds(20));

        var received = collector.Messages.Select(m => m.Json).ToList();
        var firstSeen = received.Select(j => (long)j["seq"]!).Distinct().ToList();
        Assert.Equal(sent.Select(e => e.Seq), firstSeen);                       // every event, in order
        Assert.Equal(sent.Select(e => e.EventId.ToString()), received.Select(j => (string)j["eventId"]!).Distinct());
        Assert.Equal(0, agent.Publisher.Outbox.Count);
    }

    [Fact]
    [Trait(AgentCommand.Category, AgentCommand.Process)]
    public async Task AgentKilledMidStreamAndRestarted_NoEventLost()
    {
        await using var broker = await MosquittoBroker.StartAsync(Collector.QueueEverything());
        using var dir = new AgentDir(broker);
        // Events queued by an earlier run while the broker was away: the outbox the agent replays on start.
        const int total = 5000;
        var topic = dir.Root + "/event/power_supply/psu:1";
        var ids = new List<Guid>();
        using (var outbox = new Outbox(Path.Combine(dir.StateDirectory, "state.db")))
            for (var i = 1; i <= total; i++)
            {
                var id = Guid.NewGuid();
                ids.Add(id);
                outbox.Add(new OutboxEntry(id, i, topic, System.Text.Encoding.UTF8.GetBytes($"{{\"eventId\":\"{id}\",\"seq\":{i}}}"), false));
            }
        await using var collector = await Collector.StartAsync(broker, dir.Root + "/event/#");

        await using (var first = new AgentProcess(dir))
        {
            await collector.WaitForAsync(m => m.Count >= 1, Wait);
            first.Kill(); // SIGKILL mid-replay
        }
        var beforeRestart = collector.Messages.Count;
        await using var second = new AgentProcess(dir);
        await collector.WaitForAsync(m => m.Select(j => (string?)j["eventId"]).Distinct().Count() >= total, TimeSpan.FromSeconds(30));

        var order = collector.Messages.Select(m => (string)m.Json["eventId"]!).Distinct().ToList();
        Assert.Equal(ids.Select(i => i.ToString()), order);
        Assert.True(beforeRestart < total, "the first run finished before it was killed; the test proves nothing");
    }
}
