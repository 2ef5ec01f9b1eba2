using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using HealthAgent.Simulator;

namespace HealthAgent.Tests.Simulator;

public class RedfishServiceTests
{
    // Redfish property names are case-sensitive: send them exactly (JsonContent would camel-case them).
    private static StringContent Body(string json) => new(json, Encoding.UTF8, "application/json");

    private static async Task<JsonObject> GetAsync(HttpClient http, string path)
    {
        var res = await http.GetAsync(path);
        Assert.True(res.StatusCode == HttpStatusCode.OK, $"GET {path}: {(int)res.StatusCode}");
        Assert.Equal("application/json", res.Content.Headers.ContentType?.MediaType);
        return Assert.IsType<JsonObject>(JsonNode.Parse(await res.Content.ReadAsStringAsync()));
    }

    private static IEnumerable<string> LinksIn(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (k, v) in o)
                {
                    if (k == "@odata.id" && v?.ToString() is { } id) yield return id;
                    foreach (var l in LinksIn(v)) yield return l;
                }
                break;
            case JsonArray a:
                foreach (var v in a) foreach (var l in LinksIn(v)) yield return l;
                break;
        }
    }

    [Fact]
    public async Task Walk_FromServiceRoot_EveryLinkResolvesToValidJson()
    {
        await using var h = await SimulatorHarness.StartAsync();
        var seen = new HashSet<string>();
        var queue = new Queue<string>(["/redfish/v1"]);
        while (queue.Count > 0)
        {
            var path = queue.Dequeue();
            if (!seen.Add(path)) continue;
            var doc = await GetAsync(h.Http, path);
            Assert.Equal(path, doc["@odata.id"]?.ToString());
            Assert.StartsWith("#", doc["@odata.type"]?.ToString());
            foreach (var link in LinksIn(doc).Select(l => l.Split('#')[0]).Where(l => l != RedfishModel.SseUri && !seen.Contains(l))) queue.Enqueue(link);
        }
        Assert.True(seen.Count >= 40, $"walked {seen.Count} resources");
        Assert.Contains(RedfishModel.PsuPath(2), seen);
        Assert.Contains(RedfishModel.DrivePath(3), seen);
        Assert.Contains(RedfishModel.PortPath(4), seen);
        Assert.Contains(RedfishModel.Chassis + "/Power", seen);
        Assert.Contains(RedfishModel.Chassis + "/Thermal", seen);
    }

    [Fact]
    public async Task Resources_HaveDmtfPropertyNames()
    {
        await using var h = await SimulatorHarness.StartAsync();
        var sys = await GetAsync(h.Http, RedfishModel.System);
        Assert.All(new[] { "Status", "IndicatorLED", "LocationIndicatorActive", "Storage" }, p => Assert.NotNull(sys[p]));
        Assert.Equal("OK", sys["Status"]!["Health"]!.ToString());

        var psu = await GetAsync(h.Http, RedfishModel.PsuPath(1));
        Assert.All(new[] { "Status", "LineInputStatus", "PowerCapacityWatts" }, p => Assert.NotNull(psu[p]));
        Assert.Equal("false", psu["Oem"]!["Hpe"]!["Mismatched"]!.ToString());

        var power = await GetAsync(h.Http, RedfishModel.Chassis + "/Power");
        Assert.Equal(2, power["PowerSupplies"]!.AsArray().Count);
        var red = power["Redundancy"]![0]!;
        Assert.All(new[] { "Mode", "MinNumNeeded", "MaxNumSupported", "RedundancySet", "Status" }, p => Assert.NotNull(red[p]));

        var thermal = await GetAsync(h.Http, RedfishModel.Chassis + "/Thermal");
        var t = thermal["Temperatures"]![0]!;
        Assert.All(new[] { "ReadingCelsius", "UpperThresholdNonCritical", "UpperThresholdCritical", "UpperThresholdFatal", "Status" }, p => Assert.NotNull(t[p]));
        Assert.Equal("RPM", thermal["Fans"]![0]!["ReadingUnits"]!.ToString());

        var metrics = await GetAsync(h.Http, RedfishModel.Chassis + "/ThermalSubsystem/ThermalMetrics");
        Assert.Equal(3, metrics["TemperatureReadingsCelsius"]!.AsArray().Count);
        var sensor = await GetAsync(h.Http, RedfishModel.Chassis + "/Sensors/Temp.cpu1");
        Assert.NotNull(sensor["Thresholds"]!["UpperCritical"]!["Reading"]);

        var port = await GetAsync(h.Http, RedfishModel.PortPath(1));
        Assert.Equal(("LinkUp", "10", "10"), (port["LinkStatus"]!.ToString(), port["CurrentSpeedGbps"]!.ToString(), port["MaxSpeedGbps"]!.ToString()));

        var drive = await GetAsync(h.Http, RedfishModel.DrivePath(0));
        Assert.All(new[] { "Status", "StatusIndicator", "FailurePredicted", "Operations", "PredictedMediaLifeLeftPercent", "LocationIndicatorActive" }, p => Assert.NotNull(drive[p]));
        var storage = await GetAsync(h.Http, RedfishModel.Storage);
        Assert.Equal(4, storage["Drives"]!.AsArray().Count);
        Assert.Equal("RAID5", (await GetAsync(h.Http, RedfishModel.Volume))["RAIDType"]!.ToString());
        Assert.Equal("BMC", (await GetAsync(h.Http, RedfishModel.Manager))["ManagerType"]!.ToString());
        Assert.Equal(RedfishModel.SseUri, (await GetAsync(h.Http, "/redfish/v1/EventService"))["ServerSentEventUri"]!.ToString());
    }

    [Fact]
    public async Task Sse_ChangeViaControlEndpoint_EventNamesChangedResources()
    {
        await using var h = await SimulatorHarness.StartAsync();
        using var req = new HttpRequestMessage(HttpMethod.Get, RedfishModel.SseUri);
        using var res = await h.Http.SendAsync(req, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("text/event-stream", res.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await res.Content.ReadAsStreamAsync());
        Assert.StartsWith(":", await reader.ReadLineAsync());

        var set = await h.Http.PostAsJsonAsync("/sim/set", new { target = "psu2", value = "fault" });
        Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        string? id = null, data = null;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        while (data is null)
        {
            var line = await reader.ReadLineAsync(cts.Token);
            if (line!.StartsWith("id: ", StringComparison.Ordinal)) id = line[4..];
            else if (line.StartsWith("data: ", StringComparison.Ordinal)) data = line[6..];
        }
        Assert.NotNull(id);
        var evt = JsonNode.Parse(data)!;
        Assert.Equal("#Event.v1_7_0.Event", evt["@odata.type"]!.ToString());
        var origins = evt["Events"]!.AsArray().Select(e => e!["OriginOfCondition"]!["@odata.id"]!.ToString()).ToList();
        Assert.Contains(RedfishModel.PsuPath(2), origins);
        Assert.Contains(RedfishModel.Chassis + "/Power", origins);
        Assert.DoesNotContain(RedfishModel.PsuPath(1), origins);
    }

    [Fact]
    public async Task Patch_LocationIndicatorActive_SwitchesIdModeOnPanelAndRedfish()
    {
        await using var h = await SimulatorHarness.StartAsync();
        var res = await h.Http.PatchAsync(RedfishModel.System, Body("{\"LocationIndicatorActive\": true}"));
        Assert.Equal(HttpStatusCode.OK, res.StatusCode);
        Assert.Equal("Blinking", (await GetAsync(h.Http, RedfishModel.Chassis))["IndicatorLED"]!.ToString());
        Assert.True(SpinWait.SpinUntil(() => h.PanelRule("panel:system:1") == "system.id-mode", 5000));

        res = await h.Http.PatchAsync(RedfishModel.DrivePath(1), Body("{\"IndicatorLED\": \"Blinking\"}"));
        Assert.Equal(HttpStatusCode.OK, res.StatusCode);
        Assert.True(SpinWait.SpinUntil(() => h.PanelRule("panel:drive:1") == "drive.identify", 5000));

        res = await h.Http.PatchAsync(RedfishModel.System, Body("{\"AssetTag\": \"x\"}"));
        Assert.Equal(HttpStatusCode.BadRequest, res.StatusCode);
        Assert.Contains("PropertyUnknown", await res.Content.ReadAsStringAsync());
        res = await h.Http.PatchAsync(RedfishModel.PsuPath(1), Body("{\"LocationIndicatorActive\": true}"));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, res.StatusCode);
    }

    [Fact]
    public async Task Bmc_Unresponsive_Answers503ThenRecovers()
    {
        await using var h = await SimulatorHarness.StartAsync();
        Assert.Empty(h.Sim.Appliance.Set("bmc", "unresponsive"));
        var res = await h.Http.GetAsync(RedfishModel.System);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, res.StatusCode);
        Assert.NotNull(JsonNode.Parse(await res.Content.ReadAsStringAsync())!["error"]);
        h.Sim.Appliance.Set("bmc", "hanging");
        using var quick = new HttpClient { BaseAddress = h.Http.BaseAddress, Timeout = TimeSpan.FromMilliseconds(300) };
        await Assert.ThrowsAnyAsync<TaskCanceledException>(() => quick.GetAsync(RedfishModel.System));
        h.Sim.Appliance.Set("bmc", "ok");
        Assert.Equal(HttpStatusCode.OK, (await h.Http.GetAsync(RedfishModel.System)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await h.Http.GetAsync("/redfish/v1/Chassis/9")).StatusCode);
    }

    [Fact]
    public async Task Auth_Required_BasicOrSessionToken()
    {
        await using var h = await SimulatorHarness.StartAsync(auth: "root:calvin");
        Assert.Equal(HttpStatusCode.OK, (await h.Http.GetAsync("/redfish/v1")).StatusCode);
        var denied = await h.Http.GetAsync(RedfishModel.System);
        Assert.Equal(HttpStatusCode.Unauthorized, denied.StatusCode);
        Assert.Contains("Basic", denied.Headers.WwwAuthenticate.ToString());

        using var basic = new HttpRequestMessage(HttpMethod.Get, RedfishModel.System);
        basic.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("root:calvin")));
        Assert.Equal(HttpStatusCode.OK, (await h.Http.SendAsync(basic)).StatusCode);

        Assert.Equal(HttpStatusCode.Unauthorized, (await h.Http.PostAsync("/redfish/v1/SessionService/Sessions", Body("{\"UserName\": \"root\", \"Password\": \"wrong\"}"))).StatusCode);
        var login = await h.Http.PostAsync("/redfish/v1/SessionService/Sessions", Body("{\"UserName\": \"root\", \"Password\": \"calvin\"}"));
        Assert.Equal(HttpStatusCode.Created, login.StatusCode);
        var token = login.Headers.GetValues("X-Auth-Token").Single();
        using var withToken = new HttpRequestMessage(HttpMethod.Get, RedfishModel.System);
        withToken.Headers.Add("X-Auth-Token", token);
        Assert.Equal(HttpStatusCode.OK, (await h.Http.SendAsync(withToken)).StatusCode);

        using var logout = new HttpRequestMessage(HttpMethod.Delete, login.Headers.Location);
        logout.Headers.Add("X-Auth-Token", token);
        Assert.Equal(HttpStatusCode.NoContent, (await h.Http.SendAsync(logout)).StatusCode);
        using var stale = new HttpRequestMessage(HttpMethod.Get, RedfishModel.System);
        stale.Headers.Add("X-Auth-Token", token);
        Assert.Equal(HttpStatusCode.Unauthorized, (await h.Http.SendAsync(stale)).StatusCode);
    }

    [Fact]
    public async Task Panel_Noise_SourceKeepsStatesAndCountsBadLines()
    {
        await using var h = await SimulatorHarness.StartAsync();
        var res = await h.Http.PostAsync("/sim/set", Body("{\"target\": \"panel\", \"value\": \"noisy\"}"));
        Assert.Equal(HttpStatusCode.OK, res.StatusCode);
        Assert.True(SpinWait.SpinUntil(() => h.Panel.BadChecksums >= 3 && h.Panel.NoiseBytes >= 15, 5000));
        h.Sim.Appliance.Set("psu2", "fault");
        Assert.True(SpinWait.SpinUntil(() => h.PanelRule("panel:psu:2") == "psu.problem", 5000));
        Assert.Equal("psu.operational", h.PanelRule("panel:psu:1")); // the corrupted "psu 1 blinking amber" lines were dropped
        Assert.Empty(h.Panel.Snapshot().Errors);                       // split heartbeats still count: never silent
    }

    [Fact]
    public async Task Tls_SelfSignedCertificate_PinnedFingerprintAndPemMatch()
    {
        await using var h = await SimulatorHarness.StartAsync(tls: true);
        Assert.Equal("https", h.Http.BaseAddress!.Scheme);
        Assert.Equal("RootService", (await GetAsync(h.Http, "/redfish/v1"))["Id"]!.ToString());
        var pem = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(h.Dir, "cert.pem")));
        Assert.Equal(h.Sim.Redfish!.Certificate!.Thumbprint, pem.Thumbprint);
        Assert.Matches("^([0-9A-F]{2}:){31}[0-9A-F]{2}$", h.Sim.Redfish.Fingerprint);
        using var strict = new HttpClient { BaseAddress = h.Http.BaseAddress };
        await Assert.ThrowsAsync<HttpRequestException>(() => strict.GetAsync("/redfish/v1")); // self-signed: untrusted without pinning
    }

    [Fact]
    public async Task Control_BadTargetOrValue_400WithReason()
    {
        await using var h = await SimulatorHarness.StartAsync();
        var res = await h.Http.PostAsJsonAsync("/sim/set", new { target = "psu7", value = "fault" });
        Assert.Equal(HttpStatusCode.BadRequest, res.StatusCode);
        Assert.Contains("unknown target 'psu7'", await res.Content.ReadAsStringAsync());
        res = await h.Http.PostAsJsonAsync("/sim/set", new { target = "fan1", value = 99999 });
        Assert.Contains("fan1 takes a number", await res.Content.ReadAsStringAsync());
        res = await h.Http.PostAsJsonAsync("/sim/set", new { target = "fan1", value = 500 });
        Assert.Equal(HttpStatusCode.OK, res.StatusCode);
        var state = await GetAsync(h.Http, "/sim/state");
        Assert.Equal("500", state["targets"]!["fan1"]!.ToString());
    }

    [Fact]
    public async Task Panel_Muted_SourceReportsSilentPanelUnknown()
    {
        await using var h = await SimulatorHarness.StartAsync();
        Assert.Equal("psu.operational", h.PanelRule("panel:psu:1"));
        var res = await h.Http.PostAsJsonAsync("/sim/set", new { target = "panel", value = "silent" });
        Assert.Equal(HttpStatusCode.OK, res.StatusCode);
        Assert.True(SpinWait.SpinUntil(() => h.Panel.Snapshot().Observations.All(o => o.UnknownReason is not null), 5000));
        await h.Http.PostAsJsonAsync("/sim/set", new { target = "panel", value = "ok" });
        Assert.True(SpinWait.SpinUntil(() => h.PanelRule("panel:psu:1") == "psu.operational", 5000));
    }
}
