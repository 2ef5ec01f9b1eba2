using HealthAgent.Model;
using Microsoft.Extensions.Logging;

namespace HealthAgent.Sources.Hwmon;

/// <summary>
/// Reads /sys/class/hwmon/hwmon*/: temperature, fan, voltage, power and current channels with their labels,
/// limits, alarms and fault flags. One component per channel; the sensor derivation tables turn the readings into
/// health. Chips, labels and limits are re-read every <see cref="HwmonOptions.RefreshPolls"/> polls; values,
/// alarms and faults every poll.
/// </summary>
public sealed partial class HwmonSource : ISource
{
    private readonly HwmonOptions _options;
    private readonly ILogger _log;
    private readonly KernelFiles _files;
    private List<Channel>? _channels;
    private string? _notPresent;
    private int _pollsSinceRefresh;
    private string? _lastErrors;

    public HwmonSource(HwmonOptions options, SourceContext ctx)
    {
        _options = options;
        _log = ctx.LoggerFactory.CreateLogger<HwmonSource>();
        _files = new KernelFiles(TimeSpan.FromMilliseconds(options.FileTimeoutMs));
    }

    public string Name => "hwmon";

    /// <summary>The file reader, exposed for tests (hung reads outstanding).</summary>
    internal KernelFiles Files => _files;

    public async Task<SourceResult> PollAsync(CancellationToken ct)
    {
        var result = await _files.RunAsync(Poll, ct).ConfigureAwait(false);
        var errors = result.Errors.Count == 0 ? null : string.Join("; ", result.Errors.Select(e => e.Device + ": " + e.Message));
        if (errors != _lastErrors)
        {
            if (errors is not null) LogReadErrors(_log, result.Errors.Count, errors);
            else if (_lastErrors is not null) LogRecovered(_log);
            _lastErrors = errors;
        }
        return result;
    }

    private SourceResult Poll(KernelFiles.Session s)
    {
        if (_channels is null || ++_pollsSinceRefresh >= _options.RefreshPolls)
        {
            (_channels, _notPresent) = Discover(s);
            _pollsSinceRefresh = 0;
        }
        if (_notPresent is not null) return SourceResult.Absent(Name, _notPresent);

        var observations = new List<Observation>(_channels.Count);
        var errors = new List<SourceError>();
        var rediscover = false;
        foreach (var ch in _channels)
        {
            var info = HwmonParser.Info(ch.Kind);
            var readings = new List<Reading>(ch.Static.Count + 4);
            var input = s.Read(ch.InputPath);
            if (input.Error is { } err)
            {
                readings.Add(Reading.Unknown("value", err, info.Unit));
                if (err == "missing") rediscover = true;
                else if (!IsQuietUnknown(err)) errors.Add(new SourceError(ch.Component.Id, $"{ch.InputPath}: {err}"));
            }
            else
            {
                var (v, why) = HwmonParser.ParseValue(ch.Kind, input.Text);
                readings.Add(v is { } d ? new Reading("value", d, info.Unit) : Reading.Unknown("value", why!, info.Unit));
                if (v is null) errors.Add(new SourceError(ch.Component.Id, $"{ch.InputPath}: {why}"));
            }
            readings.AddRange(ch.Static);
            AddFlags(s, ch.AlarmFiles, readings, errors, ch.Component.Id);
            AddFlags(s, ch.FaultFiles, readings, errors, ch.Component.Id);
            observations.Add(new Observation(ch.Component, readings));
        }
        if (rediscover) _channels = null; // a chip went away (module unloaded, hot-unplugged): rescan next poll
        return new SourceResult(Name, observations, errors);
    }

    // Disabled or sleeping channels answer ENODATA/EINVAL/EAGAIN: unknown with that reason, not a source error.
    private static bool IsQuietUnknown(string err) => err.StartsWith("ENODATA", StringComparison.Ordinal)
        || err.StartsWith("EINVAL", StringComparison.Ordinal) || err.StartsWith("EAGAIN", StringComparison.Ordinal);

    private static void AddFlags(KernelFiles.Session s, IReadOnlyList<(string Path, string Reading)> files, List<Reading> readings, List<SourceError> errors, string id)
    {
        if (files.Count == 0) return;
        // Several files fold into one reading (crit_alarm and lcrit_alarm → critAlarm): true wins, then false, else unknown.
        string? name = null;
        bool? value = null;
        string? reason = null;
        foreach (var (path, reading) in files)
        {
            if (name is not null && reading != name)
            {
                readings.Add(Flag(name, value, reason));
                value = null; reason = null;
            }
            name = reading;
            var r = s.Read(path);
            var (flag, why) = r.Error is null ? HwmonParser.ParseFlag(r.Text) : (null, r.Error);
            if (flag is null)
            {
                reason ??= $"{Path.GetFileName(path)}: {why}";
                if (r.Error is null || !IsQuietUnknown(r.Error)) errors.Add(new SourceError(id, $"{path}: {why}"));
            }
            value = HwmonParser.FoldAlarm(value, flag);
        }
        readings.Add(Flag(name!, value, reason));
    }

