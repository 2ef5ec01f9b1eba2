using HealthAgent.Model;
using HealthAgent.Pipeline;
using HealthAgent.Rules;
using static HealthAgent.Tests.Pipeline.PipelineFixtures;

namespace HealthAgent.Tests.Pipeline;

public class StateTrackerTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 21, 12, 0, 0, TimeSpan.Zero);
    private static DateTimeOffset At(double s) => T0.AddSeconds(s);

    [Fact]
    public void Observe_FirstOkObservation_PublishesStateWithoutEvent()
    {
        var t = new StateTracker(new Evaluator(Seed));
        var r = t.Observe(Psu("solid green"), T0);
        Assert.True(r.StatusChanged);
        Assert.Null(r.Transition);
        Assert.Equal("psu.ok", r.Status.Evaluation.Verdict.Code);
    }

    [Fact]
    public void Observe_FaultThenChangeThenOk_RaisesChangesAndClearsWithFromTo()
    {
        var t = new StateTracker(new Evaluator(Seed));
        t.Observe(Psu("solid green"), At(0));
        var raised = t.Observe(Psu("blinking amber"), At(1)).Transition;
        Assert.NotNull(raised);
        Assert.Equal(EventKind.Raised, raised.Kind);
        Assert.Equal("psu.ok", raised.From!.Code);
        Assert.Equal("psu.fault", raised.To.Code);
        Assert.Null(t.Observe(Psu("blinking amber"), At(2)).Transition);

        var changed = t.Observe(Psu("off"), At(3)).Transition;
        Assert.Equal(EventKind.Changed, changed!.Kind);
        Assert.Equal((Severity.Critical, Severity.Warning), (changed.From!.Severity, changed.To.Severity));

        var cleared = t.Observe(Psu("solid green"), At(4));
        Assert.Equal(EventKind.Cleared, cleared.Transition!.Kind);
        Assert.Equal("psu.no_input", cleared.Transition.From!.Code);
        Assert.Equal(At(4), cleared.Status.Since);
    }

    [Fact]
    public void Observe_RuleChangeWithinSameCode_UpdatesStateWithoutEvent()
    {
        var t = new StateTracker(new Evaluator(Seed));
        var first = t.Observe(Led(Nic0, "link solid green; activity blinking green"), At(0));
        var second = t.Observe(Led(Nic0, "link solid green; activity off"), At(1));
        Assert.Equal(first.Status.Evaluation.Verdict.Code, second.Status.Evaluation.Verdict.Code);
        Assert.NotEqual(first.Status.Evaluation.Rule!.Id, second.Status.Evaluation.Rule!.Id);
        Assert.True(second.StatusChanged);
        Assert.Null(second.Transition);
        Assert.Equal(At(0), second.Status.Since);
    }

    [Fact]
    public void Observe_DebounceSamples_RaisesOnlyAfterNInARow()
    {
        var t = new StateTracker(new Evaluator(WithDebounce("psu", new Debounce(Samples: 3))));
        t.Observe(Psu("solid green"), At(0));
        Assert.Null(t.Observe(Psu("blinking amber"), At(1)).Transition);
        Assert.Null(t.Observe(Psu("blinking amber"), At(2)).Transition);
        var shown = t.Observe(Psu("solid green"), At(3)); // a blip: the count starts again
        Assert.Null(shown.Transition);
        Assert.Null(t.Observe(Psu("blinking amber"), At(4)).Transition);
        var pending = t.Observe(Psu("blinking amber"), At(5));
        Assert.Null(pending.Transition);
        Assert.Equal("psu.ok", pending.Status.Evaluation.Verdict.Code); // the state shows the accepted condition meanwhile
        Assert.Equal(EventKind.Raised, t.Observe(Psu("blinking amber"), At(6)).Transition!.Kind);
    }

    [Fact]
    public void Observe_DebounceHoldSeconds_RaisesOnlyAfterHoldTime()
    {
        var t = new StateTracker(new Evaluator(WithDebounce("psu", new Debounce(HoldSeconds: 10))));
        t.Observe(Psu("solid green"), At(0));
        Assert.Null(t.Observe(Psu("blinking amber"), At(1)).Transition);
        Assert.Null(t.Observe(Psu("blinking amber"), At(6)).Transition);
        Assert.NotNull(t.Observe(Psu("blinking amber"), At(11)).Transition);
    }

    [Fact]
    public void Observe_TemperatureAroundLimit_HysteresisFromEvaluatorPreventsFlapping()
    {
        var t = new StateTracker(new Evaluator(Seed));
        t.Observe(Temp(70), At(0));
        Assert.Equal(EventKind.Raised, t.Observe(Temp(80.5), At(1)).Transition!.Kind);
        Assert.Null(t.Observe(Temp(79.0), At(2)).Transition); // within the 2 °C margin: still high
        Assert.Null(t.Observe(Temp(81.0), At(3)).Transition);
        Assert.Equal(EventKind.Cleared, t.Observe(Temp(77.5), At(4)).Transition!.Kind);
    }

    [Fact]
    public void Observe_UnknownBetweenFaults_ShowsUnknownButDoesNotClearOrRaise()
    {
        var t = new StateTracker(new Evaluator(Seed));
        t.Observe(Psu("solid green"), At(0));
        Assert.NotNull(t.Observe(Psu("blinking amber"), At(1)).Transition);
        var unknown = t.Observe(Unreadable(Psu1), At(2));
        Assert.Null(unknown.Transition);
        Assert.Equal(HwState.Unknown, unknown.Status.Evaluation.Verdict.State);
        Assert.True(unknown.StatusChanged);
        Assert.Null(t.Observe(Psu("blinking amber"), At(3)).Transition);
        Assert.Null(t.Observe(Unreadable(Psu1), At(4)).Transition);
        Assert.Equal(EventKind.Cleared, t.Observe(Psu("solid green"), At(5)).Transition!.Kind);
    }

    [Fact]
    public void Observe_FirstObservationUnknown_NoEvent()
    {
        var t = new StateTracker(new Evaluator(Seed));
        var r = t.Observe(Unreadable(Psu1), At(0));
        Assert.Null(r.Transition);
        Assert.Null(t.Accepted(Psu1.Id));
    }

    [Fact]
    public void Observe_AfterRestartWithSameConditionPersisted_DoesNotRaiseAgain()
    {
        var before = new StateTracker(new Evaluator(Seed));
        before.Observe(Psu("solid green"), At(0));
        before.Observe(Psu("blinking amber"), At(1));
        var persisted = before.Conditions();

        var after = new StateTracker(new Evaluator(Seed), persisted);
        var r = after.Observe(Psu("blinking amber"), At(100));
        Assert.Null(r.Transition);
        Assert.Equal(At(1), r.Status.Since); // since survives the restart
        Assert.Equal(EventKind.Cleared, after.Observe(Psu("solid green"), At(101)).Transition!.Kind);
    }

    [Fact]
    public void Observe_AfterRestartWithDifferentCondition_RaisesWithFromBeforeRestart()
    {
        var before = new StateTracker(new Evaluator(Seed));
        before.Observe(Psu("solid green"), At(0));
        var after = new StateTracker(new Evaluator(Seed), before.Conditions());
        var r = after.Observe(Psu("blinking amber"), At(100));
        Assert.Equal(EventKind.Raised, r.Transition!.Kind);
        Assert.Equal("psu.ok", r.Transition.From!.Code);
    }

    [Fact]
    public void Observe_FirstObservationIsFaultWithNothingPersisted_Raises()
    {
        var t = new StateTracker(new Evaluator(Seed));
        var r = t.Observe(Psu("blinking amber"), At(0));
        Assert.Equal(EventKind.Raised, r.Transition!.Kind);
        Assert.Null(r.Transition.From);
    }
}
