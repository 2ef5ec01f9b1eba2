using HealthAgent.Mqtt.Packets;

namespace HealthAgent.Mqtt.Encoding;

/// <summary>
/// Strict decoder for one complete packet (fixed header byte + body). Throws only <see cref="MqttProtocolException"/>:
/// Malformed Packet (0x81) or Protocol Error (0x82); the connection owner closes with that code.
/// </summary>
internal static class MqttPacketDecoder
{
    /// <summary>
    /// Parses the fixed header at the start of <paramref name="buffer"/>. Returns false when more bytes are needed.
    /// The remaining length is checked against <paramref name="maximumPacketSize"/> before anything is buffered
    /// [MQTT-3.1.2-24 mirrored for the client]: Packet too large (0x95).
    /// </summary>
    public static bool TryReadFixedHeader(ReadOnlySpan<byte> buffer, uint maximumPacketSize, out byte firstByte, out int headerLength, out int remainingLength)
    {
        firstByte = 0;
        headerLength = 0;
        remainingLength = 0;
        if (buffer.Length < 2) return false;
        if (MqttBufferReader.TryReadVarInt(buffer[1..], out var rl, out var used) == 0) return false;
        firstByte = buffer[0];
        headerLength = 1 + used;
        remainingLength = (int)rl;
        if (maximumPacketSize > 0 && (ulong)headerLength + rl > maximumPacketSize)
            throw new MqttProtocolException(MqttReasonCode.PacketTooLarge, $"packet of {headerLength + rl} bytes exceeds the maximum packet size {maximumPacketSize}");
        return true;
    }

    /// <summary>Decodes a whole packet (fixed header included) — used by tests and the fuzzer.</summary>
    public static MqttPacket Decode(ReadOnlySpan<byte> packet, MqttProtocolVersion v, uint maximumPacketSize = 0)
    {
        if (!TryReadFixedHeader(packet, maximumPacketSize, out var first, out var hl, out var rl) || packet.Length < hl + rl)
            throw MqttBufferReader.Malformed("packet ends early");
        if (packet.Length != hl + rl) throw MqttBufferReader.Malformed("bytes after the packet");
        return Decode(first, packet.Slice(hl, rl), v);
    }

    public static MqttPacket Decode(byte first, ReadOnlySpan<byte> body, MqttProtocolVersion v)
    {
        var type = (MqttPacketType)(first >> 4);
        var flags = first & 0x0F;
        var v5 = v == MqttProtocolVersion.V500;
        // [MQTT-2.1.3-1] reserved flag bits
        var expected = type switch
        {
            MqttPacketType.Publish => flags,
            MqttPacketType.PubRel or MqttPacketType.Subscribe or MqttPacketType.Unsubscribe => 0x02,
            _ => 0,
        };
        if (flags != expected) throw MqttBufferReader.Malformed($"reserved flags 0x{flags:X} of {type} [MQTT-2.1.3-1]");
        var r = new MqttBufferReader(body);
        MqttPacket result = type switch
        {
            MqttPacketType.Connect => DecodeConnect(ref r),
            MqttPacketType.ConnAck => DecodeConnAck(ref r, v5),
            MqttPacketType.Publish => DecodePublish(ref r, flags, v5),
            MqttPacketType.PubAck or MqttPacketType.PubRec or MqttPacketType.PubRel or MqttPacketType.PubComp => DecodePubAck(ref r, type, v5),
            MqttPacketType.Subscribe => DecodeSubscribe(ref r, v5),
            MqttPacketType.SubAck => DecodeSubAck(ref r, v5),
            MqttPacketType.Unsubscribe => DecodeUnsubscribe(ref r, v5),
            MqttPacketType.UnsubAck => DecodeUnsubAck(ref r, v5),
            MqttPacketType.PingReq => PingReqPacket.Instance,
            MqttPacketType.PingResp => PingRespPacket.Instance,
            MqttPacketType.Disconnect => DecodeDisconnect(ref r, v5),
            MqttPacketType.Auth when v5 => DecodeAuth(ref r),
            _ => throw MqttBufferReader.Malformed($"packet type {(int)type} is not valid"),
        };
        if (!r.End) throw MqttBufferReader.Malformed($"{type} has {r.Remaining} unexpected trailing bytes");
        return result;
    }

