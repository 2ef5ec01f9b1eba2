using System.Buffers;
using HealthAgent.Mqtt.Encoding;

namespace HealthAgent.Mqtt.Transport;

/// <summary>
/// Frames packets off a stream. The declared size is checked against the maximum before buffering, and the buffer
/// only grows as bytes actually arrive, so a lying header cannot make us allocate its claimed size up front.
/// </summary>
internal sealed class MqttPacketReader : IDisposable
{
    private readonly Stream _stream;
    private readonly uint _maximumPacketSize;
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
    private int _start;
    private int _end;

    public MqttPacketReader(Stream stream, uint maximumPacketSize)
    {
        _stream = stream;
        _maximumPacketSize = maximumPacketSize == 0 ? MqttBufferReader.MaxVarInt + 5 : maximumPacketSize;
    }

    /// <summary>Called after every successful read (keep-alive watches packets received).</summary>
    public Action? OnBytesReceived { get; set; }

    /// <summary>Called each time the reader is about to wait for bytes from the stream.</summary>
    public Action? BeforeRead { get; set; }

    /// <summary>
    /// Next packet: first byte and body. The body is valid until the next call. Throws <see cref="EndOfStreamException"/>
    /// when the peer closes, <see cref="MqttProtocolException"/> for a bad header or an oversize packet.
    /// </summary>
    public async ValueTask<(byte First, ReadOnlyMemory<byte> Body)> ReadAsync(CancellationToken ct)
    {
        byte first;
        ReadOnlyMemory<byte> body;
        while (!TryTake(out first, out body))
            Received(await _stream.ReadAsync(_buffer.AsMemory(_end), ct).ConfigureAwait(false));
        return (first, body);
    }

    /// <summary>Blocking twin of <see cref="ReadAsync"/> for the dedicated receive thread.</summary>
    public (byte First, ReadOnlyMemory<byte> Body) Read()
    {
        byte first;
        ReadOnlyMemory<byte> body;
        while (!TryTake(out first, out body))
            Received(_stream.Read(_buffer.AsSpan(_end)));
        return (first, body);
    }

    /// <summary>
    /// Takes the next whole packet from the buffer, or makes room for the read that must come first (the fixed header
    /// is checked against the maximum packet size before the body is buffered) and returns false.
    /// </summary>
    private bool TryTake(out byte first, out ReadOnlyMemory<byte> body)
    {
        var avail = _end - _start;
        if (MqttPacketDecoder.TryReadFixedHeader(_buffer.AsSpan(_start, avail), _maximumPacketSize, out first, out var hl, out var rl))
        {
            var total = hl + rl;
            if (avail >= total)
            {
                body = _buffer.AsMemory(_start + hl, rl);
                _start += total;
                if (_start == _end) _start = _end = 0;
                return true;
            }
            if (_buffer.Length - _start < total) MakeRoom(Math.Min(total, Math.Max(avail * 2, avail + 64 * 1024)));
        }
        if (_end == _buffer.Length) MakeRoom(avail + 16 * 1024);
        body = default;
        BeforeRead?.Invoke();
        return false;
    }

    private void Received(int n)
    {
        if (n == 0) throw new EndOfStreamException("The server closed the connection.");
        _end += n;
        OnBytesReceived?.Invoke();
    }

    private void MakeRoom(int capacity)
    {
        var avail = _end - _start;
        capacity = Math.Max(capacity, avail);
        if (capacity <= _buffer.Length)
        {
            _buffer.AsSpan(_start, avail).CopyTo(_buffer);
        }
        else
        {
            var bigger = ArrayPool<byte>.Shared.Rent(capacity);
            _buffer.AsSpan(_start, avail).CopyTo(bigger);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = bigger;
        }
        _start = 0;
        _end = avail;
    }

    public void Dispose()
    {
        var b = _buffer;
        _buffer = [];
        if (b.Length > 0) ArrayPool<byte>.Shared.Return(b);
    }
}
