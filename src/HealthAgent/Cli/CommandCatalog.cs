using System.CommandLine;

namespace HealthAgent.Cli;

/// <summary>The `healthagent` verbs. Adding a verb is one file in Cli/ and one line here.</summary>
public static class CommandCatalog
{
    /// <summary>`--config FILE`, taken by every verb (default ./agent.json, then /etc/healthagent/agent.json).</summary>
    public static readonly Option<string?> ConfigOption = new("--config")
    {
        Description = "Configuration file (default: ./agent.json, then /etc/healthagent/agent.json, then the embedded defaults)",
        Recursive = true,
    };

    /// <summary>`--log-level LEVEL`, taken by every verb; for `run` it wins over agent.json's logLevel (also after SIGHUP).</summary>
    public static readonly Option<string?> LogLevelOption = new("--log-level")
    {
        Description = "Minimum log level: Trace, Debug, Information, Warning, Error, Critical, None (default: agent.json logLevel)",
        Recursive = true,
    };

    public static RootCommand BuildRoot()
    {
        var root = new RootCommand("HealthAgent: hardware health of video-surveillance appliances, explained");
        root.Options.Add(ConfigOption);
        root.Options.Add(LogLevelOption);
        // one line per verb
        root.Subcommands.Add(ExplainCommand.Build());
        root.Subcommands.Add(RulesCommand.Build());
        root.Subcommands.Add(MqttCommand.Build());
        root.Subcommands.Add(SimulateCommand.Build());
        root.Subcommands.Add(PasswdCommand.Build());
        root.Subcommands.Add(WatchCommand.Build());
        root.Subcommands.Add(RunCommand.Build());
        root.Subcommands.Add(SnapshotCommand.Build());
        root.Subcommands.Add(CheckCommand.Build());
        root.Subcommands.Add(RetireCommand.Build());
        return root;
    }
}
