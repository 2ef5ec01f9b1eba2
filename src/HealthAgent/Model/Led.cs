using System.Globalization;

namespace HealthAgent.Model;

/// <summary>LED colours the rule tables use. Amber is also called orange.</summary>
public enum LedColor { Green, Amber, Blue, White, Red }

/// <summary>What an LED does: dark, lit, blinking, or a timed sequence of steps.</summary>
public enum LedPattern { Off, Solid, Blinking, Sequence }

/// <summary>How a timed sequence ends: it stays on its last step, turns off, or starts again.</summary>
public enum SequenceEnd { Hold, Off, Repeat }

/// <summary>Named blink rates ("slowly", "rapidly") or an exact frequency ("twice per second" = 2 Hz).</summary>
public enum RateKind { Slow, Fast, Hz }

/// <summary>A blink rate. Named rates carry a nominal frequency for drawing; matching compares them by range.</summary>
public readonly record struct BlinkRate(RateKind Kind, double Hz)
{
    /// <summary>Nominal frequencies used to draw named rates (the seed gives none).</summary>
    public const double SlowHz = 1.0, FastHz = 4.0, DefaultHz = 1.0;
    /// <summary>An exact frequency at or below this counts as "slow"; at or above <see cref="FastMinHz"/> as "fast".</summary>
    public const double SlowMaxHz = 1.5, FastMinHz = 3.0;

    public static readonly BlinkRate Slow = new(RateKind.Slow, SlowHz);
    public static readonly BlinkRate Fast = new(RateKind.Fast, FastHz);
    public static BlinkRate FromHz(double hz) => new(RateKind.Hz, hz);

    /// <summary>Whether two rates describe the same blinking: equal names, equal frequencies, or a frequency in a name's range.</summary>
    public bool IsCompatibleWith(BlinkRate other) => (Kind, other.Kind) switch
    {
        (RateKind.Hz, RateKind.Hz) => Math.Abs(Hz - other.Hz) < 1e-9,
        (RateKind.Hz, var named) => InRange(Hz, named),
        (var named, RateKind.Hz) => InRange(other.Hz, named),
        _ => Kind == other.Kind,
    };

    private static bool InRange(double hz, RateKind named) =>
        named == RateKind.Slow ? hz <= SlowMaxHz : hz >= FastMinHz;

    public override string ToString() => Kind switch
    {
        RateKind.Slow => "slow",
        RateKind.Fast => "fast",
        _ => Hz.ToString("0.###", CultureInfo.InvariantCulture) + "hz",
    };
}

/// <summary>One step of what an LED does. A plain state is a single step that holds.</summary>
/// <param name="Pattern">Off, Solid or Blinking (never Sequence).</param>
/// <param name="Color">Null when Off, or in a person's description that leaves the colour open (a wildcard).</param>
/// <param name="Rate">Blink rate; null when unspecified or not blinking.</param>
/// <param name="Count">Number of blinks ("five times"), when the step is counted.</param>
/// <param name="Seconds">How long the step lasts ("for 3 s"), when timed.</param>
public sealed record LedStep(LedPattern Pattern, LedColor? Color, BlinkRate? Rate = null, int? Count = null, double? Seconds = null)
{
    public static readonly LedStep Dark = new(LedPattern.Off, null);

    /// <summary>
    /// -1 when any field both sides specify differs; otherwise 2 points per field both specify and agree on,
    /// minus 1 per field only one side specifies (so an exact description beats one that merely leaves room).
    /// </summary>
    internal int Agreement(LedStep other)
    {
        if (Pattern != other.Pattern) return -1;
        var score = 4;
        // A colour left open ("the activity light is blinking") matches any colour, scoring less than a named one.
        if (Color is { } x && other.Color is { } y) { if (x != y) return -1; }
        else if (Color.HasValue != other.Color.HasValue) score -= 2;
        if (Rate is { } a && other.Rate is { } b) { if (!a.IsCompatibleWith(b)) return -1; score += 2; }
        else if (Rate.HasValue != other.Rate.HasValue) score--;
        if (Count is { } c && other.Count is { } d) { if (c != d) return -1; score += 2; }
        else if (Count.HasValue != other.Count.HasValue) score--;
        if (Seconds is { } s && other.Seconds is { } t) { if (Math.Abs(s - t) > 1e-9) return -1; score += 2; }
        else if (Seconds.HasValue != other.Seconds.HasValue) score--;
        return score;
    }
}

