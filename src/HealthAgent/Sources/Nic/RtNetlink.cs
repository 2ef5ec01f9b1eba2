using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace HealthAgent.Sources.Nic;

/// <summary>
/// An rtnetlink socket subscribed to link events. .NET's AddressFamily has no Netlink, so the socket is made with
/// socket(2)/bind(2) and wrapped in a <see cref="Socket"/> for ReceiveAsync.
/// </summary>
public sealed partial class RtNetlink : IDisposable
{
    private const int AfNetlink = 16, SockRaw = 3, SockCloexec = 0x80000, NetlinkRoute = 0;
    /// <summary>RTMGRP_LINK (include/uapi/linux/rtnetlink.h): RTM_NEWLINK/RTM_DELLINK notifications.</summary>
    private const uint RtmgrpLink = 1;
    private readonly Socket _socket;

    private RtNetlink(Socket socket) => _socket = socket;

    /// <summary>Opens and binds the socket; throws <see cref="SocketException"/> with the errno when the kernel refuses.</summary>
    /// <param name="receiveBufferBytes">SO_RCVBUF: a bigger buffer makes ENOBUFS (lost events) rarer.</param>
    public static unsafe RtNetlink Open(int receiveBufferBytes = 1 << 20)
    {
        var fd = Socket(AfNetlink, SockRaw | SockCloexec, NetlinkRoute);
        if (fd < 0) throw new SocketException(Marshal.GetLastPInvokeError());
        // struct sockaddr_nl { sa_family_t nl_family; unsigned short nl_pad; __u32 nl_pid; __u32 nl_groups; } (12 bytes)
        var addr = stackalloc byte[12];
        new Span<byte>(addr, 12).Clear();
        *(ushort*)addr = AfNetlink;
        *(uint*)(addr + 8) = RtmgrpLink; // nl_pid 0: the kernel assigns the port id
        if (Bind(fd, addr, 12) < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            Close(fd);
            throw new SocketException(errno);
        }
        var socket = new Socket(new SafeSocketHandle(fd, ownsHandle: true));
        try { socket.ReceiveBufferSize = receiveBufferBytes; } catch (SocketException) { } // the default still works
        return new RtNetlink(socket);
    }

    /// <summary>Receives one datagram (one or more netlink messages). ENOBUFS surfaces as a <see cref="SocketException"/>: events were lost.</summary>
    public ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken ct) => _socket.ReceiveAsync(buffer, SocketFlags.None, ct);

    /// <summary>Whether a receive error means the kernel dropped events because our buffer was full.</summary>
    public static bool IsOverrun(SocketException e) =>
        e.SocketErrorCode == SocketError.NoBufferSpaceAvailable || e.NativeErrorCode == RtNetlinkParser.Enobufs;

    public void Dispose() => _socket.Dispose();

    [LibraryImport("libc", EntryPoint = "socket", SetLastError = true)]
    private static partial int Socket(int domain, int type, int protocol);

    [LibraryImport("libc", EntryPoint = "bind", SetLastError = true)]
    private static unsafe partial int Bind(int fd, byte* addr, int len);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}
