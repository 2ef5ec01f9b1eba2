using System.Runtime.InteropServices;
using System.Threading.Channels;
using HealthAgent.Config;
using HealthAgent.Pipeline;
using HealthAgent.Rules;
using Microsoft.Extensions.Logging;

namespace HealthAgent.Cli;

/// <summary>
/// SIGHUP (`systemctl reload healthagent`, the unit's ExecReload): agent.json and the rule tables are loaded again
/// through the same strict loader as at start. Applied at once: the rule tables (pipeline and web view) and logLevel
/// (unless --log-level pinned it). Every other changed part is named as "applied at the next restart". A file with
/// errors changes nothing: the errors are logged and the agent runs on with what it had.
/// </summary>
internal sealed partial class ConfigReload(string? configPath, AgentConfig initial, LogLevelSwitch levels)
{
    private AgentConfig _current = initial;

    /// <summary>Registers the SIGHUP handler and runs reloads one at a time until <paramref name="ct"/> ends; dispose to unregister.</summary>
    public IDisposable Listen(HealthPipeline pipeline, Action<RuleSet>? alsoUse, ILogger log, CancellationToken ct)
    {
        var signals = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
        // The handler runs on the runtime's signal thread: it only queues (several HUPs in a burst become one reload).
        var registration = PosixSignalRegistration.Create(PosixSignal.SIGHUP, c => { c.Cancel = true; signals.Writer.TryWrite(true); });
        _ = Task.Run(async () =>
        {
            try
            {
                await foreach (var _ in signals.Reader.ReadAllAsync(ct).ConfigureAwait(false)) Reload(pipeline, alsoUse, log);
            }
            catch (OperationCanceledException) { }
        }, CancellationToken.None);
        return registration;
    }

    /// <summary>One reload; returns what changed (for tests), or null when the new files were refused.</summary>
    public IReadOnlyList<string>? Reload(HealthPipeline pipeline, Action<RuleSet>? alsoUse, ILogger log)
    {
        AgentConfig fresh;
        try { fresh = AgentConfig.Load(configPath); }
        catch (ConfigException e)
        {
            LogRefused(log, _current.Source, e.Errors.Count, string.Join("; ", e.Errors));
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LogRefused(log, _current.Source, 1, e.Message);
            return null;
        }

        var applied = new List<string>();
        var old = pipeline.Rules;
        if (fresh.Rules.Version != old.Version)
        {
            pipeline.UseRules(fresh.Rules);
            alsoUse?.Invoke(fresh.Rules);
            applied.Add($"rules {fresh.RulesDirectory ?? "(built in)"} version {old.Version} → {fresh.Rules.Version} ({fresh.Rules.Families.Sum(f => f.Rules.Count)} rules)");
        }
        if (!levels.FixedByOption && LogLevels.TryParse(fresh.Agent.LogLevel, out var level) && level != levels.Level)
        {
            applied.Add($"logLevel {levels.Level} → {level}");
            levels.Level = level;
        }
        var later = RestartOnlyChanges(_current, fresh);
        _current = fresh;
        LogReloaded(log, fresh.Source,
            applied.Count > 0 ? string.Join("; ", applied) : $"nothing to apply (rules version {pipeline.Rules.Version} unchanged)",
            later.Count > 0 ? $"; changed, applied at the next restart: {string.Join(", ", later)}" : "");
        return [.. applied, .. later.Select(l => "restart: " + l)];
    }

    /// <summary>The sections (agentId, stateDirectory, each source and publisher, web) whose values differ.</summary>
    private static List<string> RestartOnlyChanges(AgentConfig before, AgentConfig after)
    {
        var keys = new List<string> { "agentId", "stateDirectory" };
        keys.AddRange(Children(before, after, "sources"));
        keys.AddRange(Children(before, after, "publishers"));
        keys.Add("web");
        return keys.Where(k => Flat(before, k) != Flat(after, k)).Select(k => k.Replace(':', '.')).ToList();
    }

    // the second level under a section: "sources:hwmon" from "sources:hwmon:intervalSeconds"
    private static IEnumerable<string> Children(AgentConfig a, AgentConfig b, string section) =>
        a.Values.Keys.Concat(b.Values.Keys)
            .Where(k => k.StartsWith(section + ":", StringComparison.OrdinalIgnoreCase))
            .Select(k => string.Join(':', k.Split(':').Take(2)).ToLowerInvariant()).Distinct(StringComparer.Ordinal);

    private static string Flat(AgentConfig c, string key) => string.Join("\n", c.Values
        .Where(kv => kv.Key.Equals(key, StringComparison.OrdinalIgnoreCase) || kv.Key.StartsWith(key + ":", StringComparison.OrdinalIgnoreCase))
        .OrderBy(kv => kv.Key, StringComparer.OrdinalIgnoreCase).Select(kv => kv.Key.ToLowerInvariant() + "=" + kv.Value));

    [LoggerMessage(Level = LogLevel.Information, Message = "reload (SIGHUP) of {Source}: {Applied}{Later}")]
    private static partial void LogReloaded(ILogger logger, string source, string applied, string later);

    [LoggerMessage(Level = LogLevel.Error, Message = "reload (SIGHUP) of {Source} refused, still running on the rules and settings loaded before; {Count} error(s): {Errors}")]
    private static partial void LogRefused(ILogger logger, string source, int count, string errors);
}
