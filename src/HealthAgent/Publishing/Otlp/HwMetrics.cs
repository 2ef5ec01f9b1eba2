using System.Diagnostics.Metrics;
using HealthAgent.Model;

namespace HealthAgent.Publishing.Otlp;

/// <summary>How an instrument is exported: OTLP gauge, non-monotonic sum (UpDownCounter) or monotonic sum (Counter).</summary>
public enum HwInstrument { Gauge, UpDownCounter, Counter }

/// <summary>One metric the agent exports: name, instrument, UCUM unit, whether values are integers, and its description.</summary>
public sealed record HwMetricDef(string Name, HwInstrument Instrument, string Unit, bool Integer, string Description);

/// <summary>One value of one metric for one component, with the attributes beyond hw.id/hw.type/hw.name/hw.parent.</summary>
public readonly record struct HwPoint(string Metric, double Value, KeyValuePair<string, object?>[] Extra);

/// <summary>
/// The hardware semantic conventions (OpenTelemetry semconv "hardware", Development) as the agent applies them, and
/// THE table that maps a component's readings to hw.* metrics. Sources name readings freely, so the mapping goes by
/// unit first (°C → hw.temperature, rpm → hw.fan.speed, V → hw.voltage, W → hw.power) and by a few documented names
/// (carrier, speedMbps, maxSpeedMbps, percentageUsed, …); a name ending in a limit word (crit, max, min, lcrit,
/// upperCritical, …) turns the measurement into its <c>.limit</c> metric with <c>hw.limit_type</c>. Pure: no I/O.
/// </summary>
public static class HwMetrics
{
    public const string MeterName = "HealthAgent.Hardware";
    public const string Status = "hw.status", LedState = "hw.led.state";
    public const string Temperature = "hw.temperature", TemperatureLimit = "hw.temperature.limit";
    public const string FanSpeed = "hw.fan.speed", FanSpeedLimit = "hw.fan.speed.limit", FanSpeedRatio = "hw.fan.speed_ratio";
    public const string Voltage = "hw.voltage", VoltageLimit = "hw.voltage.limit";
    public const string Power = "hw.power", PowerSupplyLimit = "hw.power_supply.limit";
    public const string NetworkUp = "hw.network.up", NetworkBandwidthLimit = "hw.network.bandwidth.limit", NetworkBandwidthMax = "hw.network.bandwidth.max";
    public const string NetworkIo = "hw.network.io";
    public const string Errors = "hw.errors";
    public const string DiskEndurance = "hw.physical_disk.endurance_utilization", DiskSmart = "hw.physical_disk.smart";

    /// <summary>Every metric, in export order. hw.led.state and hw.network.bandwidth.max are HealthAgent extensions.</summary>
    public static readonly IReadOnlyList<HwMetricDef> All =
    [
        new(Status, HwInstrument.UpDownCounter, "1", true, "Operational status: 1 (true) or 0 (false) for each of the possible states"),
        new(Temperature, HwInstrument.Gauge, "Cel", false, "Temperature in degrees Celsius"),
        new(TemperatureLimit, HwInstrument.Gauge, "Cel", false, "Temperature limit in degrees Celsius"),
        new(FanSpeed, HwInstrument.Gauge, "rpm", false, "Fan speed in revolutions per minute"),
        new(FanSpeedLimit, HwInstrument.Gauge, "rpm", false, "Speed limit in rpm"),
        new(FanSpeedRatio, HwInstrument.Gauge, "1", false, "Fan speed expressed as a fraction of its maximum speed"),
        new(Voltage, HwInstrument.Gauge, "V", false, "Voltage measured by the sensor"),
        new(VoltageLimit, HwInstrument.Gauge, "V", false, "Voltage limit in Volts"),
        new(Power, HwInstrument.Gauge, "W", false, "Instantaneous power consumed by the component"),
        new(PowerSupplyLimit, HwInstrument.Gauge, "W", false, "Maximum power output of the power supply"),
        new(NetworkUp, HwInstrument.UpDownCounter, "1", true, "Link status: 1 (up) or 0 (down)"),
        new(NetworkBandwidthLimit, HwInstrument.UpDownCounter, "By/s", false, "Link speed"),
        new(NetworkBandwidthMax, HwInstrument.UpDownCounter, "By/s", false, "Maximum link speed the port supports (HealthAgent extension; below it, the link runs reduced)"),
        new(NetworkIo, HwInstrument.Counter, "By", true, "Received and transmitted network traffic in bytes"),
        new(Errors, HwInstrument.Counter, "{error}", true, "Number of errors encountered by the component"),
        new(DiskEndurance, HwInstrument.Gauge, "1", false, "Endurance remaining for this SSD disk"),
        new(DiskSmart, HwInstrument.Gauge, "1", false, "Value of the corresponding S.M.A.R.T. attribute"),
        new(LedState, HwInstrument.Gauge, "1", true, "What an indicator LED shows: 1 for its current colour/pattern, 0 for states it showed before (HealthAgent extension, hw.type=led)"),
    ];

