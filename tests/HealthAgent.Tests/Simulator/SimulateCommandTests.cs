using HealthAgent.Cli;
using HealthAgent.Simulator;

namespace HealthAgent.Tests.Simulator;

public class SimulateCommandTests
{
    [Fact]
    public async Task Run_WithFreePort_PrintsWhereItServesAndStopsOnCancel()
    {
        var dir = Directory.CreateTempSubdirectory("sim-cli-").FullName;
        try
        {
            var output = new StringWriter();
            using var cts = new CancellationTokenSource();
            var run = SimulateCommand.RunAsync(null, new SimulationOptions("psu-fails", 0, Path.Combine(dir, "panel"), Path.Combine(dir, "host"), Speed: 100),
                false, false, TextReader.Null, output, TextWriter.Null, cts.Token);
            Assert.True(SpinWait.SpinUntil(() => { lock (output) return output.ToString().Contains("PSU 2 replaced"); }, 10000), output.ToString());
            await cts.CancelAsync();
            Assert.Equal(0, await run.WaitAsync(TimeSpan.FromSeconds(10)));
            var text = output.ToString();
            Assert.Matches(@"Redfish service:\s+http://127\.0\.0\.1:\d+/redfish/v1", text);
            Assert.Contains("Front panel:", text);
            Assert.False(File.Exists(Path.Combine(dir, "panel")), "the panel symlink is removed on exit");
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public async Task Run_Interactive_SetsTargetsFromStdin()
    {
        var output = new StringWriter();
        var input = new StringReader("psu2 fault\npsu2 molten\nbogus 1\nquit\n");
        var code = await SimulateCommand.RunAsync(null, new SimulationOptions(null, null, null), true, false, input, output, TextWriter.Null, CancellationToken.None);
        Assert.Equal(0, code);
        var text = output.ToString();
        Assert.Contains("ok: psu2 = fault", text);
        Assert.Contains("error: psu2 takes one of", text);
        Assert.Contains("error: unknown target 'bogus'", text);
    }

    [Fact]
    public async Task Run_UnknownScenario_Exit2()
    {
        var err = new StringWriter();
        var code = await SimulateCommand.RunAsync(null, new SimulationOptions("no-such", null, null), false, false, TextReader.Null, TextWriter.Null, err, CancellationToken.None);
        Assert.Equal(2, code);
        Assert.Contains("no such scenario", err.ToString());
    }
}
