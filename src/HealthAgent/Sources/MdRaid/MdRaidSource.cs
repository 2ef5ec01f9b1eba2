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
    private string? _lastErrors;

    public MdRaidSource(MdRaidOptions options, SourceContext ctx)
    {
        _options = options;
        _log = ctx.LoggerFactory.CreateLogger<MdRaidSource>();
        _files = new KernelFiles(TimeSpan.FromMilliseconds(options.FileTimeoutMs));
    }

    public string Name => "mdraid";

    public async Task<SourceResult> PollAsync(CancellationToken ct)
    {
        var (result, recovering, stopped) = await _files.RunAsync(Poll, ct).ConfigureAwait(false);
        // Commit the memory only for a poll that completed (a restarted batch must not see half-updated state).
        _recovering.Clear();
        foreach (var (k, v) in recovering) _recovering[k] = v;
        _stopped.Clear();
        foreach (var (k, v) in stopped) _stopped[k] = v;
        var errors = result.Errors.Count == 0 ? null : string.Join("; ", result.Errors.Select(e => e.Device + ": " + e.Message));
        if (errors != _lastErrors)
        {
            if (errors is not null) LogReadErrors(_log, errors);
            _lastErrors = errors;
        }
        return result;
    }

    private (SourceResult, Dictionary<string, IReadOnlySet<string>>, Dictionary<string, HashSet<string>>) Poll(KernelFiles.Session s)
    {
        var recovering = new Dictionary<string, IReadOnlySet<string>>(StringComparer.Ordinal);
        var stopped = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        var mdstatPath = _options.Under("proc/mdstat");
        var mdstat = s.Read(mdstatPath);
        if (mdstat.Error == "missing") return (SourceResult.Absent(Name, $"no {mdstatPath} (the md driver is not loaded)"), recovering, stopped);
        var errors = new List<SourceError>();
        if (mdstat.Error is { } err) return (new SourceResult(Name, [], [new SourceError(mdstatPath, err)]), recovering, stopped);
        var problems = new List<string>();
        var arrays = MdRaidParser.ParseMdstat(mdstat.Text!, problems);
        errors.AddRange(problems.Select(p => new SourceError(mdstatPath, p)));
        arrays.RemoveAll(a => NameGlob.Any(a.Name, _options.ExcludeArrays));
        if (arrays.Count == 0) return (new SourceResult(Name, [], errors, "no md arrays in /proc/mdstat"), recovering, stopped);

        var observations = new List<Observation>();
        foreach (var a in arrays)
        {
            var sys = ReadSysfs(s, a.Name, errors);
            var stoppedSet = new HashSet<string>(_stopped.GetValueOrDefault(a.Name) ?? [], StringComparer.Ordinal);
            var view = MdRaidParser.Build(a, sys, a.Name, _recovering.GetValueOrDefault(a.Name) ?? new HashSet<string>(), stoppedSet);
            recovering[a.Name] = view.Recovering;
            stopped[a.Name] = stoppedSet;
            var arrayId = "mdraid:" + a.Name;
            observations.Add(new Observation(new ComponentRef(arrayId, "logical_disk", $"{a.Name} ({a.Level ?? "md"})", Derivation: "mdraid.array"), view.Readings));
            foreach (var m in view.Members)
                observations.Add(new Observation(new ComponentRef($"{arrayId}:{m.Key}", "physical_disk", m.Name, arrayId, "drive", "drive.md"), m.Readings));
        }
        return (new SourceResult(Name, observations, errors), recovering, stopped);
    }

    private MdSysfs? ReadSysfs(KernelFiles.Session s, string array, List<SourceError> errors)
    {
        var dir = _options.Under($"sys/block/{array}/md");
        if (!s.DirectoryExists(dir)) return null; // mdstat alone still gives the picture
        string? Attr(string name)
        {
            var r = s.Read(Path.Combine(dir, name));
            if (r.Error is { } e && e != "missing") errors.Add(new SourceError("mdraid:" + array, $"{Path.Combine(dir, name)}: {e}"));
            return r.Text;
        }
        var members = new Dictionary<string, MdSysfsMember>(StringComparer.Ordinal);
        foreach (var d in s.List(dir, "dev-*"))
        {
            var state = Attr(Path.Combine(d, "state"));
            var slot = Attr(Path.Combine(d, "slot"));
            members[d[4..]] = new MdSysfsMember(MdRaidParser.ParseDevState(state), MdRaidParser.ParseInt(slot), slot is not null && (slot == "none" || MdRaidParser.ParseInt(slot) is not null));
        }
        return new MdSysfs(Attr("sync_action"), MdRaidParser.ParseInt(Attr("degraded")), MdRaidParser.ParseSyncCompleted(Attr("sync_completed")),
            Attr("array_state"), MdRaidParser.ParseInt(Attr("raid_disks")), Attr("level"), members);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "mdraid: {Errors}")]
    private static partial void LogReadErrors(ILogger logger, string errors);
}
