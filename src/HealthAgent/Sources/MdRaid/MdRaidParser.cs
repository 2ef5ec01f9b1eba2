using System.Globalization;
using System.Text.RegularExpressions;
using HealthAgent.Model;

namespace HealthAgent.Sources.MdRaid;

/// <summary>One member as /proc/mdstat lists it: <c>sdb1[2](F)</c> (F faulty, S spare, W write-mostly, R replacement, J journal).</summary>
public sealed record MdStatMember(string Name, int Role, bool Faulty, bool Spare);

/// <summary>A resync/recovery/check/reshape/repair line: <c>recovery = 37.2% (363363456/976630464) finish=54.3min speed=188123K/sec</c>.</summary>
public sealed record MdProgress(string Action, double? Percent, double? FinishMinutes, double? SpeedKBps);

/// <summary>One array block of /proc/mdstat.</summary>
/// <param name="RaidDisks">n of <c>[n/m]</c>.</param>
/// <param name="InSyncDisks">m of <c>[n/m]</c>.</param>
/// <param name="SlotMap">"U_" of <c>[U_]</c>: one character per slot, '_' is a slot without a working member.</param>
/// <param name="Deferred">"DELAYED" or "PENDING" from <c>resync=DELAYED</c>.</param>
public sealed record MdStatArray(string Name, string State, string? Level, IReadOnlyList<MdStatMember> Members,
    int? RaidDisks, int? InSyncDisks, string? SlotMap, MdProgress? Progress, string? Deferred);

/// <summary>What /sys/block/mdX/md/ says (any value may be missing).</summary>
public sealed record MdSysfs(string? SyncAction, int? Degraded, double? SyncCompletedFraction, string? ArrayState, int? RaidDisks, string? Level,
    IReadOnlyDictionary<string, MdSysfsMember> Members);

/// <summary>/sys/block/mdX/md/dev-NAME/{state,slot}: state is a comma list (in_sync, faulty, spare, write_mostly, blocked, …); slot a number or "none".</summary>
public sealed record MdSysfsMember(IReadOnlySet<string> State, int? Slot, bool SlotKnown);

/// <summary>One array as the agent understands it after combining mdstat, sysfs and the previous poll.</summary>
public sealed record MdArrayView(string Name, IReadOnlyList<Reading> Readings, IReadOnlyList<MdMemberView> Members, IReadOnlySet<string> Recovering);

/// <summary>One member (or an empty slot) of an array, with its readings for the drive.md derivation.</summary>
public sealed record MdMemberView(string Key, string Name, IReadOnlyList<Reading> Readings);

/// <summary>Pure parsing of /proc/mdstat and md sysfs values (Documentation/admin-guide/md.rst); no I/O.</summary>
public static partial class MdRaidParser
{
    [GeneratedRegex(@"^(md[\w/-]*)\s*:\s*(.*)$")]
    private static partial Regex ArrayLine();

    [GeneratedRegex(@"^([^\s\[]+)\[(\d+)\]((?:\([A-Z]\))*)$")]
    private static partial Regex MemberToken();

    [GeneratedRegex(@"\[(\d+)/(\d+)\]\s*\[([U_]+)\]")]
    private static partial Regex StatusPart();

    [GeneratedRegex(@"\b(recovery|resync|check|reshape|repair)\s*=\s*([\d.]+)%")]
    private static partial Regex ProgressPart();

    [GeneratedRegex(@"finish\s*=\s*([\d.]+)\s*min")]
    private static partial Regex FinishPart();

    [GeneratedRegex(@"speed\s*=\s*(\d+)\s*K/sec")]
    private static partial Regex SpeedPart();

    [GeneratedRegex(@"\b(resync|recovery|reshape|check)\s*=\s*(DELAYED|PENDING)\b")]
    private static partial Regex DeferredPart();