    private static ConnectPacket DecodeConnect(ref MqttBufferReader r)
    {
        var name = r.ReadString();
        var level = r.ReadByte();
        if (name != "MQTT" || (level != 4 && level != 5))
            throw new MqttProtocolException(MqttReasonCode.UnsupportedProtocolVersion, $"protocol {name} level {level}");
        var v5 = level == 5;
        var flags = r.ReadByte();
        if ((flags & 0x01) != 0) throw MqttBufferReader.Malformed("CONNECT reserved flag set [MQTT-3.1.2-3]");
        var p = new ConnectPacket
        {
            ProtocolVersion = (MqttProtocolVersion)level,
            CleanStart = (flags & 0x02) != 0,
            HasWill = (flags & 0x04) != 0,
            WillQos = (MqttQos)((flags >> 3) & 3),
            WillRetain = (flags & 0x20) != 0,
        };
        if ((int)p.WillQos == 3) throw MqttBufferReader.Malformed("will QoS 3 [MQTT-3.1.2-12]");
        if (!p.HasWill && (p.WillQos != 0 || p.WillRetain)) throw MqttBufferReader.Malformed("will QoS/retain without will [MQTT-3.1.2-11/13]");
        var hasUser = (flags & 0x80) != 0;
        var hasPassword = (flags & 0x40) != 0;
        if (!v5 && hasPassword && !hasUser) throw MqttBufferReader.Malformed("password without user name [MQTT-3.1.2-22]");
        p.KeepAlive = r.ReadUInt16();
        if (v5) p.Properties = ReadProperties(ref r, MqttPacketType.Connect, false);
        p.ClientId = r.ReadString();
        if (p.HasWill)
        {
            if (v5) p.WillProperties = ReadProperties(ref r, MqttPacketType.Connect, true);
            p.WillTopic = r.ReadString();
            if (!MqttTopic.IsValidTopicName(p.WillTopic)) throw new MqttProtocolException(MqttReasonCode.TopicNameInvalid, "will topic");
            p.WillPayload = r.ReadBinary();
        }
        if (hasUser) p.Username = r.ReadString();
        if (hasPassword) p.Password = r.ReadBinary();
        return p;
    }

    private static ConnAckPacket DecodeConnAck(ref MqttBufferReader r, bool v5)
    {
        var ackFlags = r.ReadByte();
        if ((ackFlags & 0xFE) != 0) throw MqttBufferReader.Malformed("CONNACK reserved flags [MQTT-3.2.2-1]");
        var p = new ConnAckPacket { SessionPresent = (ackFlags & 1) != 0, ReasonCode = r.ReadByte() };
        if (v5) p.Properties = ReadProperties(ref r, MqttPacketType.ConnAck, false);
        else if (p.ReasonCode > 5) throw MqttBufferReader.Malformed($"CONNACK return code {p.ReasonCode}");
        return p;
    }

    private static PublishPacket DecodePublish(ref MqttBufferReader r, int flags, bool v5)
    {
        var qos = (flags >> 1) & 3;
        if (qos == 3) throw MqttBufferReader.Malformed("PUBLISH with QoS 3 [MQTT-3.3.1-4]");
        var p = new PublishPacket { Qos = (MqttQos)qos, Dup = (flags & 0x08) != 0, Retain = (flags & 1) != 0 };
        if (p.Dup && qos == 0) throw MqttBufferReader.Malformed("DUP set on QoS 0 [MQTT-3.3.1-2]");
        p.Topic = r.ReadString();
        if (qos > 0)
        {
            p.PacketId = r.ReadUInt16();
            if (p.PacketId == 0) throw MqttBufferReader.Malformed("packet identifier 0 [MQTT-2.2.1-3]");
        }
        if (v5) p.Properties = ReadProperties(ref r, MqttPacketType.Publish, false);
        // [MQTT-3.3.2-2] no wildcards; an empty topic is allowed in v5 only together with a Topic Alias [MQTT-3.3.2-1]
        if (p.Topic.Length == 0 ? !(v5 && p.Properties.TopicAlias is not null) : !MqttTopic.IsValidTopicName(p.Topic))
            throw new MqttProtocolException(MqttReasonCode.TopicNameInvalid, $"topic name '{p.Topic}'");
        p.Payload = r.ReadRest().ToArray();
        return p;
    }

