using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using HealthAgent.Config;
using HealthAgent.Incidents;
using HealthAgent.Model;
using HealthAgent.Rules;
using HealthAgent.Sources;
using Microsoft.Extensions.Logging.Abstractions;
using Spectre.Console;

namespace HealthAgent.Cli;

/// <summary>
/// `healthagent snapshot [--json] [--host-root DIR] [--why]`: one poll of every enabled source, each component with
/// its readings, derived LED, rule, severity, meaning and action, then the problems (one per incident: parts fused
/// across sources, consequences folded into their cause) and a one-line summary. Works as a check (Nagios/monitoring
/// plugin convention): exit 0 ok, 1 warning, 2 critical, 3 unknown (a component unreadable and nothing worse, or the
/// configuration invalid). A source with nothing to read (no hwmon on a VM) is listed as not present, not an error.
/// </summary>
public static class SnapshotCommand
{
    /// <summary>The outcome of one snapshot, for the printers and tests.</summary>
    public sealed record Snapshot(IReadOnlyList<Evaluation> Components, IReadOnlyList<(string Source, SourceError Error)> Errors, IReadOnlyList<(string Source, string Reason)> NotPresent)
    {
        /// <summary>The source key of each component (parts are matched on it).</summary>
        public IReadOnlyDictionary<string, string> Sources { get; init; } = new Dictionary<string, string>();
        public IReadOnlyList<PartCondition> Parts { get; init; } = [];
        /// <summary>Open incidents (a snapshot is one moment: no correlation window to wait for).</summary>
        public IReadOnlyList<Incident> Incidents { get; init; } = [];
        public IReadOnlyList<Incident> Problems => Incidents.Where(i => i.Severity >= Model.Severity.Warning).ToList();

        /// <summary>0 ok, 1 warning, 2 critical, 3 unknown (something could not be read and nothing is worse).</summary>
        public int ExitCode => Problems.Count > 0 ? (Problems.Max(i => i.Severity) == Model.Severity.Critical ? 2 : 1)
            : Components.Any(c => c.Verdict.State == HwState.Unknown) ? 3 : 0;

