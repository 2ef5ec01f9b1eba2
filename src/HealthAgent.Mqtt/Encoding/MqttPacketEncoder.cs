using HealthAgent.Mqtt.Packets;

namespace HealthAgent.Mqtt.Encoding;

/// <summary>Writes control packets (both directions, so tests can play the broker) into a <see cref="MqttBufferWriter"/>.</summary>
internal static class MqttPacketEncoder
{
    private static readonly byte[] ProtocolName = "\0\u0004MQTT"u8.ToArray();

    /// <summary>Appends <paramref name="packet"/>; returns its size in bytes.</summary>
    public static int Encode(MqttPacket packet, MqttProtocolVersion v, MqttBufferWriter w)
    {
        var v5 = v == MqttProtocolVersion.V500;
        var start = w.BeginPacket();
        byte first;
        switch (packet)
        {
            case ConnectPacket p:
                first = 0x10;
                w.WriteBytes(ProtocolName);
                w.WriteByte((byte)p.ProtocolVersion);
                byte flags = 0;
                if (p.CleanStart) flags |= 0x02;
                if (p.HasWill) flags |= (byte)(0x04 | ((byte)p.WillQos << 3) | (p.WillRetain ? 0x20 : 0));
                if (p.Password is not null) flags |= 0x40;
                if (p.Username is not null) flags |= 0x80;
                w.WriteByte(flags);
                w.WriteUInt16(p.KeepAlive);
                if (v5) WriteProperties(w, p.Properties);
                // [MQTT-3.1.3-1] client id, will properties, will topic, will payload, user name, password
                w.WriteString(p.ClientId);
                if (p.HasWill)
                {
                    if (v5) WriteProperties(w, p.WillProperties);
                    w.WriteString(p.WillTopic);
                    w.WriteBinary(p.WillPayload.Span);
                }
                if (p.Username is not null) w.WriteString(p.Username);
                if (p.Password is { } pw) w.WriteBinary(pw.Span);
                break;
            case ConnAckPacket p:
                first = 0x20;
                w.WriteByte(p.SessionPresent ? (byte)1 : (byte)0);
                w.WriteByte(p.ReasonCode);
                if (v5) WriteProperties(w, p.Properties);
                break;
            case PublishPacket p:
                first = (byte)(0x30 | (p.Dup ? 0x08 : 0) | ((byte)p.Qos << 1) | (p.Retain ? 1 : 0));
                w.WriteString(p.Topic);
                if (p.Qos != MqttQos.AtMostOnce) w.WriteUInt16(p.PacketId);
                if (v5) WriteProperties(w, p.Properties);
                w.WriteBytes(p.Payload.Span);
                break;
            case PubAckPacket p:
                first = (byte)((byte)p.Kind << 4 | (p.Kind == MqttPacketType.PubRel ? 0x02 : 0));
                w.WriteUInt16(p.PacketId);
                if (v5 && (p.ReasonCode != 0 || HasAny(p.Properties)))
                {
                    w.WriteByte(p.ReasonCode);
                    if (HasAny(p.Properties)) WriteProperties(w, p.Properties);
                }
                break;
            case SubscribePacket p:
                first = 0x82;
                w.WriteUInt16(p.PacketId);
                if (v5) WriteProperties(w, p.Properties);
                foreach (var f in p.Filters)
                {
                    w.WriteString(f.Filter);
                    var o = (byte)f.Qos;
                    if (v5) o |= (byte)((f.NoLocal ? 0x04 : 0) | (f.RetainAsPublished ? 0x08 : 0) | ((f.RetainHandling & 3) << 4));
                    w.WriteByte(o);
                }
                break;
            case SubAckPacket p:
                first = 0x90;
                w.WriteUInt16(p.PacketId);
                if (v5) WriteProperties(w, p.Properties);
                foreach (var c in p.ReasonCodes) w.WriteByte(c);
                break;
            case UnsubscribePacket p:
                first = 0xA2;
                w.WriteUInt16(p.PacketId);
                if (v5) WriteProperties(w, p.Properties);
                foreach (var f in p.Filters) w.WriteString(f);
                break;
            case UnsubAckPacket p:
                first = 0xB0;
                w.WriteUInt16(p.PacketId);
                if (v5)
                {
                    WriteProperties(w, p.Properties);
                    foreach (var c in p.ReasonCodes) w.WriteByte(c);
                }
                break;
            case PingReqPacket:
                first = 0xC0;
                break;
            case PingRespPacket:
                first = 0xD0;
                break;
            case DisconnectPacket p:
                first = 0xE0;
                if (v5 && (p.ReasonCode != 0 || HasAny(p.Properties)))
                {
                    w.WriteByte(p.ReasonCode);
                    if (HasAny(p.Properties)) WriteProperties(w, p.Properties);
                }
                break;
            case AuthPacket p:
                if (!v5) throw new ArgumentException("AUTH exists only in MQTT 5");
                first = 0xF0;
                if (p.ReasonCode != 0 || HasAny(p.Properties))
                {
                    w.WriteByte(p.ReasonCode);
                    WriteProperties(w, p.Properties);
                }
                break;
            default:
                throw new ArgumentException("Unknown packet " + packet.GetType().Name);
        }
        return w.EndPacket(start, first);
    }

