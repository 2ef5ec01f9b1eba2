using HealthAgent.Model;

namespace HealthAgent.Rules;

/// <summary>Where a rule or error came from: a file (or embedded resource) and a 1-based line.</summary>
public readonly record struct SourceLocation(string File, int Line, int Column)
{
    public override string ToString() => $"{File}:{Line}:{Column}";
}

/// <summary>One validation error, printed as <c>file:line:col: message</c>.</summary>
public sealed record RuleError(SourceLocation Location, string Message)
{
    public override string ToString() => $"{Location}: {Message}";
}

/// <summary>Debounce for raising events: a condition must be seen this many polls in a row, or for this long.</summary>
public sealed record Debounce(int Samples = 1, double HoldSeconds = 0);

/// <summary>What a rule or a sensor row says about a component.</summary>
public sealed record Verdict(HwState State, Severity Severity, string Code, string Meaning, string Action);

/// <summary>One row of an indicator table: this LED state means this.</summary>
/// <param name="Row">Row number in the source table (1-based), for people checking against the manual.</param>
/// <param name="Seen">The LED column as the manual words it.</param>
/// <remarks>
/// <see cref="Verdict"/>'s action is <see cref="Advice"/> followed by <see cref="ManualAction"/>: our short advice
/// first, then the manual's own wording (its Action column or CAUTION notes).
/// </remarks>
public sealed record Rule(string Id, string Family, IndicatorState Led, Verdict Verdict, int? Row, string? Seen, Debounce? Debounce, SourceLocation Location)
{
    /// <summary>Our advice (the rule table's <c>advice:</c>), where the manual gives no action or too little; null when none.</summary>
    public string? Advice { get; init; }

    /// <summary>The manual's own action or CAUTION wording (the rule table's <c>action:</c>); null when the manual gives none.</summary>
    public string? ManualAction { get; init; }
}

/// <summary>Where a family's table comes from in a vendor document.</summary>
public sealed record TableSource(string Document, string Table);

/// <summary>An indicator family (system, nic, psu, …): its LEDs and its rule table.</summary>
public sealed record IndicatorFamily(
    string Name, string Title, IReadOnlyList<string> Aliases, string HwType, IReadOnlyList<string> Leds,
    TableSource? Source, Debounce? Debounce, IReadOnlyList<Rule> Rules, SourceLocation Location);

/// <summary>Comparison operators in a derivation condition.</summary>
public enum CompareOp { Eq, Ne, Lt, Le, Gt, Ge, In, Known }

/// <summary>One test on a reading: <c>speedMbps: { lt: $maxSpeedMbps }</c>. An operand starting with $ names another reading.</summary>
public sealed record Condition(string Reading, CompareOp Op, object? Operand, string? OperandReading, IReadOnlyList<object>? Set);

/// <summary>
/// One derivation row: when every condition holds, the LED shows <see cref="Led"/>, or the component's health is
/// <see cref="Verdict"/> (sensors, which have no LED), or the state is unknown for the reason <see cref="Unknown"/>.
/// </summary>
public sealed record DerivationRow(string Id, IReadOnlyList<Condition> When, LedState? Led, Verdict? Verdict, string? Unknown, string? Note, SourceLocation Location);

/// <summary>
/// A derivation table: readings → LED states (per LED of <see cref="Family"/>) or → health for LED-less sensors.
/// First matching row wins; <see cref="Hysteresis"/> keeps the previous row while its numeric limits are within the margin.
/// </summary>
public sealed record DerivationTable(
    string Key, string? Family, string? HwType, double Hysteresis,
    IReadOnlyDictionary<string, string> Inputs,
    IReadOnlyDictionary<string, IReadOnlyList<DerivationRow>> Leds,
    IReadOnlyList<DerivationRow> Health, SourceLocation Location);

/// <summary>Everything loaded from rules/: indicator families and derivation tables, with a content hash as version.</summary>
public sealed record RuleSet(IReadOnlyList<IndicatorFamily> Families, IReadOnlyList<DerivationTable> Derivations, string Version)
{
    /// <summary>Finds a family by name or alias, case-insensitively.</summary>
    public IndicatorFamily? FindFamily(string nameOrAlias)
    {
        // "power supply", "power_supply" and "power-supply" are one alias.
        var key = string.Join('-', nameOrAlias.Trim().ToLowerInvariant().Split([' ', '_', '-'], StringSplitOptions.RemoveEmptyEntries));
        return Families.FirstOrDefault(f => f.Name == key) ?? Families.FirstOrDefault(f => f.Aliases.Contains(key));
    }

    public DerivationTable? FindDerivation(string key) => Derivations.FirstOrDefault(d => d.Key == key);

    public Rule? FindRule(string id) => Families.SelectMany(f => f.Rules).FirstOrDefault(r => r.Id == id);
}
