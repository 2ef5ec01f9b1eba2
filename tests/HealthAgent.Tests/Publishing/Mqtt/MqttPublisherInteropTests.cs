using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using HealthAgent.Pipeline;
using HealthAgent.TestSupport;
using Microsoft.Extensions.Logging;
using static HealthAgent.Tests.Pipeline.PipelineFixtures;

namespace HealthAgent.Tests.Publishing.Mqtt;

/// <summary>
/// The publisher's configuration against a real mosquitto: TLS (CA file, SHA-256 pin, client certificate),
/// credentials, ACL refusals, the broker's Receive Maximum, and MQTT 3.1.1.
/// </summary>
public sealed class MqttPublisherInteropTests(TestCertificates certs) : IClassFixture<TestCertificates>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);

    private static string Json(string path) => JsonValue.Create(path)!.ToJsonString();

    private Task<MosquittoBroker> StartTlsBrokerAsync(bool requireClientCertificate = false) => MosquittoBroker.StartAsync(new MosquittoBrokerOptions
    {
        TlsCaFile = requireClientCertificate ? certs.CaCert : null, TlsCertFile = certs.ServerCert, TlsKeyFile = certs.ServerKey,
        ExtraConfigLines = requireClientCertificate ? ["require_certificate true"] : null,
    });

    /// <summary>The retained status as mosquitto_sub sees it over TLS with the test CA.</summary>
    private async Task<string> TlsStatusAsync(MosquittoBroker broker, AgentDir dir, params string[] extra)
    {
        var r = await MosquittoClients.SubAsync(broker, ["--cafile", certs.CaCert, "-t", dir.Root + "/status", "-C", "1", "-W", "5", .. extra]);
        Assert.True(r.ExitCode == 0, r.StandardError);
        return r.StandardOutput.Trim();
    }

    private static async Task<bool> StaysOfflineAsync(InProcessAgent agent, TimeSpan forHowLong)
    {
        var end = DateTime.UtcNow + forHowLong;
        while (DateTime.UtcNow < end)
        {
            if (agent.Publisher.IsOnline) return false;
            await Task.Delay(50);
        }
        return true;
    }

    [Fact]
    public async Task Tls_CaFile_OnlineOverTls()
    {
        await using var broker = await StartTlsBrokerAsync();
        using var dir = new AgentDir(broker, mqttExtra: $$""", "tls": { "caFile": {{Json(certs.CaCert)}} }""");
        await using var agent = new InProcessAgent(dir);
        await agent.WaitOnlineAsync(Wait);
        Assert.Equal("online", await TlsStatusAsync(broker, dir));
    }

    [Fact]
    public async Task Tls_WrongCa_NeverOnlineAndSaysWhyOnce()
    {
        await using var broker = await StartTlsBrokerAsync();
        using var dir = new AgentDir(broker, mqttExtra: $$""", "tls": { "caFile": {{Json(certs.WrongCaCert)}} }""");
        var log = new LogLines();
        using var loggers = LoggerFactory.Create(b => b.AddProvider(log).SetMinimumLevel(LogLevel.Debug));
        await using var agent = new InProcessAgent(dir, loggers);
        Assert.True(await StaysOfflineAsync(agent, TimeSpan.FromSeconds(3)));
        Assert.Equal(1, log.Count("unreachable"));
        Assert.Contains(log.Lines, l => l.Contains("TLS: the broker's certificate was not accepted", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Tls_PinnedFingerprint_MatchOnlineOtherNever()
    {
        await using var broker = await StartTlsBrokerAsync();
        var pin = Convert.ToHexString(SHA256.HashData(X509Certificate2.CreateFromPem(File.ReadAllText(certs.ServerCert)).RawData));
        var colons = string.Join(':', Enumerable.Range(0, 32).Select(i => pin.Substring(i * 2, 2)));
        using (var dir = new AgentDir(broker, "pinned-ok", mqttExtra: $$""", "tls": { "caFile": {{Json(certs.CaCert)}}, "certificateFingerprint": "{{colons}}" }"""))
        await using (var ok = new InProcessAgent(dir))
            await ok.WaitOnlineAsync(Wait);
        using var badDir = new AgentDir(broker, "pinned-bad", mqttExtra: $$""", "tls": { "caFile": {{Json(certs.CaCert)}}, "certificateFingerprint": "{{new string('0', 64)}}" }""");
        await using var bad = new InProcessAgent(badDir);
        Assert.True(await StaysOfflineAsync(bad, TimeSpan.FromSeconds(3)));
    }

    [Fact]
    public async Task Tls_ClientCertificateRequiredByBroker_OnlineOnlyWithIt()
    {
        await using var broker = await StartTlsBrokerAsync(requireClientCertificate: true);
        using (var dir = new AgentDir(broker, "mtls-ok", mqttExtra: $$""", "tls": { "caFile": {{Json(certs.CaCert)}}, "certFile": {{Json(certs.ClientCert)}}, "keyFile": {{Json(certs.ClientKey)}} }"""))
        await using (var ok = new InProcessAgent(dir))
        {
            await ok.WaitOnlineAsync(Wait);
            Assert.Equal("online", await TlsStatusAsync(broker, dir, "--cert", certs.ClientCert, "--key", certs.ClientKey));
        }
        using var noCert = new AgentDir(broker, "mtls-none", mqttExtra: $$""", "tls": { "caFile": {{Json(certs.CaCert)}} }""");
        await using var bad = new InProcessAgent(noCert);
        Assert.True(await StaysOfflineAsync(bad, TimeSpan.FromSeconds(3)));
    }

    [Theory]
    [InlineData("5")]
    [InlineData("3.1.1")]
    public async Task PasswordFile_RightOnlineWrongRefusedAndSaysSo(string version)
    {
        await using var broker = await MosquittoBroker.StartAsync(new MosquittoBrokerOptions
        {
            AllowAnonymous = false, Users = new Dictionary<string, string> { ["agent"] = "s3cret-pw" },
        });
        using var dir = new AgentDir(broker, "with-pw", mqttExtra: $$""", "protocolVersion": "{{version}}", "username": "agent", "passwordFile": "pw" """);
        await File.WriteAllTextAsync(Path.Combine(dir.Path, "pw"), "s3cret-pw\n");
        await using (var ok = new InProcessAgent(dir))
            await ok.WaitOnlineAsync(Wait);

        using var wrongDir = new AgentDir(broker, "wrong-pw", mqttExtra: $$""", "protocolVersion": "{{version}}", "username": "agent", "password": "nope" """);
        var log = new LogLines();
        using var loggers = LoggerFactory.Create(b => b.AddProvider(log).SetMinimumLevel(LogLevel.Debug));
        await using var wrong = new InProcessAgent(wrongDir, loggers);
        Assert.True(await StaysOfflineAsync(wrong, TimeSpan.FromSeconds(3)));
        Assert.Contains(log.Lines, l => l.Contains("refused: ", StringComparison.Ordinal) && (l.Contains("NotAuthorized", StringComparison.Ordinal) || l.Contains("BadUserNameOrPassword", StringComparison.Ordinal)));
        Assert.Equal(1, log.Count("unreachable"));
    }

    /// <summary>[MQTT-4.4.0-2] a PUBACK ≥ 0x80 is final: the event is counted as rejected, logged, and leaves the outbox.</summary>
    [Fact]
    public async Task AclDeniesEventTopic_V5RefusalCountedAndRowRemoved()
    {
        await using var broker = await MosquittoBroker.StartAsync(new MosquittoBrokerOptions
        {
            AllowAnonymous = false, Users = new Dictionary<string, string> { ["agent"] = "pw" },
            AclFileContent = "user agent\ntopic readwrite healthagent/v1/test-agent/status\ntopic readwrite healthagent/v1/test-agent/state/#\ntopic readwrite healthagent/v1/test-agent/health\ntopic readwrite healthagent/v1/test-agent/info\ntopic read healthagent/v1/test-agent/cmd/#\n",
        });
        using var dir = new AgentDir(broker, mqttExtra: """, "username": "agent", "password": "pw" """);
        await using var agent = new InProcessAgent(dir);
        await agent.WaitOnlineAsync(Wait);
        agent.Source.Set(Psu("solid green"));
        agent.Source.Set(Psu("blinking amber"));
        var deadline = DateTime.UtcNow + Wait;
        while (agent.Publisher.Rejected < 1 && DateTime.UtcNow < deadline) await Task.Delay(50);
        Assert.Equal(1, agent.Publisher.Rejected);
        Assert.Equal(0, agent.Publisher.Outbox.Count);
        Assert.True(agent.Publisher.IsOnline); // a refusal is not a connection problem
    }

    /// <summary>
    /// [MQTT-3.3.4-7] mosquitto's max_inflight_messages 2 reaches us as Receive Maximum 2; MQTTnet does not enforce it,
    /// the outbox window does: 300 queued events replay without the broker ever dropping the connection.
    /// </summary>
    [Fact]
    public async Task ReceiveMaximumTwo_ReplayOfQueuedEvents_AllDeliveredInOrderOnOneConnection()
    {
        await using var broker = await MosquittoBroker.StartAsync(new MosquittoBrokerOptions { ExtraConfigLines = ["max_inflight_messages 2", "max_queued_messages 0"] });
        using var dir = new AgentDir(broker);
        var topic = dir.Root + "/event/power_supply/psu:1";
        var ids = new List<Guid>();
        using (var outbox = new Outbox(Path.Combine(dir.StateDirectory, "state.db")))
            for (var i = 1; i <= 300; i++)
            {
                var id = Guid.NewGuid();
                ids.Add(id);
                outbox.Add(new OutboxEntry(id, i, topic, Encoding.UTF8.GetBytes($"{{\"eventId\":\"{id}\",\"seq\":{i}}}"), false));
            }
        await using var collector = await Collector.StartAsync(broker, dir.Root + "/event/#");
        var log = new LogLines();
        using var loggers = LoggerFactory.Create(b => b.AddProvider(log).SetMinimumLevel(LogLevel.Debug));
        await using var agent = new InProcessAgent(dir, loggers);
        await collector.WaitForAsync(m => m.Count >= 300, Wait);
        Assert.Equal(ids.Select(i => i.ToString()), collector.Messages.Select(m => (string)m.Json["eventId"]!));
        Assert.Equal(0, log.Count("connection lost"));
        Assert.Equal(1, log.Count("MQTT: connected"));
    }

    [Fact]
    public async Task V311_StateEventAndRollupArrive()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        using var dir = new AgentDir(broker, mqttExtra: """, "protocolVersion": "3.1.1" """);
        await using var agent = new InProcessAgent(dir);
        await agent.WaitOnlineAsync(Wait);
        agent.Source.Set(Psu("solid green"));
        var sub = await MosquittoClients.StartSubAsync(broker, ["-V", "mqttv311", "-t", dir.Root + "/event/#", "-C", "1", "-W", "10", "-q", "1"]);
        agent.Source.Set(Psu("blinking amber"));
        var ev = JsonNode.Parse((await sub).StandardOutput)!;
        Assert.Equal("psu.fault", (string?)ev["code"]);
        var state = await MosquittoClients.SubAsync(broker, ["-V", "mqttv311", "-t", dir.Root + "/state/power_supply/psu:1", "-C", "1", "-W", "5"]);
        Assert.Equal("psu.fault", (string?)JsonNode.Parse(state.StandardOutput)!["code"]);
    }

    /// <summary>v5 request/response: the reply carries the request's Correlation Data and the agent id as a user property.</summary>
    [Fact]
    public async Task CommandWithCorrelationData_ReplyCarriesItBack()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        using var dir = new AgentDir(broker);
        await using var agent = new InProcessAgent(dir);
        await agent.WaitOnlineAsync(Wait);
        await Task.Delay(200); // SUBSCRIBE to cmd/+ done
        var sub = await MosquittoClients.StartSubAsync(broker, ["-V", "mqttv5", "-t", dir.Root + "/reply/#", "-C", "1", "-W", "10", "-F", "%p|%D|%P"]);
        var pub = await MosquittoClients.PubAsync(broker, ["-V", "mqttv5", "-t", dir.Root + "/cmd/republish", "-m", "{}", "-q", "1", "-D", "publish", "correlation-data", "req-42"]);
        Assert.True(pub.ExitCode == 0, pub.StandardError);
        var parts = (await sub).StandardOutput.Trim().Split('|');
        Assert.True((bool?)JsonNode.Parse(parts[0])!["ok"]);
        Assert.Equal("req-42", parts[1]);
        Assert.Contains("agentId", parts[2], StringComparison.Ordinal);
    }
}
