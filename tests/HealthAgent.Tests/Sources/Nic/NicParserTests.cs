using HealthAgent.Sources;
using HealthAgent.Sources.Nic;

namespace HealthAgent.Tests.Sources.Nic;

public class NicParserTests
{
    private static FileRead B(string s) => new(s.TrimEnd('\n'), null);

    [Theory]
    [InlineData("1\n", true)]
    [InlineData("0\n", false)]
    [InlineData("0", false)]
    public void Carrier_ZeroOrOne_Parses(string text, bool expected) => Assert.Equal(expected, NicParser.Carrier(B(text)).Value);

    [Theory]
    [InlineData("")]
    [InlineData("2\n")]
    [InlineData("yes")]
    [InlineData("\u0001\u0002garbage")]
    public void Carrier_Garbage_UnknownWithReason(string text)
    {
        var r = NicParser.Carrier(B(text));
        Assert.Null(r.Value);
        Assert.StartsWith("carrier: ", r.Reason);
    }

    [Theory]
    [InlineData("10000\n", 10000.0)]
    [InlineData("1000", 1000.0)]
    [InlineData("25000\n", 25000.0)]
    public void Speed_Number_Mbps(string text, double expected)
    {
        var r = NicParser.Speed(B(text));
        Assert.Equal(expected, r.Value);
        Assert.Equal("Mbit/s", r.Unit);
    }

    [Theory]
    [InlineData("-1\n")]
    [InlineData("65535\n")]
    [InlineData("4294967295\n")]
    [InlineData("0\n")]
    public void Speed_SpeedUnknown_UnknownNotZero(string text)
    {
        var r = NicParser.Speed(B(text));
        Assert.Null(r.Value);
        Assert.Contains("SPEED_UNKNOWN", r.Reason);
    }

    [Theory]
    [InlineData("")]
    [InlineData("fast")]
    [InlineData("99999999999999999999999")]
    [InlineData("1e4")]
    public void Speed_Garbage_Unknown(string text) => Assert.Null(NicParser.Speed(B(text)).Value);

    [Theory]
    [InlineData("full\n", "full")]
    [InlineData("half\n", "half")]
    [InlineData("unknown\n", null)]
    [InlineData("sideways", null)]
    public void Duplex_Words_Parse(string text, string? expected) => Assert.Equal(expected, NicParser.Duplex(B(text)).Value);

    [Theory]
    [InlineData("up\n", "up")]
    [InlineData("lowerlayerdown\n", "lowerlayerdown")]
    [InlineData("unknown\n", "unknown")]
    [InlineData("dormant", "dormant")]
    [InlineData("sideways", null)]
    public void OperState_Words_Parse(string text, string? expected) => Assert.Equal(expected, NicParser.OperState(B(text)).Value);

    [Fact]
    public void Counter_Large_ParsesAsDouble()
    {
        Assert.Equal(18446744073709551615d, NicParser.Counter("rxBytes", "statistics/rx_bytes", B("18446744073709551615\n")).Value);
        Assert.Equal("statistics/rx_bytes: EIO: I/O error", NicParser.Counter("rxBytes", "statistics/rx_bytes", FileRead.Fail("EIO: I/O error")).Reason);
        Assert.Null(NicParser.Counter("rxBytes", "statistics/rx_bytes", B("-5")).Value);
    }

    [Fact]
    public void Activity_FirstPoll_UnknownNotIdle()
    {
        var r = NicParser.Activity(null, new NicCounters(1, 2));
        Assert.Null(r.Value);
        Assert.Contains("second poll", r.Reason);
    }

    [Fact]
    public void Activity_CountersMovedOrNot_TrueOrFalse()
    {
        Assert.Equal(true, NicParser.Activity(new NicCounters(1, 2), new NicCounters(1, 3)).Value);
        Assert.Equal(true, NicParser.Activity(new NicCounters(100, 2), new NicCounters(5, 2)).Value); // reset counts as movement
        Assert.Equal(false, NicParser.Activity(new NicCounters(1, 2), new NicCounters(1, 2)).Value);
        Assert.Null(NicParser.Activity(new NicCounters(1, 2), null).Value);
    }

    [Fact]
    public void IsWatched_IncludeWinsExcludeFiltersDevices()
    {
        Assert.True(NicParser.IsWatched("eth0", hasDevice: true, [], []));
        Assert.False(NicParser.IsWatched("veth0", hasDevice: false, [], []));
        Assert.True(NicParser.IsWatched("veth0", hasDevice: false, ["veth*"], []));
        Assert.False(NicParser.IsWatched("eth1", hasDevice: true, [], ["eth1"]));
        Assert.True(NicParser.IsWatched("eth1", hasDevice: true, ["eth1"], ["*"]));
        Assert.False(NicParser.IsWatched("eth0", hasDevice: true, ["eth1"], ["*"]));
        Assert.True(NicParser.IsWatched("ha12ab", hasDevice: false, ["ha*a*"], []));
        Assert.False(NicParser.IsWatched("ha12ab", hasDevice: false, ["ha*a"], []));
        Assert.False(NicParser.IsWatched("eno1", hasDevice: false, ["ENO1"], []));
    }

    [Fact]
    public void ReadError_Einval_UnknownSaysAdminDown()
    {
        var r = NicParser.Speed(FileRead.Fail("EINVAL: the driver rejected the read (channel disabled or device not ready)"));
        Assert.Null(r.Value);
        Assert.Equal("speed: EINVAL (the kernel reports no value, e.g. while the interface is administratively down)", r.Reason);
        Assert.Equal("carrier: missing", NicParser.Carrier(FileRead.Fail("missing")).Reason);
    }

    [Fact]
    public void ParseMbps_HookFile_PositiveNumbersOnly()
    {
        Assert.Equal(25000d, NicParser.ParseMbps("25000\n"));
        Assert.Null(NicParser.ParseMbps("0"));
        Assert.Null(NicParser.ParseMbps("fast"));
    }
}
