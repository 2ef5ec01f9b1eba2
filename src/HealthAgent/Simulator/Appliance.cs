using System.Globalization;

namespace HealthAgent.Simulator;

/// <summary>What a target accepts: one of a list of words, a number in a range, or true/false.</summary>
public sealed record TargetSpec(string Name, string Help, object Default, IReadOnlyList<string>? Choices = null, double Min = 0, double Max = 0)
{
    public bool IsBool => Default is bool;
    public bool IsNumber => Default is double;

    /// <summary>Parses a value written in a scenario, a control request or an interactive command.</summary>
    public bool TryParse(string text, out object value, out string error)
    {
        value = Default;
        error = "";
        text = text.Trim();
        if (IsBool)
        {
            if (text is "true" or "on" or "yes") { value = true; return true; }
            if (text is "false" or "off" or "no") { value = false; return true; }
            error = $"{Name} takes true or false, not '{text}'";
            return false;
        }
        if (IsNumber)
        {
            if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && d >= Min && d <= Max) { value = d; return true; }
            error = $"{Name} takes a number from {Min.ToString(CultureInfo.InvariantCulture)} to {Max.ToString(CultureInfo.InvariantCulture)}, not '{text}'";
            return false;
        }
        if (Choices!.Contains(text)) { value = text; return true; }
        error = $"{Name} takes one of {string.Join(", ", Choices!)}, not '{text}'";
        return false;
    }

    public string Describe() => IsBool ? "true|false" : IsNumber ? $"{Min.ToString(CultureInfo.InvariantCulture)}..{Max.ToString(CultureInfo.InvariantCulture)}" : string.Join("|", Choices!);
}

/// <summary>One LED line the simulated front panel reports.</summary>
public sealed record PanelLedState(string Family, string Index, string State);

/// <summary>
/// The simulated appliance: an S9002-class terminal beside a PowerEdge-class recorder with two PSUs, four drives in
/// a RAID 5 volume, four NIC ports, four fans, three temperatures and an iDRAC-style BMC. Its state is a flat set of
/// named targets (<see cref="Targets"/>) that scenarios, the control endpoint and the interactive prompt set; the
/// Redfish service, the front panel and the host tree all render from it. Thread-safe.
/// </summary>
public sealed class Appliance
{
    public const int PsuCount = 2, DriveCount = 4, NicCount = 4, FanCount = 4;
    public static readonly string[] Temperatures = ["inlet", "cpu1", "cpu2"];

    public static readonly string[] PsuStates = ["ok", "fault", "unplugged", "absent", "mismatch", "updating"];
    public static readonly string[] DriveStates = ["online", "rebuilding", "failed", "predicted", "absent", "rebuild-stopped", "identify"];

    /// <summary>Every target, in display order.</summary>
    public static readonly IReadOnlyList<TargetSpec> Targets = BuildTargets();

    private static List<TargetSpec> BuildTargets()
    {
        var t = new List<TargetSpec>
        {
            new("system", "system health LED: blue / amber blinking / amber solid", "healthy", ["healthy", "fault", "failsafe"]),
            new("system.identify", "system ID mode (Redfish LocationIndicatorActive, IndicatorLED Blinking)", false),
            new("quicksync", "iDRAC Quick Sync 2 LED (front panel only)", "off", ["off", "ready", "transfer", "updating", "disabled", "failsafe", "fault"]),
            new("power", "the terminal's power indicator (front panel only)", "ok", ["ok", "fault", "unplugged", "mismatch"]),
            new("panel", "the front-panel controller's line: ok, silent (no heartbeat, no lines), noisy (line noise, bad checksums, split lines)", "ok", ["ok", "silent", "noisy"]),
            new("bmc", "BMC behaviour: ok, slow (2 s per answer), hanging (no answer for 60 s), unresponsive (503)", "ok", ["ok", "slow", "hanging", "unresponsive"]),
            new("bmc.expand", "Redfish $expand: advertised in the service root and served (as iDRAC9 does), or false: not advertised, answered 501", true),
        };
        for (var i = 1; i <= PsuCount; i++)
            t.Add(new($"psu{i}", $"PSU {i}", "ok", PsuStates));
        for (var i = 0; i < DriveCount; i++)
        {
            t.Add(new($"drive{i}", $"drive in bay {i}", "online", DriveStates));
            t.Add(new($"drive{i}.rebuild", $"rebuild progress of drive {i} in percent (while rebuilding)", 0.0, null, 0, 100));
        }
        for (var i = 1; i <= NicCount; i++)
        {
            t.Add(new($"nic{i}", $"NIC port {i}: up at 10 Gb/s, down (unplugged), downshift (1 Gb/s)", "up", ["up", "down", "downshift"]));
            t.Add(new($"nic{i}.active", $"traffic on NIC port {i}", true));
        }
        for (var i = 1; i <= FanCount; i++)
            t.Add(new($"fan{i}", $"fan {i} speed in RPM (caution below {FanCautionRpm}, critical below {FanCriticalRpm})", 7200.0, null, 0, 30000));
        t.Add(new("temp.inlet", "inlet temperature °C (caution 42, critical 47)", 24.0, null, -40, 150));
        t.Add(new("temp.cpu1", "CPU 1 temperature °C (caution 85, critical 95)", 52.0, null, -40, 150));
        t.Add(new("temp.cpu2", "CPU 2 temperature °C (caution 85, critical 95)", 50.0, null, -40, 150));
        return t;
    }

