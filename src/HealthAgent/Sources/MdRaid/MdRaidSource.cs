using System.Text;
using HealthAgent.Model;
using Microsoft.Extensions.Logging;

namespace HealthAgent.Sources.MdRaid;

/// <summary>
/// Reads /proc/mdstat and /sys/block/mdX/md/ (sync_action, degraded, sync_completed, array_state, raid_disks,
/// level, dev-*/state and slot). One component per array (logical_disk, health from mdraid.array) and one per
/// member disk or empty slot (drive family, LED from drive.md). Remembers which members were being recovered
/// onto, so a recovery that ends while the array is still degraded is reported as "rebuild stopped".
/// </summary>
public sealed partial class MdRaidSource : ISource
{
    private readonly MdRaidOptions _options;
    private readonly ILogger _log;
    private readonly KernelFiles _files;
    private readonly Dictionary<string, IReadOnlySet<string>> _recovering = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<string>> _stopped = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (byte[]? Bytes, string? Error)> _raw = new(StringComparer.Ordinal);
    private readonly string _mdstatPath;
    private List<ArrayFiles>? _arrays;
    private List<string> _mdstatProblems = [];
    private SourceResult? _lastResult;
    private bool _stable;
    private bool _inPoll;

    public MdRaidSource(MdRaidOptions options, SourceContext ctx)
    {
        _options = options;
        _log = ctx.LoggerFactory.CreateLogger<MdRaidSource>();
        _files = new KernelFiles(TimeSpan.FromMilliseconds(options.FileTimeoutMs));
        _mdstatPath = options.Under("proc/mdstat");
    }

    public string Name => "mdraid";
    public bool PollNeverBlocks => true; // reads run on KernelFiles workers

    public async Task<SourceResult> PollAsync(CancellationToken ct)
    {
        var (result, recovering, stopped) = await _files.RunAsync(Poll, ct).ConfigureAwait(false);
        // Commit the memory only for a poll that completed (a restarted batch must not see half-updated state).
        if (recovering is not null && stopped is not null)
        {
            _stable = SameMemory(_recovering, _stopped, recovering, stopped);
            _recovering.Clear();
            foreach (var (k, v) in recovering) _recovering[k] = v;
            _stopped.Clear();
            foreach (var (k, v) in stopped) _stopped[k] = v;
        }
        return result; // the runner logs per-device errors on change
    }

    private static bool SameMemory(Dictionary<string, IReadOnlySet<string>> r1, Dictionary<string, HashSet<string>> s1,
        Dictionary<string, IReadOnlySet<string>> r2, Dictionary<string, HashSet<string>> s2) =>
        r1.Count == r2.Count && s1.Count == s2.Count
        && r1.All(kv => r2.TryGetValue(kv.Key, out var o) && kv.Value.SetEquals(o))
        && s1.All(kv => s2.TryGetValue(kv.Key, out var o) && kv.Value.SetEquals(o));

    /// <summary>
    /// One poll. Every file's bytes are compared with the previous poll's; when nothing changed and the rebuild memory
    /// is settled, the previous result is returned as is (a steady array allocates almost nothing per poll).
    /// Returns null memories when they are unchanged.
    /// </summary>
    private (SourceResult, Dictionary<string, IReadOnlySet<string>>?, Dictionary<string, HashSet<string>>?) Poll(KernelFiles.Session s)
    {
        // A batch abandoned on a hung read may have updated some cached bytes: the next poll then recomputes everything.
        var changed = _inPoll;
        _inPoll = true;
        var mdstatPath = _mdstatPath;
        var mdstat = Gather(s, mdstatPath, ref changed);
        if (mdstat.Error == "missing")
        {
            _arrays = null; _lastResult = null;
            return (SourceResult.Absent(Name, $"no {mdstatPath} (the md driver is not loaded)"), new(), new());
        }
        if (mdstat.Error is { } err)
        {
            _arrays = null; _lastResult = null;
            return (new SourceResult(Name, [], [new SourceError(mdstatPath, err)]), null, null);
        }
        if (changed || _arrays is null)
        {
            var problems = new List<string>();
            var parsed = MdRaidParser.ParseMdstat(Encoding.UTF8.GetString(mdstat.Bytes!), problems);
            parsed.RemoveAll(a => NameGlob.Any(a.Name, _options.ExcludeArrays));
            _arrays = parsed.Select(a => new ArrayFiles(a, _options.Under($"sys/block/{a.Name}/md"))).ToList();
            _mdstatProblems = problems;
            var keep = _arrays.SelectMany(a => a.Paths).Append(mdstatPath).ToHashSet(StringComparer.Ordinal);
            foreach (var gone in _raw.Keys.Where(k => !keep.Contains(k)).ToList()) _raw.Remove(gone);
        }
        foreach (var a in _arrays)
            foreach (var path in a.Paths) Gather(s, path, ref changed);
        _inPoll = false;
        if (!changed && _stable && _lastResult is not null) return (_lastResult, null, null);

        var recovering = new Dictionary<string, IReadOnlySet<string>>(StringComparer.Ordinal);
        var stopped = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        var errors = _mdstatProblems.Select(p => new SourceError(mdstatPath, p)).ToList();
        if (_arrays.Count == 0) return (_lastResult = new SourceResult(Name, [], errors, "no md arrays in /proc/mdstat"), recovering, stopped);

        var observations = new List<Observation>();
        foreach (var a in _arrays)
        {
            var sys = Sysfs(a, errors);
            var stoppedSet = new HashSet<string>(_stopped.GetValueOrDefault(a.Stat.Name) ?? [], StringComparer.Ordinal);
            var view = MdRaidParser.Build(a.Stat, sys, a.Stat.Name, _recovering.GetValueOrDefault(a.Stat.Name) ?? new HashSet<string>(), stoppedSet);
            recovering[a.Stat.Name] = view.Recovering;
            stopped[a.Stat.Name] = stoppedSet;
            var arrayId = "mdraid:" + a.Stat.Name;
            observations.Add(new Observation(new ComponentRef(arrayId, "logical_disk", $"{a.Stat.Name} ({a.Stat.Level ?? "md"})", Derivation: "mdraid.array"), view.Readings));
            foreach (var m in view.Members)
                observations.Add(new Observation(new ComponentRef($"{arrayId}:{m.Key}", "physical_disk", m.Name, arrayId, "drive", "drive.md"), m.Readings));
        }
        return (_lastResult = new SourceResult(Name, observations, errors), recovering, stopped);
    }

