using static HealthAgent.Tests.Sources.Redfish.RedfishTestKit;

namespace HealthAgent.Tests.Sources.Redfish;

/// <summary>IIdentifySource: PATCH LocationIndicatorActive, or IndicatorLED where only that exists.</summary>
public class RedfishIdentifyTests
{
    [Fact]
    public async Task Identify_SystemWithLocationIndicatorActive_PatchesBooleanAndShowsIdMode()
    {
        await using var server = await RedfishMockupServer.StartAsync("idrac9-r750-subsystems");
        await using var source = Create(server);
        await source.PollAsync(default);
        Assert.True(await source.IdentifyAsync("redfish:bmc:system:System.Embedded.1", true, default));
        Assert.Contains(server.Requests, r => r is { Method: "PATCH", Path: Sys });
        Assert.True(server.Resource(Sys)["LocationIndicatorActive"]!.GetValue<bool>());
        Assert.Equal("system.id-mode", (await PollAsync(source))["redfish:bmc:system:System.Embedded.1"].Rule?.Id);

        Assert.True(await source.IdentifyAsync("redfish:bmc:system:System.Embedded.1", false, default));
        Assert.Equal("system.healthy", (await PollAsync(source))["redfish:bmc:system:System.Embedded.1"].Rule?.Id);
    }

    [Fact]
    public async Task Identify_LegacyDriveWithIndicatorLedOnly_PatchesBlinkingThenOff()
    {
        await using var server = await RedfishMockupServer.StartAsync("idrac8-r730-legacy");
        await using var source = Create(server);
        await source.PollAsync(default);
        const string path = Sto + "/Drives/Disk.Bay.0";
        Assert.True(await source.IdentifyAsync("redfish:bmc:drive:System.Embedded.1:RAID.Integrated.1-1:Disk.Bay.0", true, default));
        Assert.Equal("Blinking", server.Resource(path)["IndicatorLED"]!.GetValue<string>());
        Assert.False(server.Resource(path).ContainsKey("LocationIndicatorActive"));
        Assert.Equal("drive.identify", (await PollAsync(source))["redfish:bmc:drive:System.Embedded.1:RAID.Integrated.1-1:Disk.Bay.0"].Rule?.Id);
        Assert.True(await source.IdentifyAsync("redfish:bmc:drive:System.Embedded.1:RAID.Integrated.1-1:Disk.Bay.0", false, default));
        Assert.Equal("Off", server.Resource(path)["IndicatorLED"]!.GetValue<string>());
    }

    [Fact]
    public async Task Identify_Chassis_Patched()
    {
        await using var server = await RedfishMockupServer.StartAsync("idrac8-r730-legacy");
        await using var source = Create(server);
        await source.PollAsync(default);
        Assert.True(await source.IdentifyAsync("redfish:bmc:chassis:System.Embedded.1", true, default));
        Assert.Equal("Blinking", server.Resource(Ch)["IndicatorLED"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("redfish:bmc:psu:System.Embedded.1:PSU.Slot.1")]        // PSUs have no ID LED here
    [InlineData("redfish:other:system:System.Embedded.1")] // another source's or endpoint's component
    [InlineData("nic:eth0")]
    public async Task Identify_ComponentWithoutIdLed_ReturnsFalse(string id)
    {
        await using var server = await RedfishMockupServer.StartAsync("idrac9-r750-subsystems");
        await using var source = Create(server);
        await source.PollAsync(default);
        Assert.False(await source.IdentifyAsync(id, true, default));
        Assert.DoesNotContain(server.Requests, r => r.Method == "PATCH");
    }

    [Fact]
    public async Task Identify_BmcRefuses_ReturnsFalse()
    {
        await using var server = await RedfishMockupServer.StartAsync("idrac9-r750-subsystems");
        await using var source = Create(server);
        await source.PollAsync(default);
        server.Inject(Sys, Fault.ServerError);
        Assert.False(await source.IdentifyAsync("redfish:bmc:system:System.Embedded.1", true, default));
    }
}