    public const double FanCautionRpm = 2000, FanCriticalRpm = 1000;

    /// <summary>Thresholds per temperature: (caution, critical, fatal) in °C.</summary>
    public static (double Caution, double Critical, double Fatal) TemperatureLimits(string name) =>
        name == "inlet" ? (42, 47, 52) : (85, 95, 100);

    public static TargetSpec? Find(string name) => Targets.FirstOrDefault(t => t.Name == name);

    private readonly object _gate = new();
    private readonly Dictionary<string, object> _values = new(StringComparer.Ordinal);

    public Appliance() => Reset();

    /// <summary>Raised after a change, outside the lock, with the targets that changed.</summary>
    public event Action<IReadOnlyList<string>>? Changed;

    /// <summary>Back to a healthy appliance.</summary>
    public void Reset()
    {
        List<string> changed;
        lock (_gate)
        {
            changed = Targets.Where(t => !_values.TryGetValue(t.Name, out var v) || !Equals(v, t.Default)).Select(t => t.Name).ToList();
            foreach (var t in Targets) _values[t.Name] = t.Default;
        }
        if (changed.Count > 0) Changed?.Invoke(changed);
    }

    /// <summary>Sets targets from text; nothing changes when any of them is invalid (the errors say why).</summary>
    public IReadOnlyList<string> Set(IEnumerable<KeyValuePair<string, string>> values)
    {
        var errors = new List<string>();
        var parsed = new List<(string, object)>();
        foreach (var (k, text) in values)
        {
            var spec = Find(k);
            if (spec is null) { errors.Add($"unknown target '{k}' (see `targets`)"); continue; }
            if (!spec.TryParse(text, out var v, out var e)) { errors.Add(e); continue; }
            parsed.Add((k, v));
        }
        if (errors.Count > 0) return errors;
        var changed = new List<string>();
        lock (_gate)
        {
            foreach (var (k, v) in parsed)
                if (!Equals(_values[k], v)) { _values[k] = v; changed.Add(k); }
        }
        if (changed.Count > 0) Changed?.Invoke(changed);
        return errors;
    }

    public IReadOnlyList<string> Set(string target, string value) => Set([new(target, value)]);

    public object Get(string target)
    {
        lock (_gate) return _values[target];
    }

    public string Word(string target) => (string)Get(target);
    public double Number(string target) => (double)Get(target);
    public bool Flag(string target) => (bool)Get(target);

    /// <summary>All target values, for /sim/state and the interactive prompt.</summary>
    public IReadOnlyDictionary<string, object> Values
    {
        get { lock (_gate) return new Dictionary<string, object>(_values); }
    }

    /// <summary>Health of a fan or temperature from its reading and thresholds: OK, Warning or Critical.</summary>
    public string FanHealth(int i) => Number($"fan{i}") switch { < FanCriticalRpm => "Critical", < FanCautionRpm => "Warning", _ => "OK" };

    public string TemperatureHealth(string name)
    {
        var (caution, critical, _) = TemperatureLimits(name);
        return Number("temp." + name) switch { var c when c >= critical => "Critical", var c when c >= caution => "Warning", _ => "OK" };
    }

    /// <summary>
    /// What the front panel shows, in the seed manual's words (canonical LED text): the system health/ID LED,
    /// the Quick Sync LED, the power LED, each PSU handle and each drive carrier.
    /// </summary>
    public IReadOnlyList<PanelLedState> PanelLeds()
    {
        var leds = new List<PanelLedState>
        {
            new("system", "1", Flag("system.identify") ? "blinking blue" : Word("system") switch
            {
                "failsafe" => "solid amber", "fault" => "blinking amber", _ => "solid blue",
            }),
            new("quicksync", "1", Word("quicksync") switch
            {
                "ready" => "solid white", "transfer" => "blinking white fast", "updating" => "blinking white slow",
                "disabled" => "blinking white fast x5, then off", "failsafe" => "solid amber", "fault" => "blinking amber", _ => "off",
            }),
            new("power", "1", Word("power") switch
            {
                "fault" => "blinking amber", "unplugged" => "off", "mismatch" => "blinking green", _ => "solid green",
            }),
        };
        for (var i = 1; i <= PsuCount; i++)
            leds.Add(new("psu", i.ToString(CultureInfo.InvariantCulture), Word($"psu{i}") switch
            {
                "fault" => "blinking amber", "unplugged" or "absent" => "off", "updating" => "blinking green",
                "mismatch" => "blinking green 4hz x5, then off", _ => "solid green",
            }));
        for (var i = 0; i < DriveCount; i++)
            leds.Add(new("drive", i.ToString(CultureInfo.InvariantCulture), Word($"drive{i}") switch
            {
                "rebuilding" => "blinking green slow", "failed" => "blinking amber 4hz", "predicted" => "blinking green, blinking amber, then off",
                "absent" => "off", "rebuild-stopped" => "blinking green for 3s, blinking amber for 3s, then off", "identify" => "blinking green 2hz",
                _ => "solid green",
            }));
        return leds;
    }
}