    private static PubAckPacket DecodePubAck(ref MqttBufferReader r, MqttPacketType type, bool v5)
    {
        var p = new PubAckPacket(type) { PacketId = r.ReadUInt16() };
        if (p.PacketId == 0) throw MqttBufferReader.Malformed("packet identifier 0 [MQTT-2.2.1-3]");
        if (v5 && !r.End)
        {
            p.ReasonCode = r.ReadByte();
            if (!r.End) p.Properties = ReadProperties(ref r, type, false);
        }
        return p;
    }

    private static SubscribePacket DecodeSubscribe(ref MqttBufferReader r, bool v5)
    {
        var p = new SubscribePacket { PacketId = r.ReadUInt16() };
        if (p.PacketId == 0) throw MqttBufferReader.Malformed("packet identifier 0 [MQTT-2.2.1-3]");
        if (v5) p.Properties = ReadProperties(ref r, MqttPacketType.Subscribe, false);
        while (!r.End)
        {
            var filter = r.ReadString();
            var o = r.ReadByte();
            if ((o & (v5 ? 0xC0 : 0xFC)) != 0) throw MqttBufferReader.Malformed("subscription options reserved bits [MQTT-3.8.3-5]");
            if ((o & 3) == 3) throw MqttBufferReader.Malformed("subscription QoS 3 [MQTT-3-8.3-4]");
            if (((o >> 4) & 3) == 3) throw MqttBufferReader.ProtocolError("retain handling 3");
            if (!MqttTopic.IsValidTopicFilter(filter)) throw new MqttProtocolException(MqttReasonCode.TopicFilterInvalid, $"topic filter '{filter}'");
            p.Filters.Add(new MqttTopicFilter(filter, (MqttQos)(o & 3), (o & 4) != 0, (o & 8) != 0, (byte)((o >> 4) & 3)));
        }
        if (p.Filters.Count == 0) throw MqttBufferReader.ProtocolError("SUBSCRIBE without a filter [MQTT-3.8.3-2]");
        return p;
    }

    private static SubAckPacket DecodeSubAck(ref MqttBufferReader r, bool v5)
    {
        var p = new SubAckPacket { PacketId = r.ReadUInt16() };
        if (v5) p.Properties = ReadProperties(ref r, MqttPacketType.SubAck, false);
        while (!r.End)
        {
            var c = r.ReadByte();
            if (!v5 && c > 2 && c != 0x80) throw MqttBufferReader.Malformed($"SUBACK return code 0x{c:X2}");
            p.ReasonCodes.Add(c);
        }
        if (p.ReasonCodes.Count == 0) throw MqttBufferReader.ProtocolError("SUBACK without a reason code");
        return p;
    }

    private static UnsubscribePacket DecodeUnsubscribe(ref MqttBufferReader r, bool v5)
    {
        var p = new UnsubscribePacket { PacketId = r.ReadUInt16() };
        if (p.PacketId == 0) throw MqttBufferReader.Malformed("packet identifier 0 [MQTT-2.2.1-3]");
        if (v5) p.Properties = ReadProperties(ref r, MqttPacketType.Unsubscribe, false);
        while (!r.End)
        {
            var f = r.ReadString();
            if (!MqttTopic.IsValidTopicFilter(f)) throw new MqttProtocolException(MqttReasonCode.TopicFilterInvalid, $"topic filter '{f}'");
            p.Filters.Add(f);
        }
        if (p.Filters.Count == 0) throw MqttBufferReader.ProtocolError("UNSUBSCRIBE without a filter [MQTT-3.10.3-2]");
        return p;
    }

