using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using HealthAgent.Simulator;

namespace HealthAgent.Tests.Simulator;

/// <summary>The simulator's $expand (DSP0266 "Query parameters"), as iDRAC9 advertises it: *, . and ~, $levels up to 1.</summary>
public class RedfishExpandServiceTests
{
    private static async Task<JsonObject> GetAsync(HttpClient http, string pathAndQuery)
    {
        var res = await http.GetAsync(pathAndQuery);
        Assert.True(res.StatusCode == HttpStatusCode.OK, $"GET {pathAndQuery}: {(int)res.StatusCode}");
        return Assert.IsType<JsonObject>(JsonNode.Parse(await res.Content.ReadAsStringAsync()));
    }

    private static bool IsLinkOnly(JsonNode? n) => n is JsonObject { Count: 1 } o && o.ContainsKey("@odata.id");

    [Fact]
    public async Task ServiceRoot_AdvertisesExpandLikeIdrac9()
    {
        await using var h = await SimulatorHarness.StartAsync();
        var q = (await GetAsync(h.Http, RedfishModel.Root))["ProtocolFeaturesSupported"]!["ExpandQuery"]!;
        Assert.Equal((true, true, true, true, 1), (q["ExpandAll"]!.GetValue<bool>(), q["Levels"]!.GetValue<bool>(), q["Links"]!.GetValue<bool>(), q["NoLinks"]!.GetValue<bool>(), q["MaxLevels"]!.GetValue<int>()));
    }

    [Fact]
    public async Task Collection_ExpandPeriod_MembersInlineEqualToTheirOwnGet()
    {
        await using var h = await SimulatorHarness.StartAsync();
        var coll = await GetAsync(h.Http, RedfishModel.Chassis + "/PowerSubsystem/PowerSupplies?$expand=.($levels=1)");
        var members = coll["Members"]!.AsArray();
        Assert.Equal(2, members.Count);
        foreach (var m in members)
        {
            var alone = await GetAsync(h.Http, m!["@odata.id"]!.ToString());
            Assert.True(JsonNode.DeepEquals(alone, m), $"{m["@odata.id"]}: inline differs from its own GET");
        }
        // Level 1 only: the members' own links stay links.
        Assert.Equal(RedfishModel.PsuPath(1), members[0]!["@odata.id"]!.ToString());
        Assert.Equal(await GetAsync(h.Http, RedfishModel.Chassis + "/PowerSubsystem/PowerSupplies?$expand=."), coll, JsonNode.DeepEquals);
    }

    [Theory]
    [InlineData(".", true, false)]  // hyperlinks outside Links sections
    [InlineData("~", false, true)]  // hyperlinks inside Links sections
    [InlineData("*", true, true)]   // all
    public async Task System_ExpandScope_ChoosesLinksSectionOrNot(string option, bool storageInline, bool chassisInline)
    {
        await using var h = await SimulatorHarness.StartAsync();
        var sys = await GetAsync(h.Http, RedfishModel.System + "?$expand=" + option + "($levels=1)");
        Assert.Equal(!storageInline, IsLinkOnly(sys["Storage"]));
        Assert.Equal(!chassisInline, IsLinkOnly(sys["Links"]!["Chassis"]![0]));
        if (storageInline) Assert.True(IsLinkOnly(sys["Storage"]!["Members"]![0]), "level 2 is not expanded");
    }

    [Fact]
    public async Task Storage_ExpandPeriod_DrivesArrayInline()
    {
        await using var h = await SimulatorHarness.StartAsync();
        var storage = await GetAsync(h.Http, RedfishModel.Storage + "?$expand=.($levels=1)");
        Assert.All(storage["Drives"]!.AsArray(), d => Assert.NotNull(d!["Status"]));
        Assert.NotNull(storage["Volumes"]!["Members"]);
    }

    [Theory]
    [InlineData("$expand=.($levels=2)", HttpStatusCode.BadRequest)] // above MaxLevels
    [InlineData("$expand=.($levels=0)", HttpStatusCode.BadRequest)]
    [InlineData("$expand=Drives", HttpStatusCode.BadRequest)]
    [InlineData("$expand=.(levels=1)", HttpStatusCode.BadRequest)]
    [InlineData("$select=Status", HttpStatusCode.NotImplemented)] // unsupported $ parameter: 501
    public async Task BadOrUnsupportedQuery_Refused(string query, HttpStatusCode expected)
    {
        await using var h = await SimulatorHarness.StartAsync();
        var res = await h.Http.GetAsync(RedfishModel.Storage + "?" + query);
        Assert.Equal(expected, res.StatusCode);
        Assert.NotNull(JsonNode.Parse(await res.Content.ReadAsStringAsync())!["error"]!["@Message.ExtendedInfo"]);
    }

    [Fact]
    public async Task ExpandTargetOff_NotAdvertisedAndAnswered501()
    {
        await using var h = await SimulatorHarness.StartAsync();
        Assert.Equal(HttpStatusCode.OK, (await h.Http.PostAsJsonAsync("/sim/set", new { target = "bmc.expand", value = "false" })).StatusCode);
        Assert.Null((await GetAsync(h.Http, RedfishModel.Root))["ProtocolFeaturesSupported"]!["ExpandQuery"]);
        Assert.Equal(HttpStatusCode.NotImplemented, (await h.Http.GetAsync(RedfishModel.Root + "/Systems?$expand=.")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await h.Http.GetAsync(RedfishModel.Root + "/Systems")).StatusCode);
    }
}
