using System.Text.RegularExpressions;
using HealthAgent.Model;
using HealthAgent.Rules;

namespace HealthAgent.Incidents;

/// <summary>
/// Which physical part a component observation is (rules/parts): the first part rule with a matching entry wins; a
/// component no rule matches is a part of its own. Keyed by slot: the component's <see cref="ComponentRef.Slot"/>,
/// else the number its id ends with (panel:psu:2, the BMC's …:PSU2 and …:Disk.Bay.1 end with their slot), so the
/// match does not depend on how a source spells the rest of its ids.
/// </summary>
public sealed partial class PartMap(RuleSet rules)
{
    private readonly Dictionary<(ComponentRef, string), (ComponentRef, PartRule?)> _cache = [];

    public RuleSet Rules => rules;

    public (ComponentRef Part, PartRule? Rule) PartOf(ComponentRef c, string source)
    {
        if (_cache.TryGetValue((c, source), out var hit)) return hit;
        return _cache[(c, source)] = Find(c, source);
    }

    private (ComponentRef, PartRule?) Find(ComponentRef c, string source)
    {
        foreach (var p in rules.Parts)
        {
            if (!p.Match.Any(m => m.Component(c, source))) continue;
            switch (p.Key)
            {
                case PartKey.One:
                    return (new ComponentRef(p.Name, p.HwType, p.Label.Replace("{name}", c.Name, StringComparison.Ordinal), null, c.Family), p);
                case PartKey.Each:
                    return (new ComponentRef(c.Id, c.HwType, p.Label.Replace("{name}", c.Name, StringComparison.Ordinal), c.Parent, c.Family, null, c.Slot), p);
                default:
                    var slot = c.Slot ?? (TrailingNumber().Match(c.Id) is { Success: true } m ? m.Groups[1].Value.TrimStart('0').PadLeft(1, '0') : null);
                    if (slot is null) continue; // no slot: not this part rule's (a sysfs AC adapter)
                    var label = p.Label.Replace("{slot}", slot, StringComparison.Ordinal).Replace("{name}", c.Name, StringComparison.Ordinal);
                    return (new ComponentRef($"{p.Name}:{slot}", p.HwType, label, null, c.Family, null, slot), p);
            }
        }
        return (c with { Derivation = null }, null);
    }

    [GeneratedRegex(@"(\d+)$")]
    private static partial Regex TrailingNumber();
}
