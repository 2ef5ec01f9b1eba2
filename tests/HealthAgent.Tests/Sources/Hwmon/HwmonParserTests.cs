using HealthAgent.Sources.Hwmon;

namespace HealthAgent.Tests.Sources.Hwmon;

public class HwmonParserTests
{
    [Theory]
    [InlineData("temp1_input", SensorKind.Temperature, 1, "input")]
    [InlineData("in0_input", SensorKind.Voltage, 0, "input")]
    [InlineData("fan12_crit_alarm", SensorKind.Fan, 12, "crit_alarm")]
    [InlineData("power1_average", SensorKind.Power, 1, "average")]
    [InlineData("curr2_lcrit", SensorKind.Current, 2, "lcrit")]
    public void TryParseAttribute_KnownNames_Split(string file, SensorKind kind, int index, string item)
    {
        Assert.True(HwmonParser.TryParseAttribute(file, out var k, out var i, out var it));
        Assert.Equal((kind, index, item), (k, i, it));
    }

    [Theory]
    [InlineData("name")]
    [InlineData("pwm1")]
    [InlineData("temp_input")]
    [InlineData("temp1")]
    [InlineData("intrusion0_alarm")]
    [InlineData("temp1_")]
    public void TryParseAttribute_OtherNames_False(string file) => Assert.False(HwmonParser.TryParseAttribute(file, out _, out _, out _));

    [Theory]
    [InlineData(SensorKind.Temperature, "45500\n", 45.5)]
    [InlineData(SensorKind.Temperature, "-5000", -5.0)]
    [InlineData(SensorKind.Voltage, "12096", 12.096)]
    [InlineData(SensorKind.Fan, "1350", 1350.0)]
    [InlineData(SensorKind.Power, "15250000", 15.25)]
    [InlineData(SensorKind.Current, "1500", 1.5)]
    public void ParseValue_KernelUnits_ScaledToSi(SensorKind kind, string text, double expected) =>
        Assert.Equal(expected, HwmonParser.ParseValue(kind, text).Value!.Value, 9);

    [Theory]
    [InlineData("")]
    [InlineData("   \n")]
    [InlineData("4a000")]
    [InlineData("45.5")]
    [InlineData("99999999999999999999999")]
    public void ParseValue_Garbage_UnknownNotZero(string text)
    {
        var (v, why) = HwmonParser.ParseValue(SensorKind.Temperature, text);
        Assert.Null(v);
        Assert.False(string.IsNullOrEmpty(why));
    }

    [Fact]
    public void FoldAlarm_TrueWinsUnknownOnlyWhenAllUnknown()
    {
        Assert.True(HwmonParser.FoldAlarm(false, true));
        Assert.True(HwmonParser.FoldAlarm(null, true));
        Assert.False(HwmonParser.FoldAlarm(null, false));
        Assert.Null(HwmonParser.FoldAlarm(null, null));
    }
}
