using System.Collections.Concurrent;
using HealthAgent.Model;
using Microsoft.Extensions.Logging;

namespace HealthAgent.Sources.Smart;

/// <summary>
/// Drive health from smartctl: devices from <c>--scan-open</c> (rescanned every <see cref="SmartOptions.RescanPolls"/>
/// polls) plus configured ones, each read with <c>--json --nocheck=standby</c> so sleeping disks are not woken
/// (smartctl_exporter #61). At most <see cref="SmartOptions.MaxConcurrency"/> run at once, each with its own timeout,
/// so one slow disk does not stall the others (#197). A sleeping disk keeps its last known readings.
/// </summary>
public sealed partial class SmartSource : ISource
{
    private readonly SmartOptions _options;
    private readonly ISmartctlRunner _runner;
    private readonly ILogger _log;
    private readonly ConcurrentDictionary<string, IReadOnlyList<Reading>> _lastKnown = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _names = new(StringComparer.Ordinal);
    private List<SmartDevice>? _scanned;
    private string? _scanError;
    private int _pollsSinceScan;

    public SmartSource(SmartOptions options, SourceContext ctx, ISmartctlRunner? runner = null)
    {
        _options = options;
        _runner = runner ?? new SmartctlRunner(options.SmartctlPath);
        _log = ctx.LoggerFactory.CreateLogger<SmartSource>();
    }

    public string Name => "smart";
    public bool PollNeverBlocks => true; // smartctl runs as a child process, awaited

    /// <summary>"/dev/sda" or "/dev/bus/0 -d megaraid,4" → a device; null when malformed.</summary>
    public static SmartDevice? ParseDeviceOption(string s)
    {
        var parts = s.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return parts switch
        {
            [var name] when name.StartsWith('/') => new SmartDevice(name, null),
            [var name, "-d", var type] when name.StartsWith('/') => new SmartDevice(name, type),
            _ => null,
        };
    }

    public async Task<SourceResult> PollAsync(CancellationToken ct)
    {
        var errors = new List<SourceError>();
        if (_options.Scan && (_scanned is null || ++_pollsSinceScan >= _options.RescanPolls))
        {
            _pollsSinceScan = 0;
            (_scanned, _scanError) = await ScanAsync(ct).ConfigureAwait(false);
        }
        if (_scanError is not null) errors.Add(new SourceError("smartctl --scan-open", _scanError));
        var devices = new List<SmartDevice>();
        foreach (var d in (_scanned ?? []).Concat(_options.Devices.Select(ParseDeviceOption).OfType<SmartDevice>()))
        {
            if (NameGlob.Any(d.Name, _options.Exclude) || devices.Any(x => x.Id == d.Id)) continue;
            if (d.OpenError is { } oe) { errors.Add(new SourceError(d.Id, $"{d.Name}: {oe}")); continue; }
            devices.Add(d);
        }
        if (devices.Count == 0)
        {
            return errors.Count > 0 ? new SourceResult(Name, [], errors) : SourceResult.Absent(Name, "smartctl --scan-open found no drives (a VM with virtio disks has none)");
        }

        using var gate = new SemaphoreSlim(_options.MaxConcurrency);
        var results = await Task.WhenAll(devices.Select(async d =>
        {
            await gate.WaitAsync(ct).ConfigureAwait(false);
            try { return await ReadDeviceAsync(d, ct).ConfigureAwait(false); }
            finally { gate.Release(); }
        })).ConfigureAwait(false);
        errors.AddRange(results.Where(r => r.Error is not null).Select(r => r.Error!));
        return new SourceResult(Name, results.Select(r => r.Observation).ToList(), errors);
    }

    private async Task<(List<SmartDevice>?, string?)> ScanAsync(CancellationToken ct)
    {
        try
        {
            var (_, stdout) = await _runner.RunAsync(["--scan-open", "--json=c"], TimeSpan.FromSeconds(_options.DeviceTimeoutSeconds), ct).ConfigureAwait(false);
            var (devices, error) = SmartParser.ParseScan(stdout);
            return (devices, error);
        }
        catch (TimeoutException e) { return (null, e.Message); }
        catch (FileNotFoundException e) { return (null, e.Message); }
    }

    private async Task<(Observation Observation, SourceError? Error)> ReadDeviceAsync(SmartDevice d, CancellationToken ct)
    {
        var args = new List<string> { "--json=c" };
        if (_options.NoCheck != "never") args.Add("--nocheck=" + _options.NoCheck);
        args.AddRange(["--info", "--health", "--attributes", "--log=error", "--log=selftest"]);
        if (d.Type is { } t) args.AddRange(["-d", t]);
        args.Add(d.Name);

        SmartReport report;
        try
        {
            var (exit, stdout) = await _runner.RunAsync(args, TimeSpan.FromSeconds(_options.DeviceTimeoutSeconds), ct).ConfigureAwait(false);
            report = SmartParser.ParseDevice(stdout, exit);
        }
        catch (Exception e) when (e is TimeoutException or FileNotFoundException or IOException)
        {
            return Unknown(d, e.Message);
        }
        if (report.Fatal is { } fatal) return Unknown(d, fatal);
        if (report.Model is { } model) _names[d.Id] = $"{Short(d)} ({model}{(report.Serial is { } sn ? " " + sn : "")})";
        var component = Component(d);
        if (report.Standby)
        {
            // Asleep and not woken: keep the last known readings, marked as from before the disk went to sleep.
            if (_lastKnown.TryGetValue(d.Id, out var last))
                return (new Observation(component, [.. last.Where(r => r.Name != "standby"), new Reading("standby", true)]), null);
            return (new Observation(component, [new Reading("standby", true), Reading.Unknown("passed", "the disk is asleep (standby) and was not woken; no earlier reading")]), null);
        }
        _lastKnown[d.Id] = report.Readings;
        return (new Observation(component, report.Readings), null);
    }

    private (Observation, SourceError?) Unknown(SmartDevice d, string why) =>
        (new Observation(Component(d), [], UnknownReason: why), new SourceError(d.Id, $"{d.Name}{(d.Type is { } t ? " -d " + t : "")}: {why}"));

    private ComponentRef Component(SmartDevice d) =>
        new(d.Id, "physical_disk", _names.GetValueOrDefault(d.Id) ?? Short(d), Family: "drive", Derivation: "drive.smart");

    private static string Short(SmartDevice d) => (d.Name.StartsWith("/dev/", StringComparison.Ordinal) ? d.Name[5..] : d.Name) + (d.Type is { } t && t.Contains(',') ? $" [{t}]" : "");

}
