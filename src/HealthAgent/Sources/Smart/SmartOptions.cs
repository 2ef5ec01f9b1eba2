using HealthAgent.Config;

namespace HealthAgent.Sources.Smart;

/// <summary>Options under <c>sources.smart</c>: drive health from <c>smartctl --json</c> (smartmontools ≥ 7).</summary>
public sealed class SmartOptions : SourceOptions
{
    public SmartOptions() => IntervalSeconds = 300; // SMART changes slowly; polling it often only costs disk commands

    /// <summary>The smartctl executable (a name on PATH or a full path).</summary>
    public string SmartctlPath { get; set; } = "smartctl";

    /// <summary>Find drives with <c>smartctl --scan-open</c> (includes megaraid,N and sat+megaraid,N targets behind a MegaRAID controller).</summary>
    public bool Scan { get; set; } = true;

    /// <summary>Drives to read in addition to (or, with scan off, instead of) scanned ones: "/dev/sda", or "/dev/bus/0 -d megaraid,4".</summary>
    public List<string> Devices { get; set; } = [];

    /// <summary>Device names to leave out, as globs ("/dev/sdz", "/dev/bus/*").</summary>
    public List<string> Exclude { get; set; } = [];

    /// <summary>Polls between rescans; a scan opens every device, so it is not repeated every poll. Default 12 (an hour at 300 s).</summary>
    public int RescanPolls { get; set; } = 12;

    /// <summary>How many smartctl processes run at once (many disks behind one controller answer slowly when asked in parallel). Default 2.</summary>
    public int MaxConcurrency { get; set; } = 2;

    /// <summary>Seconds one smartctl call may take before it is killed and the drive reported unknown. Default 30.</summary>
    public double DeviceTimeoutSeconds { get; set; } = 30;

    /// <summary>smartctl --nocheck mode: standby (default: don't wake a disk in standby or sleep), sleep, idle, or never (always read, waking disks).</summary>
    public string NoCheck { get; set; } = "standby";

    public override void Validate(string path, ICollection<string> errors)
    {
        // A whole poll reads many disks, maxConcurrency at a time, each up to deviceTimeoutSeconds: without an explicit
        // timeoutSeconds allow 80% of the interval, at most 240 s (the shared default of 30 s is too short for SMART).
        TimeoutSeconds ??= Math.Min(240, IntervalSeconds * 0.8);
        base.Validate(path, errors);
        if (string.IsNullOrWhiteSpace(SmartctlPath)) errors.Add($"{path}.smartctlPath: must not be empty");
        if (MaxConcurrency is < 1 or > 64) errors.Add($"{path}.maxConcurrency: must be from 1 to 64 (is {MaxConcurrency})");
        if (DeviceTimeoutSeconds is <= 0 or > 600) errors.Add($"{path}.deviceTimeoutSeconds: must be above 0 and at most 600 (is {DeviceTimeoutSeconds})");
        if (RescanPolls is < 1 or > 100_000) errors.Add($"{path}.rescanPolls: must be from 1 to 100000 (is {RescanPolls})");
        if (NoCheck is not ("standby" or "sleep" or "idle" or "never")) errors.Add($"{path}.noCheck: must be standby, sleep, idle or never (is '{NoCheck}')");
        if (!Scan && Devices.Count == 0) errors.Add($"{path}: scan is off and no devices are listed; nothing to read");
        foreach (var d in Devices.Where(d => SmartSource.ParseDeviceOption(d) is null)) errors.Add($"{path}.devices: '{d}' is not \"/dev/NAME\" or \"/dev/NAME -d TYPE\"");
    }
}
