using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace HealthAgent.Sources.Nic;

/// <summary>
/// The ethtool ioctl on the real host: SIOCETHTOOL with ETHTOOL_GLINKSETTINGS on an AF_INET datagram socket.
/// Reading link settings needs no privilege (net/ethtool/ioctl.c lets GLINKSETTINGS through without CAP_NET_ADMIN).
/// One instance keeps one socket; calls may overlap (each has its own buffers).
/// </summary>
public sealed partial class Ethtool : IDisposable
{
    private const int IfNameSize = 16;   // IFNAMSIZ
    private const int IfreqSize = 40;    // sizeof(struct ifreq) on 64-bit: name[16] + union (ifr_data pointer at 16)
    private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);

    /// <summary>Reads the link settings of <paramref name="ifname"/>; an errno message when the driver or kernel refuses.</summary>
    public unsafe EthtoolLinkSettings? TryGet(string ifname, out string? error)
    {
        error = null;
        if (Encoding.ASCII.GetByteCount(ifname) >= IfNameSize) { error = "interface name longer than IFNAMSIZ"; return null; }
        var fd = (int)_socket.Handle;
        Span<byte> settings = stackalloc byte[EthtoolLinkModes.HeaderSize + 3 * 4 * EthtoolLinkModes.MaxNwords];
        Span<byte> ifr = stackalloc byte[IfreqSize];
        ifr.Clear();
        Encoding.ASCII.GetBytes(ifname, ifr);
        fixed (byte* s = settings)
        fixed (byte* r = ifr)
        {
            *(nint*)(r + IfNameSize) = (nint)s;
            // Handshake (include/uapi/linux/ethtool.h, struct ethtool_link_settings): offer 0 words, the kernel
            // answers -n; ask again with n and get supported[n], advertising[n], lp_advertising[n].
            EthtoolLinkModes.WriteRequest(settings, 0);
            if (Ioctl(fd, EthtoolLinkModes.SiocEthtool, r) < 0) { error = Errno("ETHTOOL_GLINKSETTINGS"); return null; }
            if (EthtoolLinkModes.HandshakeWords(settings) is not { } n || n > EthtoolLinkModes.MaxNwords)
            {
                error = "ETHTOOL_GLINKSETTINGS: the kernel did not answer the nwords handshake";
                return null;
            }
            EthtoolLinkModes.WriteRequest(settings, (sbyte)n);
            if (Ioctl(fd, EthtoolLinkModes.SiocEthtool, r) < 0) { error = Errno("ETHTOOL_GLINKSETTINGS"); return null; }
        }
        var parsed = EthtoolLinkModes.Parse(settings);
        if (parsed is null) error = "ETHTOOL_GLINKSETTINGS: malformed answer";
        return parsed;
    }

    private static string Errno(string what)
    {
        var errno = Marshal.GetLastPInvokeError();
        var name = errno switch { 95 => "EOPNOTSUPP", 19 => "ENODEV", 1 => "EPERM", 22 => "EINVAL", _ => "errno " + errno };
        return $"{what}: {name} ({Marshal.GetPInvokeErrorMessage(errno)})";
    }

    public void Dispose() => _socket.Dispose();

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static unsafe partial int Ioctl(int fd, nuint request, void* arg);
}
