using System.Text;
using System.Text.Json;
using HealthAgent.Model;
using HealthAgent.Sources.Redfish;

namespace HealthAgent.Tests.Sources.Redfish;

/// <summary>The pure JSON → records layer, without a server.</summary>
public class RedfishParserTests
{
    private static JsonElement J(string json) => JsonDocument.Parse(json).RootElement.Clone();

    [Theory]
    [InlineData("""{"Id":"1","LinkStatus":"LinkUp","CurrentSpeedGbps":10,"MaxSpeedGbps":25}""", true, 10.0, 25.0)]
    [InlineData("""{"Id":"1","LinkStatus":"LinkUp","CurrentSpeedGbps":25,"LinkConfiguration":[{"CapableLinkSpeedGbps":[10,25]},{"CapableLinkSpeedGbps":[1]}]}""", true, 25.0, 25.0)]
    [InlineData("""{"Id":"1","LinkStatus":"NoLink"}""", false, null, null)]
    [InlineData("""{"Id":"1","LinkStatus":"Up","CurrentLinkSpeedMbps":100,"SupportedLinkCapabilities":[{"LinkSpeedMbps":1000}]}""", true, 0.1, 1.0)]
    [InlineData("""{"Id":"1","LinkStatus":"Down","CurrentLinkSpeedMbps":0,"SupportedLinkCapabilities":[{"LinkSpeedMbps":1000}]}""", false, 0.0, 1.0)]
    [InlineData("""{"Id":"1","LinkStatus":"Training","CurrentSpeedGbps":25,"MaxSpeedGbps":25}""", null, 25.0, 25.0)]
    public void Port_BothSchemas_LinkAndSpeedsInGbps(string json, bool? up, double? speed, double? max)
    {
        var o = RedfishParser.Port("bmc", "redfish:bmc:chassis:1", "/redfish/v1/Chassis/1/NetworkAdapters/NIC.1/Ports/1", J(json));
        Assert.Equal("redfish:bmc:nic:1:NIC.1:1", o.Component.Id);
        Assert.Equal(up, o["linkUp"]);
        Assert.Equal(speed, (double?)o["speedGbps"]);
        Assert.Equal(max, (double?)o["maxSpeedGbps"]);
        Assert.Null(o["active"]);
    }

    [Fact]
    public void Redundancy_CountsWorkingPsusAgainstMinNeeded()
    {
        var ok = RedfishParser.Psu("bmc", ["1"], "/redfish/v1/Chassis/1/PowerSubsystem/PowerSupplies/PSU1", J("""{"Id":"PSU1","Status":{"State":"Enabled","Health":"OK"},"LineInputStatus":"Normal"}"""));
        var lost = RedfishParser.Psu("bmc", ["1"], "/redfish/v1/Chassis/1/PowerSubsystem/PowerSupplies/PSU2", J("""{"Id":"PSU2","Status":{"State":"Enabled","Health":"OK"},"LineInputStatus":"LossOfInput"}"""));
        Assert.Equal("redfish:bmc:psu:1:PSU2", lost.Component.Id);
        var r = RedfishParser.Redundancy("bmc", ["1"], J("""{"RedundancyType":"Failover","MinNeededInGroup":1,"Status":{"State":"Enabled","Health":"OK"}}"""), [ok, lost]);
        Assert.Equal("redfish:bmc:psu-redundancy:1", r.Component.Id);
        Assert.Equal(2.0, r["psuBays"]);
        Assert.Equal(1.0, r["psuWorking"]);
        Assert.Equal(1.0, r["psuProblems"]);
        Assert.Equal(-1.0, r["sparePsus"]); // MinNeededInGroup 1 runs the system; fault tolerance needs 2
        Assert.Equal("Failover", r["mode"]);
    }

    [Theory]
    [InlineData(false, false, "Warning", false)]
    [InlineData(true, true, "Warning", false)]   // still rebuilding
    [InlineData(true, false, "Warning", true)]   // rebuild gone, still not OK
    [InlineData(true, false, "Critical", true)]
    [InlineData(true, false, "OK", false)]       // finished
    [InlineData(true, false, null, null)]        // cannot tell
    public void RebuildStopped_Inference(bool wasRebuilding, bool rebuildingNow, string? health, bool? expected)
    {
        var o = new Observation(new ComponentRef("x", "physical_disk", "x"),
            [new Reading("rebuilding", rebuildingNow), health is null ? Reading.Unknown("health", "missing") : new Reading("health", health)]);
        Assert.Equal(expected, RedfishParser.RebuildStopped(wasRebuilding, o));
    }

    [Fact]
    public void Drive_VolumeRebuildsButDrivePredictsFailure_NotMarkedRebuilding()
    {
        var predicted = RedfishParser.Drive("bmc", "sys", "/d/1", J("""{"Id":"D1","Status":{"Health":"Warning"},"StatusIndicator":"PredictiveFailureAnalysis","FailurePredicted":true}"""), volumeRebuilding: true);
        var target = RedfishParser.Drive("bmc", "sys", "/d/0", J("""{"Id":"D0","Status":{"Health":"Warning"},"StatusIndicator":"OK"}"""), volumeRebuilding: true);
        Assert.Equal(false, predicted["rebuilding"]);
        Assert.Equal(true, target["rebuilding"]);
    }

