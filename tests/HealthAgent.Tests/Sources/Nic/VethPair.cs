using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace HealthAgent.Tests.Sources.Nic;

/// <summary>
/// A real veth pair made with `ip link add` (unique names per test), deleted on Dispose. <see cref="SetUp"/> flips
/// IFF_UP with SIOCSIFFLAGS in-process so a test can time the kernel's answer without a process start in between.
/// </summary>
internal sealed class VethPair : IDisposable
{
    public string A { get; }
    public string B { get; }
    /// <summary>A glob that matches <see cref="A"/> only.</summary>
    public string GlobA => A[..^1] + "a*";

    /// <summary>Real-kernel tests need root (CI runs as root); elsewhere they are skipped (RootFactAttribute).</summary>
    public static bool Possible => Environment.IsPrivilegedProcess && OperatingSystem.IsLinux();

    public VethPair()
    {
        var id = Random.Shared.Next(0x100000, 0xffffff).ToString("x6");
        A = $"ha{id}a";
        B = $"ha{id}b";
        Ip($"link add {A} type veth peer name {B}");
        try
        {
            Ip($"link set {A} up");
            Ip($"link set {B} up");
        }
        catch { Dispose(); throw; }
    }

    public void Dispose()
    {
        try { Ip($"link del {A}"); } catch (InvalidOperationException) { } // deleting one end removes both
    }

    public static void Ip(string args)
    {
        using var p = Process.Start(new ProcessStartInfo("ip", args) { RedirectStandardError = true, RedirectStandardOutput = true })!;
        var err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"ip {args}: exit {p.ExitCode}: {err}");
    }

    /// <summary>Sets or clears IFF_UP (SIOCGIFFLAGS 0x8913 / SIOCSIFFLAGS 0x8914, struct ifreq: name[16], short flags at 16).</summary>
    public static void SetUp(string ifname, bool up)
    {
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        var ifr = new byte[40];
        Encoding.ASCII.GetBytes(ifname, ifr);
        if (Ioctl((int)s.Handle, 0x8913, ifr) < 0) throw new InvalidOperationException($"SIOCGIFFLAGS {ifname}: errno {Marshal.GetLastPInvokeError()}");
        var flags = BitConverter.ToInt16(ifr, 16);
        flags = (short)(up ? flags | 1 : flags & ~1);
        BitConverter.TryWriteBytes(ifr.AsSpan(16), flags);
        if (Ioctl((int)s.Handle, 0x8914, ifr) < 0) throw new InvalidOperationException($"SIOCSIFFLAGS {ifname}: errno {Marshal.GetLastPInvokeError()}");
    }

    [DllImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static extern int Ioctl(int fd, nuint request, byte[] ifr);
}
