using System.Globalization;
using HealthAgent.TestSupport;
using HealthAgent.Tests.Publishing.Mqtt;
using Xunit.Abstractions;

namespace HealthAgent.Tests.Sources.FrontPanel;

/// <summary>The front panel in the `healthagent` executable (the Native AOT binary in CI: System.IO.Ports' native library beside it).</summary>
[Trait(AgentCommand.Category, AgentCommand.Process)]
public sealed class FrontPanelAgentTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("healthagent-panel-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    [Fact]
    public async Task Run_PanelOpenAndIdle_AgentThreadsSleep()
    {
        // Only the front panel, no publisher: an agent waiting for its panel. With a read always pending in System.IO.Ports
        // its I/O loop woke ~1,000 times a second (dotnet/runtime#2379); the source's poll(2) wakes a few times a second.
        // Counted: voluntary context switches of every agent thread (/proc/PID/task/*/status, proc(5)) over 2 s. Load
        // does not add voluntary switches to sleeping threads; the bound is ~10x what an idle agent shows.
        using var pty = new PanelPty(Path.Combine(_dir, "panel"));
        var config = Path.Combine(_dir, "agent.json");
        await File.WriteAllTextAsync(config, $$"""
            {
              "agentId": "panel-idle", "stateDirectory": "state", "logLevel": "Information",
              "sources": {
                "frontPanel": { "enabled": true, "device": "{{pty.Link}}", "heartbeatSeconds": 2 },
                "hwmon": { "enabled": false }, "nic": { "enabled": false }, "smart": { "enabled": false },
                "mdraid": { "enabled": false }, "powersupply": { "enabled": false }
              },
              "publishers": { "mqtt": { "enabled": false } }
            }
            """);
        await using var agent = new AgentProcess(config, _dir);
        Assert.True(pty.WaitForSync(TimeSpan.FromSeconds(30)), "the agent never sent SYNC; output:\n" + agent.Output);
        pty.Led("psu", "1", "solid green");
        pty.Heartbeat(1);
        await agent.WaitForOutputAsync("is talking", TimeSpan.FromSeconds(10));
        // System.IO.Ports runs its I/O loop for the SYNC write and 2 s after it; let that end
        await Task.Delay(3000);

        var before = VoluntarySwitches(agent.Id);
        await Task.Delay(2000);
        var after = VoluntarySwitches(agent.Id);
        var perSecond = after.Sum(t => t.Value - before.GetValueOrDefault(t.Key)) / 2.0;
        output.WriteLine($"agent threads: {perSecond:0} voluntary switches/s while the panel was idle ({after.Count} threads)");
        Assert.False(agent.HasExited, agent.Output);
        Assert.True(perSecond < 100, $"agent threads woke {perSecond:0} times/s while the panel was idle");
    }

    /// <summary>voluntary_ctxt_switches per thread id of a process.</summary>
    private static Dictionary<int, long> VoluntarySwitches(int pid)
    {
        var d = new Dictionary<int, long>();
        foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
        {
            try
            {
                var line = File.ReadLines(Path.Combine(task, "status")).FirstOrDefault(l => l.StartsWith("voluntary_ctxt_switches:", StringComparison.Ordinal));
                if (line is not null) d[int.Parse(Path.GetFileName(task), CultureInfo.InvariantCulture)] = long.Parse(line.Split(':')[1].Trim(), CultureInfo.InvariantCulture);
            }
            catch (IOException) { } // the thread ended while we looked
        }
        return d;
    }
}
