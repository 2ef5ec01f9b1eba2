using System.Globalization;
using System.Text;

namespace HealthAgent.Simulator;

/// <summary>
/// Writes the appliance as a host tree in the kernel's own formats, so the Linux sources (hwmon, net, md) pointed
/// at it with hostRoot see the same faults: <c>sys/class/hwmon/hwmon0</c> (temps in m°C, fans in RPM, limits and
/// alarms; Documentation/hwmon/sysfs-interface.rst), <c>sys/class/net/eno1..4</c> (carrier, operstate, speed in
/// Mb/s, statistics; Documentation/ABI/testing/sysfs-class-net), <c>proc/mdstat</c> and <c>sys/block/md0/md</c>
/// (a RAID 5 over sda1..sdd1, one member per simulated drive). Files are replaced atomically (write + rename).
/// </summary>
public sealed class HostTree
{
    private readonly Appliance _a;
    private readonly object _gate = new();
    private readonly long[] _rxBytes = new long[Appliance.NicCount + 1], _txBytes = new long[Appliance.NicCount + 1];
    // carrier_up_count counts the boot-time link-up too; carrier_changes = ups + downs
    private readonly int[] _ups = Enumerable.Repeat(1, Appliance.NicCount + 1).ToArray(), _downs = new int[Appliance.NicCount + 1];
    private readonly string[] _lastLink = new string[Appliance.NicCount + 1];

    public HostTree(Appliance appliance, string root)
    {
        _a = appliance;
        Root = Path.GetFullPath(root);
        for (var i = 1; i <= Appliance.NicCount; i++) _lastLink[i] = "up";
    }

    public string Root { get; }

    public static string Interface(int i) => $"eno{i}";
    public static string Member(int drive) => $"sd{(char)('a' + drive)}1";

    /// <summary>Writes every file from the current state. <paramref name="tick"/> adds a second of traffic to active ports.</summary>
    public void Write(bool tick = false)
    {
        lock (_gate)
        {
            WriteHwmon();
            WriteNet(tick);
            WriteMd();
        }
    }

    private void WriteHwmon()
    {
        var d = "sys/class/hwmon/hwmon0";
        Put($"{d}/name", "nct6779");
        for (var k = 0; k < Appliance.Temperatures.Length; k++)
        {
            var t = Appliance.Temperatures[k];
            var (caution, critical, _) = Appliance.TemperatureLimits(t);
            var c = _a.Number("temp." + t);
            var n = k + 1;
            Put($"{d}/temp{n}_label", t == "inlet" ? "SYSTIN" : $"CPUTIN{t[^1]}");
            Put($"{d}/temp{n}_input", MilliDegrees(c));   // m°C
            Put($"{d}/temp{n}_max", MilliDegrees(caution));
            Put($"{d}/temp{n}_crit", MilliDegrees(critical));
            Put($"{d}/temp{n}_alarm", c >= caution ? "1" : "0");
        }
        for (var i = 1; i <= Appliance.FanCount; i++)
        {
            var rpm = _a.Number($"fan{i}");
            Put($"{d}/fan{i}_label", $"SYSFAN{i}");
            Put($"{d}/fan{i}_input", ((long)rpm).ToString(CultureInfo.InvariantCulture));
            Put($"{d}/fan{i}_min", ((long)Appliance.FanCriticalRpm).ToString(CultureInfo.InvariantCulture));
            Put($"{d}/fan{i}_alarm", rpm < Appliance.FanCriticalRpm ? "1" : "0");
        }
    }

    private static string MilliDegrees(double c) => ((long)Math.Round(c * 1000)).ToString(CultureInfo.InvariantCulture);

    private void WriteNet(bool tick)
    {
        for (var i = 1; i <= Appliance.NicCount; i++)
        {
            var d = $"sys/class/net/{Interface(i)}";
            var s = _a.Word($"nic{i}");
            if ((s == "down") != (_lastLink[i] == "down")) { if (s == "down") _downs[i]++; else _ups[i]++; }
            _lastLink[i] = s;
            var up = s != "down";
            if (tick && up && _a.Flag($"nic{i}.active"))
            {
                _rxBytes[i] += 12_500_000;
                _txBytes[i] += 250_000;
            }
            // A physical port has a device link to its PCI function (virtual interfaces have none).
            var pci = $"sys/devices/pci0000:00/0000:00:1c.0/0000:01:00.{i - 1}";
            Put($"{pci}/vendor", "0x14e4");
            Put($"{pci}/device", "0x16d7");
            Link($"{d}/device", pci);
            Put($"{d}/address", $"b0:7b:25:5e:00:0{i}");
            Put($"{d}/type", "1");
            Put($"{d}/mtu", "1500");
            Put($"{d}/carrier", up ? "1" : "0");
            Put($"{d}/operstate", up ? "up" : "down");
            // ethtool reports SPEED_UNKNOWN (-1) and DUPLEX_UNKNOWN without a link
            Put($"{d}/speed", s switch { "down" => "-1", "downshift" => "1000", _ => "10000" });
            Put($"{d}/duplex", up ? "full" : "unknown");
            Put($"{d}/carrier_changes", (_ups[i] + _downs[i]).ToString(CultureInfo.InvariantCulture));
            Put($"{d}/carrier_up_count", _ups[i].ToString(CultureInfo.InvariantCulture));
            Put($"{d}/carrier_down_count", _downs[i].ToString(CultureInfo.InvariantCulture));
            // Not a kernel file: the nic source's fixture hook for the port's maximum speed (the ethtool ioctl
            // only answers for real interfaces), so a downshift to 1 Gb/s is visible in the tree.
            Put($"{d}/healthagent_max_speed_mbps", "10000");
            Put($"{d}/statistics/rx_bytes", _rxBytes[i].ToString(CultureInfo.InvariantCulture));
            Put($"{d}/statistics/tx_bytes", _txBytes[i].ToString(CultureInfo.InvariantCulture));
            Put($"{d}/statistics/rx_packets", (_rxBytes[i] / 1400).ToString(CultureInfo.InvariantCulture));
            Put($"{d}/statistics/tx_packets", (_txBytes[i] / 1400).ToString(CultureInfo.InvariantCulture));
            Put($"{d}/statistics/rx_errors", "0");
            Put($"{d}/statistics/tx_errors", "0");
        }
    }