    private static Reading Flag(string name, bool? value, string? reason) =>
        value is { } b ? new Reading(name, b) : Reading.Unknown(name, reason ?? "not read");

    private (List<Channel>, string?) Discover(KernelFiles.Session s)
    {
        var root = _options.Under("sys/class/hwmon");
        var channels = new List<Channel>();
        if (!s.DirectoryExists(root)) return (channels, $"no {root} (the kernel has no hwmon class: a VM or container without sensor drivers)");
        var chips = new List<(string Dir, string Name, string Device)>();
        foreach (var entry in s.List(root, "hwmon*"))
        {
            var dir = Path.Combine(root, entry);
            var nameRead = s.Read(Path.Combine(dir, "name"));
            var name = nameRead.Ok && nameRead.Text!.Length > 0 ? nameRead.Text.Trim() : entry;
            if (NameGlob.Any(name, _options.ExcludeChips)) continue;
            // Old drivers keep their attributes in hwmonN/device/ (Documentation/hwmon/sysfs-interface.rst).
            var attrDir = s.List(dir).Any(f => HwmonParser.TryParseAttribute(f, out _, out _, out _)) ? dir : Path.Combine(dir, "device");
            chips.Add((attrDir, name, DeviceName(dir) ?? entry));
        }
        if (chips.Count == 0) return (channels, $"no hwmon chips under {root} (no sensor drivers loaded, or a VM)");
        foreach (var (dir, name, device) in chips)
        {
            // The chip name is not unique (two coretemp on a dual-socket board): add the device then.
            var chipId = chips.Count(c => c.Name == name) > 1 ? $"{name}.{device}" : name;
            channels.AddRange(ReadChip(s, dir, name, chipId));
        }
        return channels.Count == 0 ? (channels, $"hwmon chips under {root} have no temperature, fan, voltage, power or current channels") : (channels, null);
    }

    private static string? DeviceName(string hwmonDir)
    {
        try { return new DirectoryInfo(Path.Combine(hwmonDir, "device")).LinkTarget is { } t ? Path.GetFileName(t.TrimEnd('/')) : null; }
        catch (IOException) { return null; }
    }

    private static IEnumerable<Channel> ReadChip(KernelFiles.Session s, string dir, string chipName, string chipId)
    {
        var files = s.List(dir);
        var present = files.ToHashSet(StringComparer.Ordinal);
        var seen = new HashSet<(SensorKind, int)>();
        foreach (var f in files)
        {
            if (!HwmonParser.TryParseAttribute(f, out var kind, out var index, out var item) || !seen.Add((kind, index))) continue;
            var ch = HwmonParser.ChannelName(kind, index);
            // power meters often give only _average (Documentation/hwmon/sysfs-interface.rst: power[1-*]_average).
            var inputName = present.Contains(ch + "_input") ? ch + "_input" : kind == SensorKind.Power && present.Contains(ch + "_average") ? ch + "_average" : null;
            if (inputName is null) continue;
            if (present.Contains(ch + "_enable") && s.Read(Path.Combine(dir, ch + "_enable")) is { Ok: true, Text: "0" }) continue; // switched off
            var info = HwmonParser.Info(kind);
            var stat = new List<Reading>();
            var label = present.Contains(ch + "_label") ? s.Read(Path.Combine(dir, ch + "_label")) : default;
            if (label is { Ok: true, Text.Length: > 0 }) stat.Add(new Reading("label", label.Text.Trim()));
            foreach (var (limitItem, reading) in HwmonParser.Limits)
            {
                if (!present.Contains($"{ch}_{limitItem}")) continue;
                var r = s.Read(Path.Combine(dir, $"{ch}_{limitItem}"));
                stat.Add(HwmonParser.LimitReading(kind, reading, r.Text, r.Error));
            }
            var alarms = HwmonParser.Alarms.Where(a => present.Contains($"{ch}_{a.Item}"))
                .Select(a => (Path.Combine(dir, $"{ch}_{a.Item}"), a.Reading)).OrderBy(a => a.Reading, StringComparer.Ordinal).ToList();
            List<(string, string)> fault = present.Contains(ch + "_fault") ? [(Path.Combine(dir, ch + "_fault"), "fault")] : [];
            var display = label is { Ok: true, Text.Length: > 0 } ? $"{chipName} {label.Text.Trim()}" : $"{chipName} {ch}";
            var component = new ComponentRef(HwmonParser.ComponentId(chipId, kind, index), info.HwType, display, Derivation: info.Derivation);
            yield return new Channel(kind, component, Path.Combine(dir, inputName), stat, alarms, fault);
        }
    }

    private sealed record Channel(SensorKind Kind, ComponentRef Component, string InputPath, IReadOnlyList<Reading> Static,
        IReadOnlyList<(string Path, string Reading)> AlarmFiles, IReadOnlyList<(string Path, string Reading)> FaultFiles);

    [LoggerMessage(Level = LogLevel.Warning, Message = "hwmon: {Count} sensor file(s) could not be read: {Errors}")]
    private static partial void LogReadErrors(ILogger logger, int count, string errors);

    [LoggerMessage(Level = LogLevel.Information, Message = "hwmon: all sensor files read again")]
    private static partial void LogRecovered(ILogger logger);
}