/// <summary>
/// The state of one LED: a list of steps and how the list ends. "off", "solid amber" and "blinking green 2hz"
/// are one step that holds; "blinking green 4hz x5, then off" is a counted step that ends dark.
/// Equality is by canonical text (<see cref="LedText.Format(LedState)"/>).
/// </summary>
public sealed class LedState : IEquatable<LedState>
{
    public static readonly LedState Off = new([LedStep.Dark], SequenceEnd.Hold);

    public LedState(IReadOnlyList<LedStep> steps, SequenceEnd end)
    {
        if (steps.Count == 0) throw new ArgumentException("An LED state needs at least one step.", nameof(steps));
        if (steps.Any(s => s.Pattern == LedPattern.Sequence)) throw new ArgumentException("A step cannot itself be a sequence.", nameof(steps));
        Steps = steps;
        End = end;
    }

    public static LedState Solid(LedColor color) => new([new LedStep(LedPattern.Solid, color)], SequenceEnd.Hold);
    public static LedState Blinking(LedColor color, BlinkRate? rate = null) => new([new LedStep(LedPattern.Blinking, color, rate)], SequenceEnd.Hold);

    public IReadOnlyList<LedStep> Steps { get; }
    public SequenceEnd End { get; }

    /// <summary>True when this is one plain step that holds (no count, no duration).</summary>
    public bool IsSimple => Steps.Count == 1 && End == SequenceEnd.Hold && Steps[0].Count is null && Steps[0].Seconds is null;
    public LedPattern Pattern => IsSimple ? Steps[0].Pattern : LedPattern.Sequence;
    public LedColor? Color => IsSimple ? Steps[0].Color : null;
    public BlinkRate? Rate => IsSimple ? Steps[0].Rate : null;

    /// <summary>
    /// How well an observed state fits this (rule) state: -1 when it does not, otherwise a score that grows with
    /// the fields both specify. Unspecified fields (rate, count, duration) on either side are wildcards.
    /// </summary>
    public int Agreement(LedState observed)
    {
        if (Steps.Count != observed.Steps.Count || End != observed.End) return -1;
        var score = 0;
        for (var i = 0; i < Steps.Count; i++)
        {
            var s = Steps[i].Agreement(observed.Steps[i]);
            if (s < 0) return -1;
            score += s;
        }
        return score;
    }

    public override string ToString() => LedText.Format(this);
    public bool Equals(LedState? other) => other is not null && ToString() == other.ToString();
    public override bool Equals(object? obj) => Equals(obj as LedState);
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(ToString());
}

/// <summary>
/// What an indicator shows: one state per LED, in the family's LED order (a NIC has link and activity;
/// most indicators have one LED). A null entry means the LED's state is unknown.
/// </summary>
public sealed class IndicatorState : IEquatable<IndicatorState>
{
    public IndicatorState(IReadOnlyList<string> ledNames, IReadOnlyList<LedState?> states)
    {
        if (ledNames.Count != states.Count || ledNames.Count == 0) throw new ArgumentException("One state per LED name is needed.");
        LedNames = ledNames;
        States = states;
    }

    public static IndicatorState Single(string ledName, LedState state) => new([ledName], [state]);

    public IReadOnlyList<string> LedNames { get; }
    public IReadOnlyList<LedState?> States { get; }
    public bool IsKnown => States.All(s => s is not null);
    public LedState? this[string led] => States[IndexOf(led)];

    private int IndexOf(string led)
    {
        for (var i = 0; i < LedNames.Count; i++) if (LedNames[i] == led) return i;
        throw new KeyNotFoundException($"no LED '{led}' in this indicator (has: {string.Join(", ", LedNames)})");
    }

    public override string ToString() => LedText.Format(this);
    public bool Equals(IndicatorState? other) => other is not null && ToString() == other.ToString();
    public override bool Equals(object? obj) => Equals(obj as IndicatorState);
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(ToString());
}
