using System.CommandLine;
using HealthAgent.Config;
using HealthAgent.Publishing;
using HealthAgent.Web;

namespace HealthAgent.Cli;

/// <summary>
/// `healthagent check [--config FILE]`: loads agent.json and the rule tables exactly as `run` does (environment
/// overrides included) and lists every problem at once. Exit 0 when the agent would start with them, 2 otherwise.
/// </summary>
public static class CheckCommand
{
    public const int Invalid = 2;

    public static Command Build()
    {
        var cmd = new Command("check", "Validate the configuration and rule tables as `run` loads them: every error at once, exit 2 (0 when fine)");
        cmd.SetAction(p => Run(p.GetValue(CommandCatalog.ConfigOption), Console.Out, Console.Error));
        return cmd;
    }

    public static int Run(string? configPath, TextWriter output, TextWriter error)
    {
        var file = configPath ?? AgentConfig.DefaultPaths.FirstOrDefault(File.Exists) ?? "the built-in agent.json";
        AgentConfig config;
        try { config = AgentConfig.Load(configPath); }
        catch (ConfigException e)
        {
            error.WriteLine(e.Message);
            error.WriteLine($"{e.Errors.Count} error(s) in {file}; the agent would refuse to start");
            return Invalid;
        }
        var publishers = config.Publishers;
        var web = config.Web;
        output.WriteLine($"{config.Source}: OK");
        output.WriteLine($"  sources:    {Enabled(config.Sources.Where(kv => kv.Value.Enabled).Select(kv => kv.Key))}");
        output.WriteLine($"  publishers: {Enabled(publishers.Where(kv => kv.Value.Enabled).Select(kv => kv.Key))}");
        output.WriteLine($"  web view:   {(web.Enabled ? string.Join(", ", web.EffectiveUrls) : "off")}");
        output.WriteLine($"  rules:      {config.RulesDirectory ?? "built into the binary"} (version {config.Rules.Version}: {config.Rules.Families.Count} indicator families, {config.Rules.Families.Sum(f => f.Rules.Count)} rules, {config.Rules.Derivations.Count} derivation tables)");
        output.WriteLine($"  state:      {config.StateDirectory}");
        output.WriteLine($"  log level:  {config.Agent.LogLevel}");
        return 0;
    }

    private static string Enabled(IEnumerable<string> names) => string.Join(", ", names) is { Length: > 0 } s ? s : "none";
}
