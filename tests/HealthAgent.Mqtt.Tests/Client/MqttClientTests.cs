using HealthAgent.Mqtt.Packets;

namespace HealthAgent.Mqtt.Tests.Client;

/// <summary>Client behaviour a real broker will not show on demand, scripted with <see cref="FakeBroker"/>.</summary>
public sealed class MqttClientTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private static MqttApplicationMessage Msg(string topic, string payload, MqttQos qos = MqttQos.AtLeastOnce) =>
        new() { Topic = topic, Payload = System.Text.Encoding.UTF8.GetBytes(payload), Qos = qos };

    private static Task<MqttConnectionLost> LostAsync(MqttClient client)
    {
        var tcs = new TaskCompletionSource<MqttConnectionLost>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.ConnectionLost += l => tcs.TrySetResult(l);
        return tcs.Task;
    }

    [Theory]
    [InlineData(MqttProtocolVersion.V500)]
    [InlineData(MqttProtocolVersion.V311)]
    public async Task PublishAsync_ConnectionDroppedWithQos1InFlight_ResendsInOrderWithDupAndSameIds(MqttProtocolVersion version)
    {
        await using var broker = new FakeBroker(version);
        await using var client = new MqttClient(broker.ClientOptions(o => { o.CleanStart = false; o.SessionExpirySeconds = 300; }));
        var connecting = client.ConnectAsync();
        var (c1, connect) = await broker.AcceptAndConnAckAsync();
        await connecting;
        Assert.False(connect.CleanStart);
        var lost = LostAsync(client);

        var tasks = Enumerable.Range(0, 3).Select(i => client.PublishAsync(Msg("a/b", "m" + i))).ToArray();
        var first = new List<PublishPacket>();
        for (var i = 0; i < 3; i++) first.Add(await c1.ReadSkippingPingsAsync<PublishPacket>());
        Assert.All(first, p => Assert.False(p.Dup));
        Assert.Equal(3, first.Select(p => p.PacketId).Distinct().Count());
        Assert.DoesNotContain(first, p => p.PacketId == 0);
        c1.Drop();
        await lost.WaitAsync(Wait);
        Assert.False(client.IsConnected);
        Assert.All(tasks, t => Assert.False(t.IsCompleted));

        connecting = client.ConnectAsync();
        var (c2, _) = await broker.AcceptAndConnAckAsync(a => a.SessionPresent = true);
        var result = await connecting;
        Assert.True(result.SessionPresent);
        Assert.Equal(3, result.ResentMessages);
        for (var i = 0; i < 3; i++)
        {
            // [MQTT-4.4.0-1] same order, same ids, DUP=1
            var p = await c2.ReadSkippingPingsAsync<PublishPacket>();
            Assert.True(p.Dup);
            Assert.Equal(first[i].PacketId, p.PacketId);
            Assert.Equal("m" + i, System.Text.Encoding.UTF8.GetString(p.Payload.Span));
            await c2.SendAsync(new PubAckPacket(MqttPacketType.PubAck) { PacketId = p.PacketId });
        }
        foreach (var t in tasks) Assert.True((await t.WaitAsync(Wait)).IsSuccess);
    }

    [Fact]
    public async Task ConnectAsync_NoSessionAfterLoss_FaultsInFlightWithMessageNotDelivered()
    {
        await using var broker = new FakeBroker();
        await using var client = new MqttClient(broker.ClientOptions(o => { o.CleanStart = false; o.SessionExpirySeconds = 300; }));
        var connecting = client.ConnectAsync();
        var (c1, _) = await broker.AcceptAndConnAckAsync();
        await connecting;
        var lost = LostAsync(client);
        var t = client.PublishAsync(Msg("a", "lost?"));
        await c1.ReadSkippingPingsAsync<PublishPacket>();
        c1.Drop();
        await lost.WaitAsync(Wait);

        connecting = client.ConnectAsync();
        await broker.AcceptAndConnAckAsync(a => a.SessionPresent = false);
        var result = await connecting;
        Assert.Equal(1, result.ReturnedMessages);
        var ex = await Assert.ThrowsAsync<MqttMessageNotDeliveredException>(() => t.WaitAsync(Wait));
        Assert.Equal("lost?", System.Text.Encoding.UTF8.GetString(ex.ApplicationMessage.Payload.Span));
    }

    [Fact]
    public async Task PublishAsync_WhileDisconnectedAfterLoss_StaysPendingAndIsSentOnReconnect()
    {
        await using var broker = new FakeBroker();
        await using var client = new MqttClient(broker.ClientOptions());
        var connecting = client.ConnectAsync();
        var (c1, _) = await broker.AcceptAndConnAckAsync();
        await connecting;
        var lost = LostAsync(client);
        c1.Drop();
        await lost.WaitAsync(Wait);
        var t = client.PublishAsync(Msg("a", "later"));
        Assert.False(t.IsCompleted);
        await Assert.ThrowsAsync<MqttNotConnectedException>(() => client.PublishAsync(Msg("a", "q0", MqttQos.AtMostOnce)));

        connecting = client.ConnectAsync();
        var (c2, _) = await broker.AcceptAndConnAckAsync();
        await connecting;
        var p = await c2.ReadSkippingPingsAsync<PublishPacket>();
        Assert.False(p.Dup);
        await c2.SendAsync(new PubAckPacket(MqttPacketType.PubAck) { PacketId = p.PacketId, ReasonCode = 0x10 });
        var r = await t.WaitAsync(Wait);
        Assert.Equal(MqttReasonCode.NoMatchingSubscribers, r.ReasonCode);
        Assert.True(r.IsSuccess);
    }

    [Fact]
    public async Task PublishAsync_NeverConnected_ThrowsNotConnected()
    {
        await using var client = new MqttClient(new MqttClientOptions());
        await Assert.ThrowsAsync<MqttNotConnectedException>(() => client.PublishAsync(Msg("a", "x")));
    }

    [Fact]
    public async Task PublishAsync_ReceiveMaximum2_NeverMoreThanTwoUnacknowledged()
    {
        await using var broker = new FakeBroker();
        await using var client = new MqttClient(broker.ClientOptions());
        var connecting = client.ConnectAsync();
        var (c, _) = await broker.AcceptAndConnAckAsync(a => a.Properties.ReceiveMaximum = 2);
        Assert.Equal(2, (await connecting).ReceiveMaximum);
        var tasks = Enumerable.Range(0, 5).Select(i => client.PublishAsync(Msg("rm", "m" + i))).ToArray();
        var p1 = await c.ReadAsync<PublishPacket>();
        var p2 = await c.ReadAsync<PublishPacket>();
        Assert.True(await c.NothingArrivesAsync(TimeSpan.FromMilliseconds(300)));
        await c.SendAsync(new PubAckPacket(MqttPacketType.PubAck) { PacketId = p1.PacketId });
        var p3 = await c.ReadAsync<PublishPacket>();
        Assert.Equal("m2", System.Text.Encoding.UTF8.GetString(p3.Payload.Span));
        Assert.True(await c.NothingArrivesAsync(TimeSpan.FromMilliseconds(200)));
        foreach (var id in new[] { p2.PacketId, p3.PacketId }) await c.SendAsync(new PubAckPacket(MqttPacketType.PubAck) { PacketId = id });
        var p4 = await c.ReadAsync<PublishPacket>();
        var p5 = await c.ReadAsync<PublishPacket>();
        foreach (var id in new[] { p4.PacketId, p5.PacketId }) await c.SendAsync(new PubAckPacket(MqttPacketType.PubAck) { PacketId = id });
        foreach (var t in tasks) Assert.True((await t.WaitAsync(Wait)).IsSuccess);
    }

    [Fact]
    public async Task Receive_PacketAboveMaximumPacketSize_DisconnectsWithPacketTooLarge()
    {
        await using var broker = new FakeBroker();
        await using var client = new MqttClient(broker.ClientOptions(o => o.MaximumPacketSize = 1024));
        var connecting = client.ConnectAsync();
        var (c, connect) = await broker.AcceptAndConnAckAsync();
        await connecting;
        Assert.Equal(1024u, connect.Properties.MaximumPacketSize);
        var lost = LostAsync(client);
        // only the fixed header is sent: the client must refuse before buffering the claimed 2 MB
        await c.SendRawAsync([0x30, 0x80, 0x80, 0x80, 0x01]);
        var d = await c.ReadSkippingPingsAsync<DisconnectPacket>();
        Assert.Equal((byte)MqttReasonCode.PacketTooLarge, d.ReasonCode);
        var l = await lost.WaitAsync(Wait);
        Assert.Equal(MqttReasonCode.PacketTooLarge, l.ServerReasonCode);
    }

    [Fact]
    public async Task PublishAsync_AboveServerMaximumPacketSize_ThrowsPacketTooLargeAndStaysConnected()
    {
        await using var broker = new FakeBroker();
        await using var client = new MqttClient(broker.ClientOptions());
        var connecting = client.ConnectAsync();
        var (c, _) = await broker.AcceptAndConnAckAsync(a => a.Properties.MaximumPacketSize = 100);
        await connecting;
        var big = new MqttApplicationMessage { Topic = "t", Payload = new byte[200] };
        var ex = await Assert.ThrowsAsync<MqttProtocolException>(() => client.PublishAsync(big));
        Assert.Equal(MqttReasonCode.PacketTooLarge, ex.ReasonCode);
        await Assert.ThrowsAsync<MqttProtocolException>(() => client.PublishAsync(new MqttApplicationMessage { Topic = "t", Payload = new byte[200], Qos = MqttQos.AtLeastOnce }));
        await client.PublishAsync(Msg("t", "small", MqttQos.AtMostOnce));
        var p = await c.ReadAsync<PublishPacket>();
        Assert.Equal("small", System.Text.Encoding.UTF8.GetString(p.Payload.Span));
        Assert.True(client.IsConnected);
    }

    [Fact]
    public async Task KeepAlive_ServerKeepAlive_IsObeyed()
    {
        await using var broker = new FakeBroker();
        await using var client = new MqttClient(broker.ClientOptions(o => { o.KeepAliveSeconds = 600; o.PingTimeout = TimeSpan.FromSeconds(8); }));
        var connecting = client.ConnectAsync();
        var (c, connect) = await broker.AcceptAndConnAckAsync(a => a.Properties.ServerKeepAlive = 1);
        var result = await connecting;
        Assert.Equal((ushort)600, connect.KeepAlive);
        Assert.Equal((ushort)1, result.ServerKeepAlive);
        // [MQTT-3.1.2-21] the client uses the server's 1 s, not its own 600 s
        Assert.IsType<PingReqPacket>(await c.ReadAsync(TimeSpan.FromSeconds(5)));
        await c.SendAsync(PingRespPacket.Instance);
        Assert.IsType<PingReqPacket>(await c.ReadAsync(TimeSpan.FromSeconds(5)));
        Assert.True(client.IsConnected);
    }

    [Fact]
    public async Task KeepAlive_PingRespNeverComes_ConnectionLost()
    {
        await using var broker = new FakeBroker();
        await using var client = new MqttClient(broker.ClientOptions(o => o.KeepAliveSeconds = 1));
        var connecting = client.ConnectAsync();
        var (c, _) = await broker.AcceptAndConnAckAsync();
        await connecting;
        var lost = LostAsync(client);
        Assert.IsType<PingReqPacket>(await c.ReadAsync());
        var l = await lost.WaitAsync(Wait);
        Assert.Contains("PINGRESP", l.Reason, StringComparison.Ordinal);
        Assert.False(client.IsConnected);
    }

    [Fact]
    public async Task KeepAlive_PingRespNeverComesWhilePublishingContinuously_ConnectionLost()
    {
        await using var broker = new FakeBroker();
        await using var client = new MqttClient(broker.ClientOptions(o => o.KeepAliveSeconds = 1));
        var connecting = client.ConnectAsync();
        var (c, _) = await broker.AcceptAndConnAckAsync();
        await connecting;
        var lost = LostAsync(client);
        // the broker reads everything (so writes never block) but never answers: a half-dead broker
        using var drain = new CancellationTokenSource();
        var reading = Task.Run(async () =>
        {
            try { while (!drain.IsCancellationRequested) await c.ReadAsync(TimeSpan.FromSeconds(30)); }
            catch (Exception) { /* connection closed by the client */ }
        });
        var publishing = Task.Run(async () =>
        {
            while (!lost.IsCompleted)
            {
                try { await client.PublishAsync(Msg("busy", "x", MqttQos.AtMostOnce)); }
                catch (MqttNotConnectedException) { break; }
                await Task.Delay(10);
            }
        });
        var l = await lost.WaitAsync(Wait);
        Assert.Contains("PINGRESP", l.Reason, StringComparison.Ordinal);
        await publishing.WaitAsync(Wait);
        drain.Cancel();
    }

    [Fact]
    public async Task Receive_ServerDisconnect_ReasonCodeSurfaced()
    {
        await using var broker = new FakeBroker();
        await using var client = new MqttClient(broker.ClientOptions());
        var connecting = client.ConnectAsync();
        var (c, _) = await broker.AcceptAndConnAckAsync();
        await connecting;
        var lost = LostAsync(client);
        await c.SendAsync(new DisconnectPacket { ReasonCode = (byte)MqttReasonCode.ServerShuttingDown, Properties = { ReasonString = "maintenance" } });
        var l = await lost.WaitAsync(Wait);
        Assert.Equal(MqttReasonCode.ServerShuttingDown, l.ServerReasonCode);
        Assert.Contains("Server shutting down", l.Reason, StringComparison.Ordinal);
        Assert.Contains("maintenance", l.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Receive_StrayAcks_IgnoredAndConnectionKept()
    {
        await using var broker = new FakeBroker();
        await using var client = new MqttClient(broker.ClientOptions());
        var connecting = client.ConnectAsync();
        var (c, _) = await broker.AcceptAndConnAckAsync();
        await connecting;
        await c.SendAsync(new PubAckPacket(MqttPacketType.PubAck) { PacketId = 999 });
        await c.SendAsync(new PubAckPacket(MqttPacketType.PubComp) { PacketId = 998 });
        await c.SendAsync(new SubAckPacket { PacketId = 997, ReasonCodes = [0] });
        var t = client.PublishAsync(Msg("after", "stray"));
        var p = await c.ReadAsync<PublishPacket>();
        await c.SendAsync(new PubAckPacket(MqttPacketType.PubAck) { PacketId = p.PacketId });
        Assert.True((await t.WaitAsync(Wait)).IsSuccess);
        Assert.True(client.IsConnected);
    }

    [Fact]
    public async Task Receive_IncomingQos2_DeliveredOnceWithPubRecAndPubComp()
    {
        await using var broker = new FakeBroker();
        await using var client = new MqttClient(broker.ClientOptions());
        var connecting = client.ConnectAsync();
        var (c, _) = await broker.AcceptAndConnAckAsync();
        await connecting;
        var publish = new PublishPacket { Topic = "q2", Qos = MqttQos.ExactlyOnce, PacketId = 7, Payload = "once"u8.ToArray() };
        await c.SendAsync(publish);
        var rec = await c.ReadAsync<PubAckPacket>();
        Assert.Equal(MqttPacketType.PubRec, rec.Kind);
        Assert.Equal(7, rec.PacketId);
        publish.Dup = true;
        await c.SendAsync(publish); // resend before PUBREL: acknowledged again, not delivered again
        Assert.Equal(MqttPacketType.PubRec, (await c.ReadAsync<PubAckPacket>()).Kind);
        await c.SendAsync(new PubAckPacket(MqttPacketType.PubRel) { PacketId = 7 });
        var comp = await c.ReadAsync<PubAckPacket>();
        Assert.Equal(MqttPacketType.PubComp, comp.Kind);
        Assert.Equal(0, comp.ReasonCode);
        var m = await client.Messages.ReadAsync().AsTask().WaitAsync(Wait);
        Assert.Equal("once", System.Text.Encoding.UTF8.GetString(m.Payload.Span));
        Assert.Equal(MqttQos.ExactlyOnce, m.Qos);
        Assert.False(client.Messages.TryRead(out _));
    }

    [Fact]
    public async Task Receive_Qos1WithSlowConsumer_AckedWithoutWaitingForTheReader()
    {
        await using var broker = new FakeBroker();
        await using var client = new MqttClient(broker.ClientOptions());
        var connecting = client.ConnectAsync();
        var (c, _) = await broker.AcceptAndConnAckAsync();
        await connecting;
        // nobody reads client.Messages: acks must still flow
        for (ushort i = 1; i <= 50; i++)
            await c.SendAsync(new PublishPacket { Topic = "in", Qos = MqttQos.AtLeastOnce, PacketId = i, Payload = new byte[] { (byte)i } });
        for (ushort i = 1; i <= 50; i++)
            Assert.Equal(i, (await c.ReadAsync<PubAckPacket>()).PacketId);
        Assert.Equal(50, client.Messages.Count);
    }

    [Fact]
    public async Task Receive_MalformedVariableByteInteger_DisconnectsWithMalformedPacket()
    {
        await using var broker = new FakeBroker();
        await using var client = new MqttClient(broker.ClientOptions());
        var connecting = client.ConnectAsync();
        var (c, _) = await broker.AcceptAndConnAckAsync();
        await connecting;
        var lost = LostAsync(client);
        await c.SendRawAsync([0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]);
        var d = await c.ReadSkippingPingsAsync<DisconnectPacket>();
        Assert.Equal((byte)MqttReasonCode.MalformedPacket, d.ReasonCode);
        Assert.Equal(MqttReasonCode.MalformedPacket, (await lost.WaitAsync(Wait)).ServerReasonCode);
    }

    [Fact]
    public async Task Receive_TopicWithNulCharacter_DisconnectsWithMalformedPacket()
    {
        await using var broker = new FakeBroker();
        await using var client = new MqttClient(broker.ClientOptions());
        var connecting = client.ConnectAsync();
        var (c, _) = await broker.AcceptAndConnAckAsync();
        await connecting;
        var lost = LostAsync(client);
        await c.SendRawAsync([0x30, 0x05, 0x00, 0x02, (byte)'a', 0x00, 0x00]);
        Assert.Equal((byte)MqttReasonCode.MalformedPacket, (await c.ReadSkippingPingsAsync<DisconnectPacket>()).ReasonCode);
        await lost.WaitAsync(Wait);
    }

    [Theory]
    [InlineData(MqttProtocolVersion.V500, 0x87, MqttReasonCode.NotAuthorized)]
    [InlineData(MqttProtocolVersion.V500, 0x86, MqttReasonCode.BadUserNameOrPassword)]
    [InlineData(MqttProtocolVersion.V311, 5, MqttReasonCode.NotAuthorized)]
    [InlineData(MqttProtocolVersion.V311, 2, MqttReasonCode.ClientIdentifierNotValid)]
    public async Task ConnectAsync_Refused_ThrowsWithReasonCodeAndName(MqttProtocolVersion version, byte code, MqttReasonCode expected)
    {
        await using var broker = new FakeBroker(version);
        await using var client = new MqttClient(broker.ClientOptions());
        var connecting = client.ConnectAsync();
        await broker.AcceptAndConnAckAsync(a => a.ReasonCode = code);
        var ex = await Assert.ThrowsAsync<MqttConnectException>(() => connecting);
        Assert.Equal(expected, ex.ReasonCode);
        Assert.Equal(expected.GetName(), ex.ReasonName);
        Assert.False(client.IsConnected);
    }

    [Fact]
    public async Task ConnectAsync_ConnAckLimits_AreReportedAndObeyed()
    {
        await using var broker = new FakeBroker();
        await using var client = new MqttClient(broker.ClientOptions(o => o.ClientId = ""));
        var connecting = client.ConnectAsync();
        await broker.AcceptAndConnAckAsync(a =>
        {
            a.Properties.MaximumQos = 0;
            a.Properties.RetainAvailable = 0;
            a.Properties.AssignedClientIdentifier = "assigned-1";
            a.Properties.TopicAliasMaximum = 10;
        });
        var r = await connecting;
        Assert.Equal("assigned-1", r.AssignedClientId);
        Assert.Equal(MqttQos.AtMostOnce, r.MaximumQos);
        Assert.False(r.RetainAvailable);
        Assert.Equal((ushort)10, r.TopicAliasMaximum);
        await Assert.ThrowsAsync<NotSupportedException>(() => client.PublishAsync(Msg("a", "q1")));                       // [MQTT-3.2.2-11]
        await Assert.ThrowsAsync<NotSupportedException>(() => client.PublishAsync(new MqttApplicationMessage { Topic = "a", Retain = true })); // [MQTT-3.2.2-14]
    }

    [Fact]
    public async Task ConnectAsync_NoConnAck_TimesOut()
    {
        await using var broker = new FakeBroker();
        await using var client = new MqttClient(broker.ClientOptions(o => o.ConnectTimeout = TimeSpan.FromMilliseconds(500)));
        var connecting = client.ConnectAsync();
        var c = await broker.AcceptAsync();
        await c.ReadAsync<ConnectPacket>();
        await Assert.ThrowsAsync<TimeoutException>(() => connecting);
    }

    [Fact]
    public async Task PublishAsync_ManyConcurrentTasks_AllAcknowledgedWithUniqueIdsInFlight()
    {
        await using var broker = new FakeBroker();
        await using var client = new MqttClient(broker.ClientOptions());
        var connecting = client.ConnectAsync();
        var (c, _) = await broker.AcceptAndConnAckAsync(a => a.Properties.ReceiveMaximum = 50);
        await connecting;
        var inFlight = new HashSet<ushort>();
        var maxInFlight = 0;
        var acker = Task.Run(async () =>
        {
            var pending = new Queue<ushort>();
            for (var n = 0; n < 2000; n++)
            {
                var p = await c.ReadSkippingPingsAsync<PublishPacket>();
                if (p.Qos == MqttQos.AtMostOnce) { n--; continue; }
                Assert.NotEqual(0, p.PacketId);
                Assert.True(inFlight.Add(p.PacketId), $"id {p.PacketId} reused while in flight");
                maxInFlight = Math.Max(maxInFlight, inFlight.Count);
                pending.Enqueue(p.PacketId);
                if (pending.Count >= 10 || inFlight.Count >= 50)
                {
                    while (pending.TryDequeue(out var id))
                    {
                        inFlight.Remove(id);
                        await c.SendAsync(new PubAckPacket(MqttPacketType.PubAck) { PacketId = id });
                    }
                }
            }
            while (pending.TryDequeue(out var id)) await c.SendAsync(new PubAckPacket(MqttPacketType.PubAck) { PacketId = id });
        });
        var publishers = Enumerable.Range(0, 8).Select(t => Task.Run(async () =>
        {
            var mine = new List<Task<MqttPublishResult>>();
            for (var i = 0; i < 250; i++)
            {
                mine.Add(client.PublishAsync(Msg($"t/{t}", i.ToString(System.Globalization.CultureInfo.InvariantCulture))));
                if (i % 50 == 0) await client.PublishAsync(Msg($"t/{t}", "q0", MqttQos.AtMostOnce));
            }
            return await Task.WhenAll(mine);
        })).ToArray();
        var results = (await Task.WhenAll(publishers).WaitAsync(TimeSpan.FromSeconds(30))).SelectMany(r => r).ToArray();
        await acker.WaitAsync(Wait);
        Assert.Equal(2000, results.Length);
        Assert.All(results, r => Assert.True(r.IsSuccess));
        Assert.True(maxInFlight <= 50, $"max in flight {maxInFlight} > receive maximum 50");
    }

    [Fact]
    public async Task SubscribeAsync_V5Options_EncodedAndReasonCodesReturned()
    {
        await using var broker = new FakeBroker();
        await using var client = new MqttClient(broker.ClientOptions());
        var connecting = client.ConnectAsync();
        var (c, _) = await broker.AcceptAndConnAckAsync();
        await connecting;
        var sub = client.SubscribeAsync([new MqttTopicFilter("a/+", MqttQos.AtLeastOnce, NoLocal: true, RetainAsPublished: true, RetainHandling: 2), new MqttTopicFilter("b/#", MqttQos.ExactlyOnce)]);
        var s = await c.ReadAsync<SubscribePacket>();
        Assert.Equal(new MqttTopicFilter("a/+", MqttQos.AtLeastOnce, true, true, 2), s.Filters[0]);
        await c.SendAsync(new SubAckPacket { PacketId = s.PacketId, ReasonCodes = [1, 0x87] });
        Assert.Equal([MqttReasonCode.GrantedQos1, MqttReasonCode.NotAuthorized], await sub.WaitAsync(Wait));
        var unsub = client.UnsubscribeAsync(["a/+"]);
        var u = await c.ReadAsync<UnsubscribePacket>();
        await c.SendAsync(new UnsubAckPacket { PacketId = u.PacketId, ReasonCodes = [0x11] });
        await unsub.WaitAsync(Wait);
    }

    [Fact]
    public async Task DisconnectAsync_Clean_SendsDisconnectAndRaisesNoConnectionLost()
    {
        await using var broker = new FakeBroker();
        await using var client = new MqttClient(broker.ClientOptions());
        var connecting = client.ConnectAsync();
        var (c, _) = await broker.AcceptAndConnAckAsync();
        await connecting;
        var raised = false;
        client.ConnectionLost += _ => raised = true;
        await client.PublishAsync(Msg("x", "before", MqttQos.AtMostOnce));
        await client.DisconnectAsync();
        Assert.IsType<PublishPacket>(await c.ReadAsync());
        var d = await c.ReadAsync<DisconnectPacket>();
        Assert.Equal(0, d.ReasonCode); // 0x00: the will is suppressed
        Assert.False(client.IsConnected);
        await Task.Delay(100);
        Assert.False(raised);
    }

    [Fact]
    public async Task PublishAsync_Qos0SteadyState_NoAllocationPerMessageOnThePublishingThread()
    {
        await using var broker = new FakeBroker();
        await using var client = new MqttClient(broker.ClientOptions());
        var connecting = client.ConnectAsync();
        var (c, _) = await broker.AcceptAndConnAckAsync();
        await connecting;
        using var drain = new CancellationTokenSource();
        var reading = Task.Run(async () =>
        {
            try { while (!drain.IsCancellationRequested) await c.ReadAsync(TimeSpan.FromSeconds(30)); }
            catch (Exception) { /* closed at the end */ }
        });
        var m = new MqttApplicationMessage { Topic = "cams/17/health", Payload = new byte[64], Qos = MqttQos.AtMostOnce };
        long allocated = 0;
        await Task.Run(() =>
        {
            // measured on one thread, synchronously: the publish path itself (encode into the pooled buffer, hand to the writer)
            for (var i = 0; i < 20_000; i++) PublishOrWait(client, m);
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < 20_000; i++) PublishOrWait(client, m);
            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        });
        drain.Cancel();
        // only back-pressure waits (one shared TaskCompletionSource per buffer swap) may allocate
        Assert.True(allocated / 20_000.0 < 8, $"{allocated} bytes for 20,000 QoS 0 publishes");
    }

    [Fact]
    public async Task Receive_BrokerFloodsWithoutReadingAcks_ReceiveLoopNeverBlocksOnWrites()
    {
        // The broker pushes far more QoS 1 publishes than the socket buffers hold and reads nothing meanwhile. If the
        // receive loop ever blocked writing PUBACKs, it would stop reading and both sides would wait forever.
        await using var broker = new FakeBroker(MqttProtocolVersion.V311);
        await using var client = new MqttClient(broker.ClientOptions(o => o.KeepAliveSeconds = 0));
        var connecting = client.ConnectAsync();
        var (c, _) = await broker.AcceptAndConnAckAsync();
        await connecting;
        const int Count = 30_000, Outgoing = 10_000;
        var payload = new byte[2048];
        // meanwhile the client publishes 20 MB of QoS 0 that the broker does not read yet: the send buffers fill up
        var publishing = Task.Run(async () =>
        {
            var m = new MqttApplicationMessage { Topic = "out", Payload = payload };
            for (var i = 0; i < Outgoing; i++) await client.PublishAsync(m);
        });
        var flooding = Task.Run(async () =>
        {
            for (var i = 0; i < Count; i++)
                await c.SendAsync(new PublishPacket { Topic = "flood", Qos = MqttQos.AtLeastOnce, PacketId = (ushort)(i % 65535 + 1), Payload = payload });
        });
        await flooding.WaitAsync(TimeSpan.FromSeconds(60)); // 60 MB pushed: only possible if the client keeps reading
        int acks = 0, publishes = 0;
        while (acks < Count || publishes < Outgoing)
        {
            var p = await c.ReadAsync(TimeSpan.FromSeconds(30));
            if (p is PubAckPacket) acks++;
            else if (p is PublishPacket) publishes++;
        }
        await publishing.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(Count, client.Messages.Count);
    }

    [Fact]
    public async Task Receive_AcksOverflowTheSocketBuffer_LeaveCompleteAndInOrder()
    {
        // The receive thread sends its PUBACKs without blocking; with a 4 KiB socket send buffer and a broker that reads
        // nothing for a while, most of them do not fit and are handed to the send thread. Every byte must still leave
        // once and in order: the broker then reads exactly the acks for ids 1..N, in order, and nothing else.
        await using var broker = new FakeBroker(MqttProtocolVersion.V311);
        await using var client = new MqttClient(broker.ClientOptions(o =>
        {
            o.KeepAliveSeconds = 0;
            o.SocketSendBufferBytes = 4096;
        }));
        var connecting = client.ConnectAsync();
        var (c, _) = await broker.AcceptAndConnAckAsync();
        await connecting;
        const int Count = 60_000;
        for (var i = 0; i < Count; i++)
            await c.SendAsync(new PublishPacket { Topic = "flood", Qos = MqttQos.AtLeastOnce, PacketId = (ushort)(i + 1), Payload = new byte[8] });
        await Task.Delay(200); // let the acks pile up against the full socket buffer
        for (var i = 0; i < Count; i++)
        {
            var p = Assert.IsType<PubAckPacket>(await c.ReadAsync(TimeSpan.FromSeconds(30)));
            Assert.Equal((ushort)(i + 1), p.PacketId);
        }
        Assert.Equal(Count, client.Messages.Count);
    }

    private static void PublishOrWait(MqttClient client, MqttApplicationMessage m)
    {
        var t = client.PublishAsync(m);
        if (!t.IsCompletedSuccessfully) t.GetAwaiter().GetResult();
    }
}
