using System.Net.Sockets;
using System.Security.Authentication;

namespace HealthAgent.Model;

/// <summary>
/// Why a connection failed, in words an operator acts on ("connection refused: nothing listens on that port")
/// instead of .NET's text ("The operation was canceled.", "Connection refused (127.0.0.1:1883)").
/// </summary>
public static class ErrorWords
{
    public static string Describe(Exception e)
    {
        // The useful part is usually inside: HttpRequestException → SocketException, IOException → SocketException.
        for (var x = e; x is not null; x = x.InnerException)
        {
            switch (x)
            {
                case SocketException s:
                    return s.SocketErrorCode switch
                    {
                        SocketError.ConnectionRefused => "connection refused: nothing listens on that address and port",
                        SocketError.TimedOut => "timed out: no answer from that address",
                        SocketError.HostNotFound or SocketError.NoData or SocketError.TryAgain => "host name not found (DNS)",
                        SocketError.NetworkUnreachable or SocketError.HostUnreachable or SocketError.NetworkDown => "network unreachable",
                        SocketError.ConnectionReset => "connection reset by the other side",
                        SocketError.ConnectionAborted or SocketError.Shutdown => "connection closed",
                        SocketError.AddressNotAvailable => "address not available on this machine",
                        SocketError.AccessDenied => "access denied by this machine (firewall or port below 1024)",
                        _ => "network error: " + s.SocketErrorCode,
                    };
                case AuthenticationException a:
                    return "TLS failed: " + (a.InnerException?.Message ?? a.Message);
                case TimeoutException:
                    return "timed out";
                case EndOfStreamException:
                    return "connection closed by the other side";
            }
        }
        return e switch
        {
            // A cancelled read or write when the agent is not stopping: the connection went away under it.
            OperationCanceledException => "connection dropped (closed, or no answer in time)",
            ObjectDisposedException => "connection closed",
            _ => e.Message.TrimEnd('.'),
        };
    }
}
