using HealthAgent.Config;

namespace HealthAgent.Sources.Hwmon;

/// <summary>Options under <c>sources.hwmon</c>: the kernel's hardware-monitoring chips (/sys/class/hwmon).</summary>
public sealed class HwmonOptions : HostRootSourceOptions
{
    /// <summary>Milliseconds one sysfs read may take before it is abandoned as hung (a driver stuck on its bus); default 500.</summary>
    public int FileTimeoutMs { get; set; } = 500;

    /// <summary>Chip names to leave out, as globs ("acpitz", "nvme*").</summary>
    public List<string> ExcludeChips { get; set; } = [];

    /// <summary>Polls between re-reading chips, labels and limits (_max, _crit, _min, _lcrit); values, alarms and faults are read every poll. Default 360 (an hour at 10 s); a chip that disappears triggers a rescan at once.</summary>
    public int RefreshPolls { get; set; } = 360;

    public override void Validate(string path, ICollection<string> errors)
    {
        base.Validate(path, errors);
        if (FileTimeoutMs is < 10 or > 60_000) errors.Add($"{path}.fileTimeoutMs: must be from 10 to 60000 (is {FileTimeoutMs})");
        if (RefreshPolls is < 1 or > 100_000) errors.Add($"{path}.refreshPolls: must be from 1 to 100000 (is {RefreshPolls})");
    }
}