    /// <summary>Parses /proc/mdstat. Lines it does not understand are added to <paramref name="problems"/>, never thrown.</summary>
    public static List<MdStatArray> ParseMdstat(string text, ICollection<string>? problems = null)
    {
        var arrays = new List<MdStatArray>();
        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var m = ArrayLine().Match(lines[i].TrimEnd());
            if (!m.Success) continue;
            var name = m.Groups[1].Value;
            var tokens = m.Groups[2].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (tokens.Length == 0) { problems?.Add($"{name}: no state on its line"); continue; }
            var state = tokens[0];
            string? level = null;
            var members = new List<MdStatMember>();
            foreach (var tok in tokens.Skip(1))
            {
                if (tok.StartsWith('(')) continue; // (read-only), (auto-read-only)
                var mm = MemberToken().Match(tok);
                if (mm.Success)
                {
                    var flags = mm.Groups[3].Value;
                    members.Add(new MdStatMember(mm.Groups[1].Value, int.Parse(mm.Groups[2].Value, CultureInfo.InvariantCulture), flags.Contains("(F)"), flags.Contains("(S)")));
                }
                else if (level is null && members.Count == 0) level = tok;
                else problems?.Add($"{name}: unexpected member '{MdShort(tok)}'");
            }
            int? n = null, inSync = null;
            string? map = null, deferred = null;
            MdProgress? progress = null;
            // The array's block: indented lines until a blank line or the next array.
            for (i++; i < lines.Length && lines[i].Length > 0 && char.IsWhiteSpace(lines[i][0]); i++)
            {
                var l = lines[i];
                if (StatusPart().Match(l) is { Success: true } s)
                {
                    n = int.Parse(s.Groups[1].Value, CultureInfo.InvariantCulture);
                    inSync = int.Parse(s.Groups[2].Value, CultureInfo.InvariantCulture);
                    map = s.Groups[3].Value;
                }
                if (DeferredPart().Match(l) is { Success: true } d) deferred = d.Groups[2].Value;
                else if (ProgressPart().Match(l) is { Success: true } p)
                {
                    progress = new MdProgress(p.Groups[1].Value, Num(p.Groups[2].Value),
                        FinishPart().Match(l) is { Success: true } f ? Num(f.Groups[1].Value) : null,
                        SpeedPart().Match(l) is { Success: true } sp ? Num(sp.Groups[1].Value) : null);
                }
            }
            i--;
            arrays.Add(new MdStatArray(name, state, level, members, n, inSync, map, progress, deferred));
        }
        return arrays;
    }

    /// <summary>dev-*/state: "in_sync", "faulty", "spare", "in_sync,write_mostly", …</summary>
    public static IReadOnlySet<string> ParseDevState(string? text) =>
        (text ?? "").Split([',', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal);

    /// <summary>sync_completed: "none", or "done / total" in sectors.</summary>
    public static double? ParseSyncCompleted(string? text)
    {
        var parts = (text ?? "").Split('/', StringSplitOptions.TrimEntries);
        return parts.Length == 2 && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var done)
            && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var total) && total > 0
            ? (double)done / total : null;
    }

    public static int? ParseInt(string? text) =>
        int.TryParse(text?.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v) ? v : null;

    /// <summary>Missing members the level survives: raid1 n−1, raid4/5 1, raid6 2, raid10 1 (at least), raid0/linear 0.</summary>
    public static int? Redundancy(string? level, int? raidDisks) => level switch
    {
        "raid1" => raidDisks is { } n ? Math.Max(0, n - 1) : null,
        "raid4" or "raid5" => 1,
        "raid6" => 2,
        "raid10" => 1,
        "raid0" or "linear" => 0,
        _ => null,
    };

    /// <summary>mdstat's progress word → sysfs sync_action's word ("recovery" → "recover").</summary>
    public static string SyncActionOf(string mdstatAction) => mdstatAction == "recovery" ? "recover" : mdstatAction;

    /// <summary>
    /// Combines mdstat and sysfs into readings for the array and each member (plus empty slots), using the
    /// previous poll: a member that was being recovered onto and no longer is, while the array is still degraded,
    /// is "rebuild stopped" (<paramref name="stoppedBefore"/> keeps that latched until it recovers or syncs).
    /// </summary>
    public static MdArrayView Build(MdStatArray? stat, MdSysfs? sys, string name, IReadOnlySet<string> recoveringBefore, ISet<string> stoppedBefore)
    {
        var level = sys?.Level ?? stat?.Level;
        var arrayState = sys?.ArrayState ?? stat?.State;
        var n = sys?.RaidDisks ?? stat?.RaidDisks;
        var missing = sys?.Degraded ?? (stat?.RaidDisks is { } rn && stat.InSyncDisks is { } rm ? rn - rm : null);
        var action = sys?.SyncAction ?? (stat?.Progress is { } pr ? SyncActionOf(pr.Action) : stat is not null && stat.State == "active" ? "idle" : null);
        var percent = stat?.Progress?.Percent ?? (sys?.SyncCompletedFraction is { } f && action is not (null or "idle" or "frozen") ? Math.Round(f * 100, 1) : null);
        var recoveringArray = action == "recover";

        // Members: mdstat order, sysfs state and slot when present.
        var members = new List<(string Name, int? Slot, bool Faulty, bool Spare, bool? InSync, string? RawState)>();
        var names = stat?.Members.Select(x => x.Name).ToList() ?? [];
        foreach (var extra in sys?.Members.Keys.Where(k => !names.Contains(k)).Order(StringComparer.Ordinal) ?? Enumerable.Empty<string>()) names.Add(extra);
        foreach (var mName in names)
        {
            var sm = stat?.Members.FirstOrDefault(x => x.Name == mName);
            var dm = sys?.Members.GetValueOrDefault(mName);
            var faulty = (sm?.Faulty ?? false) || (dm?.State.Contains("faulty") ?? false);
            int? slot = dm is { SlotKnown: true } ? dm.Slot : sm is not null && n is { } nn && sm.Role < nn && !sm.Spare ? sm.Role : null;
            var spare = (sm?.Spare ?? false) || (dm is not null && dm.State.Contains("spare") && dm.SlotKnown && dm.Slot is null);
            bool? inSync = dm is not null ? dm.State.Contains("in_sync") : null;
            members.Add((mName, slot, faulty, spare, inSync, dm is null ? null : string.Join(",", dm.State)));
        }
        // mdstat only: during recovery the target is the working non-spare member without a slot of its own (role ≥ n).
        if (sys is null && stat?.SlotMap is { } smap)
        {
            for (var k = 0; k < members.Count; k++)
            {
                var m = members[k];
                if (m.Slot is not null || m.Faulty || m.Spare) continue;
                var free = Enumerable.Range(0, smap.Length).Where(p => smap[p] == '_' && members.All(o => o.Slot != p)).Cast<int?>().FirstOrDefault();
                members[k] = m with { Slot = free };
            }
        }

        var memberViews = new List<MdMemberView>();
        var recoveringNow = new HashSet<string>(StringComparer.Ordinal);
        var degraded = missing is > 0;
        foreach (var m in members)
        {
            // Target of a recovery: in a slot, not faulty, not in sync (sysfs); mdstat only: in a slot marked '_'.
            var outOfSync = m.InSync is { } s ? !s : m.Slot is { } sl && stat?.SlotMap is { } map && sl < map.Length && map[sl] == '_';
            var target = !m.Faulty && !m.Spare && m.Slot is not null && outOfSync;
            var recovering = target && recoveringArray;
            if (recovering) recoveringNow.Add(m.Name);
            // Rebuild stopped: it was being recovered onto, recovery is over, the array is still degraded and the member still out of sync.
            var stopped = !recovering && !m.Faulty && degraded && (target || m.InSync is null)
                && (recoveringBefore.Contains(m.Name) || stoppedBefore.Contains(m.Name) || (target && m.InSync is false && action is "idle" or "frozen" && stat?.Deferred is null));
            if (stopped) stoppedBefore.Add(m.Name); else stoppedBefore.Remove(m.Name);
            var r = new List<Reading>
            {
                new("array", name),
                m.Slot is { } slotNo ? new Reading("slot", (double)slotNo) : Reading.Unknown("slot", m.Spare ? "hot spare: no slot" : "slot not known"),
                new("faulty", m.Faulty),
                new("spare", m.Spare),
                m.InSync is { } iss ? new Reading("inSync", iss) : new Reading("inSync", !m.Faulty && !m.Spare && !target),
                new("recovering", recovering),
                new("rebuildStopped", stopped),
                new("missing", false),
                new("arrayDegraded", degraded),
            };
            if (recovering && percent is { } pc) r.Add(new Reading("syncPercent", pc, "%"));
            if (m.RawState is { } raw) r.Add(new Reading("state", raw));
            memberViews.Add(new MdMemberView(m.Name, m.Name, r));
        }
        // Slots nobody occupies while the array is short of members: the disk is missing (failed and removed, or never added).
        if (n is { } total && degraded)
        {
            for (var slot = 0; slot < total; slot++)
            {
                if (members.Any(m => m.Slot == slot)) continue;
                if (stat?.SlotMap is { } map2 && slot < map2.Length && map2[slot] == 'U') continue;
                memberViews.Add(new MdMemberView($"slot{slot}", $"{name} slot {slot} (empty)",
                [
                    new("array", name), new("slot", (double)slot), new("faulty", false), new("spare", false), new("inSync", false),
                    new("recovering", false), new("rebuildStopped", false), new("missing", true), new("arrayDegraded", true),
                ]));
            }
        }

        var arrayStopped = degraded && !recoveringArray && (stoppedBefore.Count > 0 || (recoveringBefore.Count > 0 && recoveringNow.Count == 0));
        var a = new List<Reading>
        {
            Str("level", level), Str("arrayState", arrayState), Str("syncAction", action),
            Num("raidDisks", n), Num("activeDisks", n is { } t2 && missing is { } mi ? t2 - mi : null),
            Num("missingDevices", missing), Num("failedDevices", members.Count(m => m.Faulty)), Num("spareDevices", members.Count(m => m.Spare)),
            Num("redundancy", Redundancy(level, n)),
            missing is null ? Reading.Unknown("degraded", "missing members unknown") : new Reading("degraded", degraded),
            new("rebuildStopped", arrayStopped),
        };
        if (percent is { } p2) a.Add(new Reading("syncPercent", p2, "%"));
        if (stat?.Progress?.SpeedKBps is { } speed) a.Add(new Reading("syncSpeedKBps", speed, "KiB/s"));
        if (stat?.Progress?.FinishMinutes is { } fin) a.Add(new Reading("finishMinutes", fin, "min"));
        if (stat?.Deferred is { } def) a.Add(new Reading("syncDeferred", def));
        return new MdArrayView(name, a, memberViews, recoveringNow);
    }

    private static Reading Str(string name, string? v) => v is null ? Reading.Unknown(name, "not reported") : new Reading(name, v);
    private static Reading Num(string name, int? v) => v is null ? Reading.Unknown(name, "not reported") : new Reading(name, (double)v.Value);
    private static double? Num(string s) => double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : null;
    private static string MdShort(string s) => s.Length <= 40 ? s : s[..40] + "…";
}