    // --- The mapping table -------------------------------------------------------------------------------------------

    /// <summary>Measurement metric, its limit metric (null: no limit metric) and the factor to the metric's unit, by reading unit.</summary>
    private static readonly Dictionary<string, (string Metric, string? Limit, double Factor)> ByUnit = new(StringComparer.Ordinal)
    {
        ["Cel"] = (Temperature, TemperatureLimit, 1), ["°C"] = (Temperature, TemperatureLimit, 1), ["C"] = (Temperature, TemperatureLimit, 1),
        ["m°C"] = (Temperature, TemperatureLimit, 0.001), // hwmon temp*_input is in m°C (Documentation/hwmon/sysfs-interface.rst)
        ["rpm"] = (FanSpeed, FanSpeedLimit, 1), ["RPM"] = (FanSpeed, FanSpeedLimit, 1),
        ["V"] = (Voltage, VoltageLimit, 1), ["mV"] = (Voltage, VoltageLimit, 0.001),
        ["W"] = (Power, PowerSupplyLimit, 1), ["mW"] = (Power, PowerSupplyLimit, 0.001), ["µW"] = (Power, PowerSupplyLimit, 1e-6), ["uW"] = (Power, PowerSupplyLimit, 1e-6),
        ["Mbps"] = (NetworkBandwidthLimit, null, 125_000), ["Mb/s"] = (NetworkBandwidthLimit, null, 125_000), ["Mbit/s"] = (NetworkBandwidthLimit, null, 125_000),
        ["Gbps"] = (NetworkBandwidthLimit, null, 125_000_000), ["Gb/s"] = (NetworkBandwidthLimit, null, 125_000_000),
        ["By/s"] = (NetworkBandwidthLimit, null, 1),
    };

    /// <summary>Readings recognised by name (normalised: lower case, letters and digits only), whatever their unit.</summary>
    private static readonly Dictionary<string, Func<double, HwPoint>> ByName = new(StringComparer.Ordinal)
    {
        ["carrier"] = v => new(NetworkUp, v, []), ["linkup"] = v => new(NetworkUp, v, []),
        ["speedmbps"] = v => new(NetworkBandwidthLimit, v * 125_000, []), // Mb/s → bytes/s
        ["currentspeedmbps"] = v => new(NetworkBandwidthLimit, v * 125_000, []),
        ["currentspeedgbps"] = v => new(NetworkBandwidthLimit, v * 125_000_000, []),
        ["maxspeedmbps"] = v => new(NetworkBandwidthMax, v * 125_000, []),
        ["maxspeedgbps"] = v => new(NetworkBandwidthMax, v * 125_000_000, []),
        // NVMe percentage_used / SAS "percentage used endurance indicator": used, so remaining = 1 - used
        ["percentageused"] = v => new(DiskEndurance, Math.Clamp(1 - v / 100, 0, 1), [new("hw.physical_disk.state", "remaining")]),
        ["percentused"] = v => new(DiskEndurance, Math.Clamp(1 - v / 100, 0, 1), [new("hw.physical_disk.state", "remaining")]),
        // Redfish Drive.PredictedMediaLifeLeftPercent: remaining
        ["predictedmedialifeleftpercent"] = v => new(DiskEndurance, Math.Clamp(v / 100, 0, 1), [new("hw.physical_disk.state", "remaining")]),
        ["lifeleftpercent"] = v => new(DiskEndurance, Math.Clamp(v / 100, 0, 1), [new("hw.physical_disk.state", "remaining")]),
        // smartctl ATA attributes the smartctl source reads (raw values), under their smartctl names
        ["reallocatedsectors"] = v => new(DiskSmart, v, [new("hw.physical_disk.smart_attribute", "Reallocated_Sector_Ct")]),
        ["pendingsectors"] = v => new(DiskSmart, v, [new("hw.physical_disk.smart_attribute", "Current_Pending_Sector")]),
        ["offlineuncorrectable"] = v => new(DiskSmart, v, [new("hw.physical_disk.smart_attribute", "Offline_Uncorrectable")]),
        // /sys/class/net/<if>/statistics/{rx,tx}_bytes
        ["rxbytes"] = v => new(NetworkIo, v, [new("network.io.direction", "receive")]),
        ["txbytes"] = v => new(NetworkIo, v, [new("network.io.direction", "transmit")]),
    };

