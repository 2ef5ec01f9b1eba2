using HealthAgent.Model;
using Microsoft.Extensions.Logging;

namespace HealthAgent.Sources.PowerSupply;

/// <summary>
/// Reads /sys/class/power_supply/*: adapters (Mains, USB) become psu-family components whose LED derives from
/// psu.powersupply; batteries and UPS become LED-less battery components with health from powersupply.battery.
/// Peripheral batteries (scope "Device") are skipped.
/// </summary>
public sealed partial class PowerSupplySource : ISource
{
    private readonly PowerSupplyOptions _options;
    private readonly ILogger _log;
    private readonly KernelFiles _files;

    public PowerSupplySource(PowerSupplyOptions options, SourceContext ctx)
    {
        _options = options;
        _log = ctx.LoggerFactory.CreateLogger<PowerSupplySource>();
        _files = new KernelFiles(TimeSpan.FromMilliseconds(options.FileTimeoutMs));
    }

    public string Name => "powersupply";
    public bool PollNeverBlocks => true; // reads run on KernelFiles workers

    public async Task<SourceResult> PollAsync(CancellationToken ct)
    {
        return await _files.RunAsync(Poll, ct).ConfigureAwait(false); // the runner logs per-device errors on change
    }

    private SourceResult Poll(KernelFiles.Session s)
    {
        var root = _options.Under("sys/class/power_supply");
        var names = s.List(root).Where(n => !NameGlob.Any(n, _options.Exclude)).ToList();
        if (names.Count == 0) return SourceResult.Absent(Name, $"no power supplies under {root} (servers usually report their PSUs through the BMC)");
        var observations = new List<Observation>();
        var errors = new List<SourceError>();
        foreach (var name in names)
        {
            var dir = Path.Combine(root, name);
            var attrs = new Dictionary<string, FileRead>(StringComparer.Ordinal);
            foreach (var a in PowerSupplyParser.Attributes)
            {
                var r = s.Read(Path.Combine(dir, a));
                if (r.Error == "missing") continue;
                if (r.Error is { } e) errors.Add(new SourceError("powersupply:" + name, $"{Path.Combine(dir, a)}: {e}"));
                attrs[a] = r;
            }
            var type = attrs.GetValueOrDefault("type").Text;
            var kind = PowerSupplyParser.KindOf(type, attrs.GetValueOrDefault("scope").Text);
            if (kind == SupplyKind.Skip) continue;
            var display = attrs.GetValueOrDefault("model_name") is { Ok: true, Text.Length: > 0 } m ? $"{name} ({m.Text.Trim()})" : name;
            var id = "powersupply:" + Hwmon.HwmonParser.Safe(name);
            var component = kind == SupplyKind.Adapter
                ? new ComponentRef(id, "power_supply", display, Family: "psu", Derivation: "psu.powersupply")
                : new ComponentRef(id, "battery", display, Derivation: "powersupply.battery");
            observations.Add(new Observation(component, PowerSupplyParser.Readings(attrs)));
        }
        if (observations.Count == 0 && errors.Count == 0)
            return SourceResult.Absent(Name, $"no system power supplies under {root} (only peripheral or unknown types)");
        return new SourceResult(Name, observations, errors);
    }

}
