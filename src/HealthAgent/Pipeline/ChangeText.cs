using System.Globalization;
using System.Text;
using HealthAgent.Model;
using HealthAgent.Rules;

namespace HealthAgent.Pipeline;

/// <summary>
/// The words of one console line about a component: its human name ("PSU 2 [panel]", not <c>panel:psu:2</c>), the
/// LED, the meaning and the key reading against the limit the derivation row compared it with
/// (<c>CPU1 Temp 97 °C ≥ 95 °C critical</c>).
/// </summary>
public static class ChangeText
{
    /// <summary>The component's name and, in brackets, where it was read (panel, the BMC's name, nic, hwmon …).</summary>
    public static string PartName(ComponentRef c)
    {
        var parts = c.Id.Split(':');
        var from = parts.Length > 1 && parts[0] == "redfish" ? parts[1] : parts[0];
        var name = string.IsNullOrWhiteSpace(c.Name) ? c.Id : c.Name;
        return name.Contains(from, StringComparison.OrdinalIgnoreCase) ? name : $"{name} [{from}]";
    }

    /// <summary>
    /// The reading the deciding derivation row compared, against its limit: "97 °C ≥ 95 °C critical"; for a row
    /// without a comparison, the reading alone ("45 °C"). Null when the component has no such reading.
    /// </summary>
    public static string? ReadingVsLimit(Evaluation e, RuleSet rules)
    {
        // Only a problem is "against a limit"; an ok row's comparisons ("at least 1 spare PSU") say nothing to read.
        var problem = e.Verdict.Severity >= Severity.Warning || e.Verdict.State is not (HwState.Ok or HwState.Unknown);
        foreach (var t in problem ? e.Trace : [])
        {
            if (rules.FindDerivation(t.Table) is not { } table) continue;
            var rows = t.Led == "health" ? table.Health : table.Leds.GetValueOrDefault(t.Led) ?? [];
            if (rows.FirstOrDefault(r => r.Id == t.RowId) is not { } row) continue;
            foreach (var c in row.When)
            {
                if (c.Op is not (CompareOp.Lt or CompareOp.Le or CompareOp.Gt or CompareOp.Ge)) continue;
                if (Number(e.Readings, c.Reading) is not { } value) continue;
                var unit = Unit(e.Readings.FirstOrDefault(r => r.Name == c.Reading)?.Unit);
                double? limit = c.OperandReading is { } lr ? Number(e.Readings, lr) : c.Operand is double d ? d : null;
                if (limit is null) continue;
                // A limit from the rule table itself (no reading behind it) is named after what was compared.
                return c.OperandReading is { } name
                    ? $"{Num(value)}{unit} {Symbol(c.Op)} {Num(limit.Value)}{unit} {LimitName(name)}"
                    : $"{c.Reading} {Num(value)}{unit} {Symbol(c.Op)} {Num(limit.Value)}{unit}";
            }
        }
        // No comparison decided (an ok row): the main reading, when it is a measurement with a unit.
        var main = e.Trace.SelectMany(t => t.Inputs).Select(kv => kv.Key)
            .Select(k => e.Readings.FirstOrDefault(r => r.Name == k)).FirstOrDefault(r => r is { Value: double, Unit.Length: > 0 });
        return main is null ? null : Num((double)main.Value!) + Unit(main.Unit);
    }

    /// <summary>
    /// One line's text after the name: "blinking amber — Indicates a problem with the PSU." or, for sensors,
    /// "97 °C ≥ 95 °C critical — The temperature is at or above the BMC's critical limit."
    /// </summary>
    public static string What(Evaluation e, RuleSet rules)
    {
        var sb = new StringBuilder();
        if (e.Verdict.State == HwState.Unknown)
        {
            // The reason goes on its own line (Unknown's action): it often ends in what to configure.
            sb.Append("unknown");
            if (e.Led is { } partly && partly.States.Any(s => s is not null)) sb.Append(" (").Append(partly).Append(')');
            return sb.ToString();
        }
        if (e.Led is { } led) sb.Append(led);
        if (ReadingVsLimit(e, rules) is { } r) sb.Append(sb.Length > 0 ? ", " : "").Append(r);
        if (sb.Length > 0) sb.Append(" — ");
        sb.Append(e.Verdict.Meaning);
        return sb.ToString();
    }

    /// <summary>UCUM units as people write them ("Cel" is °C).</summary>
    public static string Unit(string? unit) => unit switch
    {
        null or "" => "",
        "Cel" or "°C" => " °C",
        "%" => " %",
        "{rpm}" or "rpm" or "RPM" => " RPM",
        "By" => " bytes",
        _ => " " + unit,
    };

    private static string LimitName(string reading) => reading switch
    {
        "upperFatal" => "fatal",
        "upperCritical" or "crit" => "critical",
        "upperCaution" => "caution",
        "max" => "high limit",
        "lowerFatal" => "low fatal",
        "lowerCritical" or "lcrit" => "low critical",
        "lowerCaution" => "low caution",
        "min" => "low limit",
        _ => reading,
    };

    private static string Symbol(CompareOp op) => op switch { CompareOp.Lt => "<", CompareOp.Le => "≤", CompareOp.Gt => ">", _ => "≥" };

    private static double? Number(IReadOnlyList<Reading> readings, string name) =>
        readings.FirstOrDefault(r => r.Name == name)?.Value switch { double d => d, int i => i, long l => l, _ => null };

    private static string Num(double v) => v.ToString("0.##", CultureInfo.InvariantCulture);
}