    /// <summary>Text readings that carry a link state: Redfish Port/NetworkPort/EthernetInterface LinkStatus.</summary>
    private static readonly Dictionary<string, double> LinkStatus = new(StringComparer.OrdinalIgnoreCase)
    {
        ["LinkUp"] = 1, ["Up"] = 1, ["LinkDown"] = 0, ["NoLink"] = 0, ["Down"] = 0, // Starting, Training: unknown
    };

    /// <summary>Name endings that make a reading a limit, longest first, with the hw.limit_type they mean.</summary>
    private static readonly (string Suffix, string LimitType)[] LimitSuffixes =
    [
        ("lowercritical", "low.critical"), ("lowerfatal", "low.critical"), ("lcrit", "low.critical"),
        ("uppercritical", "high.critical"), ("upperfatal", "high.critical"), ("crit", "high.critical"), ("critical", "high.critical"),
        ("lowercaution", "low.degraded"), ("lowernoncritical", "low.degraded"), ("min", "low.degraded"),
        ("uppercaution", "high.degraded"), ("uppernoncritical", "high.degraded"), ("max", "high.degraded"),
        ("capacitywatts", "max"), ("capacity", "max"),
    ];

    /// <summary>
    /// Maps one reading of a component to a metric point, or null when the reading is unknown (null value), not
    /// numeric/boolean (except a LinkStatus text), or not a hardware metric. Errors: a numeric reading whose name ends
    /// in "errors"/"errorCount" or whose unit is {error}; S.M.A.R.T.: a reading named "smart.&lt;attribute&gt;".
    /// </summary>
    public static HwPoint? Classify(ComponentRef c, Reading r)
    {
        double v;
        switch (r.Value)
        {
            case string text when Normalise(r.Name) == "linkstatus":
                return LinkStatus.TryGetValue(text, out var up) ? new HwPoint(NetworkUp, up, []) : null;
            case bool b: v = b ? 1 : 0; break;
            case double d when double.IsFinite(d): v = d; break;
            case float f when float.IsFinite(f): v = f; break;
            case int i: v = i; break;
            case long l: v = l; break;
            default: return null; // unknown (null), text, NaN: nothing to export
        }
        if (r.Name.StartsWith("smart.", StringComparison.OrdinalIgnoreCase) && r.Name.Length > 6)
            return new HwPoint(DiskSmart, v, [new("hw.physical_disk.smart_attribute", r.Name[6..])]);
        var key = Normalise(r.Name);
        if (ByName.TryGetValue(key, out var byName)) return byName(v);
        // error counts are numbers; a flag such as smartctl's "selfTestErrors" (exit-status bit) is not a count
        if (r.Value is not bool && (r.Unit is "{error}" or "errors" || key.EndsWith("errors", StringComparison.Ordinal) || key.EndsWith("errorcount", StringComparison.Ordinal)))
            return new HwPoint(Errors, v, [new("error.type", r.Name)]);
        if (c.HwType == "fan" && r.Unit == "%") return new HwPoint(FanSpeedRatio, v / 100, []);
        if (r.Unit is null || !ByUnit.TryGetValue(r.Unit, out var u)) return null;
        if (LimitType(key) is { } limitType)
        {
            if (u.Limit is null) return null;
            // hw.power_supply.limit is defined for power supplies only; other components have no power limit metric
            if (u.Limit == PowerSupplyLimit && c.HwType != "power_supply") return null;
            return new HwPoint(u.Limit, v * u.Factor, [new("hw.limit_type", limitType)]);
        }
        return new HwPoint(u.Metric, v * u.Factor, []);
    }

