using System.Text.Json.Nodes;
using HealthAgent.Cli;
using HealthAgent.Tests.Sources;
using static HealthAgent.Tests.Sources.SourceTestKit;

namespace HealthAgent.Tests.Cli;

public class SnapshotCommandTests
{
    /// <summary>One host: an nct6779 board with a stalled fan, md1 recovering at 37 %, the AC adapter offline; smart off (no real disks in tests).</summary>
    private static TempTree Appliance(out string config)
    {
        var t = Copy("nct6779-fan-stalled");
        foreach (var c in new[] { "md-raid1-recovering-37pct", "acpi-ac-offline" }) Merge(Case(c), t.Root);
        config = t["agent.json"];
        File.WriteAllText(config, """{ "sources": { "smart": { "enabled": false } } }""");
        return t;
    }

    private static void Merge(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var f in Directory.GetFiles(from)) File.Copy(f, Path.Combine(to, Path.GetFileName(f)), overwrite: true);
        foreach (var d in Directory.GetDirectories(from)) Merge(d, Path.Combine(to, Path.GetFileName(d)));
    }

    private static async Task<(int Exit, string Out, string Err)> Run(string? config, string? root, bool json, bool why = false)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        var exit = await SnapshotCommand.RunAsync(config, root, json, why, o, e);
        return (exit, o.ToString(), e.ToString());
    }

    [Fact]
    public async Task Json_FixtureRoot_IdsLedsRulesAndWhy()
    {
        using var t = Appliance(out var config);
        var (exit, output, err) = await Run(config, t.Root, json: true);
        Assert.Equal(2, exit); // a fan stalled: critical
        Assert.Equal("", err);
        var doc = JsonNode.Parse(output)!.AsObject();
        Assert.Equal(2, (int)doc["exitCode"]!);
        Assert.StartsWith("CRITICAL: ", (string?)doc["summary"], StringComparison.Ordinal);
        Assert.Contains(doc["problems"]!.AsArray(), p => (string?)p!["root"]!["part"]!["id"] == "hwmon:nct6779:fan2");
        var components = doc["components"]!.AsArray().Select(c => c!.AsObject()).ToDictionary(c => (string)c["component"]!["id"]!);

        var rebuilding = components["mdraid:md1:sdd1"];
        Assert.Equal("healthagent/v2/state", (string?)rebuilding["schema"]); // the one contract MQTT and the web API use
        Assert.Equal("blinking green slow", (string?)rebuilding["led"]!["text"]);
        Assert.Equal("drive.rebuilding", (string?)rebuilding["ruleId"]);
        Assert.Equal("warning", (string?)rebuilding["severity"]);
        Assert.Equal("physical_disk", (string?)rebuilding["component"]!["hwType"]);
        Assert.Equal("mdraid:md1", (string?)rebuilding["component"]!["parent"]);
        Assert.Equal("mdraid", (string?)rebuilding["source"]);
        Assert.Equal("blinking", (string?)rebuilding["led"]!["leds"]!["status"]!["pattern"]);
        Assert.Equal("drive.md.recovering", (string?)rebuilding["why"]![0]!["row"]);
        Assert.Equal(true, (bool?)rebuilding["why"]![0]!["inputs"]!["recovering"]);

        Assert.Equal("solid green", (string?)components["mdraid:md0:sda1"]["led"]!["text"]);
        Assert.Equal("drive.online", (string?)components["mdraid:md0:sda1"]["ruleId"]);

        var ac = components["powersupply:ACAD"];
        Assert.Equal("off", (string?)ac["led"]!["text"]);
        Assert.Equal("psu.no-power", (string?)ac["ruleId"]);

        var fan = components["hwmon:nct6779:fan2"];
        Assert.Null(fan["led"]);
        Assert.Equal("critical", (string?)fan["severity"]);
        Assert.Equal("failed", (string?)fan["state"]);
        Assert.Equal("sensor.fan_stopped", (string?)fan["code"]);
        Assert.Equal("sensor.fan.stalled", (string?)fan["why"]![0]!["row"]);
        var value = fan["readings"]!.AsArray().Single(r => (string?)r!["name"] == "value")!;
        Assert.Equal(0.0, (double)value["value"]!);
        Assert.Equal("rpm", (string?)value["unit"]);

        Assert.Equal("mdraid.array.recovering", (string?)components["mdraid:md1"]["why"]![0]!["row"]);
        Assert.Empty(doc["errors"]!.AsArray());
        Assert.DoesNotContain(doc["notPresent"]!.AsArray(), n => (string?)n!["source"] is "hwmon" or "mdraid" or "powersupply");
    }

    [Fact]
    public async Task Json_BareVm_NoComponentsSourcesNotPresentExitZero()
    {
        using var t = Copy();
        var config = t["agent.json"];
        File.WriteAllText(config, """{ "sources": { "smart": { "enabled": false } } }""");
        var (exit, output, _) = await Run(config, t.Root, json: true);
        Assert.Equal(0, exit);
        var doc = JsonNode.Parse(output)!.AsObject();
        Assert.Empty(doc["components"]!.AsArray());
        Assert.StartsWith("OK: no problems", (string?)doc["summary"], StringComparison.Ordinal);
        Assert.Empty(doc["errors"]!.AsArray());
        var absent = doc["notPresent"]!.AsArray().Select(n => (string)n!["source"]!).ToList();
        Assert.Contains("hwmon", absent);
        Assert.Contains("mdraid", absent);
        Assert.Contains("powersupply", absent);
    }

    [Fact]
    public async Task Text_WithWhy_GroupsByFamilyAndShowsDerivationRows()
    {
        using var t = Appliance(out var config);
        var (exit, output, _) = await Run(config, t.Root, json: false, why: true);
        Assert.Equal(2, exit);
        Assert.StartsWith("CRITICAL: ", output.TrimEnd().Split('\n')[^1], StringComparison.Ordinal); // ends with the one-line summary
        Assert.Contains("drive", output);
        Assert.Contains("blinking green slow", output);
        Assert.Contains("why: sensor.fan › sensor.fan.stalled (value=0, min=300)", output);
        Assert.Contains("Power is not connected.", output);

        using var empty = Copy();
        var bare = await Run(config, empty.Root, json: false);
        Assert.Contains("hwmon: not present", bare.Out);
    }

    [Fact]
    public async Task Run_BadConfigOrRoot_ExitThreeUnknownWithMessage()
    {
        using var t = Copy();
        var config = t["agent.json"];
        File.WriteAllText(config, """{ "sources": { "hwmon": { "fileTimeoutMs": 0, "bogus": 1 } } }""");
        var (exit, _, err) = await Run(config, t.Root, json: true);
        Assert.Equal(3, exit); // unknown: the check could not run
        Assert.Contains("fileTimeoutMs", err);
        Assert.Contains("bogus", err);

        File.WriteAllText(config, "{}");
        Assert.Equal(3, (await Run(config, t["nope"], json: true)).Exit);
    }
}
