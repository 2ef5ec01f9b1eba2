namespace HealthAgent.Config;

/// <summary>Options that check themselves; every problem is added to <c>errors</c> as "path: message".</summary>
public interface IValidatable
{
    void Validate(string path, ICollection<string> errors);
}

/// <summary>Options every source has under <c>sources.&lt;name&gt;</c>.</summary>
public class SourceOptions : IValidatable
{
    /// <summary>Whether the agent runs this source.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Seconds between polls.</summary>
    public double IntervalSeconds { get; set; } = 10;

    /// <summary>Seconds one poll may take before it is reported hung; default: 80% of the interval, at most 30 s.</summary>
    public double? TimeoutSeconds { get; set; }

    public TimeSpan Interval => TimeSpan.FromSeconds(IntervalSeconds);
    public TimeSpan Timeout => TimeSpan.FromSeconds(TimeoutSeconds ?? Math.Min(30, IntervalSeconds * 0.8));

    public virtual void Validate(string path, ICollection<string> errors)
    {
        if (IntervalSeconds is < 0.05 or > 86400) errors.Add($"{path}.intervalSeconds: must be from 0.05 to 86400 (is {IntervalSeconds})");
        if (TimeoutSeconds is { } t && (t <= 0 || t >= IntervalSeconds))
            errors.Add($"{path}.timeoutSeconds: must be above 0 and shorter than intervalSeconds ({IntervalSeconds}) (is {t})");
    }
}

/// <summary>Top-level agent options (agent.json root).</summary>
public sealed class AgentOptions : IValidatable
{
    /// <summary>This agent's id in topics and events; default: the host name.</summary>
    public string? AgentId { get; set; }

    /// <summary>Where state, the event outbox and history live (the systemd unit's StateDirectory=; a relative path is relative to the config file).</summary>
    public string StateDirectory { get; set; } = DefaultStateDirectory;

    /// <summary>The installed agent's state directory (deploy/healthagent.service StateDirectory=healthagent).</summary>
    public const string DefaultStateDirectory = "/var/lib/healthagent";

    /// <summary>The rule tables; when unset or missing, the seed tables built into the binary are used.</summary>
    public string? RulesDirectory { get; set; }

    /// <summary>Minimum log level: Trace, Debug, Information, Warning, Error.</summary>
    public string LogLevel { get; set; } = "Information";

    public string EffectiveAgentId => string.IsNullOrWhiteSpace(AgentId) ? Environment.MachineName : AgentId;

    public void Validate(string path, ICollection<string> errors)
    {
        if (AgentId is { Length: > 0 } id && (id.Length > 64 || id.Any(c => c is '/' or '+' or '#' or '\0' || char.IsWhiteSpace(c))))
            errors.Add("agentId: at most 64 characters, without '/', '+', '#', spaces or NUL (it becomes an MQTT topic level)");
        if (string.IsNullOrWhiteSpace(StateDirectory)) errors.Add("stateDirectory: must not be empty");
        if (!Enum.TryParse<Microsoft.Extensions.Logging.LogLevel>(LogLevel, true, out _))
            errors.Add($"logLevel: unknown level '{LogLevel}' (Trace, Debug, Information, Warning, Error, Critical, None)");
    }
}

/// <summary>Options of sources that read kernel files (sysfs, procfs): everything is read under <see cref="HostRoot"/>.</summary>
public class HostRootSourceOptions : SourceOptions
{
    /// <summary>Root the source reads /sys and /proc under (default "/"); tests and the simulator point it at fixture trees.</summary>
    public string HostRoot { get; set; } = "/";

    /// <summary>A path under the host root: <c>Under("sys/class/hwmon")</c>.</summary>
    public string Under(string relative) => Path.Combine(HostRoot, relative.TrimStart('/'));

    public override void Validate(string path, ICollection<string> errors)
    {
        base.Validate(path, errors);
        if (string.IsNullOrWhiteSpace(HostRoot)) errors.Add($"{path}.hostRoot: must not be empty");
    }
}
