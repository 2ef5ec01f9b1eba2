using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace HealthAgent.Mqtt.Transport;

/// <summary>
/// send(2) with MSG_DONTWAIT on a blocking socket (Linux): writes what fits in the socket's send buffer now and never
/// blocks. It lets the receive thread send the acks and publishes it queued without waiting for a broker that has
/// stopped reading — what it cannot send at once goes to the send thread.
/// </summary>
internal static partial class NonBlockingSend
{
    private const int MsgDontWait = 0x40;   // <sys/socket.h>, Linux values
    private const int MsgNoSignal = 0x4000; // EPIPE instead of SIGPIPE
    private const int EAgain = 11;
    private const int EIntr = 4;

    /// <summary>True where the flags above mean what they say.</summary>
    public static bool Supported => OperatingSystem.IsLinux();

    /// <summary>Bytes written (0 when the send buffer is full). Throws <see cref="IOException"/> on a socket error.</summary>
    public static int Send(Socket socket, ReadOnlySpan<byte> data)
    {
        // the SafeHandle marshaller holds a reference for the call, so a concurrent Dispose cannot close (and let the
        // kernel reuse) the descriptor while we write to it
        while (true)
        {
            var n = send(socket.SafeHandle, data, data.Length, MsgDontWait | MsgNoSignal);
            if (n >= 0) return (int)n;
            var errno = Marshal.GetLastPInvokeError();
            if (errno == EAgain) return 0;
            if (errno != EIntr) throw new IOException($"send failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
        }
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint send(SafeHandle socket, ReadOnlySpan<byte> buffer, nint length, int flags);
}
