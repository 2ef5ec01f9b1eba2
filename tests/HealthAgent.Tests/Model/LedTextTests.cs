using FsCheck;
using FsCheck.Fluent;
using HealthAgent.Model;

namespace HealthAgent.Tests.Model;

public class LedTextTests
{
    public static TheoryData<string, string> SeedWordings => new()
    {
        { "Blue solid", "solid blue" },
        { "Blue blinking", "blinking blue" },
        { "Amber solid", "solid amber" },
        { "Amber blinking", "blinking amber" },
        { "Off (default state)", "off" },
        { "White solid", "solid white" },
        { "Blinks white rapidly", "blinking white fast" },
        { "Blinks white slowly", "blinking white slow" },
        { "Blinks white five times rapidly and then turns off", "blinking white fast x5, then off" },
        { "Green", "solid green" },
        { "Blinking amber", "blinking amber" },
        { "Not illuminated", "off" },
        { "Blinking green", "blinking green" },
        { "Blinking green and turns off", "blinking green, then off" },
        { "the PSU handle blinks green five times at a rate of 4Hz and turns off", "blinking green 4hz x5, then off" },
        { "Flashes green twice per second", "blinking green 2hz" },
        { "Off", "off" },
        { "Flashes green, amber and then turns off", "blinking green, blinking amber, then off" },
        { "Flashes amber four times per second", "blinking amber 4hz" },
        { "Flashes green slowly", "blinking green slow" },
        { "Steady green", "solid green" },
        { "Flashes green for 3 s, amber for 3 s, and then turns off after 6 s", "blinking green for 3s, blinking amber for 3s, then off" },
    };

    [Theory]
    [MemberData(nameof(SeedWordings))]
    public void Parse_SeedWording_GivesCanonicalTextThatRoundTrips(string wording, string canonical)
    {
        var state = LedText.Parse(wording);
        Assert.Equal(canonical, state.ToString());
        Assert.Equal(state, LedText.Parse(state.ToString()));
    }

    public static TheoryData<string, string> NicWordings => new()
    {
        { "Link and activity indicators are off", "link off; activity off" },
        { "Link indicator is green and activity indicator is blinking green", "link solid green; activity blinking green" },
        { "Link indicator is amber and activity indicator is blinking green", "link solid amber; activity blinking green" },
        { "Link indicator is green and activity indicator is off", "link solid green; activity off" },
        { "Link indicator is amber and activity indicator is off", "link solid amber; activity off" },
        { "Link indicator is blinking green and activity is off", "link blinking green; activity off" },
    };

    [Theory]
    [MemberData(nameof(NicWordings))]
    public void ParseIndicator_NicSeedWording_RoundTrips(string wording, string canonical)
    {
        var state = LedText.ParseIndicator(wording, ["link", "activity"]);
        Assert.Equal(canonical, state.ToString());
        Assert.Equal(state, LedText.ParseIndicator(state.ToString(), ["link", "activity"]));
    }

    [Fact]
    public void ParseIndicator_OneLedNamed_OtherUnknown()
    {
        var state = LedText.ParseIndicator("link amber", ["link", "activity"]);
        Assert.Equal("link solid amber; activity unknown", state.ToString());
        Assert.False(state.IsKnown);
    }

