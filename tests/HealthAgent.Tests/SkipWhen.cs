namespace HealthAgent.Tests;

/// <summary>
/// A test that needs root (veth pairs, rtnetlink link changes, the ethtool ioctl: CAP_NET_ADMIN). As root (CI) it
/// runs; otherwise xunit reports it as skipped with the reason — never as passed.
/// </summary>
public sealed class RootFactAttribute : FactAttribute
{
    public RootFactAttribute()
    {
        if (!(Environment.IsPrivilegedProcess && OperatingSystem.IsLinux())) Skip = "needs root (CAP_NET_ADMIN for veth pairs); CI runs as root";
    }
}

/// <summary>A test that runs the real smartctl: skipped, not passed, where smartmontools is not installed (deploy/test.sh installs it).</summary>
public sealed class SmartctlFactAttribute : FactAttribute
{
    public SmartctlFactAttribute()
    {
        if (!File.Exists("/usr/sbin/smartctl") && !File.Exists("/usr/bin/smartctl")) Skip = "smartctl not installed (apt-get install smartmontools)";
    }
}
