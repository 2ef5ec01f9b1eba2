using System.Globalization;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using HealthAgent.TestSupport;

namespace HealthAgent.Mqtt.Tests.Interop;

/// <summary>Interop with a real Eclipse Mosquitto 2.0.x started per test on 127.0.0.1 and a free port.</summary>
public sealed class MosquittoInteropTests(TestCertificates certs) : IClassFixture<TestCertificates>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private static MqttClientOptions Options(MosquittoBroker b, MqttProtocolVersion v, string id, Action<MqttClientOptions>? configure = null)
    {
        var o = new MqttClientOptions { Host = b.Host, Port = b.Port, ProtocolVersion = v, ClientId = id, KeepAliveSeconds = 10 };
        configure?.Invoke(o);
        return o;
    }

    private static async Task<MqttClient> ConnectedAsync(MqttClientOptions o)
    {
        var c = new MqttClient(o);
        await c.ConnectAsync();
        return c;
    }

    private static MqttApplicationMessage Msg(string topic, string payload, MqttQos qos = MqttQos.AtLeastOnce, bool retain = false) =>
        new() { Topic = topic, Payload = System.Text.Encoding.UTF8.GetBytes(payload), Qos = qos, Retain = retain };

    private static async Task<string> NextTextAsync(MqttClient c) =>
        System.Text.Encoding.UTF8.GetString((await c.Messages.ReadAsync().AsTask().WaitAsync(Wait)).Payload.Span);

    [Theory]
    [InlineData(MqttProtocolVersion.V500)]
    [InlineData(MqttProtocolVersion.V311)]
    public async Task RoundTrip_Qos0AndQos1_DeliveredWithProperties(MqttProtocolVersion v)
    {
        await using var broker = await MosquittoBroker.StartAsync();
        await using var sub = await ConnectedAsync(Options(broker, v, "sub"));
        await using var pub = await ConnectedAsync(Options(broker, v, "pub"));
        var granted = await sub.SubscribeAsync([new MqttTopicFilter("rt/#", MqttQos.AtLeastOnce)]);
        Assert.Equal([MqttReasonCode.GrantedQos1], granted);
        await pub.PublishAsync(Msg("rt/0", "zero", MqttQos.AtMostOnce));
        var ack = await pub.PublishAsync(new MqttApplicationMessage
        {
            Topic = "rt/1", Payload = "one"u8.ToArray(), Qos = MqttQos.AtLeastOnce, ContentType = "text/plain",
            UserProperties = [new("k", "v")], ResponseTopic = "reply/1", CorrelationData = new byte[] { 9 }, MessageExpirySeconds = 100,
        });
        Assert.True(ack.IsSuccess);
        Assert.Equal("zero", await NextTextAsync(sub));
        var m = await sub.Messages.ReadAsync().AsTask().WaitAsync(Wait);
        Assert.Equal("rt/1", m.Topic);
        Assert.Equal(MqttQos.AtLeastOnce, m.Qos);
        if (v == MqttProtocolVersion.V500)
        {
            Assert.Equal("text/plain", m.ContentType);
            Assert.Equal([new KeyValuePair<string, string>("k", "v")], m.UserProperties);
            Assert.Equal("reply/1", m.ResponseTopic);
            Assert.Equal(new byte[] { 9 }, m.CorrelationData.ToArray());
            Assert.NotNull(m.MessageExpirySeconds);
        }
        await sub.UnsubscribeAsync(["rt/#"]);
    }

    [Theory]
    [InlineData(MqttProtocolVersion.V500)]
    [InlineData(MqttProtocolVersion.V311)]
    public async Task Retained_LateSubscriber_ReceivesIt(MqttProtocolVersion v)
    {
        await using var broker = await MosquittoBroker.StartAsync();
        await using (var pub = await ConnectedAsync(Options(broker, v, "pub")))
        {
            Assert.True((await pub.PublishAsync(Msg("state/led", "amber", retain: true))).IsSuccess);
            await pub.DisconnectAsync();
        }
        await using var late = await ConnectedAsync(Options(broker, v, "late"));
        await late.SubscribeAsync([new MqttTopicFilter("state/#")]);
        var m = await late.Messages.ReadAsync().AsTask().WaitAsync(Wait);
        Assert.Equal("amber", System.Text.Encoding.UTF8.GetString(m.Payload.Span));
        Assert.True(m.Retain);
    }

    [Theory]
    [InlineData(MqttProtocolVersion.V500)]
    [InlineData(MqttProtocolVersion.V311)]
    public async Task Will_ClientSocketKilled_WillDelivered(MqttProtocolVersion v)
    {
        await using var broker = await MosquittoBroker.StartAsync();
        await using var watcher = await ConnectedAsync(Options(broker, v, "watcher"));
        await watcher.SubscribeAsync([new MqttTopicFilter("agents/+/status")]);
        await using var agent = await ConnectedAsync(Options(broker, v, "agent-1", o => o.Will = new MqttWill
        {
            Topic = "agents/agent-1/status", Payload = "offline"u8.ToArray(), Qos = MqttQos.AtLeastOnce, ContentType = "text/plain",
        }));
        var lost = new TaskCompletionSource<MqttConnectionLost>(TaskCreationOptions.RunContinuationsAsynchronously);
        agent.ConnectionLost += l => lost.TrySetResult(l);
        agent.AbortTransportForTests();
        await lost.Task.WaitAsync(Wait);
        var m = await watcher.Messages.ReadAsync().AsTask().WaitAsync(Wait);
        Assert.Equal("agents/agent-1/status", m.Topic);
        Assert.Equal("offline", System.Text.Encoding.UTF8.GetString(m.Payload.Span));
        if (v == MqttProtocolVersion.V500) Assert.Equal("text/plain", m.ContentType);
    }

    private Task<MosquittoBroker> StartTlsBrokerAsync() => MosquittoBroker.StartAsync(new MosquittoBrokerOptions
    {
        TlsCertFile = certs.ServerCert, TlsKeyFile = certs.ServerKey,
    });

    [Fact]
    public async Task Tls_CaGeneratedByOpenssl_ConnectsAndRoundTrips()
    {
        await using var broker = await StartTlsBrokerAsync();
        await using var c = await ConnectedAsync(Options(broker, MqttProtocolVersion.V500, "tls", o => o.Tls = new MqttTlsOptions { CaFile = certs.CaCert }));
        await c.SubscribeAsync([new MqttTopicFilter("tls/t")]);
        Assert.True((await c.PublishAsync(Msg("tls/t", "secret"))).IsSuccess);
        Assert.Equal("secret", await NextTextAsync(c));
    }

    [Fact]
    public async Task Tls_WrongCa_Rejected()
    {
        await using var broker = await StartTlsBrokerAsync();
        await using var c = new MqttClient(Options(broker, MqttProtocolVersion.V500, "tls-wrong", o => o.Tls = new MqttTlsOptions { CaFile = certs.WrongCaCert }));
        await Assert.ThrowsAsync<AuthenticationException>(() => c.ConnectAsync());
        Assert.False(c.IsConnected);
    }

    [Fact]
    public async Task Tls_SystemStoreOnPrivateCa_Rejected()
    {
        await using var broker = await StartTlsBrokerAsync();
        await using var c = new MqttClient(Options(broker, MqttProtocolVersion.V500, "tls-system", o => o.Tls = new MqttTlsOptions()));
        await Assert.ThrowsAsync<AuthenticationException>(() => c.ConnectAsync());
    }

    [Fact]
    public async Task Tls_PinnedFingerprint_AcceptsMatchAndRejectsOther()
    {
        await using var broker = await StartTlsBrokerAsync();
        var pin = Convert.ToHexString(SHA256.HashData(X509Certificate2.CreateFromPem(File.ReadAllText(certs.ServerCert)).RawData));
        var colons = string.Join(':', Enumerable.Range(0, 32).Select(i => pin.Substring(i * 2, 2)));
        await using (var ok = await ConnectedAsync(Options(broker, MqttProtocolVersion.V500, "pin-ok", o => o.Tls = new MqttTlsOptions { PinnedSha256Fingerprint = colons, PinOnly = true })))
            Assert.True(ok.IsConnected);
        await using var bad = new MqttClient(Options(broker, MqttProtocolVersion.V500, "pin-bad", o => o.Tls = new MqttTlsOptions { CaFile = certs.CaCert, PinnedSha256Fingerprint = new string('0', 64) }));
        await Assert.ThrowsAsync<AuthenticationException>(() => bad.ConnectAsync());
    }

    [Fact]
    public async Task Tls_ServerName_CheckedAgainstCertificate()
    {
        await using var broker = await StartTlsBrokerAsync();
        // the certificate names localhost and 127.0.0.1: an explicit SNI/server name must match it too
        await using (var ok = await ConnectedAsync(Options(broker, MqttProtocolVersion.V500, "sni-ok", o => o.Tls = new MqttTlsOptions { CaFile = certs.CaCert, ServerName = "localhost" })))
            Assert.True(ok.IsConnected);
        await using var bad = new MqttClient(Options(broker, MqttProtocolVersion.V500, "sni-bad", o => o.Tls = new MqttTlsOptions { CaFile = certs.CaCert, ServerName = "nvr.example.com" }));
        await Assert.ThrowsAsync<AuthenticationException>(() => bad.ConnectAsync());
    }

    [Fact]
    public async Task Tls_ClientCertificateRequired_ConnectsOnlyWithIt()
    {
        await using var broker = await MosquittoBroker.StartAsync(new MosquittoBrokerOptions
        {
            TlsCaFile = certs.CaCert, TlsCertFile = certs.ServerCert, TlsKeyFile = certs.ServerKey,
            ExtraConfigLines = ["require_certificate true"],
        });
        await using (var ok = await ConnectedAsync(Options(broker, MqttProtocolVersion.V500, "mtls-ok", o => o.Tls = new MqttTlsOptions
        {
            CaFile = certs.CaCert, CertificateFile = certs.ClientCert, KeyFile = certs.ClientKey,
        })))
        {
            Assert.True((await ok.PublishAsync(Msg("mtls", "x"))).IsSuccess);
        }
        await using var without = new MqttClient(Options(broker, MqttProtocolVersion.V500, "mtls-none", o => o.Tls = new MqttTlsOptions { CaFile = certs.CaCert }));
        // the broker aborts the handshake (or the first read) without a client certificate
        await Assert.ThrowsAnyAsync<Exception>(() => without.ConnectAsync());
        Assert.False(without.IsConnected);
    }

    [Theory]
    [InlineData(MqttProtocolVersion.V500)]
    [InlineData(MqttProtocolVersion.V311)]
    public async Task UsernamePassword_RightAndWrong_ConnectsOrRefused(MqttProtocolVersion v)
    {
        await using var broker = await MosquittoBroker.StartAsync(new MosquittoBrokerOptions { AllowAnonymous = false, Users = new Dictionary<string, string> { ["alice"] = "s3cret" } });
        await using (var ok = await ConnectedAsync(Options(broker, v, "alice-1", o => { o.Username = "alice"; o.Password = "s3cret"; })))
            Assert.True(ok.IsConnected);
        await using var bad = new MqttClient(Options(broker, v, "alice-2", o => { o.Username = "alice"; o.Password = "wrong"; }));
        var ex = await Assert.ThrowsAsync<MqttConnectException>(() => bad.ConnectAsync());
        Assert.Contains(ex.ReasonCode, new[] { MqttReasonCode.BadUserNameOrPassword, MqttReasonCode.NotAuthorized });
        await using var anonymous = new MqttClient(Options(broker, v, "anon"));
        await Assert.ThrowsAsync<MqttConnectException>(() => anonymous.ConnectAsync());
    }

    [Theory]
    [InlineData(MqttProtocolVersion.V500, MqttReasonCode.NotAuthorized)]
    [InlineData(MqttProtocolVersion.V311, MqttReasonCode.Success)]   // 3.1.1 has no negative PUBACK
    public async Task Acl_DeniedTopic_PubAckReasonCode(MqttProtocolVersion v, MqttReasonCode expected)
    {
        await using var broker = await MosquittoBroker.StartAsync(new MosquittoBrokerOptions
        {
            AllowAnonymous = false,
            Users = new Dictionary<string, string> { ["cam"] = "pw" },
            AclFileContent = "user cam\ntopic readwrite health/#\n",
        });
        await using var c = await ConnectedAsync(Options(broker, v, "cam-1", o => { o.Username = "cam"; o.Password = "pw"; }));
        var allowed = await c.PublishAsync(Msg("health/x", "ok"));
        Assert.True(allowed.IsSuccess);
        var denied = await c.PublishAsync(Msg("admin/x", "nope"));
        Assert.Equal(expected, denied.ReasonCode);
        Assert.True(c.IsConnected);
    }

    [Fact]
    public async Task ReceiveMaximum_FromMaxInflightMessages_ObeyedAndAllAcknowledged()
    {
        await using var broker = await MosquittoBroker.StartAsync(new MosquittoBrokerOptions { ExtraConfigLines = ["max_inflight_messages 2"] });
        await using var c = await ConnectedAsync(Options(broker, MqttProtocolVersion.V500, "rm2"));
        Assert.Equal((ushort)2, c.ConnectResult!.ReceiveMaximum);
        var results = await Task.WhenAll(Enumerable.Range(0, 200).Select(i => c.PublishAsync(Msg("rm", i.ToString(CultureInfo.InvariantCulture)))));
        Assert.All(results, r => Assert.True(r.IsSuccess));
    }

    [Theory]
    [InlineData(MqttProtocolVersion.V500)]
    [InlineData(MqttProtocolVersion.V311)]
    public async Task BrokerRestart_DuringQos1Stream_NothingLost(MqttProtocolVersion v)
    {
        const int Count = 3000;
        await using var broker = await MosquittoBroker.StartAsync(new MosquittoBrokerOptions { Persistence = true, ExtraConfigLines = ["max_queued_messages 100000"] });
        using var stop = new CancellationTokenSource();
        void Session(MqttClientOptions o) { o.CleanStart = false; o.SessionExpirySeconds = 600; o.KeepAliveSeconds = 2; }

        await using var sub = new MqttClient(Options(broker, v, "restart-sub", Session));
        var first = await sub.ConnectAsync();
        if (!first.SessionPresent) await sub.SubscribeAsync([new MqttTopicFilter("stream", MqttQos.AtLeastOnce)]);
        AutoReconnect(sub, stop.Token, async r => { if (!r.SessionPresent) await sub.SubscribeAsync([new MqttTopicFilter("stream", MqttQos.AtLeastOnce)]); });
        await using var pub = new MqttClient(Options(broker, v, "restart-pub", Session));
        await pub.ConnectAsync();
        var pubLost = 0;
        var resumed = 0;
        pub.ConnectionLost += _ => Interlocked.Increment(ref pubLost);
        AutoReconnect(pub, stop.Token, r => { if (r.SessionPresent) Interlocked.Increment(ref resumed); return Task.CompletedTask; });

        var seen = new HashSet<int>();
        var allSeen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var reading = Task.Run(async () =>
        {
            await foreach (var m in sub.Messages.ReadAllAsync(stop.Token))
            {
                seen.Add(int.Parse(System.Text.Encoding.UTF8.GetString(m.Payload.Span), CultureInfo.InvariantCulture));
                if (seen.Count == Count) { allSeen.TrySetResult(); return; }
            }
        });

        var restarted = Task.CompletedTask;
        var inFlight = new List<Task>();
        for (var i = 0; i < Count; i++)
        {
            if (i == Count / 3) restarted = broker.RestartAsync();
            inFlight.Add(PublishUntilAcknowledgedAsync(pub, Msg("stream", i.ToString(CultureInfo.InvariantCulture))));
            if (inFlight.Count >= 100)
            {
                await Task.WhenAll(inFlight).WaitAsync(TimeSpan.FromSeconds(40));
                inFlight.Clear();
            }
        }
        await Task.WhenAll(inFlight).WaitAsync(TimeSpan.FromSeconds(40));
        await restarted;
        await allSeen.Task.WaitAsync(TimeSpan.FromSeconds(40));
        Assert.Equal(Count, seen.Count);
        Assert.True(pubLost >= 1, "the publisher never saw the restart");
        Assert.True(resumed >= 1, "persistence should resume the publisher's session");
        stop.Cancel();
    }

    /// <summary>The caller's side of the contract: a message handed back without a session is published again.</summary>
    private static async Task PublishUntilAcknowledgedAsync(MqttClient c, MqttApplicationMessage m)
    {
        while (true)
        {
            try
            {
                var r = await c.PublishAsync(m);
                Assert.True(r.IsSuccess, r.ReasonCode.Describe());
                return;
            }
            catch (MqttMessageNotDeliveredException) { }
        }
    }

    private static void AutoReconnect(MqttClient c, CancellationToken stop, Func<MqttConnectResult, Task> after)
    {
        c.ConnectionLost += _ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    var r = await c.ConnectAsync(stop);
                    await after(r);
                    return;
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    await Task.Delay(100, CancellationToken.None);
                }
            }
        });
    }

    [Theory]
    [InlineData(MqttProtocolVersion.V500, "5")]
    [InlineData(MqttProtocolVersion.V311, "311")]
    public async Task CrossCheck_OurPublish_SeenByMosquittoSub(MqttProtocolVersion v, string flag)
    {
        await using var broker = await MosquittoBroker.StartAsync();
        var sub = await MosquittoClients.StartSubAsync(broker, ["-V", flag, "-t", "x/#", "-v", "-C", "2", "-W", "10", "-q", "1"]);
        await using var c = await ConnectedAsync(Options(broker, v, "ours"));
        await c.PublishAsync(Msg("x/1", "hello 1", MqttQos.AtMostOnce));
        await c.PublishAsync(Msg("x/2", "héllo 2"));
        var r = await sub;
        Assert.Equal(0, r.ExitCode);
        Assert.Equal(["x/1 hello 1", "x/2 héllo 2"], r.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Theory]
    [InlineData(MqttProtocolVersion.V500, "5")]
    [InlineData(MqttProtocolVersion.V311, "311")]
    public async Task CrossCheck_MosquittoPub_SeenByOurSubscriber(MqttProtocolVersion v, string flag)
    {
        await using var broker = await MosquittoBroker.StartAsync();
        await using var c = await ConnectedAsync(Options(broker, v, "ours"));
        await c.SubscribeAsync([new MqttTopicFilter("y/#", MqttQos.ExactlyOnce)]);
        foreach (var q in new[] { "0", "1", "2" })
        {
            var r = await MosquittoClients.PubAsync(broker, ["-V", flag, "-t", "y/" + q, "-m", "from C q" + q, "-q", q]);
            Assert.Equal(0, r.ExitCode);
            var m = await c.Messages.ReadAsync().AsTask().WaitAsync(Wait);
            Assert.Equal("y/" + q, m.Topic);
            Assert.Equal("from C q" + q, System.Text.Encoding.UTF8.GetString(m.Payload.Span));
            Assert.Equal((MqttQos)int.Parse(q, CultureInfo.InvariantCulture), m.Qos);
        }
    }
}