    [Theory]
    [InlineData("blinking purple", "'purple'")]
    [InlineData("solid", "no colour")]
    [InlineData("amber wobbling", "'wobbling'")]
    [InlineData("solid amber 4hz", "no blink rate")]
    [InlineData("", "no LED state")]
    [InlineData("off amber", "no colour")]
    [InlineData("green & amber", "'&'")]
    public void Parse_NotUnderstood_NamesTheProblem(string text, string expected)
    {
        var e = Assert.Throws<LedTextException>(() => LedText.Parse(text));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void ParseIndicator_NoLedNamedOnNic_AsksWhichLed()
    {
        var e = Assert.Throws<LedTextException>(() => LedText.ParseIndicator("blinking green", ["link", "activity"]));
        Assert.Contains("which LED", e.Message);
    }

    [Theory]
    [InlineData("blinking amber", "blinking amber 4hz", true)]
    [InlineData("blinking amber fast", "blinking amber 4hz", true)]
    [InlineData("blinking amber slow", "blinking amber 4hz", false)]
    [InlineData("blinking green slow", "blinking green 1hz", true)]
    [InlineData("blinking green 2hz", "blinking green slow", false)]
    [InlineData("solid green", "blinking green", false)]
    [InlineData("blinking green 4hz x5, then off", "blinking green, then off", true)]
    public void Agreement_WildcardsAndRanges(string rule, string seen, bool compatible) =>
        Assert.Equal(compatible, LedText.Parse(rule).Agreement(LedText.Parse(seen)) >= 0);

    [Fact]
    public void Json_Sequence_CarriesStepsAndEnd()
    {
        var o = LedJson.State(LedText.Parse("blinking green 4hz x5, then off"));
        Assert.Equal("sequence", (string?)o["pattern"]);
        Assert.Equal("off", (string?)o["end"]);
        var step = o["steps"]![0]!;
        Assert.Equal(5, (int)step["count"]!);
        Assert.Equal(4.0, (double)step["rate"]!["hz"]!);
    }

    // ---- property: format ∘ parse is the identity on every state the model can hold ----

    private static Gen<LedStep> StepGen() =>
        from pattern in Gen.Elements(LedPattern.Off, LedPattern.Solid, LedPattern.Blinking)
        from color in Gen.Elements(Enum.GetValues<LedColor>())
        from rateKind in Gen.Elements(0, 1, 2, 3)
        from hz in Gen.Choose(1, 40).Select(x => x / 4.0)
        from count in Gen.Elements<int?>(null, 2, 3, 5, 10)
        from secs in Gen.Elements<double?>(null, 0.5, 1, 3, 6)
        select pattern switch
        {
            LedPattern.Off => new LedStep(LedPattern.Off, null, null, null, secs),
            LedPattern.Solid => new LedStep(LedPattern.Solid, color, null, null, secs),
            _ => new LedStep(LedPattern.Blinking, color,
                rateKind switch { 0 => null, 1 => BlinkRate.Slow, 2 => BlinkRate.Fast, _ => BlinkRate.FromHz(hz) }, count, secs),
        };

    private static Gen<LedState> StateGen() =>
        from n in Gen.Choose(1, 4)
        from steps in Gen.ListOf(StepGen(), n)
        from end in Gen.Elements(SequenceEnd.Hold, SequenceEnd.Off, SequenceEnd.Repeat)
        let fixedEnd = steps.Count == 1 && steps[0].Pattern == LedPattern.Off ? SequenceEnd.Hold : end
        // A final "off" step with no duration and end Off would read as the ending itself; keep the generated form unambiguous.
        where !(steps[^1].Pattern == LedPattern.Off && steps[^1].Seconds is null && steps.Count > 1)
        select new LedState(steps.ToList(), fixedEnd);

    [Fact]
    public void Property_FormatThenParse_IsIdentity()
    {
        var prop = Prop.ForAll(StateGen().ToArbitrary(), s =>
        {
            var text = s.ToString();
            var back = LedText.Parse(text);
            return back.ToString() == text && back.Steps.Count == s.Steps.Count && back.End == s.End;
        });
        Check.One(FsCheck.Config.QuickThrowOnFailure.WithMaxTest(2000), prop);
    }

    [Fact]
    public void Property_IndicatorFormatThenParse_IsIdentity()
    {
        var gen = from a in StateGen() from b in StateGen() select new IndicatorState(["link", "activity"], [a, b]);
        var prop = Prop.ForAll(gen.ToArbitrary(), i => LedText.ParseIndicator(i.ToString(), ["link", "activity"]).ToString() == i.ToString());
        Check.One(FsCheck.Config.QuickThrowOnFailure.WithMaxTest(1000), prop);
    }
}
