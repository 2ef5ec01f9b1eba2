using HealthAgent.Simulator;

namespace HealthAgent.Tests.Simulator;

public class ScenarioTests
{
    private static readonly string[] Required =
    [
        "psu-fails", "psu-unplugged", "psu-mismatch", "psu-firmware-update", "drive-predicted-failure", "drive-fails",
        "drive-rebuild-completes", "drive-rebuild-stops", "nic-unplugged", "nic-downshift", "overheat", "fan-stalls",
        "id-mode", "quicksync-firmware-update", "bmc-unresponsive", "demo",
    ];

    public static TheoryData<string> Names() => new(ScenarioLoader.BuiltIn());

    private static string RepoScenarios()
    {
        var dir = AppContext.BaseDirectory;
        while (dir is not null && !Directory.Exists(Path.Combine(dir, "deploy", "scenarios"))) dir = Path.GetDirectoryName(dir);
        return Path.Combine(dir!, "deploy", "scenarios");
    }

    [Fact]
    public void BuiltIn_EveryRequiredScenario_Present() => Assert.Empty(Required.Except(ScenarioLoader.BuiltIn()));

    [Fact]
    public void Files_EveryScenarioInDeploy_LoadsStrictly()
    {
        var files = Directory.GetFiles(RepoScenarios(), "*.yaml");
        Assert.True(files.Length >= Required.Length);
        foreach (var f in files)
        {
            var s = ScenarioLoader.Load(f, File.ReadAllText(f), SimulatorHarness.Rules);
            Assert.Equal(Path.GetFileNameWithoutExtension(f), s.Name);
            Assert.NotEmpty(s.Steps);
        }
    }

    [Fact]
    public void Demo_FirstFaultWithinFiveSeconds_LoopsWithinAMinute()
    {
        var demo = ScenarioLoader.Resolve("demo", SimulatorHarness.Rules);
        Assert.True(demo.Loop);
        Assert.True(demo.Duration <= 65);
        Assert.Contains(demo.Steps, s => s.At <= 5 && s.Set.Any(kv => kv.Value is "fault" or "failed"));
    }

    [Theory]
    [InlineData("name: x\nsteps:\n  - at: 0\n    colour: red\n", "x.yaml:4:5: unknown key 'colour'")]
    [InlineData("name: x\nsteps:\n  - at: 0\n    set: { psu9: fault }\n", "x.yaml:4:12: unknown target 'psu9'")]
    [InlineData("name: x\nsteps:\n  - at: 0\n    set: { psu1: melted }\n", "x.yaml:4:18: psu1 takes one of ok, fault")]
    [InlineData("name: x\nsteps:\n  - at: 5\n  - at: 2\n", "x.yaml:4:9: at 2 comes before")]
    [InlineData("name: x\nsteps:\n  - at: 0\n    expect: { \"panel:psu:1\": psu.melted }\n", "x.yaml:4:15: 'panel:psu:1': the psu table has no rule 'psu.melted'")]
    [InlineData("name: y\nsteps:\n  - at: 0\n", "x.yaml:1:7: name 'y' must equal the file name 'x'")]
    [InlineData("name: x\nloop: maybe\nsteps:\n  - at: 0\n", "x.yaml:2:7: loop must be true or false")]
    [InlineData("name: x\nsteps: [\n", "x.yaml:")]
    public void Load_BadFile_ErrorWithFileLine(string text, string expected)
    {
        var e = Assert.Throws<ScenarioException>(() => ScenarioLoader.Load("x.yaml", text, SimulatorHarness.Rules));
        Assert.Contains(e.Errors, m => m.StartsWith(expected, StringComparison.Ordinal));
    }

    /// <summary>
    /// Every scenario, step by step: the simulator applies the step, and each expectation must then be visible —
    /// panel LEDs read by the real front-panel source over the pty and evaluated with the seed rules, host files,
    /// and Redfish properties over HTTP.
    /// </summary>
    [Theory]
    [MemberData(nameof(Names))]
    public async Task Scenario_EachStep_ExpectationsReached(string name)
    {
        await using var h = await SimulatorHarness.StartAsync(name);
        var scenario = h.Sim.Scenario!;
        h.Sim.Appliance.Reset();
        foreach (var step in scenario.Steps)
        {
            ScenarioRunner.Apply(h.Sim.Appliance, step);
            foreach (var (key, expected) in step.Expect)
            {
                string? actual = null;
                var deadline = DateTime.UtcNow.AddSeconds(5);
                while (DateTime.UtcNow < deadline)
                {
                    actual = await h.ActualAsync(key);
                    if (SimulatorHarness.Holds(key, expected, actual)) break;
                    await Task.Delay(20);
                }
                Assert.True(SimulatorHarness.Holds(key, expected, actual), $"{scenario.File}:{step.Line} (at {step.At}s): {key} expected '{expected}', got '{actual}'");
            }
        }
    }

    /// <summary>
    /// Each row of the seed's PSU, power, system, Quick Sync and drive tables is expected by some scenario step
    /// (and <see cref="Scenario_EachStep_ExpectationsReached"/> proves each such expectation is reached).
    /// </summary>
    [Fact]
    public void Scenarios_Together_ReachEverySeedRowOfPanelFamilies()
    {
        var expected = ScenarioLoader.BuiltIn().Select(n => ScenarioLoader.Resolve(n, SimulatorHarness.Rules))
            .SelectMany(s => s.Steps).SelectMany(st => st.Expect).Where(kv => kv.Key.StartsWith("panel:", StringComparison.Ordinal))
            .Select(kv => kv.Value).ToHashSet();
        var rows = SimulatorHarness.Rules.Families.Where(f => f.Name is "psu" or "power" or "system" or "quicksync" or "drive")
            .SelectMany(f => f.Rules).Select(r => r.Id).ToList();
        Assert.Equal(5, rows.Select(r => r.Split('.')[0]).Distinct().Count());
        Assert.Empty(rows.Except(expected));
    }

    [Fact]
    public async Task Runner_DemoAtHighSpeed_PlaysAndLoops()
    {
        await using var h = await SimulatorHarness.StartAsync("demo", speed: 300);
        var seen = new System.Collections.Concurrent.ConcurrentBag<string>();
        h.Sim.StepApplied += s => seen.Add(s.Say ?? "");
        h.Sim.StartScenario();
        var until = DateTime.UtcNow.AddSeconds(10);
        while (h.Sim.Runner!.Rounds < 2 && DateTime.UtcNow < until) await Task.Delay(20);
        Assert.True(h.Sim.Runner.Rounds >= 2, "the demo did not loop");
        Assert.Contains("PSU 2 fails", seen);
    }

    [Fact]
    public async Task Runner_NonLooping_EndsAfterDuration()
    {
        await using var h = await SimulatorHarness.StartAsync("psu-fails", speed: 200);
        h.Sim.StartScenario();
        await h.Sim.ScenarioCompletion.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(h.Sim.Scenario!.Steps.Count - 1, h.Sim.Runner!.Step);
        Assert.Equal("ok", h.Sim.Appliance.Word("psu2"));
    }
}