        /// <summary>One line: "CRITICAL: 1 problem — PSU 2: Indicates a problem with the PSU. (+4 affected) · 31 parts from 3 sources".</summary>
        public string Summary
        {
            get
            {
                var word = ExitCode switch { 0 => "OK", 1 => "WARNING", 2 => "CRITICAL", _ => "UNKNOWN" };
                var what = Problems.Count == 0
                    ? (ExitCode == 3 ? $"{Components.Count(c => c.Verdict.State == HwState.Unknown)} component(s) unknown" : "no problems")
                    : $"{Problems.Count} problem{(Problems.Count == 1 ? "" : "s")} — " + string.Join("; ", Problems.Select(i =>
                        $"{i.Root.Part.Name}: {i.Root.Verdict.Meaning}{(i.Consequences.Count > 0 ? $" (+{i.Consequences.Count} affected)" : "")}"));
                return $"{word}: {what} · {Parts.Count} parts from {Sources.Values.Distinct().Count()} source(s)";
            }
        }
    }

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
        catch (ConfigException e) { await error.WriteLineAsync(e.Message); return 3; }
        if (hostRoot is not null && !Directory.Exists(hostRoot)) { await error.WriteLineAsync($"--host-root {hostRoot}: no such directory"); return 3; }
        var snapshot = await TakeAsync(config, hostRoot, ct);
        if (json) await output.WriteLineAsync(ToJson(snapshot).ToJsonString(Json.Options));
        else Print(snapshot, why, output);
        return snapshot.ExitCode;
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
        var now = TimeProvider.System.GetUtcNow();
        var evaluated = results.SelectMany(r => r.Observations.Select(o => (r.Source, Eval: evaluator.Evaluate(o)))).ToList();
        var observed = evaluated.Select(x => new PartObservation(x.Source, x.Eval.Component, x.Eval.Verdict, x.Eval.Led, x.Eval.Rule?.Id, x.Eval.Readings, now)).ToList();
        var engine = new IncidentEngine(config.Rules);
        engine.Update(observed.Where(o => o.Verdict.State != HwState.Unknown), now);
        if (engine.NextDue is { } due) engine.Update(observed.Where(o => o.Verdict.State != HwState.Unknown), due);
        return new Snapshot(
            evaluated.Select(x => x.Eval).ToList(),
            results.SelectMany(r => r.Errors.Select(e => (r.Source, e))).ToList(),
            results.Where(r => r.NotPresent is not null).Select(r => (r.Source, r.NotPresent!)).ToList())
        {
            Sources = evaluated.GroupBy(x => x.Eval.Component.Id).ToDictionary(g => g.Key, g => g.First().Source),
            Parts = IncidentEngine.Fuse(engine.Parts, observed).Select(p => p.Part).OrderByDescending(p => p.Severity).ThenBy(p => p.Part.Name, StringComparer.Ordinal).ToList(),
            Incidents = engine.Incidents,
        };
    }

    /// <summary>
    /// The same contract as MQTT and the web API (docs/schemas): components as healthagent/v2/state (plus <c>why</c>),
    /// parts, problems as incidents; then summary and exitCode.
    /// </summary>
    public static JsonObject ToJson(Snapshot s) => new()
    {
        ["summary"] = s.Summary,
        ["exitCode"] = s.ExitCode,
        ["problems"] = new JsonArray(s.Problems.Select(i => (JsonNode)HealthJson.Problem(i, pending: false)).ToArray()),
        ["parts"] = new JsonArray(s.Parts.Select(p => (JsonNode)HealthJson.Part(p)).ToArray()),
        ["components"] = new JsonArray(s.Components.Select(e => (JsonNode)ComponentJson(e, s)).ToArray()),
        ["errors"] = new JsonArray(s.Errors.Select(e => (JsonNode)new JsonObject { ["source"] = e.Source, ["device"] = e.Error.Device, ["message"] = e.Error.Message }).ToArray()),
        ["notPresent"] = new JsonArray(s.NotPresent.Select(n => (JsonNode)new JsonObject { ["source"] = n.Source, ["reason"] = n.Reason }).ToArray()),
    };

    public static JsonObject ComponentJson(Evaluation e, Snapshot s)
    {
        var now = DateTimeOffset.UnixEpoch;
        var o = HealthJson.State("", new ComponentStatus(e, now, now), s.Parts.PartIdOf(e.Component.Id));
        // One poll: no since / lastSeen, no agent; the source it came from and the derivation trace instead.
        o.Remove("agentId");
        o.Remove("since");
        o.Remove("lastSeen");
        o["source"] = s.Sources.GetValueOrDefault(e.Component.Id);
        o["why"] = new JsonArray(e.Trace.Select(t => (JsonNode)new JsonObject
        {
            ["table"] = t.Table, ["led"] = t.Led, ["row"] = t.RowId, ["note"] = t.Note,
            ["inputs"] = new JsonObject(t.Inputs.Select(kv => KeyValuePair.Create(kv.Key, Value(kv.Value)))),
        }).ToArray());
        return o;
    }

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
        foreach (var i in s.Problems)
        {
            console.MarkupLine($"{Severity(i.Severity)} [bold]{Markup.Escape(i.Root.Part.Name)}[/]: {Markup.Escape(i.Root.Verdict.Meaning)} [grey]What to do: {Markup.Escape(i.Root.Verdict.Action)}[/]");
            if (i.Consequences.Count > 0) console.MarkupLine("  [grey]also affected: " + Markup.Escape(string.Join("; ", i.Consequences.Select(c => $"{c.Part.Name} ({HealthWords.Name(c.Severity)})"))) + "[/]");
            if (i.Root.Disagreement is { } d) console.MarkupLine("  [yellow]sources disagree: " + Markup.Escape(d) + "[/]");
        }
        output.Flush();
        output.WriteLine(s.Summary);
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