    [Theory]
    [InlineData("""{"LocationIndicatorActive":true,"IndicatorLED":"Off"}""", true, IdentifyProperty.LocationIndicatorActive)]
    [InlineData("""{"IndicatorLED":"Blinking"}""", true, IdentifyProperty.IndicatorLed)]
    [InlineData("""{"IndicatorLED":"Lit"}""", true, IdentifyProperty.IndicatorLed)]
    [InlineData("""{"IndicatorLED":"Off"}""", false, IdentifyProperty.IndicatorLed)]
    [InlineData("""{}""", null, IdentifyProperty.None)]
    public void Identify_BothProperties(string json, bool? identify, IdentifyProperty property)
    {
        var j = J(json);
        Assert.Equal(identify, RedfishParser.System("bmc", "/redfish/v1/Systems/S1", j)["identify"]);
        Assert.Equal(property, RedfishParser.IdentifyPropertyOf(j));
    }

    [Fact]
    public void Ids_CharactersThatBreakTopics_Replaced() =>
        Assert.Equal("redfish:bmc:temp:1:iDRAC.Embedded.1_Inlet_Temp", RedfishParser.Id("bmc", "temp", "1", "iDRAC.Embedded.1#Inlet Temp"));

    [Theory]
    [InlineData("application/json", "\uFEFF  <html>login</html>", "HTML")]
    [InlineData("text/html", "{}", "HTML")]
    [InlineData("application/json", "{\"a\":[1,2", "truncated JSON")]
    [InlineData("application/json", "[1,2]", "expected a JSON object")]
    [InlineData("application/json", "", "truncated JSON")]
    public void ClientParse_BadBodies_ClearError(string mediaType, string body, string expected)
    {
        var r = RedfishClient.Parse("/redfish/v1/X", mediaType, Encoding.UTF8.GetBytes(body), 200);
        Assert.False(r.Ok);
        Assert.Contains(expected, r.Error);
        Assert.StartsWith("/redfish/v1/X", r.Error);
    }
    [Theory]
    [InlineData("""{"ProtocolFeaturesSupported":{"ExpandQuery":{"ExpandAll":true,"Levels":true,"Links":true,"MaxLevels":1,"NoLinks":true}}}""", "$expand=.($levels=1)")]
    [InlineData("""{"ProtocolFeaturesSupported":{"ExpandQuery":{"ExpandAll":false,"Levels":true,"Links":false,"MaxLevels":1,"NoLinks":true}}}""", "$expand=.($levels=1)")] // iLO 5
    [InlineData("""{"ProtocolFeaturesSupported":{"ExpandQuery":{"ExpandAll":true}}}""", "$expand=*")]
    [InlineData("""{"ProtocolFeaturesSupported":{"ExpandQuery":{"Links":true,"Levels":true}}}""", null)] // ~ alone never reaches members
    [InlineData("""{"ProtocolFeaturesSupported":{"FilterQuery":true}}""", null)]
    [InlineData("""{"RedfishVersion":"1.0.2"}""", null)]
    public void ExpandQuery_FromServiceRoot(string root, string? expected) => Assert.Equal(expected, RedfishParser.ExpandQuery(J(root)));

    [Fact]
    public void ExpandedResources_OnlyCompleteResourcesWithoutErrors()
    {
        var answer = J("""
            {"@odata.id":"/c","Name":"Coll","Members@odata.count":5,"Members":[
              {"@odata.id":"/c/1","Id":"1","Status":{"Health":"OK"},"Sub":{"@odata.id":"/c/1/Sub"}},
              {"@odata.id":"/c/2"},
              {"@odata.id":"/c/3","@odata.etag":"W/\"1\""},
              {"@odata.id":"/c/4","@Message.ExtendedInfo":[{"MessageId":"Base.1.8.InternalError"}]},
              {"@odata.id":"/c/5","Id":"5","Items":[{"@odata.id":"/c/5#/Items/0","MemberId":"0"}]}]}
            """);
        var paths = RedfishParser.ExpandedResources(answer).Select(x => x.Path).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(["/c", "/c/1", "/c/5"], paths);
    }

    [Theory]
    [InlineData("""{"Members@odata.count":2,"Members":[{"@odata.id":"/a"},{"@odata.id":"/b"}]}""", false)]
    [InlineData("""{"Members@odata.count":3,"Members":[{"@odata.id":"/a"},{"@odata.id":"/b"}]}""", true)]
    [InlineData("""{"Members":[{"@odata.id":"/a"}],"Members@odata.nextLink":"/c?$skip=1"}""", true)]
    [InlineData("""{"Members":[]}""", false)]
    public void IncompleteMembers_CountOrNextLink(string json, bool incomplete) => Assert.Equal(incomplete, RedfishParser.IncompleteMembers(J(json)) is not null);
}
