using HealthAgent.Model;
using HealthAgent.Rules;

namespace HealthAgent.Tests.Rules;

public class EvaluatorTests
{
    private static readonly Evaluator Evaluator = new(SeedRules.Rules);

    private static Observation Nic(string seen) =>
        new(new ComponentRef("nic:test", "network", "test", Family: "nic"), [], LedText.ParseIndicator(seen, ["link", "activity"]));

    [Fact]
    public void Evaluate_ActivityUnknownButVerdictSame_UsesTheVerdict()
    {
        var e = Evaluator.Evaluate(Nic("link green"));
        Assert.Null(e.UnknownReason);
        Assert.Equal("nic.connected", e.Verdict.Code);
    }

    [Fact]
    public void Evaluate_ActivityUnknownAndVerdictsDiffer_IsUnknownNamingTheChoices()
    {
        var e = Evaluator.Evaluate(Nic("activity off"));
        Assert.Equal(HwState.Unknown, e.Verdict.State);
        // The choices are in the meaning; the reason stays the same whatever the known LEDs show (so it is
        // logged once, not on every flip of the activity LED).
        Assert.Contains("nic.connected", e.Verdict.Meaning);
        Assert.Contains("nic.reduced_speed", e.Verdict.Meaning);
        Assert.DoesNotContain("could be", e.UnknownReason);
    }

    [Fact]
    public void Evaluate_ObservedPsuBlinkingAmber_IsTheSeedRow()
    {
        var obs = new Observation(new ComponentRef("psu:1", "power_supply", "PSU 1", Family: "psu"), [], IndicatorState.Single("status", LedText.Parse("blinking amber")));
        var e = Evaluator.Evaluate(obs);
        Assert.Equal("psu.problem", e.Rule!.Id);
        Assert.Equal(Severity.Critical, e.Verdict.Severity);
    }

    [Fact]
    public void Evaluate_UnknownReason_GivesUnknownVerdictWithReason()
    {
        var obs = new Observation(new ComponentRef("psu:1", "power_supply", "PSU 1", Family: "psu"), [], UnknownReason: "BMC answered 500");
        var e = Evaluator.Evaluate(obs);
        Assert.Equal(HwState.Unknown, e.Verdict.State);
        Assert.Contains("BMC answered 500", e.Verdict.Meaning);
    }
}
