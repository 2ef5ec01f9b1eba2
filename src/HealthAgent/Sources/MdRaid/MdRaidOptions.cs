using HealthAgent.Config;

namespace HealthAgent.Sources.MdRaid;

/// <summary>Options under <c>sources.mdraid</c>: Linux software RAID (/proc/mdstat, /sys/block/md*/md/).</summary>
public sealed class MdRaidOptions : HostRootSourceOptions
{
    /// <summary>Milliseconds one procfs/sysfs read may take before it is abandoned as hung; default 1000.</summary>
    public int FileTimeoutMs { get; set; } = 1000;

    /// <summary>Arrays to leave out, as globs ("md127").</summary>
    public List<string> ExcludeArrays { get; set; } = [];

    public override void Validate(string path, ICollection<string> errors)
    {
        base.Validate(path, errors);
        if (FileTimeoutMs is < 10 or > 60_000) errors.Add($"{path}.fileTimeoutMs: must be from 10 to 60000 (is {FileTimeoutMs})");
    }
}
