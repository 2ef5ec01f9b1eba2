namespace HealthAgent.Rules;

/// <summary>
/// The agent's one rule set. A reload (web view today, SIGHUP later) replaces it here and every consumer sees the new
/// one: readers take <see cref="Current"/> each time (the front panel's parser, MQTT info.rulesVersion), the pipeline
/// is told through <see cref="Changed"/>. Only validated rule sets are ever put here (RuleLoader refuses any error).
/// </summary>
public sealed class RuleSetHolder(RuleSet initial)
{
    private RuleSet _current = initial;

    public RuleSet Current => Volatile.Read(ref _current);

    /// <summary>Raised after a replace, on the thread that replaced it.</summary>
    public event Action<RuleSet>? Changed;

    public void Replace(RuleSet rules)
    {
        ArgumentNullException.ThrowIfNull(rules);
        Volatile.Write(ref _current, rules);
        Changed?.Invoke(rules);
    }
}
