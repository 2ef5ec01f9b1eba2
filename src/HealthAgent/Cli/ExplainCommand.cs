using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using HealthAgent.Config;
using HealthAgent.Model;
using HealthAgent.Rules;
using Spectre.Console;

namespace HealthAgent.Cli;

/// <summary>
/// `healthagent explain [what you see …] [--long] [--json]`: what an LED means and what to do, from the rule tables.
/// The words may be one sentence with the indicator anywhere ("the disk light is blinking orange fast") or the
/// family first as before (`explain psu "blinking amber"`); the family alone prints its table.
/// Exit codes: 0 answered, 2 bad input (no or unknown family, words not understood), 3 no row matches.
/// </summary>
public static class ExplainCommand
{
    public const int NoMatch = 3, BadInput = 2;

    /// <summary>What to do in the default view: whole sentences up to this many words; <c>--long</c> shows all.</summary>
    public const int ShortActionWords = ActionText.MaxAdviceWords;

    public static Command Build()
    {
        var words = new Argument<string[]>("what-you-see")
        {
            Description = "the indicator and what it does, in your words: \"the disk light is blinking orange fast\", " +
                "psu \"blinking amber\", \"activity light blinking, link green\"; a family alone prints its table",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var json = new Option<bool>("--json") { Description = "print one JSON object" };
        var longText = new Option<bool>("--long") { Description = "the whole action, with the manual's CAUTION notes (default: at most 60 words)" };
        var cmd = new Command("explain", "What an LED means and what to do about it") { words, json, longText };
        cmd.SetAction(p => Run(p.GetValue(CommandCatalog.ConfigOption), p.GetValue(words) ?? [], p.GetValue(json), p.GetValue(longText), System.Console.Out, System.Console.Error));
        return cmd;
    }

    /// <summary>The family and what is seen as two texts (either may be null), as the command took them before sentences.</summary>
    public static int Run(string? configPath, string? familyName, string? seen, bool json, TextWriter output, TextWriter error) =>
        Run(configPath, new[] { familyName, seen }.OfType<string>().ToArray(), json, false, output, error);

    public static int Run(string? configPath, IReadOnlyList<string> words, bool json, bool longText, TextWriter output, TextWriter error)
    {
        RuleSet rules;
        try { rules = AgentConfig.Load(configPath).Rules; }
        catch (ConfigException e) { error.WriteLine(e.Message); return 1; }
        var console = ConsoleFor(output);

        var sentence = string.Join(' ', words).Trim();
        if (sentence.Length == 0)
        {
            if (json) { output.WriteLine(new JsonArray(rules.Families.Select(f => (JsonNode)FamilyJson(f)).ToArray()).ToJsonString(Json.Options)); return 0; }
            var t = new Table().AddColumns("family", "indicator", "also called", "rows");
            foreach (var f in rules.Families) t.AddRow(f.Name, Markup.Escape(f.Title), string.Join(", ", f.Aliases), f.Rules.Count.ToString(System.Globalization.CultureInfo.InvariantCulture));
            console.Write(t);
            console.WriteLine("Ask: healthagent explain \"the disk light is blinking amber\"   (or: explain <family> \"what you see\")");
            return 0;
        }

        var answer = rules.FindFamily(sentence) is { } whole ? new SentenceMatch(whole, null, null, true) : RuleEngine.ExplainSentence(rules, sentence);
        if (answer.Family is null)
        {
            error.WriteLine($"{answer.Error}. Families: {string.Join(", ", rules.Families.Select(f => f.Name + (f.Aliases.Count > 0 ? " (" + string.Join(", ", f.Aliases.Take(3)) + ")" : "")))}");
            return BadInput;
        }
        var fam = answer.Family;
        if (answer.FamilyOnly)
        {
            if (json) { output.WriteLine(FamilyJson(fam).ToJsonString(Json.Options)); return 0; }
            console.Write(new Spectre.Console.Rule($"[bold]{Markup.Escape(fam.Title)}[/]").LeftJustified());
            var t = new Table().AddColumns("LED", "severity", "meaning", "what to do").Expand();
            foreach (var r in fam.Rules)
                t.AddRow(Markup.Escape(r.Led.ToString()), SeverityMarkup(r.Verdict.Severity), Markup.Escape(r.Verdict.Meaning), Markup.Escape(ActionFor(r, longText, out _)));
            console.Write(t);
            return 0;
        }
        if (answer.Match is not { } match)
        {
            error.WriteLine($"{answer.Error}. Say it like: {string.Join(" | ", fam.Rules.Take(3).Select(r => "\"" + r.Led + "\""))}");
            return BadInput;
        }
        if (match.Best is null)
        {
            var known = string.Join("\n  ", fam.Rules.Select(r => $"{r.Led}  ({r.Seen ?? r.Id})"));
            if (json)
                output.WriteLine(new JsonObject { ["family"] = fam.Name, ["led"] = match.Seen.ToString(), ["matched"] = false, ["known"] = new JsonArray(fam.Rules.Select(r => (JsonNode)r.Led.ToString()).ToArray()) }.ToJsonString(Json.Options));
            error.WriteLine($"No row of the {fam.Title} table matches \"{match.Seen}\". The states this family knows:\n  {known}");
            return NoMatch;
        }
        if (json)
        {
            var o = RuleJson(fam, match.Best, match.Seen);
            if (match.IsAmbiguous) o["alternatives"] = new JsonArray(match.Candidates.Skip(1).Select(r => (JsonNode)RuleJson(fam, r, match.Seen)).ToArray());
            output.WriteLine(o.ToJsonString(Json.Options));
            return 0;
        }
        if (match.IsAmbiguous) console.MarkupLine($"[yellow]\"{Markup.Escape(sentence)}\" could mean {match.Candidates.Count} things on the {Markup.Escape(fam.Title)}; look closer at the blink rate or sequence:[/]");
        foreach (var r in match.Candidates) WriteAnswer(console, fam, r, longText);
        return 0;
    }

    /// <summary>
    /// The action as shown: by default whole sentences up to <see cref="ShortActionWords"/> words (our advice comes
    /// first, so it is what stays); with <paramref name="longText"/> everything.
    /// </summary>
    public static string ActionFor(Rules.Rule r, bool longText, out bool truncated)
    {
        truncated = false;
        return longText ? r.Verdict.Action : ActionText.Shorten(r.Verdict.Action, ShortActionWords, int.MaxValue, out truncated);
    }

    private static void WriteAnswer(IAnsiConsole console, IndicatorFamily fam, Rules.Rule r, bool longText)
    {
        var grid = new Grid().AddColumn(new GridColumn().NoWrap()).AddColumn();
        grid.AddRow("[bold]LED[/]", Markup.Escape(r.Led.ToString()) + (r.Seen is null ? "" : $"  [grey](manual: \"{Markup.Escape(r.Seen)}\")[/]"));
        grid.AddRow("[bold]Severity[/]", SeverityMarkup(r.Verdict.Severity) + $"  (state: {HealthWords.Name(r.Verdict.State)}, code: {r.Verdict.Code})");
        grid.AddRow("[bold]Meaning[/]", Markup.Escape(r.Verdict.Meaning));
        if (longText && r.Advice is not null && r.ManualAction is not null)
        {
            grid.AddRow("[bold]What to do[/]", Markup.Escape(r.Advice) + "  [grey](our advice)[/]");
            grid.AddRow("[bold]The manual[/]", Markup.Escape(r.ManualAction));
        }
        else
        {
            var action = ActionFor(r, longText, out var truncated);
            var mark = r.ManualAction is null && r.Advice is not null ? "  [grey](our advice; the manual gives none)[/]" : "";
            grid.AddRow("[bold]What to do[/]", Markup.Escape(action) + mark + (truncated ? "  [grey](more: --long)[/]" : ""));
        }
        grid.AddRow("[grey]Rule[/]", $"[grey]{Markup.Escape(r.Id)} — {Markup.Escape(fam.Source?.Table ?? fam.Title)}{(r.Row is { } row ? $", row {row}" : "")}[/]");
        console.Write(new Panel(grid).Header(Markup.Escape(fam.Title)).Expand());
    }

    private static string SeverityMarkup(Severity s) => s switch
    {
        Severity.Critical => "[bold red]critical[/]",
        Severity.Warning => "[bold yellow]warning[/]",
        Severity.Info => "[blue]info[/]",
        _ => "[green]ok[/]",
    };

    public static JsonObject RuleJson(IndicatorFamily fam, Rules.Rule r, IndicatorState? seen = null) => new()
    {
        ["family"] = fam.Name,
        ["led"] = r.Led.ToString(),
        ["ledJson"] = LedJson.Indicator(r.Led),
        ["seen"] = seen?.ToString(),
        ["severity"] = HealthWords.Name(r.Verdict.Severity),
        ["state"] = HealthWords.Name(r.Verdict.State),
        ["code"] = r.Verdict.Code,
        ["meaning"] = r.Verdict.Meaning,
        ["action"] = r.Verdict.Action,
        ["advice"] = r.Advice,
        ["manualAction"] = r.ManualAction,
        ["ruleId"] = r.Id,
        ["source"] = fam.Source is null ? null : new JsonObject { ["document"] = fam.Source.Document, ["table"] = fam.Source.Table, ["row"] = r.Row, ["text"] = r.Seen },
    };

    private static JsonObject FamilyJson(IndicatorFamily f) => new()
    {
        ["family"] = f.Name,
        ["title"] = f.Title,
        ["aliases"] = new JsonArray(f.Aliases.Select(a => (JsonNode)a).ToArray()),
        ["leds"] = new JsonArray(f.Leds.Select(a => (JsonNode)a).ToArray()),
        ["hwType"] = f.HwType,
        ["rules"] = new JsonArray(f.Rules.Select(r => (JsonNode)RuleJson(f, r)).ToArray()),
    };

    internal static IAnsiConsole ConsoleFor(TextWriter output) => AnsiConsole.Create(new AnsiConsoleSettings
    {
        Out = new AnsiConsoleOutput(output),
        Ansi = output == System.Console.Out && !System.Console.IsOutputRedirected ? AnsiSupport.Detect : AnsiSupport.No,
        ColorSystem = output == System.Console.Out && !System.Console.IsOutputRedirected ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
    });
}

/// <summary>Shared JSON settings for CLI output and payloads.</summary>
public static class Json
{
    public static readonly JsonSerializerOptions Options = new() { WriteIndented = false, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };
}
