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

    public HwmonSource(HwmonOptions options, SourceContext ctx)
    {
        _options = options;
        _log = ctx.LoggerFactory.CreateLogger<HwmonSource>();
        _files = new KernelFiles(TimeSpan.FromMilliseconds(options.FileTimeoutMs));
    }

    public string Name => "hwmon";
    public bool PollNeverBlocks => true; // reads run on KernelFiles workers

    /// <summary>The file reader, exposed for tests (hung reads outstanding).</summary>
    internal KernelFiles Files => _files;

    public async Task<SourceResult> PollAsync(CancellationToken ct)
    {
        return await _files.RunAsync(Poll, ct).ConfigureAwait(false); // the runner logs per-device errors on change
    }

    private SourceResult Poll(KernelFiles.Session s)
    {
        if (_channels is null || ++_pollsSinceRefresh >= _options.RefreshPolls)
        {
            (_channels, _notPresent) = Discover(s);
            _pollsSinceRefresh = 0;
        }
        if (_notPresent is not null) return SourceResult.Absent(Name, _notPresent);

        var observations = new Observation[_channels.Count];
        List<SourceError>? errors = null;
        var rediscover = false;
        for (var c = 0; c < _channels.Count; c++)
        {
            var ch = _channels[c];
            var changed = false;
            var value = ReadValue(s, ch, ref errors, ref rediscover);
            changed |= !ReferenceEquals(value, ch.Value);
            ch.Value = value;
            for (var g = 0; g < ch.Flags.Count; g++)
            {
                var flag = ReadFlag(s, ch.Flags[g], ch.Component.Id, ref errors);
                changed |= !ReferenceEquals(flag, ch.FlagValues[g]);
                ch.FlagValues[g] = flag;
            }
            // Unchanged readings reuse the previous observation: a steady machine allocates almost nothing per poll.
            if (changed || ch.Last is null)
            {
                var readings = new Reading[1 + ch.Static.Count + ch.Flags.Count];
                readings[0] = value;
                for (var i = 0; i < ch.Static.Count; i++) readings[1 + i] = ch.Static[i];
                for (var i = 0; i < ch.Flags.Count; i++) readings[1 + ch.Static.Count + i] = ch.FlagValues[i]!;
                ch.Last = new Observation(ch.Component, readings);
            }
            observations[c] = ch.Last;
        }
        if (rediscover) _channels = null; // a chip went away (module unloaded, hot-unplugged): rescan next poll
        return new SourceResult(Name, observations, (IReadOnlyList<SourceError>?)errors ?? []);
    }

    private static Reading ReadValue(KernelFiles.Session s, Channel ch, ref List<SourceError>? errors, ref bool rediscover)
    {
        var unit = HwmonParser.Info(ch.Kind).Unit;
        var raw = s.ReadRaw(ch.InputPath);
        if (raw.Error is { } err)
        {
            if (err == "missing") rediscover = true;
            else if (!IsQuietUnknown(err)) (errors ??= []).Add(new SourceError(ch.Component.Id, $"{ch.InputPath}: {err}"));
            return ch.Value is { Value: null } same && same.Reason == err ? same : Reading.Unknown("value", err, unit);
        }
        var (v, why) = HwmonParser.ParseValue(ch.Kind, raw.Data);
        if (v is { } d) return ch.Value is { Value: double old } prev && old == d ? prev : new Reading("value", d, unit);
        (errors ??= []).Add(new SourceError(ch.Component.Id, $"{ch.InputPath}: {why}"));
        return Reading.Unknown("value", why!, unit);
    }

    // Several files fold into one reading (crit_alarm and lcrit_alarm → critAlarm): true wins, then false, else unknown.
    private static Reading ReadFlag(KernelFiles.Session s, FlagGroup g, string id, ref List<SourceError>? errors)
    {
        bool? value = null;
        string? reason = null;
        foreach (var path in g.Paths)
        {
            var r = s.ReadRaw(path);
            var (flag, why) = r.Error is null ? HwmonParser.ParseFlag(r.Data) : (null, r.Error);
            if (flag is null)
            {
                reason ??= $"{Path.GetFileName(path)}: {why}";
                if (r.Error is null || !IsQuietUnknown(r.Error)) (errors ??= []).Add(new SourceError(id, $"{path}: {why}"));
            }
            value = HwmonParser.FoldAlarm(value, flag);
        }
        return value switch { true => g.True, false => g.False, _ => Reading.Unknown(g.Name, reason ?? "not read") };
    }

    // Disabled or sleeping channels answer ENODATA/EINVAL/EAGAIN: unknown with that reason, not a source error.
    private static bool IsQuietUnknown(string err) => err.StartsWith("ENODATA", StringComparison.Ordinal)
        || err.StartsWith("EINVAL", StringComparison.Ordinal) || err.StartsWith("EAGAIN", StringComparison.Ordinal);

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
            var flags = HwmonParser.Alarms.Append((Item: "fault", Reading: "fault")).Where(a => present.Contains($"{ch}_{a.Item}"))
                .GroupBy(a => a.Reading).Select(g => new FlagGroup(g.Key, g.Select(a => Path.Combine(dir, $"{ch}_{a.Item}")).ToArray())).ToList();
            var display = label is { Ok: true, Text.Length: > 0 } ? $"{chipName} {label.Text.Trim()}" : $"{chipName} {ch}";
            var component = new ComponentRef(HwmonParser.ComponentId(chipId, kind, index), info.HwType, display, Derivation: info.Derivation);
            yield return new Channel(kind, component, Path.Combine(dir, inputName), stat, flags);
        }
    }

    /// <summary>One channel, with the readings of the last poll so unchanged ones are reused (used from the poll worker only).</summary>
    private sealed class Channel(SensorKind kind, ComponentRef component, string inputPath, IReadOnlyList<Reading> @static, IReadOnlyList<FlagGroup> flags)
    {
        public SensorKind Kind => kind;
        public ComponentRef Component => component;
        public string InputPath => inputPath;
        public IReadOnlyList<Reading> Static => @static;
        public IReadOnlyList<FlagGroup> Flags => flags;
        public Reading? Value;
        public readonly Reading?[] FlagValues = new Reading?[flags.Count];
        public Observation? Last;
    }

    /// <summary>Files folded into one boolean reading, with its two possible readings made once.</summary>
    private sealed class FlagGroup(string name, string[] paths)
    {
        public string Name => name;
        public string[] Paths => paths;
        public readonly Reading True = new(name, true), False = new(name, false);
    }

}