    /// <summary>hw.limit_type for a normalised reading name, or null when it is not a limit.</summary>
    internal static string? LimitType(string normalisedName)
    {
        foreach (var (suffix, type) in LimitSuffixes)
            if (normalisedName.EndsWith(suffix, StringComparison.Ordinal)) return type;
        return null;
    }

    internal static string Normalise(string name) => string.Concat(name.Where(char.IsAsciiLetterOrDigit)).ToLowerInvariant();

    // --- Attributes ---------------------------------------------------------------------------------------------------

    /// <summary>The common hw.* attributes: hw.id and hw.type (required), hw.name and hw.parent (recommended).</summary>
    public static List<KeyValuePair<string, object?>> Common(ComponentRef c, int extra = 0)
    {
        var tags = new List<KeyValuePair<string, object?>>(4 + extra) { new("hw.id", c.Id), new("hw.type", c.HwType), new("hw.name", c.Name) };
        if (!string.IsNullOrEmpty(c.Parent)) tags.Add(new("hw.parent", c.Parent));
        return tags;
    }

    /// <summary>
    /// hw.status one-hot: for a component whose state maps to an OpenTelemetry hw.state, one point per hw.state value
    /// (ok, degraded, failed, predicted_failure, needs_cleaning) — exactly one is 1. An unknown state emits nothing:
    /// the agent does not claim "ok" or "failed" for a component it cannot read (its hw.status series go stale).
    /// </summary>
    public static IEnumerable<(long Value, KeyValuePair<string, object?>[] Tags)> StatusOneHot(ComponentRef c, HwState state)
    {
        if (HealthWords.ToOtel(state) is not { } current) yield break;
        foreach (var s in HealthWords.OtelStates)
        {
            var tags = Common(c, 1);
            tags.Add(new("hw.state", s));
            yield return (s == current ? 1 : 0, tags.ToArray());
        }
    }

    /// <summary>The indicator LED as a component of its own: hw.id "&lt;component&gt;:led:&lt;led&gt;", hw.type led, hw.parent the component.</summary>
    public static ComponentRef LedComponent(ComponentRef c, string led) =>
        new($"{c.Id}:led:{led}", "led", $"{c.Name} {led} LED", c.Id);

    /// <summary>hw.led.* attributes of one LED state: name, colour ("none" when off or a sequence), pattern, rate, canonical text.</summary>
    public static KeyValuePair<string, object?>[] LedTags(ComponentRef c, string led, LedState s)
    {
        var tags = Common(LedComponent(c, led), 5);
        tags.Add(new("hw.led.name", led));
        tags.Add(new("hw.led.color", s.Color is { } color ? LedText.ColorName(color) : "none"));
        tags.Add(new("hw.led.pattern", s.Pattern.ToString().ToLowerInvariant()));
        if (s.Rate is { } rate) tags.Add(new("hw.led.rate", rate.ToString()));
        tags.Add(new("hw.led.text", s.ToString()));
        return tags.ToArray();
    }
}

/// <summary>
/// Registers every <see cref="HwMetrics.All"/> instrument as an observable on a meter. Callbacks read the current
/// <see cref="IHealthState.Components"/> snapshot at collection time, so exported values are current at export. The
/// points of all metrics are computed once per snapshot (the state hands out a new immutable list on every change).
/// </summary>
internal sealed class HwInstruments
{
    private const int MaxPreviousLedStates = 16;
    private static readonly List<(double, KeyValuePair<string, object?>[])> None = [];
    private readonly Func<IHealthState?> _state;
    private readonly Lock _lock = new();
    private IReadOnlyList<ComponentStatus>? _snapshot;
    private Dictionary<string, List<(double Value, KeyValuePair<string, object?>[] Tags)>> _points = new(StringComparer.Ordinal);
    // LED states exported before, per LED, reported as 0 so a backend sees the old state end (StateSet-like, bounded).
    private readonly Dictionary<string, List<(string Text, KeyValuePair<string, object?>[] Tags)>> _ledHistory = new(StringComparer.Ordinal);

    public HwInstruments(Meter meter, Func<IHealthState?> state)
    {
        _state = state;
        foreach (var d in HwMetrics.All) Register(meter, d);
    }

