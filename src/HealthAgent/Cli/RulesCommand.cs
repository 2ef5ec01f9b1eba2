using System.CommandLine;
using HealthAgent.Rules;

namespace HealthAgent.Cli;

/// <summary>`healthagent rules check [DIR]`: validates a rules directory; exit 0 when valid, 1 with every error as file:line:col.</summary>
public static class RulesCommand
{
    public static Command Build()
    {
        var dir = new Argument<string?>("dir") { Description = "rules directory (default: ./rules, else the built-in tables)", Arity = ArgumentArity.ZeroOrOne };
        var check = new Command("check", "Validate rule tables; lists every error with file:line") { dir };
        check.SetAction(p => Check(p.GetValue(dir), Console.Out, Console.Error));
        var cmd = new Command("rules", "Rule tables");
        cmd.Subcommands.Add(check);
        return cmd;
    }

    public static int Check(string? dir, TextWriter output, TextWriter error)
    {
        var path = dir ?? (Directory.Exists("rules") ? "rules" : null);
        var (rules, errors) = path is null ? RuleLoader.LoadEmbedded() : RuleLoader.LoadDirectory(path);
        foreach (var e in errors) error.WriteLine(e.ToString());
        if (rules is null)
        {
            error.WriteLine($"{errors.Count} error(s) in {path ?? "the built-in rules"}");
            return 1;
        }
        output.WriteLine($"{path ?? "built-in rules"}: OK — {rules.Families.Count} indicator families, {rules.Families.Sum(f => f.Rules.Count)} rules, {rules.Derivations.Count} derivation tables (version {rules.Version})");
        return 0;
    }
}
