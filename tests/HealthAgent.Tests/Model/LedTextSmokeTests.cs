using HealthAgent.Model;

namespace HealthAgent.Tests.Model;

public class LedTextSmokeTests
{
    [Fact]
    public void Parse_SeedRebuildStopped_FormatsCanonical() =>
        Assert.Equal("blinking green for 3s, blinking amber for 3s, then off",
            LedText.Parse("Flashes green for 3 s, amber for 3 s, and then turns off after 6 s").ToString());
}
