using System.Buffers.Binary;
using System.Text.Unicode;

namespace HealthAgent.Mqtt.Encoding;

/// <summary>Strict reader over one packet's bytes; every violation throws <see cref="MqttProtocolException"/>.</summary>
internal ref struct MqttBufferReader
{
    public const uint MaxVarInt = 268_435_455;
    private readonly ReadOnlySpan<byte> _span;
    private int _pos;

    public MqttBufferReader(ReadOnlySpan<byte> span)
    {
        _span = span;
        _pos = 0;
    }

    public readonly int Remaining => _span.Length - _pos;
    public readonly bool End => _pos >= _span.Length;

    public static MqttProtocolException Malformed(string why) => new(MqttReasonCode.MalformedPacket, why);
    public static MqttProtocolException ProtocolError(string why) => new(MqttReasonCode.ProtocolError, why);

    private void Need(int n)
    {
        if (_span.Length - _pos < n) throw Malformed("packet ends early");
    }

    public byte ReadByte()
    {
        Need(1);
        return _span[_pos++];
    }

    public ushort ReadUInt16()
    {
        Need(2);
        var v = BinaryPrimitives.ReadUInt16BigEndian(_span[_pos..]);
        _pos += 2;
        return v;
    }

    public uint ReadUInt32()
    {
        Need(4);
        var v = BinaryPrimitives.ReadUInt32BigEndian(_span[_pos..]);
        _pos += 4;
        return v;
    }

    public uint ReadVarInt()
    {
        var r = TryReadVarInt(_span[_pos..], out var value, out var used);
        if (r == 0) throw Malformed("variable byte integer ends early");
        _pos += used;
        return value;
    }

    /// <summary>
    /// Variable byte integer: at most 4 bytes and minimally encoded [MQTT-1.5.5-1]. Returns 1 when decoded, 0 when more
    /// bytes are needed; throws Malformed Packet otherwise.
    /// </summary>
    public static int TryReadVarInt(ReadOnlySpan<byte> span, out uint value, out int used)
    {
        value = 0;
        used = 0;
        var shift = 0;
        for (var i = 0; i < 4; i++)
        {
            if (i >= span.Length) return 0;
            var b = span[i];
            value |= (uint)(b & 0x7F) << shift;
            shift += 7;
            if ((b & 0x80) == 0)
            {
                if (i > 0 && b == 0) throw Malformed("variable byte integer is not minimally encoded [MQTT-1.5.5-1]");
                used = i + 1;
                return 1;
            }
        }
        throw Malformed("variable byte integer longer than 4 bytes [MQTT-1.5.5-1]");
    }

    public ReadOnlySpan<byte> ReadBytes(int n)
    {
        Need(n);
        var s = _span.Slice(_pos, n);
        _pos += n;
        return s;
    }

    public ReadOnlySpan<byte> ReadBinarySpan() => ReadBytes(ReadUInt16());

    public byte[] ReadBinary() => ReadBinarySpan().ToArray();

    public ReadOnlySpan<byte> ReadRest()
    {
        var s = _span[_pos..];
        _pos = _span.Length;
        return s;
    }

    /// <summary>UTF-8 Encoded String: well-formed (no surrogates) [MQTT-1.5.4-1], no U+0000 [MQTT-1.5.4-2].</summary>
    public string ReadString()
    {
        var bytes = ReadBinarySpan();
        if (bytes.IndexOf((byte)0) >= 0) throw Malformed("string contains U+0000 [MQTT-1.5.4-2]");
        // .NET's validator rejects overlongs and encoded surrogates (ED A0 80..ED BF BF) as ill-formed
        if (!Utf8.IsValid(bytes)) throw Malformed("string is not well-formed UTF-8 [MQTT-1.5.4-1]");
        return System.Text.Encoding.UTF8.GetString(bytes);
    }
}
