using HealthAgent.Rules;
using HealthAgent.Sources.FrontPanel;

namespace HealthAgent.Tests.Sources.FrontPanel;

public class FrontPanelParserTests
{
    private static readonly RuleSet Rules = RuleLoader.LoadEmbedded().Rules!;

    private static PanelParse P(string framed) => FrontPanelParser.Parse(framed.TrimEnd('\n'), Rules);

    [Fact]
    public void Frame_Checksum_IsXorOfPayload() => Assert.Equal("HB 7*" + (('H' ^ 'B' ^ ' ' ^ '7')).ToString("X2") + "\n", FrontPanelParser.FormatHeartbeat(7));

    [Fact]
    public void Parse_LedWithSequence_CanonicalState()
    {
        var led = Assert.IsType<PanelLed>(P(FrontPanelParser.Frame("LED psu 2 blinking green 4hz x5, then off")).Message);
        Assert.Equal(("psu", "2", "blinking green 4hz x5, then off"), (led.Family, led.Index, led.State.ToString()));
    }

    [Fact]
    public void Parse_LowercaseChecksum_Accepted() =>
        Assert.IsType<PanelHeartbeat>(P(FrontPanelParser.FormatHeartbeat(12).ToLowerInvariant().Replace("hb", "HB")).Message);

    [Theory]
    [InlineData("LED psu 1 solid green*00", PanelLineError.BadChecksum)]
    [InlineData("LED psu 1 solid green", PanelLineError.Malformed)]
    [InlineData("LED psu 1 solid green*G1", PanelLineError.Malformed)]
    public void Parse_BrokenFrame_Error(string line, PanelLineError expected) => Assert.Equal(expected, FrontPanelParser.Parse(line, Rules).Error);

    [Theory]
    [InlineData("LED toaster 1 solid green", PanelLineError.UnknownFamily)]
    [InlineData("LED psu 1 purple haze", PanelLineError.BadState)]
    [InlineData("LED psu 1", PanelLineError.Malformed)]
    [InlineData("LED psu 1/2 solid green", PanelLineError.Malformed)]
    [InlineData("HB x", PanelLineError.Malformed)]
    [InlineData("HELLO", PanelLineError.Malformed)]
    public void Parse_BadPayload_Error(string payload, PanelLineError expected) =>
        Assert.Equal(expected, P(FrontPanelParser.Frame(payload)).Error);

    [Fact]
    public void Framer_OverlongLine_DroppedWhole()
    {
        var f = new LineFramer();
        var lines = f.Feed(System.Text.Encoding.ASCII.GetBytes(new string('A', 500) + "\nHB 1*00\n"));
        Assert.Equal(["HB 1*00"], lines);
        Assert.Equal(1, f.OverlongLines);
    }
}

public class FrontPanelReadmeExampleTests
{
    [Theory]
    [InlineData("LED psu 2 blinking amber*72")]
    [InlineData("LED quicksync 1 blinking white slow*5C")]
    [InlineData("HB 17*2C")]
    [InlineData("SYNC*07")]
    public void Parse_ReadmeExample_Valid(string line) => Assert.Null(FrontPanelParser.Parse(line, RuleLoader.LoadEmbedded().Rules!).Error);
}
