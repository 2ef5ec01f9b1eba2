using System.Buffers;
using System.Diagnostics;
using System.Text;
using HealthAgent.Pipeline;
using HealthAgent.TestSupport;
using Microsoft.Extensions.Logging;
using MQTTnet;
using MQTTnet.Formatter;
using Xunit.Abstractions;

namespace HealthAgent.Tests.Publishing.Mqtt;

/// <summary>
/// The publisher on MQTTnet against a real mosquitto that goes away, freezes, restarts in a storm, and an agent that
/// is killed at the worst moment: reconnect time, dead-broker detection, offline once, no event lost.
/// </summary>
public class MqttPublisherResilienceTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    /// <summary>Connects a plain MQTTnet client and returns when it receives <paramref name="payload"/> on <paramref name="topic"/> (retained or live).</summary>
    private static async Task<TimeSpan> TimeUntilAsync(MosquittoBroker broker, string topic, string payload, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        var got = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var client = new MqttClientFactory().CreateMqttClient();
        client.ApplicationMessageReceivedAsync += e =>
        {
            if (Encoding.UTF8.GetString(e.ApplicationMessage.Payload.ToArray()) == payload) got.TrySetResult();
            return Task.CompletedTask;
        };
        await client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer(broker.Host, broker.Port).WithProtocolVersion(MqttProtocolVersion.V500).Build());
        await client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter(f => f.WithTopic(topic).WithAtLeastOnceQoS()).Build());
        await got.Task.WaitAsync(timeout);
        return sw.Elapsed;
    }

    /// <summary>
    /// Issue #15: with the broker back after an outage the agent took 25 s to reconnect (exponential backoff to 30 s),
    /// and a broker without persistence showed no state meanwhile. The attempts while the broker is unreachable are now
    /// capped at ~1 s, whatever reconnectMaxDelaySeconds says: `online` is retained again within about a second.
    /// </summary>
    [Fact]
    public async Task BrokerBackAfterFifteenSecondOutage_OnlineRetainedAgainWithinTwoSeconds()
    {
        await using var broker = await MosquittoBroker.StartAsync(); // no persistence: the restart forgets every retained message
        using var dir = new AgentDir(broker, reconnectMaxDelaySeconds: 30); // the shipped default
        await using var agent = new InProcessAgent(dir);
        await agent.WaitOnlineAsync();
        await broker.StopAsync();
        await Task.Delay(TimeSpan.FromSeconds(15)); // an exponential backoff would now wait 8–16 s between attempts
        Assert.False(agent.Publisher.IsOnline);

        await broker.RestartAsync(); // same port; returns once it accepts connections
        var back = await TimeUntilAsync(broker, dir.Root + "/status", "online", TimeSpan.FromSeconds(30));
        output.WriteLine($"online retained again {back.TotalMilliseconds:0} ms after the broker accepted connections");
        // Goal 2 s (cap 1 s + connect); 3 s leaves room for a loaded 2-core machine, the old behaviour took 8–25 s.
        Assert.True(back < TimeSpan.FromSeconds(3), $"online again only after {back.TotalSeconds:0.0} s");
    }

    /// <summary>
    /// A broker that freezes (SIGSTOP: TCP stays open, nothing answers) is noticed by the publisher's own keep-alive ping
    /// (MQTTnet #2244/#2248), not after the operating system's TCP timeout; when it wakes, the agent is back.
    /// </summary>
    [Fact]
    public async Task BrokerFrozen_KeepAliveNoticesWithinTwoPeriodsAndAgentReturnsWhenItWakes()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        using var dir = new AgentDir(broker, keepAliveSeconds: 2);
        var log = new LogLines();
        using var loggers = LoggerFactory.Create(b => b.AddProvider(log).SetMinimumLevel(LogLevel.Debug));
        await using var agent = new InProcessAgent(dir, loggers);
        await agent.WaitOnlineAsync();
        broker.Pause();
        try
        {
            var sw = Stopwatch.StartNew();
            while (agent.Publisher.IsOnline && sw.Elapsed < TimeSpan.FromSeconds(15)) await Task.Delay(50);
            Assert.False(agent.Publisher.IsOnline, "a frozen broker was not noticed");
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(8), $"noticed after {sw.Elapsed.TotalSeconds:0.0} s (keep-alive 2 s)");
            Assert.Contains(log.Lines, l => l.Contains("no PINGRESP", StringComparison.Ordinal));
        }
        finally { broker.Resume(); }
        await agent.WaitOnlineAsync(TimeSpan.FromSeconds(20));
    }

    /// <summary>Lines of the broker's log that contain <paramref name="text"/>.</summary>
    private static int Count(MosquittoBroker broker, string text) =>
        broker.Log.Split('\n').Count(l => l.Contains(text, StringComparison.Ordinal));

    /// <summary>
    /// MQTTnet's own keep-alive is off (its loop woke the idle agent every 250 ms, issue 14): the publisher's watchdog
    /// alone keeps an idle connection up with a PINGREQ every keep-alive period, and CONNECT still announces the period.
    /// </summary>
    [Fact]
    public async Task IdleConnection_BrokerGetsAPingreqEveryKeepAlivePeriodAndKeepsTheAgent()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        using var dir = new AgentDir(broker, agentId: "idle-agent", keepAliveSeconds: 2);
        await using var agent = new InProcessAgent(dir);
        await agent.WaitOnlineAsync();
        await Task.Delay(TimeSpan.FromSeconds(7)); // 3.5 periods; the broker drops a client silent for 3 s
        output.WriteLine(broker.Log);
        Assert.Equal(1, Count(broker, "as healthagent-idle-agent (p5, c1, k2)")); // announced, and never reconnected
        Assert.InRange(Count(broker, "Received PINGREQ from healthagent-idle-agent"), 2, 5);
        Assert.Equal(0, Count(broker, "exceeded timeout"));
        Assert.True(agent.Publisher.IsOnline);
    }

    /// <summary>
    /// A broker whose Server Keep Alive (CONNACK 0x13) is shorter than ours (mosquitto's max_keepalive, at least 10 s):
    /// the publisher pings at the broker's period [MQTT-3.1.2-21] and is not dropped after 1.5 × it. Also keep-alive 0,
    /// which mosquitto answers with Server Keep Alive 65535: MQTTnet's own loop would then ping at once with a zero
    /// timeout and drop every connection (a reconnect storm).
    /// </summary>
    [Theory]
    [InlineData(30, "max_keepalive 10", 1, 16)]
    [InlineData(0, null, 0, 5)]
    public async Task ServerKeepAlive_ReplacesOursAndTheConnectionStays(int keepAliveSeconds, string? brokerLine, int minPings, int seconds)
    {
        await using var broker = await MosquittoBroker.StartAsync(new MosquittoBrokerOptions { ExtraConfigLines = brokerLine is null ? [] : [brokerLine] });
        using var dir = new AgentDir(broker, agentId: "ska-agent", keepAliveSeconds: keepAliveSeconds);
        await using var agent = new InProcessAgent(dir);
        await agent.WaitOnlineAsync();
        await Task.Delay(TimeSpan.FromSeconds(seconds));
        output.WriteLine(broker.Log);
        Assert.Equal(1, Count(broker, $"as healthagent-ska-agent (p5, c1, k{keepAliveSeconds})"));
        Assert.InRange(Count(broker, "Received PINGREQ from healthagent-ska-agent"), minPings, 2);
        Assert.Equal(0, Count(broker, "exceeded timeout"));
        Assert.True(agent.Publisher.IsOnline);
    }

    /// <summary>
    /// A frozen agent (SIGSTOP: its socket stays open, nothing is sent) is dropped by the broker after 1.5 × the
    /// keep-alive announced in CONNECT [MQTT-3.1.2-22], and the broker publishes the will; when it wakes it is back.
    /// </summary>
    [Fact]
    [Trait(AgentCommand.Category, AgentCommand.Process)]
    public async Task AgentFrozen_BrokerDropsItAfterOneAndAHalfKeepAlivesAndPublishesTheWill()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        using var dir = new AgentDir(broker, agentId: "frozen-agent", keepAliveSeconds: 2); // will delay 0
        await using var agent = new AgentProcess(dir);
        await agent.WaitForOutputAsync("MQTT: connected", Wait);
        var will = await MosquittoClients.StartSubAsync(broker, ["-t", dir.Root + "/status", "-R", "-C", "1", "-W", "15"], TimeSpan.FromSeconds(20));
        var sw = Stopwatch.StartNew();
        ProcessRunner.SendSignal(agent.Id, 19);
        try
        {
            var r = await will;
            output.WriteLine($"will after {sw.Elapsed.TotalSeconds:0.0} s");
            Assert.Equal("offline", r.StandardOutput.Trim());
            Assert.Equal(1, Count(broker, "Client healthagent-frozen-agent has exceeded timeout"));
        }
        finally { ProcessRunner.SendSignal(agent.Id, 18); }
        await TimeUntilAsync(broker, dir.Root + "/status", "online", Wait);
    }

    /// <summary>Issue #15: `offline` came twice on one Ctrl+C. A clean stop publishes it once and its DISCONNECT drops the will.</summary>
    [Fact]
    [Trait(AgentCommand.Category, AgentCommand.Process)]
    public async Task AgentProcessSigterm_OfflineExactlyOnceEvenAfterTheWillDelay()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        using var dir = new AgentDir(broker, willDelaySeconds: 1); // a will that was not discarded would arrive within the window
        await using var agent = new AgentProcess(dir);
        await agent.WaitForOutputAsync("MQTT: connected", Wait);
        var retained = await MosquittoClients.SubAsync(broker, ["-t", dir.Root + "/status", "-C", "1", "-W", "10"]);
        Assert.Equal("online", retained.StandardOutput.Trim()); // from here on only the stop publishes on status
        var sub = await MosquittoClients.StartSubAsync(broker, ["-t", dir.Root + "/status", "-R", "-W", "5"], TimeSpan.FromSeconds(15));
        Assert.Equal(0, await agent.TerminateAsync(TimeSpan.FromSeconds(10)));
        var lines = (await sub).StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["offline"], lines);
    }

    /// <summary>
    /// The crash window of issue #14: an event committed to state.db and the process killed before any publisher saw
    /// it. The outbox row is part of the same transaction, so the restarted agent sends it; the old design lost it
    /// (history said raised, the condition was not raised again, nothing ever went out).
    /// </summary>
    [Fact]
    [Trait(AgentCommand.Category, AgentCommand.Process)]
    public async Task AgentKilledRightAfterEventCommit_EventStillArrivesAfterRestart()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        using var dir = new AgentDir(broker);
        dir.UseSources(dir.MainsOnlySources(0.2));
        await using var collector = await Collector.StartAsync(broker, dir.Root + "/event/#");

        await using (var first = new AgentProcess(dir, new Dictionary<string, string> { [FaultInjection.Variable] = "kill-after-event-commit" }))
        {
            await first.WaitForOutputAsync("MQTT: connected", Wait);
            dir.SetMains(false); // mains lost: one raised event
            await first.WaitForExitAsync(Wait);
            Assert.Contains("HA_FAULT: killing the process after event commit 1", first.Output, StringComparison.Ordinal);
        }
        await Task.Delay(300);
        Assert.Empty(collector.Messages); // killed before publishing: nothing went out

        Guid eventId;
        using (var store = new HealthStore(Path.Combine(dir.StateDirectory, "state.db")))
        {
            var history = store.History(10, null, null);
            eventId = Assert.Single(history).EventId;
            using var outbox = store.OpenOutbox("mqtt", new OutboxLimits());
            Assert.Equal(eventId, Assert.Single(outbox.Peek(0, 10)).EventId); // committed together with the event
        }

        await using var second = new AgentProcess(dir);
        await collector.WaitForAsync(m => m.Any(j => (string?)j["eventId"] == eventId.ToString()), Wait);
        Assert.Equal("raised", (string?)collector.Messages.First().Json["kind"]);
    }

    /// <summary>
    /// The outage storm: events stream while the broker is restarted every few seconds and the agent is SIGKILLed twice;
    /// a persistent QoS 1 subscriber receives every event the agent recorded, first copies in order.
    /// </summary>
    [Fact]
    [Trait(AgentCommand.Category, AgentCommand.Process)]
    public async Task OutageStorm_BrokerRestartsAndAgentKilledTwice_NoEventLost()
    {
        await using var broker = await MosquittoBroker.StartAsync(Collector.QueueEverything(persistence: true, logType: "error"));
        using var dir = new AgentDir(broker);
        dir.UseSources(dir.MainsOnlySources(0.1));
        await using var collector = await Collector.StartAsync(broker, dir.Root + "/event/#");

        var agent = new AgentProcess(dir);
        try
        {
            using var storm = new CancellationTokenSource();
            var online = true;
            var flipper = Task.Run(async () =>
            {
                while (!storm.IsCancellationRequested)
                {
                    online = !online;
                    dir.SetMains(online);
                    await Task.Delay(300);
                }
            });
            try
            {
                for (var round = 1; round <= 6; round++)
                {
                    await Task.Delay(TimeSpan.FromSeconds(3));
                    await broker.RestartAsync(); // SIGTERM (sessions and queued messages saved) and start on the same port
                    if (round is 2 or 4)
                    {
                        agent.Kill(); // SIGKILL mid-stream
                        await agent.DisposeAsync();
                        agent = new AgentProcess(dir);
                    }
                }
                await Task.Delay(TimeSpan.FromSeconds(2));
            }
            finally
            {
                await storm.CancelAsync();
                await flipper;
            }
            await Task.Delay(TimeSpan.FromSeconds(1)); // the last flip polled
            Assert.Equal(0, await agent.TerminateAsync(TimeSpan.FromSeconds(15))); // clean stop: drains what is left
            await agent.DisposeAsync();
        }
        finally
        {
            try { agent.Kill(); } catch (InvalidOperationException) { } // already disposed: it was stopped
        }

        List<HealthAgent.Model.HealthEvent> recorded;
        using (var store = new HealthStore(Path.Combine(dir.StateDirectory, "state.db")))
            recorded = store.History(HealthStore.MaxHistory, null, null).OrderBy(e => e.Seq).ToList();
        Assert.True(recorded.Count >= 30, $"only {recorded.Count} events recorded");
        await collector.WaitForAsync(m => m.Select(j => (string?)j["eventId"]).Distinct().Count() >= recorded.Count, TimeSpan.FromSeconds(30));
        var firstSeen = collector.Messages.Select(m => (string)m.Json["eventId"]!).Distinct().ToList();
        Assert.Equal(recorded.Select(e => e.EventId.ToString()), firstSeen); // every event, once each at least, in order
    }
}
