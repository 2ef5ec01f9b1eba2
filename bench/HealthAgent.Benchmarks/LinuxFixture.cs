using System.Globalization;

namespace HealthAgent.Benchmarks;

/// <summary>
/// A generated host root: 4 hwmon chips with 200 sensor channels (temperature, fan, voltage; labels, limits, alarms)
/// and 4 RAID6 md arrays with 6 members each (24 members; one array recovering), in a temporary directory.
/// </summary>
public sealed class LinuxFixture : IDisposable
{
    public string Root { get; } = Directory.CreateTempSubdirectory("healthagent-bench-").FullName;

    public const int Sensors = 200, MdMembers = 24;

    private readonly List<(string Path, int Value)> _inputs = [];

    /// <summary>Rewrites every sensor's _input with a new value, as on a running machine (not part of the measured poll).</summary>
    public void ChangeValues(int step)
    {
        foreach (var (path, value) in _inputs) File.WriteAllText(path, I(value + step % 7 + 1) + "\n");
    }

    public LinuxFixture()
    {
        var n = 0;
        for (var chip = 0; chip < 4; chip++)
        {
            var d = Path.Combine(Root, "sys/class/hwmon", "hwmon" + chip);
            Write(d, "name", chip == 0 ? "coretemp" : "nct6779." + chip);
            for (var i = 1; i <= 50 && n < Sensors; i++, n++)
            {
                var s = I(i);
                switch (i % 3)
                {
                    case 0:
                        Write(d, $"temp{s}_input", I(30000 + i * 100)); Write(d, $"temp{s}_max", "84000"); Write(d, $"temp{s}_crit", "100000");
                        Write(d, $"temp{s}_crit_alarm", "0"); Write(d, $"temp{s}_label", "Core " + s);
                        break;
                    case 1:
                        Write(d, $"fan{s}_input", I(900 + i * 10)); Write(d, $"fan{s}_min", "300"); Write(d, $"fan{s}_alarm", "0");
                        break;
                    default:
                        Write(d, $"in{s}_input", I(1000 + i)); Write(d, $"in{s}_min", "900"); Write(d, $"in{s}_max", "1300"); Write(d, $"in{s}_alarm", "0");
                        break;
                }
            }
        }
        var mdstat = new System.Text.StringBuilder("Personalities : [raid6] [raid5] [raid4]\n");
        var disk = 0;
        for (var a = 0; a < 4; a++)
        {
            var name = "md" + a;
            var members = Enumerable.Range(0, 6).Select(k => ($"sd{(char)('a' + disk + k)}1", k)).ToList();
            disk += 6;
            var recovering = a == 3;
            mdstat.Append(name).Append(" : active raid6 ").AppendJoin(' ', members.Select(m => $"{m.Item1}[{m.k}]")).Append('\n');
            mdstat.Append($"      7813529600 blocks super 1.2 level 6, 512k chunk, algorithm 2 [6/{(recovering ? 5 : 6)}] [{(recovering ? "UUUUU_" : "UUUUUU")}]\n");
            if (recovering) mdstat.Append("      [=====>...............]  recovery = 28.4% (554821632/1953382400) finish=121.6min speed=191634K/sec\n");
            mdstat.Append("      bitmap: 0/15 pages [0KB], 65536KB chunk\n\n");
            var md = Path.Combine(Root, "sys/block", name, "md");
            Write(md, "level", "raid6"); Write(md, "raid_disks", "6"); Write(md, "array_state", "clean");
            Write(md, "sync_action", recovering ? "recover" : "idle"); Write(md, "degraded", recovering ? "1" : "0");
            Write(md, "sync_completed", recovering ? "1109643264 / 3906764800" : "none");
            foreach (var (m, k) in members)
            {
                Write(Path.Combine(md, "dev-" + m), "state", recovering && k == 5 ? "spare" : "in_sync");
                Write(Path.Combine(md, "dev-" + m), "slot", I(k));
            }
        }
        mdstat.Append("unused devices: <none>\n");
        Write(Path.Combine(Root, "proc"), "mdstat", mdstat.ToString());
    }

    private static string I(int v) => v.ToString(CultureInfo.InvariantCulture);

    private void Write(string dir, string file, string text)
    {
        if (file.EndsWith("_input", StringComparison.Ordinal)) _inputs.Add((Path.Combine(dir, file), int.Parse(text, CultureInfo.InvariantCulture)));
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, file), text + "\n");
    }

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { }
    }
}
