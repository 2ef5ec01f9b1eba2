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

/// <summary>
/// A test on an observed component or its condition (rules/parts): every field given must hold; a list means "any of".
/// </summary>
/// <param name="Sources">Source keys (agent.json <c>sources.&lt;key&gt;</c>), e.g. frontPanel, redfish.</param>
/// <param name="Codes">Condition codes (the rule's <c>code</c>), e.g. psu.fault.</param>
/// <param name="Severities">Condition severities.</param>
public sealed record PartMatch(
    IReadOnlyList<string>? Families, IReadOnlyList<string>? HwTypes, IReadOnlyList<string>? Sources,
    IReadOnlyList<string>? Codes, IReadOnlyList<Severity>? Severities, SourceLocation Location)
{
    public bool Component(ComponentRef c, string source) =>
        (Families is null || (c.Family is { } f && Families.Contains(f))) && (HwTypes is null || HwTypes.Contains(c.HwType))
        && (Sources is null || Sources.Contains(source));

    public bool Condition(ComponentRef c, string source, string code, Severity severity) =>
        Component(c, source) && (Codes is null || Codes.Contains(code)) && (Severities is null || Severities.Contains(severity));
}

/// <summary>
/// What follows from a fault of a part: while the part is in a condition matching <see cref="When"/>, an open
/// condition elsewhere matching one of <see cref="Then"/> is a consequence and belongs to this part's incident.
/// A condition that could be such a consequence and has no cause yet is held <see cref="HoldSeconds"/> before it is
/// raised on its own (the sources report at different times).
/// </summary>
public sealed record Implication(PartMatch When, IReadOnlyList<PartMatch> Then, double HoldSeconds, SourceLocation Location);

/// <summary>
/// How the observations of one physical part are told apart: by slot (PSU 2, drive bay 1), all one part (the system),
/// or each component its own part (sensors: the part rule only says what follows from their faults).
/// </summary>
public enum PartKey { Slot, One, Each }

/// <summary>
/// A kind of physical part (rules/parts/*.yaml): which component observations, from whichever source, are the same
/// part — e.g. the front panel's PSU 2 indicator and the BMC's PowerSupplies member in slot 2 — and what follows
/// from its faults.
/// </summary>
/// <param name="Name">The part kind, e.g. psu; part ids are <c>psu:2</c> (by slot) or <c>system</c> (one).</param>
/// <param name="Label">Human name; <c>{slot}</c> is replaced, e.g. "PSU {slot}".</param>
public sealed record PartRule(
    string Name, string Title, string HwType, string Label, PartKey Key, IReadOnlyList<PartMatch> Match,
    IReadOnlyList<Implication> Implies, SourceLocation Location);

/// <summary>Everything loaded from rules/: indicator families, derivation tables and parts, with a content hash as version.</summary>
public sealed record RuleSet(IReadOnlyList<IndicatorFamily> Families, IReadOnlyList<DerivationTable> Derivations, string Version, IReadOnlyList<PartRule>? PartRules = null)
{
    public IReadOnlyList<PartRule> Parts => PartRules ?? [];

    /// <summary>Finds a family by name or alias, case-insensitively.</summary>
    public IndicatorFamily? FindFamily(string nameOrAlias)
    {
        // "power supply", "power_supply" and "power-supply" are one alias.
        var key = string.Join('-', nameOrAlias.Trim().ToLowerInvariant().Split([' ', '_', '-'], StringSplitOptions.RemoveEmptyEntries));
        return Families.FirstOrDefault(f => f.Name == key) ?? Families.FirstOrDefault(f => f.Aliases.Contains(key));
    }

    public DerivationTable? FindDerivation(string key) => Derivations.FirstOrDefault(d => d.Key == key);

    public Rule? FindRule(string id) => Families.SelectMany(f => f.Rules).FirstOrDefault(r => r.Id == id);

    /// <summary>The verdict a condition persisted as (rule id, code) stands for: the rule's, else the first row giving the code.</summary>
    public Verdict? FindVerdict(string? ruleId, string code) =>
        (ruleId is null ? null : FindRule(ruleId)?.Verdict)
        ?? Families.SelectMany(f => f.Rules).Select(r => r.Verdict).Concat(Derivations.SelectMany(d => d.Health).Select(h => h.Verdict))
            .FirstOrDefault(v => v?.Code == code);
}
