using System.Globalization;
using HealthAgent.Model;

namespace HealthAgent.Rules;

/// <summary>Which derivation row decided, and from which readings (for `snapshot --why`).</summary>
public sealed record DerivationTrace(string Table, string Led, string RowId, IReadOnlyDictionary<string, object?> Inputs, string? Note);

/// <summary>The outcome of deriving one component: an indicator state, a sensor verdict, or unknown with reasons.</summary>
public sealed record Derived(IndicatorState? Led, Verdict? Verdict, IReadOnlyList<string> Unknown, IReadOnlyList<DerivationTrace> Trace)
{
    /// <summary>Row ids chosen, by LED (or "health"), to feed back as "previous" for hysteresis.</summary>
    public IReadOnlyDictionary<string, string> Rows => Trace.ToDictionary(t => t.Led, t => t.RowId);
}

/// <summary>Evaluates derivation tables: the first row whose conditions all hold wins; an unknown reading makes a condition false.</summary>
public static class Deriver
{
    public static Derived Derive(DerivationTable table, IndicatorFamily? family, Observation obs, IReadOnlyDictionary<string, string>? previousRows = null)
    {
        var traces = new List<DerivationTrace>();
        var unknown = new List<string>();
        IndicatorState? led = null;
        if (family is not null && table.Leds.Count > 0)
        {
            var states = new LedState?[family.Leds.Count];
            for (var i = 0; i < family.Leds.Count; i++)
            {
                var name = family.Leds[i];
                if (!table.Leds.TryGetValue(name, out var rows)) { unknown.Add($"{name}: no derivation rows for this LED"); continue; }
                var row = FirstMatch(table, rows, obs, previousRows?.GetValueOrDefault(name));
                if (row is null) { unknown.Add($"{name}: no derivation row matched"); continue; }
                traces.Add(Trace(table, name, row, obs));
                if (row.Unknown is not null) unknown.Add($"{name}: {WithReasons(row.Unknown, row, obs)}");
                else states[i] = row.Led;
            }
            led = new IndicatorState(family.Leds, states);
        }
        Verdict? verdict = null;
        if (table.Health.Count > 0)
        {
            var row = FirstMatch(table, table.Health, obs, previousRows?.GetValueOrDefault("health"));
            // In a family table, health rows only override the LED's verdict: none matching is not unknown.
            if (row is null) { if (family is null) unknown.Add("no derivation row matched"); }
            else
            {
                traces.Add(Trace(table, "health", row, obs));
                if (row.Unknown is not null) unknown.Add(WithReasons(row.Unknown, row, obs));
                else verdict = row.Verdict;
            }
        }
        return new Derived(led, verdict, unknown, traces);
    }

    /// <summary>
    /// An unknown row's text plus why the readings it tests are unknown, as the source said it
    /// ("… (readingCelsius: ReadingCelsius is a string ("95"), not a number)"), so the reason is the real one.
    /// </summary>
    private static string WithReasons(string text, DerivationRow row, Observation obs)
    {
        var reasons = row.When.Select(c => c.Reading).Distinct()
            .Select(n => obs.Readings.FirstOrDefault(r => r.Name == n && r.Value is null && r.Reason is not null))
            .OfType<Reading>().Select(r => $"{r.Name}: {r.Reason}").ToList();
        return reasons.Count == 0 ? text : $"{text} ({string.Join("; ", reasons)})";
    }

    private static DerivationTrace Trace(DerivationTable table, string led, DerivationRow row, Observation obs)
    {
        var inputs = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var c in row.When)
        {
            inputs[c.Reading] = obs[c.Reading];
            if (c.OperandReading is { } r) inputs[r] = obs[r];
        }
        return new DerivationTrace(table.Key, led, row.Id, inputs, row.Note);
    }

    private static DerivationRow? FirstMatch(DerivationTable table, IReadOnlyList<DerivationRow> rows, Observation obs, string? previousRowId)
    {
        // Hysteresis: the previous row stays while its numeric limits hold within the table's margin.
        if (previousRowId is not null && table.Hysteresis > 0 && rows.FirstOrDefault(r => r.Id == previousRowId) is { } prev
            && prev.When.Any(c => c.Op is CompareOp.Lt or CompareOp.Le or CompareOp.Gt or CompareOp.Ge)
            && prev.When.All(c => Holds(c, obs, table.Hysteresis)))
        {
            // ...unless a row before it now matches outright (a worse condition must not be held back).
            foreach (var r in rows)
            {
                if (r == prev) return prev;
                if (r.When.All(c => Holds(c, obs, 0))) return r;
            }
        }
        foreach (var r in rows)
            if (r.When.All(c => Holds(c, obs, 0))) return r;
        return null;
    }

    private static bool Holds(Condition c, Observation obs, double margin)
    {
        var value = obs[c.Reading];
        if (c.Op == CompareOp.Known) return (value is not null) == (bool)c.Operand!;
        if (value is null) return false; // unknown never satisfies a test
        var operand = c.OperandReading is { } r ? obs[r] : c.Operand;
        if (c.Op == CompareOp.In) return c.Set!.Any(x => Same(value, x));
        if (operand is null) return false;
        switch (c.Op)
        {
            case CompareOp.Eq: return Same(value, operand);
            case CompareOp.Ne: return !Same(value, operand);
        }
        if (!TryDouble(value, out var v) || !TryDouble(operand, out var o)) return false;
        return c.Op switch
        {
            CompareOp.Lt => v < o + margin,
            CompareOp.Le => v <= o + margin,
            CompareOp.Gt => v > o - margin,
            _ => v >= o - margin,
        };
    }

    private static bool Same(object a, object b) =>
        TryDouble(a, out var x) && TryDouble(b, out var y) ? Math.Abs(x - y) < 1e-9
        : a is string sa && b is string sb ? string.Equals(sa, sb, StringComparison.OrdinalIgnoreCase)
        : a.Equals(b);

    private static bool TryDouble(object o, out double d)
    {
        switch (o)
        {
            case double x: d = x; return true;
            case int i: d = i; return true;
            case long l: d = l; return true;
            case float f: d = f; return true;
            default: d = 0; return false;
        }
    }

    internal static string Show(object? v) => v switch
    {
        null => "unknown",
        double d => d.ToString("0.###", CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        _ => v.ToString() ?? "",
    };
}
