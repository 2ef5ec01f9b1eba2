using HealthAgent.Incidents;
using HealthAgent.Model;
using HealthAgent.Rules;

namespace HealthAgent.Tests.Rules;

/// <summary>rules/parts: the same strict loader (file:line errors), and which component observations are one part.</summary>
public class PartRulesTests
{
    private const string Psu = """
        family: psu
        title: PSU
        hwType: power_supply
        leds: [status]
        rules:
          - { id: psu.a, led: solid green, state: ok, severity: ok, code: psu.ok, meaning: fine, action: none }
          - { id: psu.b, led: blinking amber, state: failed, severity: critical, code: psu.fault, meaning: bad, action: replace }
        """;

    private static (RuleSet? Rules, IReadOnlyList<RuleError> Errors) Load(string part) => RuleLoader.Load([("psu.yaml", Psu), ("parts/psu.yaml", part)]);

    [Fact]
    public void Load_PartNamingAnUnknownCode_ReportsFileLine()
    {
        var (rules, errors) = Load("""
            part: psu
            title: PSU
            hwType: power_supply
            label: PSU {slot}
            key: slot
            match: [ { family: psu } ]
            implies:
              - when: { code: psu.fault }
                then: [ { code: psu.redundancy_lost } ]
            """);
        Assert.Null(rules);
        var e = Assert.Single(errors);
        Assert.Equal("parts/psu.yaml:9:13", e.Location.ToString());
        Assert.Contains("code 'psu.redundancy_lost'", e.Message);
    }

    [Fact]
    public void Load_PartErrors_AllReportedTogether()
    {
        var (rules, errors) = Load("""
            part: psu
            title: PSU
            hwType: power_supplies
            label: PSU
            key: bay
            match: [ { family: psu, colour: amber } ]
            """);
        Assert.Null(rules);
        Assert.Contains(errors, e => e.Message.Contains("unknown hwType 'power_supplies'") && e.Location.Line == 3);
        Assert.Contains(errors, e => e.Message.Contains("unknown key 'bay'") && e.Location.Line == 5);
        Assert.Contains(errors, e => e.Message.Contains("unknown key 'colour'") && e.Location.Line == 6);
    }

    [Fact]
    public void Shipped_RulesCheckOk_PartsLoaded()
    {
        var (rules, errors) = RuleLoader.LoadEmbedded();
        Assert.Empty(errors);
        Assert.Contains(rules!.Parts, p => p.Name == "psu" && p.Implies.Count > 0);
    }

    [Theory]
    [InlineData("panel:psu:2", "frontPanel", "psu", "psu:2", "PSU 2")]
    [InlineData("redfish:bmc:psu:PSU2", "redfish", "psu", "psu:2", "PSU 2")]
    [InlineData("redfish:bmc:/redfish/v1/Chassis/1:psu:PSU.Slot.2", "redfish", "psu", "psu:2", "PSU 2")]
    [InlineData("panel:drive:1", "frontPanel", "drive", "drive:1", "Drive 1")]
    [InlineData("redfish:bmc:drive:Disk.Bay.1", "redfish", "drive", "drive:1", "Drive 1")]
    [InlineData("panel:system:1", "frontPanel", "system", "system", "System health indicator")]
    [InlineData("redfish:bmc:system:1", "redfish", "system", "system", "System health indicator")]
    [InlineData("md:md0:sda1", "mdraid", "drive", "md:md0:sda1", "sda1")] // an md member is not a drive bay
    public void PartOf_SameSlotFromAnySource_OnePart(string id, string source, string family, string partId, string name)
    {
        var map = new PartMap(RuleLoader.LoadEmbedded().Rules!);
        var (part, _) = map.PartOf(new ComponentRef(id, "x", id.Split(':')[^1], Family: family), source);
        Assert.Equal((partId, name), (part.Id, part.Name));
    }

    [Fact]
    public void PartOf_SlotGivenBySource_WinsOverTheId()
    {
        var map = new PartMap(RuleLoader.LoadEmbedded().Rules!);
        var (part, _) = map.PartOf(new ComponentRef("redfish:bmc:psu:PowerSupply0", "power_supply", "PS1", Family: "psu", Slot: "1"), "redfish");
        Assert.Equal("psu:1", part.Id);
    }
}
