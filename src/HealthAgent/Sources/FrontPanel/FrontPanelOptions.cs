using HealthAgent.Config;

namespace HealthAgent.Sources.FrontPanel;

/// <summary>
/// <c>sources.frontPanel</c>: a front-panel controller on a serial line that reports what each LED shows
/// (including the iDRAC Quick Sync LED, which Redfish does not expose). Off by default.
/// </summary>
public sealed class FrontPanelOptions : SourceOptions
{
    public FrontPanelOptions() => Enabled = false;

    /// <summary>Serial device of the panel controller, e.g. /dev/ttyUSB0, /dev/serial/by-id/..., or the simulator's /tmp/healthagent-panel.</summary>
    public string Device { get; set; } = "/dev/ttyUSB0";

    /// <summary>Line speed in baud (8N1, no flow control). Any rate the UART supports.</summary>
    public int BaudRate { get; set; } = 115200;

    /// <summary>Seconds between the controller's heartbeats. After 3 × this without a valid line every panel LED becomes unknown.</summary>
    public double HeartbeatSeconds { get; set; } = 2;

    /// <summary>How long silence may last before the panel counts as silent.</summary>
    public TimeSpan SilenceLimit => TimeSpan.FromSeconds(HeartbeatSeconds * 3);

    public override void Validate(string path, ICollection<string> errors)
    {
        base.Validate(path, errors);
        if (string.IsNullOrWhiteSpace(Device)) errors.Add($"{path}.device: must name a serial device");
        if (BaudRate is < 50 or > 4_000_000) errors.Add($"{path}.baudRate: must be from 50 to 4000000 (is {BaudRate})");
        if (HeartbeatSeconds is < 0.05 or > 3600) errors.Add($"{path}.heartbeatSeconds: must be from 0.05 to 3600 (is {HeartbeatSeconds})");
    }
}
