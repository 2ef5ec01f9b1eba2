using HealthAgent.Config;

namespace HealthAgent.Sources.PowerSupply;

/// <summary>Options under <c>sources.powersupply</c>: what the kernel exposes in /sys/class/power_supply (AC adapters, batteries, UPS, some PSUs).</summary>
public sealed class PowerSupplyOptions : HostRootSourceOptions
{
    /// <summary>Milliseconds one sysfs read may take before it is abandoned as hung (ACPI battery reads can stall on a busy EC); default 1000.</summary>
    public int FileTimeoutMs { get; set; } = 1000;

    /// <summary>Supplies to leave out, by name glob ("hidpp_battery_*").</summary>
    public List<string> Exclude { get; set; } = [];

    public override void Validate(string path, ICollection<string> errors)
    {
        base.Validate(path, errors);
        if (FileTimeoutMs is < 10 or > 60_000) errors.Add($"{path}.fileTimeoutMs: must be from 10 to 60000 (is {FileTimeoutMs})");
    }
}
