using HealthAgent.Sources.Smart;
using static HealthAgent.Tests.Sources.SourceTestKit;

namespace HealthAgent.Tests.Sources.Smart;

public class SmartParserTests
{
    private static string Fixture(string name) => File.ReadAllText(Path.Combine(Case("smartctl"), name));

    [Fact]
    public void ParseScan_MegaraidTargets_TypesKeptIdsDistinct()
    {
        var (devices, error) = SmartParser.ParseScan(Fixture("scan-megaraid-host.json"));
        Assert.Null(error);
        Assert.Equal(6, devices.Count);
        Assert.Equal(["smart:sda", "smart:nvme0", "smart:bus-0-megaraid-0", "smart:bus-0-megaraid-1", "smart:sdb-sat-megaraid-2", "smart:sdx"], devices.Select(d => d.Id));
        Assert.Equal("No such device or address", devices[^1].OpenError);
    }

    [Theory]
    [InlineData("")]
    [InlineData("[1,2]")]
    [InlineData("{\"smartctl\":\"x\"}")]
    [InlineData("{\"json_format_version\":[1,0],\"smartctl\":{\"version\":[6,6]}}")]
    public void ParseScan_Bad_ErrorNotException(string text) => Assert.NotNull(SmartParser.ParseScan(text).Error);

    [Fact]
    public void ParseDevice_ExitBits_MapToReadings()
    {
        var r = SmartParser.ParseDevice("{\"smartctl\":{\"exit_status\":228},\"smart_status\":{\"passed\":true}}", 228); // 4+32+64+128
        bool Flag(string n) => (bool)r.Readings.Single(x => x.Name == n).Value!;
        Assert.False(Flag("failing"));
        Assert.False(Flag("prefailNow"));
        Assert.True(Flag("prefailPast"));
        Assert.True(Flag("errorLogErrors"));
        Assert.True(Flag("selfTestErrors"));
        Assert.Contains(r.Messages, m => m.Contains("exit bit 2"));
    }

    [Fact]
    public void ParseDevice_CommandLineBit_Fatal() =>
        Assert.Contains("command line", SmartParser.ParseDevice("{\"smartctl\":{\"exit_status\":1,\"messages\":[{\"string\":\"bad option\"}]}}", 1).Fatal);

    [Theory]
    [InlineData("{\"smart_status\":1,\"smartctl\":{\"exit_status\":0}}")]
    [InlineData("{\"smartctl\":[]}")]
    [InlineData("{\"ata_smart_attributes\":{\"table\":[1,\"x\",{\"id\":\"5\"}]}}")]
    [InlineData("null")]
    public void ParseDevice_OddShapes_NoException(string json)
    {
        var r = SmartParser.ParseDevice(json, 0);
        Assert.True(r.Fatal is not null || r.Readings.Count > 0);
    }

    [Fact]
    public void ParseDevice_Standby_NoReadingsButStandbyFlag()
    {
        var r = SmartParser.ParseDevice(Fixture("hgst-hus726t4-standby.json"), 2);
        Assert.True(r.Standby);
        Assert.Null(r.Fatal);
    }
}
