using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using System.Text.Unicode;

namespace HealthAgent.Mqtt.Encoding;

/// <summary>
/// Growable byte buffer rented from <see cref="ArrayPool{T}"/>; packets are appended back to back so the transport
/// writes many of them with one call. Not thread-safe: the owner serialises access.
/// </summary>
internal sealed class MqttBufferWriter : IDisposable
{
    private byte[] _buffer;
    private int _length;

    public MqttBufferWriter(int initialCapacity = 4096) => _buffer = ArrayPool<byte>.Shared.Rent(initialCapacity);

    public int Length => _length;
    public ReadOnlyMemory<byte> WrittenMemory => _buffer.AsMemory(0, _length);
    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _length);

    /// <summary>Forgets the content; a buffer that grew past 1 MiB goes back to the pool.</summary>
    public void Reset()
    {
        _length = 0;
        if (_buffer.Length > 1 << 20)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = ArrayPool<byte>.Shared.Rent(4096);
        }
    }

    public void Truncate(int length) => _length = length;

    public byte[] ToArray() => WrittenSpan.ToArray();

    private void Ensure(int extra)
    {
        var needed = _length + extra;
        if (needed <= _buffer.Length) return;
        var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(needed, _buffer.Length * 2));
        _buffer.AsSpan(0, _length).CopyTo(bigger);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = bigger;
    }

    public void WriteByte(byte b)
    {
        Ensure(1);
        _buffer[_length++] = b;
    }

    public void WriteUInt16(ushort v)
    {
        Ensure(2);
        BinaryPrimitives.WriteUInt16BigEndian(_buffer.AsSpan(_length), v);
        _length += 2;
    }

    public void WriteUInt32(uint v)
    {
        Ensure(4);
        BinaryPrimitives.WriteUInt32BigEndian(_buffer.AsSpan(_length), v);
        _length += 4;
    }

    /// <summary>Variable byte integer, minimal encoding [MQTT-1.5.5-1].</summary>
    public void WriteVarInt(uint v)
    {
        if (v > MqttBufferReader.MaxVarInt) throw new ArgumentOutOfRangeException(nameof(v), "Variable byte integer above 268,435,455");
        Ensure(4);
        _length += WriteVarInt(_buffer.AsSpan(_length), v);
    }

    public static int VarIntSize(uint v) => v < 128 ? 1 : v < 16_384 ? 2 : v < 2_097_152 ? 3 : 4;

    public static int WriteVarInt(Span<byte> dest, uint v)
    {
        var i = 0;
        do
        {
            var b = (byte)(v & 0x7F);
            v >>= 7;
            if (v > 0) b |= 0x80;
            dest[i++] = b;
        }
        while (v > 0);
        return i;
    }

    public void WriteBytes(ReadOnlySpan<byte> bytes)
    {
        Ensure(bytes.Length);
        bytes.CopyTo(_buffer.AsSpan(_length));
        _length += bytes.Length;
    }

    /// <summary>Two-byte length then the bytes (Binary Data, 1.5.6).</summary>
    public void WriteBinary(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length > ushort.MaxValue) throw new ArgumentException("Binary data longer than 65,535 bytes");
        WriteUInt16((ushort)bytes.Length);
        WriteBytes(bytes);
    }

    /// <summary>UTF-8 Encoded String: well-formed, no surrogates [MQTT-1.5.4-1], no U+0000 [MQTT-1.5.4-2], ≤ 65,535 bytes.</summary>
    public void WriteString(string s)
    {
        if (s.Contains('\0')) throw new ArgumentException("MQTT strings must not contain U+0000 [MQTT-1.5.4-2]");
        var max = s.Length * 3;
        Ensure(2 + max);
        var dest = _buffer.AsSpan(_length + 2, max);
        if (Utf8.FromUtf16(s, dest, out _, out var written, replaceInvalidSequences: false) != OperationStatus.Done)
            throw new ArgumentException("MQTT strings must be well-formed UTF-16 without lone surrogates [MQTT-1.5.4-1]");
        if (written > ushort.MaxValue) throw new ArgumentException("MQTT strings are at most 65,535 bytes");
        BinaryPrimitives.WriteUInt16BigEndian(_buffer.AsSpan(_length), (ushort)written);
        _length += 2 + written;
    }

    /// <summary>Reserves room for a length prefix; finish with <see cref="EndVarLength"/>.</summary>
    public int BeginVarLength()
    {
        Ensure(4);
        var start = _length;
        _length += 4;
        return start;
    }

    /// <summary>Writes the variable-byte length of what followed <see cref="BeginVarLength"/> and closes the gap.</summary>
    public void EndVarLength(int start)
    {
        var contentStart = start + 4;
        var contentLength = _length - contentStart;
        Span<byte> vbi = stackalloc byte[4];
        var n = WriteVarInt(vbi, (uint)contentLength);
        vbi[..n].CopyTo(_buffer.AsSpan(start));
        if (n != 4)
        {
            _buffer.AsSpan(contentStart, contentLength).CopyTo(_buffer.AsSpan(start + n));
            _length -= 4 - n;
        }
    }

    /// <summary>Reserves the fixed header (1 + up to 4 bytes); finish with <see cref="EndPacket"/>.</summary>
    public int BeginPacket()
    {
        Ensure(5);
        var start = _length;
        _length += 5;
        return start;
    }

    /// <summary>Writes the fixed header; returns the packet's total size.</summary>
    public int EndPacket(int start, byte firstByte)
    {
        var bodyStart = start + 5;
        var bodyLength = _length - bodyStart;
        if ((uint)bodyLength > MqttBufferReader.MaxVarInt) throw new ArgumentException("Packet larger than 268,435,455 bytes");
        _buffer[start] = firstByte;
        var n = WriteVarInt(_buffer.AsSpan(start + 1), (uint)bodyLength);
        if (n != 4)
        {
            _buffer.AsSpan(bodyStart, bodyLength).CopyTo(_buffer.AsSpan(start + 1 + n));
            _length -= 4 - n;
        }
        return 1 + n + bodyLength;
    }

    public void Dispose()
    {
        var b = _buffer;
        _buffer = [];
        if (b.Length > 0) ArrayPool<byte>.Shared.Return(b);
    }
}
