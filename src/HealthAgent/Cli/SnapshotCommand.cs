using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using HealthAgent.Config;
using HealthAgent.Model;
using HealthAgent.Rules;
using HealthAgent.Sources;
using Microsoft.Extensions.Logging.Abstractions;
using Spectre.Console;

namespace HealthAgent.Cli;

/// <summary>
/// `healthagent snapshot [--json] [--host-root DIR] [--why]`: one poll of every enabled source, each component with
/// its readings, derived LED, rule, severity, meaning and action. Exit 0 when it ran (whatever it found), 1 when the
/// configuration is invalid. A source with nothing to read (no hwmon on a VM) is listed as not present, not an error.
/// </summary>
public static class SnapshotCommand
{
    /// <summary>The outcome of one snapshot, for the printers and tests.</summary>
    public sealed record Snapshot(IReadOnlyList<Evaluation> Components, IReadOnlyList<(string Source, SourceError Error)> Errors, IReadOnlyList<(string Source, string Reason)> NotPresent);

    public static Command Build()
    {
        var json = new Option<bool>("--json") { Description = "print one JSON object: {components, errors, notPresent}" };
        var hostRoot = new Option<string?>("--host-root") { Description = "read /sys and /proc under this directory (a fixture tree) instead of /" };
        var why = new Option<bool>("--why") { Description = "show which derivation row chose each state, from which readings" };
        var cmd = new Command("snapshot", "Poll every enabled source once and explain what each component's LED shows") { json, hostRoot, why };
        cmd.SetAction((p, ct) => RunAsync(p.GetValue(CommandCatalog.ConfigOption), p.GetValue(hostRoot), p.GetValue(json), p.GetValue(why), Console.Out, Console.Error, ct));
        return cmd;
    }

    public static async Task<int> RunAsync(string? configPath, string? hostRoot, bool json, bool why, TextWriter output, TextWriter error, CancellationToken ct = default)
    {
        AgentConfig config;
        try { config = AgentConfig.Load(configPath); }
        catch (ConfigException e) { await error.WriteLineAsync(e.Message); return 1; }
        if (hostRoot is not null && !Directory.Exists(hostRoot)) { await error.WriteLineAsync($"--host-root {hostRoot}: no such directory"); return 1; }
        var snapshot = await TakeAsync(config, hostRoot, ct);
        if (json) await output.WriteLineAsync(ToJson(snapshot).ToJsonString(Json.Options));
        else Print(snapshot, why, output);
        return 0;
    }

    /// <summary>Polls each enabled source once (concurrently, each within its timeout) and evaluates every observation.</summary>
    public static async Task<Snapshot> TakeAsync(AgentConfig config, string? hostRoot, CancellationToken ct)
    {
        var ctx = new SourceContext(NullLoggerFactory.Instance, config.Rules, TimeProvider.System);
        var sources = SourceCatalog.CreateEnabled(config, ctx, hostRoot);
        var evaluator = new Evaluator(config.Rules);
        var polls = sources.Select(async s =>
        {
            var timeout = config.Sources[s.Name].Timeout;
            try { return await s.PollAsync(ct).WaitAsync(timeout, ct); }
            catch (TimeoutException) { return new SourceResult(s.Name, [], [new SourceError(s.Name, $"the poll did not finish within {timeout.TotalSeconds:0.#} s")]); }
            catch (Exception e) when (e is not OperationCanceledException) { return new SourceResult(s.Name, [], [new SourceError(s.Name, "the poll failed: " + e.Message)]); }
        }).ToList();
        var results = await Task.WhenAll(polls);
        return new Snapshot(
            results.SelectMany(r => r.Observations).Select(o => evaluator.Evaluate(o)).ToList(),
            results.SelectMany(r => r.Errors.Select(e => (r.Source, e))).ToList(),
            results.Where(r => r.NotPresent is not null).Select(r => (r.Source, r.NotPresent!)).ToList());
    }

    public static JsonObject ToJson(Snapshot s) => new()
    {
        ["components"] = new JsonArray(s.Components.Select(e => (JsonNode)ComponentJson(e)).ToArray()),
        ["errors"] = new JsonArray(s.Errors.Select(e => (JsonNode)new JsonObject { ["source"] = e.Source, ["device"] = e.Error.Device, ["message"] = e.Error.Message }).ToArray()),
        ["notPresent"] = new JsonArray(s.NotPresent.Select(n => (JsonNode)new JsonObject { ["source"] = n.Source, ["reason"] = n.Reason }).ToArray()),
    };

