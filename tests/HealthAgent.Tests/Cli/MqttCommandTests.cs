using HealthAgent.TestSupport;

namespace HealthAgent.Tests.Cli;

/// <summary>`healthagent mqtt pub|sub` run as a process against mosquitto, cross-checked with mosquitto's own tools.</summary>
[Trait(AgentCommand.Category, AgentCommand.Process)]
public sealed class MqttCommandTests
{
    private static Task<ProcessResult> HealthAgentAsync(params string[] args) =>
        AgentCommand.RunAsync(["mqtt", .. args], TimeSpan.FromSeconds(30));

    private static string P(MosquittoBroker b) => b.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);

    [Theory]
    [InlineData("5")]
    [InlineData("311")]
    public async Task Pub_Qos1_ExitsZeroAndMosquittoSubReceives(string version)
    {
        await using var broker = await MosquittoBroker.StartAsync();
        var sub = await MosquittoClients.StartSubAsync(broker, ["-t", "cli/#", "-v", "-C", "1", "-W", "20"]);
        var r = await HealthAgentAsync("pub", "-h", "127.0.0.1", "-p", P(broker), "-t", "cli/pub", "-m", "from healthagent", "-q", "1", "-V", version);
        Assert.True(r.ExitCode == 0, r.StandardError);
        var s = await sub;
        Assert.Equal("cli/pub from healthagent", s.StandardOutput.Trim());
    }

    [Fact]
    public async Task Pub_AclDeniedUnderV5_ExitsNonZeroWithReason()
    {
        await using var broker = await MosquittoBroker.StartAsync(new MosquittoBrokerOptions
        {
            AllowAnonymous = false,
            Users = new Dictionary<string, string> { ["u"] = "p" },
            AclFileContent = "user u\ntopic write ok/#\n",
        });
        var r = await HealthAgentAsync("pub", "-p", P(broker), "-u", "u", "-P", "p", "-t", "denied/x", "-m", "x", "-q", "1");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("Not authorized", r.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pub_NoBroker_ExitsNonZero()
    {
        var r = await HealthAgentAsync("pub", "-p", MosquittoBroker.GetFreePort().ToString(System.Globalization.CultureInfo.InvariantCulture), "-t", "x", "-m", "y");
        Assert.Equal(1, r.ExitCode);
    }

    [Fact]
    public async Task Sub_CountReached_PrintsTopicAndPayloadFromMosquittoPub()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        var sub = HealthAgentAsync("sub", "-h", "127.0.0.1", "-p", P(broker), "-t", "a/#", "-t", "b/#", "-v", "-C", "2", "-W", "20", "-i", "cli-sub");
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (!broker.Log.Contains("Received SUBSCRIBE from cli-sub", StringComparison.Ordinal) && DateTime.UtcNow < deadline) await Task.Delay(50);
        await Task.Delay(100);
        Assert.Equal(0, (await MosquittoClients.PubAsync(broker, ["-t", "a/1", "-m", "first", "-q", "1"])).ExitCode);
        Assert.Equal(0, (await MosquittoClients.PubAsync(broker, ["-t", "b/2", "-m", "second", "-q", "1"])).ExitCode);
        var r = await sub;
        Assert.True(r.ExitCode == 0, r.StandardError);
        Assert.Equal(["a/1 first", "b/2 second"], r.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    /// <summary>mosquitto answers keep-alive 0 with Server Keep Alive 65535; MQTTnet alone then dropped the connection at once (exit 0, nothing printed).</summary>
    [Theory]
    [InlineData("5")]
    [InlineData("311")]
    public async Task Sub_KeepAliveZero_StaysConnectedAndReceives(string version)
    {
        await using var broker = await MosquittoBroker.StartAsync();
        var sub = HealthAgentAsync("sub", "-p", P(broker), "-V", version, "-k", "0", "-t", "k0/#", "-C", "1", "-W", "20", "-i", "k0-sub");
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (!broker.Log.Contains("Received SUBSCRIBE from k0-sub", StringComparison.Ordinal) && DateTime.UtcNow < deadline) await Task.Delay(50);
        await Task.Delay(1500); // MQTTnet's keep-alive loop would have pinged with a zero timeout and dropped it by now
        Assert.Equal(0, (await MosquittoClients.PubAsync(broker, ["-t", "k0/x", "-m", "still here", "-q", "1"])).ExitCode);
        var r = await sub;
        Assert.True(r.ExitCode == 0, r.StandardError);
        Assert.Equal("still here", r.StandardOutput.Trim());
    }

    [Fact]
    public async Task Sub_BrokerGoesAway_ExitsNonZeroSayingSo()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        var sub = HealthAgentAsync("sub", "-p", P(broker), "-t", "gone/#", "-i", "gone-sub");
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (!broker.Log.Contains("Received SUBSCRIBE from gone-sub", StringComparison.Ordinal) && DateTime.UtcNow < deadline) await Task.Delay(50);
        broker.Kill();
        var r = await sub;
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("connection lost", r.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sub_TimeoutBeforeCount_ExitsNonZero()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        var r = await HealthAgentAsync("sub", "-p", P(broker), "-t", "quiet/#", "-C", "1", "-W", "1");
        Assert.Equal(1, r.ExitCode);
    }

    [Fact]
    public async Task Pub_TlsWithCaFileAndSub_RoundTripOverTls()
    {
        var certs = new HealthAgent.Tests.Publishing.Mqtt.TestCertificates();
        await certs.InitializeAsync();
        try
        {
            await using var broker = await MosquittoBroker.StartAsync(new MosquittoBrokerOptions { TlsCertFile = certs.ServerCert, TlsKeyFile = certs.ServerKey });
            var sub = HealthAgentAsync("sub", "-p", P(broker), "--cafile", certs.CaCert, "-t", "tls/#", "-C", "1", "-W", "20", "-i", "tls-sub");
            var deadline = DateTime.UtcNow.AddSeconds(15);
            while (!broker.Log.Contains("Received SUBSCRIBE from tls-sub", StringComparison.Ordinal) && DateTime.UtcNow < deadline) await Task.Delay(50);
            var pub = await HealthAgentAsync("pub", "-p", P(broker), "--cafile", certs.CaCert, "-t", "tls/x", "-m", "secret", "-q", "1");
            Assert.True(pub.ExitCode == 0, pub.StandardError);
            var r = await sub;
            Assert.True(r.ExitCode == 0, r.StandardError);
            Assert.Equal("secret", r.StandardOutput.Trim());
            var wrong = await HealthAgentAsync("pub", "-p", P(broker), "--cafile", certs.WrongCaCert, "-t", "tls/x", "-m", "x");
            Assert.Equal(1, wrong.ExitCode);
            Assert.Contains("TLS", wrong.StandardError, StringComparison.Ordinal);
        }
        finally { await certs.DisposeAsync(); }
    }

    [Fact]
    public async Task Help_DashDashHelp_ShowsHostOption()
    {
        var r = await HealthAgentAsync("pub", "--help");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("-h, --host", r.StandardOutput, StringComparison.Ordinal);
    }
}
