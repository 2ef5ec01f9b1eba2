using HealthAgent.TestSupport;
using HealthAgent.Tests.Publishing.Mqtt;

namespace HealthAgent.Tests.Cli;

/// <summary>
/// What an operator types, run as the `healthagent` process (<see cref="AgentCommand"/>): `check`, `run --once` and
/// its exit codes, SIGHUP reload (a good file, then a bad one), `passwd` length.
/// </summary>
[Trait(AgentCommand.Category, AgentCommand.Process)]
public sealed class OperatorCliTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private readonly string _dir = Directory.CreateTempSubdirectory("healthagent-cli-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    private string Config(string json)
    {
        var path = Path.Combine(_dir, "agent.json");
        File.WriteAllText(path, json);
        return path;
    }

    private static string Case(string name) => Path.Combine(AppContext.BaseDirectory, "testcases", name);

    /// <summary>Every kernel source on one fixture tree, no MQTT, no smartctl: the machine as the tree describes it.</summary>
    private string FixtureConfig(string testcase, string extra = "") => Config($$"""
        {
          "agentId": "cli-1", "stateDirectory": "state", "logLevel": "Information"{{extra}},
          "sources": {
            "hwmon": { "hostRoot": "{{Case(testcase)}}" }, "nic": { "hostRoot": "{{Case(testcase)}}", "netlink": false },
            "mdraid": { "hostRoot": "{{Case(testcase)}}" }, "powersupply": { "hostRoot": "{{Case(testcase)}}" },
            "smart": { "enabled": false }
          },
          "publishers": { "mqtt": { "enabled": false } }
        }
        """);

    [Fact]
    public async Task Check_RepositoryConfig_ExitsZeroWithSummary()
    {
        var r = await AgentCommand.RunAsync(["check", "--config", Path.Combine(SeedRules.RepoRoot, "agent.json")], Wait);
        Assert.True(r.ExitCode == 0, r.StandardOutput + r.StandardError);
        Assert.Contains(": OK", r.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("state:      /var/lib/healthagent", r.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_ErrorsInEverySection_ExitsTwoListingAllAtOnce()
    {
        var rules = Path.Combine(_dir, "rules");
        Directory.CreateDirectory(rules);
        File.WriteAllText(Path.Combine(rules, "x.yaml"), "family: x\n");
        var config = Config("""
            {
              "colour": "red", "logLevel": "Loud", "rulesDirectory": "rules",
              "sources": { "hwmon": { "intervalSeconds": 0 } },
              "publishers": { "mqtt": { "port": 70000 } },
              "web": { "enabled": true, "urls": ["http://0.0.0.0:8080"] }
            }
            """);
        var r = await AgentCommand.RunAsync(["check", "--config", config], Wait);
        Assert.True(r.ExitCode == 2, $"exit {r.ExitCode}: {r.StandardOutput}{r.StandardError}");
        foreach (var e in new[] { "colour: unknown key", "logLevel: unknown level 'Loud'", "sources.hwmon.intervalSeconds: must be from",
                     "publishers.mqtt.port: must be from 1 to 65535", "web.urls: 'http://0.0.0.0:8080' listens beyond this machine", "x.yaml:1:1" })
            Assert.Contains(e, r.StandardError, StringComparison.Ordinal);
        Assert.Single(r.StandardError.Split('\n'), l => l.Contains("colour: unknown key", StringComparison.Ordinal)); // once, not per binder
        Assert.Contains($"error(s) in {config}", r.StandardError, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("igb-1g-link-up", 0, "ok: ")]
    [InlineData("ups-on-battery", 1, "warning: ")]
    [InlineData("nct6779-fan-stalled", 2, "critical")]
    [InlineData("virtio-speed-unknown", 3, "some components unknown")]
    public async Task RunOnce_FixtureMachine_ExitCodeIsTheWorstSeverity(string testcase, int exit, string summary)
    {
        var r = await AgentCommand.RunAsync(["run", "--once", "--config", FixtureConfig(testcase)], Wait);
        Assert.False(r.TimedOut, r.StandardOutput + r.StandardError);
        Assert.True(r.ExitCode == exit, $"exit {r.ExitCode}: {r.StandardOutput}{r.StandardError}");
        Assert.Contains(summary, r.StandardOutput, StringComparison.Ordinal);
        Assert.Contains($"exit {exit}", r.StandardOutput, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(_dir, "state", "state.db")), "state written");
    }

    [Fact]
    public async Task RunOnce_MqttBroker_EveryStateRetainedBeforeExit()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        var config = File.ReadAllText(FixtureConfig("nct6779-fan-stalled")).Replace("\"mqtt\": { \"enabled\": false }",
            $"\"mqtt\": {{ \"host\": \"{broker.Host}\", \"port\": {broker.Port} }}", StringComparison.Ordinal);
        File.WriteAllText(Path.Combine(_dir, "agent.json"), config);
        var r = await AgentCommand.RunAsync(["run", "--once", "--log-level", "Warning", "--config", Path.Combine(_dir, "agent.json")], Wait);
        Assert.True(r.ExitCode == 2, $"exit {r.ExitCode}: {r.StandardOutput}{r.StandardError}");
        Assert.DoesNotContain("info:", r.StandardOutput, StringComparison.Ordinal); // --log-level Warning
        // published and flushed before the exit: the retained state of the stalled fan is on the broker now
        var sub = await MosquittoClients.SubAsync(broker, ["-t", "healthagent/v1/cli-1/state/#", "-v", "-W", "3"], TimeSpan.FromSeconds(10));
        Assert.Contains("hwmon:nct6779:fan2", sub.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("\"severity\":\"critical\"", sub.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunOnce_BadLogLevelOrConfig_ExitsUnknown()
    {
        var bad = await AgentCommand.RunAsync(["run", "--once", "--log-level", "Loud", "--config", FixtureConfig("igb-1g-link-up")], Wait);
        Assert.Equal(3, bad.ExitCode);
        Assert.Contains("--log-level: unknown level 'Loud'", bad.StandardError, StringComparison.Ordinal);
        var broken = await AgentCommand.RunAsync(["run", "--once", "--config", Config("""{ "colour": 1 }""")], Wait);
        Assert.Equal(3, broken.ExitCode);
        Assert.Contains("colour: unknown key", broken.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sighup_GoodThenBadRules_ReloadsLogsChangesThenKeepsOldRulesAndRuns()
    {
        var rules = Path.Combine(_dir, "rules");
        CopyTree(Path.Combine(SeedRules.RepoRoot, "rules"), rules);
        var config = FixtureConfig("nct6779-fan-stalled", ", \"rulesDirectory\": \"rules\"");
        await using var agent = new AgentProcess(config, _dir);
        await agent.WaitForOutputAsync("source hwmon: up", Wait);

        // a good edit: one meaning reworded, the log level raised, a source setting changed (restart-only)
        var psu = Directory.GetFiles(rules, "*.yaml", SearchOption.AllDirectories).First(f => Path.GetFileName(f).StartsWith("psu", StringComparison.Ordinal));
        File.AppendAllText(psu, "\n# edited by the operator\n");
        File.WriteAllText(config, File.ReadAllText(config).Replace("\"logLevel\": \"Information\"", "\"logLevel\": \"Debug\"", StringComparison.Ordinal)
            .Replace("\"smart\": { \"enabled\": false }", "\"smart\": { \"enabled\": false, \"intervalSeconds\": 600 }", StringComparison.Ordinal));
        ProcessRunner.SendSighup(agent.Id);
        await agent.WaitForOutputAsync("reload (SIGHUP) of " + config, Wait);
        var reloaded = agent.Output[agent.Output.LastIndexOf("reload (SIGHUP)", StringComparison.Ordinal)..];
        Assert.Matches(@"rules \S+rules version [0-9a-f]{12} → [0-9a-f]{12} \(33 rules\)", reloaded);
        Assert.Contains("logLevel Information → Debug", reloaded, StringComparison.Ordinal);
        Assert.Contains("applied at the next restart: sources.smart", reloaded, StringComparison.Ordinal);

        // a bad edit: refused with file:line, the agent keeps running on the rules it had
        File.AppendAllText(psu, "\nnotAKey: [unclosed\n");
        ProcessRunner.SendSighup(agent.Id);
        await agent.WaitForOutputAsync("refused, still running on the rules and settings loaded before", Wait);
        Assert.Matches(System.Text.RegularExpressions.Regex.Escape(Path.GetFileName(psu)) + @":\d+", agent.Output);
        await Task.Delay(1500);
        Assert.Equal(0, await agent.TerminateAsync(TimeSpan.FromSeconds(20))); // still up: a clean stop, not a crash
        Assert.DoesNotContain("Unhandled exception", agent.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("short-pw-11", 2)]
    [InlineData("", 2)]
    [InlineData("twelve-chars", 0)]
    public async Task Passwd_UnderTwelveCharacters_Refused(string password, int exit)
    {
        var r = await AgentCommand.RunAsync(["passwd", "--iterations", "1000"], Wait, stdin: password + "\n");
        Assert.True(r.ExitCode == exit, $"exit {r.ExitCode}: {r.StandardError}");
        if (exit == 0) Assert.StartsWith("pbkdf2-sha256$1000$", r.StandardOutput, StringComparison.Ordinal);
        else Assert.Empty(r.StandardOutput);
        if (password.Length is > 0 and < 12) Assert.Contains("at least 12 characters", r.StandardError, StringComparison.Ordinal);
    }

    private static void CopyTree(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var f in Directory.GetFiles(from)) File.Copy(f, Path.Combine(to, Path.GetFileName(f)));
        foreach (var d in Directory.GetDirectories(from)) CopyTree(d, Path.Combine(to, Path.GetFileName(d)));
    }
}
