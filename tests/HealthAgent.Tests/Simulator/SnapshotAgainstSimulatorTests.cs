using System.Text.Json.Nodes;
using HealthAgent.Cli;

namespace HealthAgent.Tests.Simulator;

/// <summary>Issue #5: `healthagent snapshot` with only the redfish source, pointed at the simulator, lists every simulated component.</summary>
public class SnapshotAgainstSimulatorTests
{
    [Fact]
    public async Task Snapshot_OnlyRedfishAgainstSimulator_ListsEverySimulatedComponentWithItsState()
    {
        await using var h = await SimulatorHarness.StartAsync();
        var config = Path.Combine(h.Dir, "agent.json");
        File.WriteAllText(config, $$"""
            {
              "stateDirectory": "state",
              "sources": {
                "hwmon": { "enabled": false }, "nic": { "enabled": false }, "smart": { "enabled": false },
                "mdraid": { "enabled": false }, "powersupply": { "enabled": false }, "frontPanel": { "enabled": false },
                "redfish": { "enabled": true, "intervalSeconds": 30, "endpoints": [ { "name": "bmc", "url": "{{h.Sim.Redfish!.BaseAddress.ToString().TrimEnd('/')}}", "timeoutSeconds": 5 } ] }
              },
              "publishers": { "mqtt": { "enabled": false } }
            }
            """);
        var output = new StringWriter();
        var error = new StringWriter();
        Assert.Equal(0, await SnapshotCommand.RunAsync(config, null, json: true, why: false, output, error));

        var components = JsonNode.Parse(output.ToString())!["components"]!.AsArray()
            .ToDictionary(c => (string)c!["id"]!, c => c!.AsObject());
        // The simulated appliance: one system, two PSUs with redundancy, four drives in a volume, four NIC ports, fans, temperatures, the BMC.
        Assert.Equal("system.healthy", (string?)components["redfish:bmc:system:1"]["ruleId"]);
        foreach (var psu in new[] { "PSU1", "PSU2" }) Assert.Equal("psu.operational", (string?)components[$"redfish:bmc:psu:1:{psu}"]["ruleId"]);
        for (var d = 0; d < 4; d++) Assert.Equal("drive.online", (string?)components[$"redfish:bmc:drive:1:RAID1:Disk.Bay.{d}"]["ruleId"]);
        for (var p = 1; p <= 4; p++) Assert.StartsWith("nic.max-speed", (string?)components[$"redfish:bmc:nic:1:NIC1:{p}"]["ruleId"]);
        Assert.Contains(components.Keys, k => k.StartsWith("redfish:bmc:psu-redundancy:", StringComparison.Ordinal));
        Assert.Contains(components.Keys, k => k.StartsWith("redfish:bmc:volume:", StringComparison.Ordinal));
        Assert.Equal(4, components.Keys.Count(k => k.StartsWith("redfish:bmc:fan:", StringComparison.Ordinal)));
        Assert.True(components.Keys.Count(k => k.StartsWith("redfish:bmc:temp:", StringComparison.Ordinal)) >= 3);
        Assert.Contains(components.Keys, k => k.StartsWith("redfish:bmc:bmc:", StringComparison.Ordinal));
        Assert.All(components.Values, c => Assert.NotEqual("unknown", (string?)c["state"]));
    }
}