    private void WriteMd()
    {
        const long blocks = 3906885632; // 1K blocks per member (4 TB drives)
        var states = Enumerable.Range(0, Appliance.DriveCount).Select(i => _a.Word($"drive{i}")).ToArray();
        var members = new List<string>();
        var slots = new StringBuilder();
        var working = 0;
        for (var i = Appliance.DriveCount - 1; i >= 0; i--)
        {
            // mdstat lists members newest first: name[role], (F) faulty, (S) spare
            switch (states[i])
            {
                case "absent": break;
                case "failed": members.Add($"{Member(i)}[{i}](F)"); break;
                case "rebuilding": members.Add($"{Member(i)}[{i + Appliance.DriveCount}]"); break;
                // A stopped rebuild as md shows it with sync_action "frozen": the target keeps its slot, out of sync, no progress line.
                case "rebuild-stopped": members.Add($"{Member(i)}[{i + Appliance.DriveCount}]"); break;
                default: members.Add($"{Member(i)}[{i}]"); break;
            }
        }
        for (var i = 0; i < Appliance.DriveCount; i++)
        {
            var inSync = states[i] is "online" or "predicted" or "identify";
            if (inSync) working++;
            slots.Append(inSync ? 'U' : '_');
        }
        var rebuilding = Array.FindIndex(states, s => s == "rebuilding");
        var sb = new StringBuilder();
        sb.Append("Personalities : [raid6] [raid5] [raid4] \n");
        sb.Append(CultureInfo.InvariantCulture, $"md0 : active raid5 {string.Join(' ', members)}\n");
        sb.Append(CultureInfo.InvariantCulture, $"      {blocks * 3} blocks super 1.2 level 5, 512k chunk, algorithm 2 [{Appliance.DriveCount}/{working}] [{slots}]\n");
        string syncAction = "idle", syncCompleted = "none";
        if (rebuilding >= 0 && working < Appliance.DriveCount)
        {
            var pct = _a.Number($"drive{rebuilding}.rebuild");
            var done = (long)(blocks * pct / 100);
            var bar = (int)Math.Round(pct / 5);
            sb.Append(CultureInfo.InvariantCulture,
                $"      [{new string('=', Math.Max(0, bar - 1))}>{new string('.', 20 - Math.Max(1, bar))}]  recovery = {pct:0.0}% ({done}/{blocks}) finish={(100 - pct) * 3.2:0.0}min speed=198432K/sec\n");
            syncAction = "recover";
            syncCompleted = $"{done * 2} / {blocks * 2}"; // sectors
        }
        if (rebuilding < 0 && states.Contains("rebuild-stopped")) syncAction = "frozen";
        sb.Append("      bitmap: 0/30 pages [0KB], 65536KB chunk\n\nunused devices: <none>\n");
        Put("proc/mdstat", sb.ToString(), raw: true);
        Put("sys/block/md0/md/level", "raid5");
        Put("sys/block/md0/md/raid_disks", Appliance.DriveCount.ToString(CultureInfo.InvariantCulture));
        Put("sys/block/md0/md/degraded", (Appliance.DriveCount - working).ToString(CultureInfo.InvariantCulture));
        Put("sys/block/md0/md/array_state", working == Appliance.DriveCount ? "clean" : "active");
        Put("sys/block/md0/md/sync_action", syncAction);
        Put("sys/block/md0/md/sync_completed", syncCompleted);
        for (var i = 0; i < Appliance.DriveCount; i++)
        {
            var dev = $"sys/block/md0/md/dev-{Member(i)}";
            if (states[i] == "absent") { if (Directory.Exists(Path.Combine(Root, dev))) Directory.Delete(Path.Combine(Root, dev), true); continue; }
            // md.c state_show: "spare" is any member not in sync; a recovery target (running or frozen) keeps its slot
            Put($"{dev}/state", states[i] switch { "failed" => "faulty", "rebuilding" or "rebuild-stopped" => "spare", _ => "in_sync" });
            Put($"{dev}/slot", i.ToString(CultureInfo.InvariantCulture));
        }
    }

    private void Link(string relative, string targetRelative)
    {
        var path = Path.Combine(Root, relative);
        if (new FileInfo(path).LinkTarget is not null) return;
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.CreateSymbolicLink(path, Path.GetRelativePath(Path.GetDirectoryName(path)!, Path.Combine(Root, targetRelative)));
    }

    private void Put(string relative, string content, bool raw = false)
    {
        var path = Path.Combine(Root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var text = raw ? content : content + "\n";
        if (File.Exists(path) && File.ReadAllText(path) == text) return;
        var tmp = path + ".tmp";
        File.WriteAllText(tmp, text);
        File.Move(tmp, path, overwrite: true);
    }
}