    private static UnsubAckPacket DecodeUnsubAck(ref MqttBufferReader r, bool v5)
    {
        var p = new UnsubAckPacket { PacketId = r.ReadUInt16() };
        if (v5)
        {
            p.Properties = ReadProperties(ref r, MqttPacketType.UnsubAck, false);
            while (!r.End) p.ReasonCodes.Add(r.ReadByte());
            if (p.ReasonCodes.Count == 0) throw MqttBufferReader.ProtocolError("UNSUBACK without a reason code");
        }
        return p;
    }

    private static DisconnectPacket DecodeDisconnect(ref MqttBufferReader r, bool v5)
    {
        var p = new DisconnectPacket();
        if (v5 && !r.End)
        {
            p.ReasonCode = r.ReadByte();
            if (!r.End) p.Properties = ReadProperties(ref r, MqttPacketType.Disconnect, false);
        }
        return p;
    }

    private static AuthPacket DecodeAuth(ref MqttBufferReader r)
    {
        var p = new AuthPacket();
        if (!r.End)
        {
            p.ReasonCode = r.ReadByte();
            if (!r.End) p.Properties = ReadProperties(ref r, MqttPacketType.Auth, false);
        }
        return p;
    }

    /// <summary>
    /// Property Length then properties. An identifier not valid for the packet is Malformed (2.2.2.2); a property given
    /// twice (other than User Property / Subscription Identifier) or an out-of-range value is a Protocol Error.
    /// </summary>
    internal static MqttProperties ReadProperties(ref MqttBufferReader r, MqttPacketType type, bool will)
    {
        var length = r.ReadVarInt();
        if (length > r.Remaining) throw MqttBufferReader.Malformed("property length beyond the packet");
        var pr = new MqttBufferReader(r.ReadBytes((int)length));
        var p = new MqttProperties();
        while (!pr.End)
        {
            var idRaw = pr.ReadVarInt();
            if (idRaw > 0x7F) throw MqttBufferReader.Malformed($"property identifier 0x{idRaw:X}");
            var id = (MqttPropertyId)idRaw;
            if (!MqttProperties.IsAllowed(id, type, will)) throw MqttBufferReader.Malformed($"property 0x{idRaw:X2} not valid in {type}");
            switch (id)
            {
                case MqttPropertyId.PayloadFormatIndicator: p.PayloadFormatIndicator = Once(p.PayloadFormatIndicator, Bool(pr.ReadByte()), id); break;
                case MqttPropertyId.MessageExpiryInterval: p.MessageExpiryInterval = Once(p.MessageExpiryInterval, pr.ReadUInt32(), id); break;
                case MqttPropertyId.ContentType: p.ContentType = OnceRef(p.ContentType, pr.ReadString(), id); break;
                case MqttPropertyId.ResponseTopic:
                    var rt = pr.ReadString();
                    if (!MqttTopic.IsValidTopicName(rt)) throw MqttBufferReader.ProtocolError("response topic with wildcards [MQTT-3.3.2-14]");
                    p.ResponseTopic = OnceRef(p.ResponseTopic, rt, id);
                    break;
                case MqttPropertyId.CorrelationData:
                    if (p.CorrelationData is not null) throw Twice(id);
                    p.CorrelationData = pr.ReadBinary();
                    break;
                case MqttPropertyId.SubscriptionIdentifier:
                    var sid = pr.ReadVarInt();
                    if (sid == 0) throw MqttBufferReader.ProtocolError("subscription identifier 0 (3.8.2.1.2)");
                    if (type == MqttPacketType.Subscribe && p.SubscriptionIdentifiers is not null) throw Twice(id);
                    (p.SubscriptionIdentifiers ??= []).Add(sid);
                    break;
                case MqttPropertyId.SessionExpiryInterval: p.SessionExpiryInterval = Once(p.SessionExpiryInterval, pr.ReadUInt32(), id); break;
                case MqttPropertyId.AssignedClientIdentifier: p.AssignedClientIdentifier = OnceRef(p.AssignedClientIdentifier, pr.ReadString(), id); break;
                case MqttPropertyId.ServerKeepAlive: p.ServerKeepAlive = Once(p.ServerKeepAlive, pr.ReadUInt16(), id); break;
                case MqttPropertyId.AuthenticationMethod: p.AuthenticationMethod = OnceRef(p.AuthenticationMethod, pr.ReadString(), id); break;
                case MqttPropertyId.AuthenticationData:
                    if (p.AuthenticationData is not null) throw Twice(id);
                    p.AuthenticationData = pr.ReadBinary();
                    break;
                case MqttPropertyId.RequestProblemInformation: p.RequestProblemInformation = Once(p.RequestProblemInformation, Bool(pr.ReadByte()), id); break;
                case MqttPropertyId.WillDelayInterval: p.WillDelayInterval = Once(p.WillDelayInterval, pr.ReadUInt32(), id); break;
                case MqttPropertyId.RequestResponseInformation: p.RequestResponseInformation = Once(p.RequestResponseInformation, Bool(pr.ReadByte()), id); break;
                case MqttPropertyId.ResponseInformation: p.ResponseInformation = OnceRef(p.ResponseInformation, pr.ReadString(), id); break;
                case MqttPropertyId.ServerReference: p.ServerReference = OnceRef(p.ServerReference, pr.ReadString(), id); break;
                case MqttPropertyId.ReasonString: p.ReasonString = OnceRef(p.ReasonString, pr.ReadString(), id); break;
                case MqttPropertyId.ReceiveMaximum:
                    var rm = pr.ReadUInt16();
                    if (rm == 0) throw MqttBufferReader.ProtocolError("Receive Maximum 0 (3.1.2.11.3, 3.2.2.3.3)");
                    p.ReceiveMaximum = Once(p.ReceiveMaximum, rm, id);
                    break;
                case MqttPropertyId.TopicAliasMaximum: p.TopicAliasMaximum = Once(p.TopicAliasMaximum, pr.ReadUInt16(), id); break;
                case MqttPropertyId.TopicAlias:
                    var ta = pr.ReadUInt16();
                    if (ta == 0) throw new MqttProtocolException(MqttReasonCode.TopicAliasInvalid, "topic alias 0 [MQTT-3.3.2-8]");
                    p.TopicAlias = Once(p.TopicAlias, ta, id);
                    break;
                case MqttPropertyId.MaximumQos: p.MaximumQos = Once(p.MaximumQos, Bool(pr.ReadByte()), id); break;
                case MqttPropertyId.RetainAvailable: p.RetainAvailable = Once(p.RetainAvailable, Bool(pr.ReadByte()), id); break;
                case MqttPropertyId.UserProperty:
                    var k = pr.ReadString();
                    var val = pr.ReadString();
                    (p.UserProperties ??= []).Add(new(k, val));
                    break;
                case MqttPropertyId.MaximumPacketSize:
                    var mps = pr.ReadUInt32();
                    if (mps == 0) throw MqttBufferReader.ProtocolError("Maximum Packet Size 0");
                    p.MaximumPacketSize = Once(p.MaximumPacketSize, mps, id);
                    break;
                case MqttPropertyId.WildcardSubscriptionAvailable: p.WildcardSubscriptionAvailable = Once(p.WildcardSubscriptionAvailable, Bool(pr.ReadByte()), id); break;
                case MqttPropertyId.SubscriptionIdentifierAvailable: p.SubscriptionIdentifierAvailable = Once(p.SubscriptionIdentifierAvailable, Bool(pr.ReadByte()), id); break;
                case MqttPropertyId.SharedSubscriptionAvailable: p.SharedSubscriptionAvailable = Once(p.SharedSubscriptionAvailable, Bool(pr.ReadByte()), id); break;
                default: throw MqttBufferReader.Malformed($"unknown property 0x{idRaw:X2}");
            }
        }
        return p;
    }

    private static byte Bool(byte b) => b <= 1 ? b : throw MqttBufferReader.ProtocolError($"boolean property value {b}");

    private static T Once<T>(T? existing, T value, MqttPropertyId id) where T : struct =>
        existing is null ? value : throw Twice(id);

    private static string OnceRef(string? existing, string value, MqttPropertyId id) =>
        existing is null ? value : throw Twice(id);

    private static MqttProtocolException Twice(MqttPropertyId id) => MqttBufferReader.ProtocolError($"property {id} given twice");
}