    private void Register(Meter meter, HwMetricDef d)
    {
        switch (d.Instrument, d.Integer)
        {
            case (HwInstrument.Gauge, true): meter.CreateObservableGauge(d.Name, () => Longs(d.Name), d.Unit, d.Description); break;
            case (HwInstrument.Gauge, false): meter.CreateObservableGauge(d.Name, () => Doubles(d.Name), d.Unit, d.Description); break;
            case (HwInstrument.UpDownCounter, true): meter.CreateObservableUpDownCounter(d.Name, () => Longs(d.Name), d.Unit, d.Description); break;
            case (HwInstrument.UpDownCounter, false): meter.CreateObservableUpDownCounter(d.Name, () => Doubles(d.Name), d.Unit, d.Description); break;
            case (HwInstrument.Counter, true): meter.CreateObservableCounter(d.Name, () => Longs(d.Name), d.Unit, d.Description); break;
            default: meter.CreateObservableCounter(d.Name, () => Doubles(d.Name), d.Unit, d.Description); break;
        }
    }

    private IEnumerable<Measurement<long>> Longs(string metric) =>
        Points(metric).Select(p => new Measurement<long>((long)Math.Round(p.Value), p.Tags));

    private IEnumerable<Measurement<double>> Doubles(string metric) =>
        Points(metric).Select(p => new Measurement<double>(p.Value, p.Tags));

    /// <summary>The points of one metric from the current state. Never throws: a callback exception would drop the whole metric.</summary>
    internal IReadOnlyList<(double Value, KeyValuePair<string, object?>[] Tags)> Points(string metric)
    {
        if (_state() is not { } state) return None;
        IReadOnlyList<ComponentStatus> components;
        try { components = state.Components; }
        catch (Exception) { return None; }
        lock (_lock)
        {
            if (!ReferenceEquals(components, _snapshot))
            {
                _points = Compute(components);
                _snapshot = components;
            }
            return _points.TryGetValue(metric, out var list) ? list : None;
        }
    }

    private Dictionary<string, List<(double, KeyValuePair<string, object?>[])>> Compute(IReadOnlyList<ComponentStatus> components)
    {
        var points = HwMetrics.All.ToDictionary(d => d.Name, _ => new List<(double, KeyValuePair<string, object?>[])>(), StringComparer.Ordinal);
        var seen = new HashSet<(string, string)>();
        foreach (var s in components)
        {
            var c = s.Component;
            foreach (var (v, tags) in HwMetrics.StatusOneHot(c, s.Evaluation.Verdict.State)) points[HwMetrics.Status].Add((v, tags));
            seen.Clear();
            foreach (var r in s.Evaluation.Readings)
            {
                if (HwMetrics.Classify(c, r) is not { } p) continue;
                // the first reading wins when two map to the same series (same metric, component and extra attributes)
                if (!seen.Add((p.Metric, string.Join("|", p.Extra.Select(e => e.Key + "=" + e.Value))))) continue;
                var tags = HwMetrics.Common(c, p.Extra.Length);
                tags.AddRange(p.Extra);
                points[p.Metric].Add((p.Value, tags.ToArray()));
            }
        }
        AddLeds(components, points[HwMetrics.LedState]);
        return points;
    }

    private void AddLeds(IReadOnlyList<ComponentStatus> components, List<(double, KeyValuePair<string, object?>[])> list)
    {
        var present = new HashSet<string>(StringComparer.Ordinal);
        foreach (var s in components)
        {
            if (s.Evaluation.Led is not { } indicator) continue;
            for (var i = 0; i < indicator.LedNames.Count; i++)
            {
                var name = indicator.LedNames[i];
                var key = s.Component.Id + "\n" + name;
                present.Add(key);
                if (!_ledHistory.TryGetValue(key, out var history)) _ledHistory[key] = history = [];
                var current = indicator.States[i]?.ToString();
                if (current is not null && !history.Exists(h => h.Text == current))
                {
                    history.Add((current, HwMetrics.LedTags(s.Component, name, indicator.States[i]!)));
                    if (history.Count > MaxPreviousLedStates) history.RemoveAt(0);
                }
                // an unknown LED state reports every known state as 0: the agent cannot say what it shows
                foreach (var (text, tags) in history) list.Add((text == current ? 1 : 0, tags));
            }
        }
        // components that left the state take their LED history with them
        foreach (var gone in _ledHistory.Keys.Where(k => !present.Contains(k)).ToList()) _ledHistory.Remove(gone);
    }
}