    /// <summary>Reads a file and compares it with the previous poll's bytes; keeps a copy only when it changed.</summary>
    private (byte[]? Bytes, string? Error) Gather(KernelFiles.Session s, string path, ref bool changed)
    {
        var r = s.ReadRaw(path);
        if (_raw.TryGetValue(path, out var old)
            && (r.Error is null ? old.Bytes is not null && r.Data.SequenceEqual(old.Bytes) : old.Error == r.Error))
            return old;
        changed = true;
        var now = r.Error is null ? (r.Data.ToArray(), (string?)null) : ((byte[]?)null, r.Error);
        _raw[path] = now;
        return now;
    }

    private string? Text(string path, string device, List<SourceError> errors)
    {
        var (bytes, error) = _raw.GetValueOrDefault(path);
        if (error is { } e && e != "missing") errors.Add(new SourceError(device, $"{path}: {e}"));
        return bytes is null ? null : Encoding.UTF8.GetString(bytes);
    }

    private MdSysfs? Sysfs(ArrayFiles a, List<SourceError> errors)
    {
        // No sysfs (a container with /proc only): mdstat alone still gives the picture.
        if (a.Attr.Values.All(p => _raw.GetValueOrDefault(p).Error == "missing")) return null;
        var device = "mdraid:" + a.Stat.Name;
        var members = new Dictionary<string, MdSysfsMember>(StringComparer.Ordinal);
        foreach (var (name, (statePath, slotPath)) in a.Members)
        {
            var state = Text(statePath, device, errors);
            var slot = Text(slotPath, device, errors);
            if (state is null && slot is null) continue;
            members[name] = new MdSysfsMember(MdRaidParser.ParseDevState(state), MdRaidParser.ParseInt(slot), slot is not null && (slot == "none" || MdRaidParser.ParseInt(slot) is not null));
        }
        string? Attr(string name) => Text(a.Attr[name], device, errors);
        return new MdSysfs(Attr("sync_action"), MdRaidParser.ParseInt(Attr("degraded")), MdRaidParser.ParseSyncCompleted(Attr("sync_completed")),
            Attr("array_state"), MdRaidParser.ParseInt(Attr("raid_disks")), Attr("level"), members);
    }

    /// <summary>An array from mdstat and the sysfs files read for it (paths made once per mdstat change).</summary>
    private sealed class ArrayFiles
    {
        private static readonly string[] AttrNames = ["sync_action", "degraded", "sync_completed", "array_state", "raid_disks", "level"];

        public ArrayFiles(MdStatArray stat, string dir)
        {
            Stat = stat;
            Attr = AttrNames.ToDictionary(n => n, n => Path.Combine(dir, n), StringComparer.Ordinal);
            Members = stat.Members.ToDictionary(m => m.Name, m => (Path.Combine(dir, "dev-" + m.Name, "state"), Path.Combine(dir, "dev-" + m.Name, "slot")), StringComparer.Ordinal);
            Paths = [.. Attr.Values, .. Members.Values.SelectMany(m => new[] { m.Item1, m.Item2 })];
        }

        public MdStatArray Stat { get; }
        public Dictionary<string, string> Attr { get; }
        public Dictionary<string, (string State, string Slot)> Members { get; }
        public string[] Paths { get; }
    }

}