    public static JsonObject ComponentJson(Evaluation e) => new()
    {
        ["id"] = e.Component.Id,
        ["type"] = e.Component.HwType,
        ["name"] = e.Component.Name,
        ["parent"] = e.Component.Parent,
        ["family"] = e.Component.Family,
        ["led"] = e.Led?.ToString(),
        ["ledJson"] = e.Led is null ? null : LedJson.Indicator(e.Led),
        ["ruleId"] = e.Rule?.Id,
        ["severity"] = HealthWords.Name(e.Verdict.Severity),
        ["state"] = HealthWords.Name(e.Verdict.State),
        ["code"] = e.Verdict.Code,
        ["meaning"] = e.Verdict.Meaning,
        ["action"] = e.Verdict.Action,
        ["unknownReason"] = e.UnknownReason,
        ["readings"] = new JsonArray(e.Readings.Select(r => (JsonNode)new JsonObject
        {
            ["name"] = r.Name, ["value"] = Value(r.Value), ["unit"] = r.Unit, ["reason"] = r.Reason,
        }).ToArray()),
        ["why"] = new JsonArray(e.Trace.Select(t => (JsonNode)new JsonObject
        {
            ["table"] = t.Table, ["led"] = t.Led, ["row"] = t.RowId, ["note"] = t.Note,
            ["inputs"] = new JsonObject(t.Inputs.Select(kv => KeyValuePair.Create(kv.Key, Value(kv.Value)))),
        }).ToArray()),
    };

    private static JsonNode? Value(object? v) => v switch
    {
        null => null,
        bool b => JsonValue.Create(b),
        double d => JsonValue.Create(d),
        int i => JsonValue.Create(i),
        long l => JsonValue.Create(l),
        _ => JsonValue.Create(v.ToString()),
    };

    private static void Print(Snapshot s, bool why, TextWriter output)
    {
        var console = ExplainCommand.ConsoleFor(output);
        if (output != Console.Out || Console.IsOutputRedirected) console.Profile.Width = 160; // files and pipes: no terminal width to fit
        // Indicator families first (drive, psu, …), then LED-less components by type (temperature, fan, logical_disk, …).
        foreach (var group in s.Components.GroupBy(e => e.Component.Family ?? e.Component.HwType).OrderBy(g => g.First().Component.Family is null).ThenBy(g => g.Key, StringComparer.Ordinal))
        {
            console.Write(new Spectre.Console.Rule($"[bold]{Markup.Escape(group.Key)}[/]").LeftJustified());
            var t = new Table().Expand().AddColumns("component", "LED · rule", "severity", "meaning · action · readings" + (why ? " · why" : ""));
            foreach (var e in group.OrderBy(e => e.Component.Id, StringComparer.Ordinal))
            {
                var details = Markup.Escape(e.Verdict.Meaning) + "\n[grey]" + Markup.Escape(e.Verdict.Action) + "[/]"
                    + "\n[dim]" + Markup.Escape(string.Join("  ", e.Readings.Select(ReadingText))) + "[/]";
                if (why && e.Trace.Count > 0) details += "\n[blue]why: " + Markup.Escape(string.Join("; ", e.Trace.Select(TraceText))) + "[/]";
                t.AddRow(
                    $"{Markup.Escape(e.Component.Name)}\n[grey]{Markup.Escape(e.Component.Id)}[/]",
                    (e.Led is null ? "[grey]—[/]" : Markup.Escape(e.Led.ToString())) + (e.Rule is null ? "" : $"\n[grey]{Markup.Escape(e.Rule.Id)}[/]"),
                    Severity(e.Verdict.Severity) + $"\n[grey]{Markup.Escape(HealthWords.Name(e.Verdict.State))}[/]",
                    details);
            }
            console.Write(t);
        }
        if (s.Components.Count == 0) console.MarkupLine("[grey]No components found.[/]");
        foreach (var (source, reason) in s.NotPresent) console.MarkupLine($"[grey]{Markup.Escape(source)}: not present — {Markup.Escape(reason)}[/]");
        foreach (var (source, e) in s.Errors) console.MarkupLine($"[yellow]{Markup.Escape(source)}: {Markup.Escape(e.Device)}: {Markup.Escape(e.Message)}[/]");
    }

    /// <summary>"value=45.5 °C", "alarm=false", "value=unknown (EINVAL: …)".</summary>
    public static string ReadingText(Reading r) =>
        r.Value is null ? $"{r.Name}=unknown{(r.Reason is null ? "" : $" ({r.Reason})")}"
        : $"{r.Name}={Show(r.Value)}{(r.Unit is null ? "" : (r.Unit == "%" ? "" : " ") + r.Unit)}";

    public static string TraceText(DerivationTrace t) =>
        $"{t.Table} › {t.RowId}" + (t.Inputs.Count == 0 ? "" : " (" + string.Join(", ", t.Inputs.Select(kv => $"{kv.Key}={Show(kv.Value)}")) + ")");

    private static string Show(object? v) => v switch
    {
        null => "unknown",
        double d => d.ToString("0.###", CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        _ => v.ToString() ?? "",
    };

    private static string Severity(Model.Severity s) => s switch
    {
        Model.Severity.Critical => "[bold red]critical[/]",
        Model.Severity.Warning => "[bold yellow]warning[/]",
        Model.Severity.Info => "[blue]info[/]",
        _ => "[green]ok[/]",
    };
}