    /// <summary>
    /// Hot path: a PUBLISH straight from an application message, without an intermediate packet object.
    /// Returns the packet's size.
    /// </summary>
    public static int EncodePublish(MqttBufferWriter w, MqttProtocolVersion v, MqttApplicationMessage m, ushort packetId, bool dup)
    {
        var start = w.BeginPacket();
        w.WriteString(m.Topic);
        if (m.Qos != MqttQos.AtMostOnce) w.WriteUInt16(packetId);
        if (v == MqttProtocolVersion.V500)
        {
            var p = w.BeginVarLength();
            if (m.PayloadIsUtf8) { w.WriteByte(0x01); w.WriteByte(1); }
            if (m.MessageExpirySeconds is { } exp) { w.WriteByte(0x02); w.WriteUInt32(exp); }
            if (m.ContentType is { } ct) { w.WriteByte(0x03); w.WriteString(ct); }
            if (m.ResponseTopic is { } rt) { w.WriteByte(0x08); w.WriteString(rt); }
            if (!m.CorrelationData.IsEmpty) { w.WriteByte(0x09); w.WriteBinary(m.CorrelationData.Span); }
            var ups = m.UserProperties;
            for (var i = 0; i < ups.Count; i++)
            {
                w.WriteByte(0x26);
                w.WriteString(ups[i].Key);
                w.WriteString(ups[i].Value);
            }
            w.EndVarLength(p);
        }
        w.WriteBytes(m.Payload.Span);
        var first = (byte)(0x30 | (dup ? 0x08 : 0) | ((byte)m.Qos << 1) | (m.Retain ? 1 : 0));
        return w.EndPacket(start, first);
    }

    private static bool HasAny(MqttProperties p) =>
        p.PayloadFormatIndicator is not null || p.MessageExpiryInterval is not null || p.ContentType is not null
        || p.ResponseTopic is not null || p.CorrelationData is not null || p.SubscriptionIdentifiers is { Count: > 0 }
        || p.SessionExpiryInterval is not null || p.AssignedClientIdentifier is not null || p.ServerKeepAlive is not null
        || p.AuthenticationMethod is not null || p.AuthenticationData is not null || p.RequestProblemInformation is not null
        || p.WillDelayInterval is not null || p.RequestResponseInformation is not null || p.ResponseInformation is not null
        || p.ServerReference is not null || p.ReasonString is not null || p.ReceiveMaximum is not null
        || p.TopicAliasMaximum is not null || p.TopicAlias is not null || p.MaximumQos is not null
        || p.RetainAvailable is not null || p.UserProperties is { Count: > 0 } || p.MaximumPacketSize is not null
        || p.WildcardSubscriptionAvailable is not null || p.SubscriptionIdentifierAvailable is not null
        || p.SharedSubscriptionAvailable is not null;

    /// <summary>Property Length then the properties in ascending identifier order (2.2.2).</summary>
    public static void WriteProperties(MqttBufferWriter w, MqttProperties p)
    {
        var start = w.BeginVarLength();
        if (p.PayloadFormatIndicator is { } pfi) { w.WriteByte(0x01); w.WriteByte(pfi); }
        if (p.MessageExpiryInterval is { } mei) { w.WriteByte(0x02); w.WriteUInt32(mei); }
        if (p.ContentType is { } ct) { w.WriteByte(0x03); w.WriteString(ct); }
        if (p.ResponseTopic is { } rt) { w.WriteByte(0x08); w.WriteString(rt); }
        if (p.CorrelationData is { } cd) { w.WriteByte(0x09); w.WriteBinary(cd.Span); }
        if (p.SubscriptionIdentifiers is { } sids) foreach (var s in sids) { w.WriteByte(0x0B); w.WriteVarInt(s); }
        if (p.SessionExpiryInterval is { } sei) { w.WriteByte(0x11); w.WriteUInt32(sei); }
        if (p.AssignedClientIdentifier is { } aci) { w.WriteByte(0x12); w.WriteString(aci); }
        if (p.ServerKeepAlive is { } ska) { w.WriteByte(0x13); w.WriteUInt16(ska); }
        if (p.AuthenticationMethod is { } am) { w.WriteByte(0x15); w.WriteString(am); }
        if (p.AuthenticationData is { } ad) { w.WriteByte(0x16); w.WriteBinary(ad.Span); }
        if (p.RequestProblemInformation is { } rpi) { w.WriteByte(0x17); w.WriteByte(rpi); }
        if (p.WillDelayInterval is { } wdi) { w.WriteByte(0x18); w.WriteUInt32(wdi); }
        if (p.RequestResponseInformation is { } rri) { w.WriteByte(0x19); w.WriteByte(rri); }
        if (p.ResponseInformation is { } ri) { w.WriteByte(0x1A); w.WriteString(ri); }
        if (p.ServerReference is { } sr) { w.WriteByte(0x1C); w.WriteString(sr); }
        if (p.ReasonString is { } rs) { w.WriteByte(0x1F); w.WriteString(rs); }
        if (p.ReceiveMaximum is { } rm) { w.WriteByte(0x21); w.WriteUInt16(rm); }
        if (p.TopicAliasMaximum is { } tam) { w.WriteByte(0x22); w.WriteUInt16(tam); }
        if (p.TopicAlias is { } ta) { w.WriteByte(0x23); w.WriteUInt16(ta); }
        if (p.MaximumQos is { } mq) { w.WriteByte(0x24); w.WriteByte(mq); }
        if (p.RetainAvailable is { } ra) { w.WriteByte(0x25); w.WriteByte(ra); }
        if (p.UserProperties is { } ups) foreach (var up in ups) { w.WriteByte(0x26); w.WriteString(up.Key); w.WriteString(up.Value); }
        if (p.MaximumPacketSize is { } mps) { w.WriteByte(0x27); w.WriteUInt32(mps); }
        if (p.WildcardSubscriptionAvailable is { } wsa) { w.WriteByte(0x28); w.WriteByte(wsa); }
        if (p.SubscriptionIdentifierAvailable is { } sia) { w.WriteByte(0x29); w.WriteByte(sia); }
        if (p.SharedSubscriptionAvailable is { } ssa) { w.WriteByte(0x2A); w.WriteByte(ssa); }
        w.EndVarLength(start);
    }
}
