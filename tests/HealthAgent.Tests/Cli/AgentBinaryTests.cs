using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using HealthAgent.TestSupport;
using HealthAgent.Tests.Publishing.Mqtt;
using HealthAgent.Tests.Publishing.Otlp;

namespace HealthAgent.Tests.Cli;

/// <summary>
/// The `healthagent` executable end to end (<see cref="AgentCommand"/>): what a trimmed publish could break and the
/// in-process tests cannot see — reflection-bound configuration, the web view's request delegates and JSON, the OTLP
/// exporter, YAML rule tables and scenarios, the simulator. deploy/test.sh runs these against the trimmed apphost too.
/// </summary>
[Trait(AgentCommand.Category, AgentCommand.Process)]
public sealed partial class AgentBinaryTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private readonly string _dir = Directory.CreateTempSubdirectory("healthagent-binary-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    private static string Port(int p) => p.ToString(CultureInfo.InvariantCulture);

    [GeneratedRegex(@"Redfish service:\s+(http://127\.0\.0\.1:\d+)/redfish/v1")]
    private static partial Regex RedfishUrl();

    [Fact]
    public async Task Run_OnSimulatedAppliance_WebViewAnswersPagesAndApiAndOtlpReceivesMetricsAndEvents()
    {
        // passwd: the web user's hash, made by the binary itself (few iterations: fast; same format and code path)
        var passwd = await AgentCommand.RunAsync(["passwd", "--iterations", "1000"], Wait, stdin: "pw-admin-1-long");
        Assert.True(passwd.ExitCode == 0, passwd.StandardError);
        var hash = passwd.StandardOutput.Trim();
        Assert.StartsWith("pbkdf2-sha256$1000$", hash, StringComparison.Ordinal);

        var host = Path.Combine(_dir, "host");
        await using var sim = new AgentProcess("", _dir, ["simulate", "--scenario", "psu-fails", "--loop", "--speed", "10", "-p", "0", "--panel-link", "none", "--host-root", host]);
        await sim.WaitForOutputAsync("Press Ctrl+C to stop.", Wait);
        var redfish = RedfishUrl().Match(sim.Output).Groups[1].Value;

        await using var receiver = await OtlpReceiver.StartAsync();
        var web = "http://127.0.0.1:" + Port(MosquittoBroker.GetFreePort());
        var config = Path.Combine(_dir, "agent.json");
        // every source the simulator feeds, a nested list (redfish endpoints, web users) and a dictionary (otlp headers)
        // bound by the reflection binder
        await File.WriteAllTextAsync(config, $$"""
            {
              "agentId": "binary-1", "stateDirectory": "state", "logLevel": "Information",
              "sources": {
                "redfish": { "enabled": true, "intervalSeconds": 1, "endpoints": [ { "name": "bmc", "url": "{{redfish}}", "timeoutSeconds": 5 } ] },
                "hwmon": { "intervalSeconds": 1, "hostRoot": "{{host}}" },
                "nic": { "intervalSeconds": 1, "hostRoot": "{{host}}", "netlink": false },
                "mdraid": { "intervalSeconds": 1, "hostRoot": "{{host}}" },
                "powersupply": { "intervalSeconds": 1, "hostRoot": "{{host}}" },
                "smart": { "enabled": false }
              },
              "publishers": {
                "mqtt": { "enabled": false },
                "otlp": { "enabled": true, "endpoint": "{{receiver.GrpcEndpoint}}", "protocol": "grpc", "exportIntervalSeconds": 1, "headers": { "x-api-key": "k1" } }
              },
              "web": { "enabled": true, "urls": ["{{web}}"], "users": [ { "name": "admin", "passwordHash": "{{hash}}", "role": "administrator" } ] }
            }
            """);
        await using var agent = new AgentProcess(config, _dir);
        await agent.WaitForOutputAsync("Web view listening on " + web, Wait);

        using var http = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer() }) { BaseAddress = new Uri(web), Timeout = Wait };
        var page = await http.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.Contains("<html", await page.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/api/health")).StatusCode);

        var login = await http.PostAsync("/api/login", new StringContent("""{"username":"admin","password":"pw-admin-1-long"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        var me = JsonNode.Parse(await login.Content.ReadAsStringAsync())!;
        Assert.Equal("administrator", (string?)me["role"]);
        Assert.False(string.IsNullOrEmpty((string?)me["csrfToken"]));

        // the simulated PSU 2 fails 4 s (0.4 s at speed 10) into the scenario: the BMC's PSU shows up failed
        // (the fault lasts 1.6 s at speed 10: the roll-up is read in the same round, so both show the same moment)
        JsonArray components = [];
        JsonNode health = new JsonObject();
        await OtlpReceiver.WaitUntilAsync(() =>
        {
            components = JsonNode.Parse(http.GetStringAsync("/api/components").Result)!.AsArray();
            health = JsonNode.Parse(http.GetStringAsync("/api/health").Result)!;
            return components.Any(c => (string?)c!["component"]!["id"] == "redfish:bmc:psu:1:PSU2" && (string?)c["state"] == "failed")
                && (string?)health["worst"] == "critical";
        }, Wait, "redfish:bmc:psu:1:PSU2 failed in /api/components and worst critical in /api/health");
        var ids = components.Select(c => (string)c!["component"]!["id"]!).ToList();
        Assert.Contains("hwmon:nct6779:fan1", ids);
        Assert.Contains(ids, i => i.StartsWith("nic:", StringComparison.Ordinal));
        Assert.Contains(ids, i => i.StartsWith("mdraid:md0", StringComparison.Ordinal));
        var psu2 = components.Single(c => (string?)c!["component"]!["id"] == "redfish:bmc:psu:1:PSU2")!;
        Assert.Equal(("psu.fault", "blinking"), ((string?)psu2["code"], (string?)psu2["led"]!["leds"]!["status"]!["pattern"]));

        Assert.Equal("binary-1", (string?)health["agentId"]);
        // One incident for PSU 2 (panel + BMC + redundancy + system LED), raised once the correlation window has passed.
        JsonArray events = [];
        await OtlpReceiver.WaitUntilAsync(() =>
        {
            events = JsonNode.Parse(http.GetStringAsync("/api/events?limit=50").GetAwaiter().GetResult())!.AsArray();
            return events.Any(e => (string?)e!["component"]!["id"] == "psu:2" && (string?)e["kind"] == "raised");
        }, Wait, "PSU 2's incident raised in /api/events");
        Assert.Single(events, e => (string?)e!["kind"] == "raised" && (string?)e["component"]!["id"] == "psu:2");
        var explain = JsonNode.Parse(await http.GetStringAsync("/api/explain?family=psu&led=blinking%20amber"))!;
        Assert.True((bool)explain["matched"]!);
        Assert.Equal(HttpStatusCode.BadRequest, (await http.GetAsync("/api/events?minSeverity=bogus")).StatusCode);

        // identify: the web API → the Redfish source → a PATCH (source-generated JSON body) → the simulated BMC
        using (var identify = new HttpRequestMessage(HttpMethod.Post, "/api/components/redfish:bmc:system:1/identify")
               { Content = new StringContent("""{"on":true}""", Encoding.UTF8, "application/json") })
        {
            identify.Headers.Add("X-CSRF-Token", (string)me["csrfToken"]!);
            var answer = await http.SendAsync(identify);
            Assert.True(answer.StatusCode == HttpStatusCode.OK, await answer.Content.ReadAsStringAsync());
        }
        using var simHttp = new HttpClient { Timeout = Wait };
        var simState = JsonNode.Parse(await simHttp.GetStringAsync(redfish + "/sim/state"))!;
        Assert.True((bool)simState["targets"]!["system.identify"]!, simState.ToJsonString());

        // OTLP over gRPC: hw.status for the failed PSU, an event record for it, the configured header
        await OtlpReceiver.WaitUntilAsync(() =>
            receiver.MetricRequests.LatestMetrics().TryGetValue("hw.status", out var m)
            && m.Points().Any(p => p.Attributes.Str("hw.id") == "redfish:bmc:psu:1:PSU2" && p.Attributes.Str("hw.state") == "failed" && p.Value() == 1)
            && receiver.LogRequests.SelectMany(r => r.ResourceLogs).SelectMany(r => r.ScopeLogs).SelectMany(s => s.LogRecords)
                .Any(r => r.Attributes.Str("hw.id") == "psu:2"), // events are per incident, named by the root part
            Wait, "hw.status of redfish:bmc:psu:1:PSU2 and an event record of part psu:2");
        Assert.All(receiver.Requests, r => Assert.Equal("k1", r.Headers.GetValueOrDefault("x-api-key")));

        Assert.Equal(0, await agent.TerminateAsync(TimeSpan.FromSeconds(20)));
        Assert.DoesNotContain("Unhandled exception", agent.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("fail:", agent.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(" ERROR ", agent.Output, StringComparison.Ordinal); // Cli/ConsoleLog's word for LogLevel.Error
        Assert.DoesNotContain(" FATAL ", agent.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_RedfishOverTlsWithSessionAuth_PinnedCaFileAndComponentsUp()
    {
        var cert = Path.Combine(_dir, "cert.pem");
        await using var sim = new AgentProcess("", _dir, ["simulate", "-p", "0", "--panel-link", "none", "--tls", "--tls-cert", cert, "--auth", "admin:s3cret"]);
        await sim.WaitForOutputAsync("Press Ctrl+C to stop.", Wait);
        var url = Regex.Match(sim.Output, @"Redfish service:\s+(https://127\.0\.0\.1:\d+)/redfish/v1").Groups[1].Value;
        Assert.StartsWith("https://", url, StringComparison.Ordinal);
        var config = Path.Combine(_dir, "agent.json");
        await File.WriteAllTextAsync(config, $$"""
            {
              "agentId": "tls-1", "stateDirectory": "state", "logLevel": "Information",
              "sources": {
                "redfish": { "enabled": true, "intervalSeconds": 1,
                  "endpoints": [ { "name": "bmc", "url": "{{url}}", "caFile": "{{cert}}", "username": "admin", "password": "s3cret", "sessionAuth": true } ] },
                "hwmon": { "enabled": false }, "nic": { "enabled": false }, "mdraid": { "enabled": false }, "powersupply": { "enabled": false }, "smart": { "enabled": false }
              },
              "publishers": { "mqtt": { "enabled": false } }
            }
            """);
        await using var agent = new AgentProcess(config, _dir);
        // A PSU read over TLS with a session: the walk got through (its first poll may come before the first walk completes).
        await agent.WaitForOutputAsync("PSU 1 [bmc]: solid green", Wait); // Cli/ConsoleLog: the part by name, its LED
        Assert.Equal(0, await agent.TerminateAsync(TimeSpan.FromSeconds(20)));
        Assert.DoesNotContain("s3cret", agent.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""
        {
          "bogus": 1,
          "sources": {
            "hwmon": { "intervalSeconds": "often", "colour": "red" },
            "redfish": { "enabled": true, "endpoints": [ { "name": "bmc", "url": "ftp://bmc" } ] },
            "toaster": {}
          }
        }
        """, new[] { "bogus: unknown key", "sources.toaster: unknown source", "sources.redfish.endpoints[0].url: must be an absolute https://",
            "sources.hwmon.colour: unknown key (known: ", "sources.hwmon.intervalSeconds: expected a number, got a string" })]
    [InlineData("""
        {
          "sources": { "smart": { "enabled": false } },
          "publishers": { "mqtt": { "port": 70000 }, "otlp": { "enabled": true, "protocol": "carrier-pigeon", "headers": { "a": "b" } } },
          "web": { "enabled": true, "urls": ["http://0.0.0.0:8080"], "users": [ { "name": "a", "passwordHash": "x", "role": "administrator", "shoeSize": 44 } ] }
        }
        """, new[] { "publishers.mqtt.port: must be from 1 to 65535 (is 70000)", "publishers.otlp.protocol: must be 'grpc' or 'http/protobuf'",
            "web.urls: 'http://0.0.0.0:8080' listens beyond this machine", "web.users[0].passwordHash: not a hash",
            "web.users[0].shoeSize: unknown key (known: name, passwordHash, role, systemHealthMonitoring)" })]
    [InlineData("""
        { "logLevel": "Loud", "sources": { "nic": { "exclude": "eth0" } }, "publishers": { "mqtt": { "port": 0 } }, "web": { "urls": "http://127.0.0.1:9000" } }
        """, new[] { "logLevel: unknown level 'Loud'", "sources.nic.exclude: expected an array of strings, got a string",
            "publishers.mqtt.port: must be from 1 to 65535 (is 0)", "web.urls: expected an array of strings, got a string" })]
    public async Task Run_InvalidConfig_ExitsOneListingEveryError(string json, string[] expected)
    {
        var config = Path.Combine(_dir, "agent.json");
        await File.WriteAllTextAsync(config, json);
        var r = await AgentCommand.RunAsync(["run", "--config", config], Wait);
        Assert.True(r.ExitCode == 1, $"exit {r.ExitCode}: {r.StandardError}");
        Assert.StartsWith("configuration is invalid:", r.StandardError, StringComparison.Ordinal);
        foreach (var e in expected) Assert.Contains("  " + e, r.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Snapshot_ListAndDictionaryOptions_AreBound()
    {
        // Under Native AOT a reflection binder leaves lists and dictionaries empty without a word: prove both bind.
        var host = Path.Combine(SeedRules.RepoRoot, "tests/HealthAgent.Tests/testcases/ixgbe-10g-on-25g-port");
        async Task<JsonNode> SnapshotAsync(string nic)
        {
            var config = Path.Combine(_dir, "agent.json");
            await File.WriteAllTextAsync(config, $$"""
                { "sources": { "nic": {{nic}}, "smart": { "enabled": false }, "redfish": { "enabled": false }, "frontPanel": { "enabled": false } },
                  "publishers": { "mqtt": { "enabled": false } } }
                """);
            var r = await AgentCommand.RunAsync(["snapshot", "--json", "--config", config, "--host-root", host], Wait);
            Assert.True(r.ExitCode is >= 0 and <= 2, r.StandardError); // ok, warning or critical: it ran (3 = it could not)
            return JsonNode.Parse(r.StandardOutput)!;
        }
        static JsonNode? Reading(JsonNode snapshot, string name) =>
            snapshot["components"]!.AsArray().Single(c => (string?)c!["component"]!["id"] == "nic:eth0")!["readings"]!.AsArray().Single(r => (string?)r!["name"] == name)!["value"];

        var dictionary = await SnapshotAsync("""{ "netlink": false, "interfaces": { "eth0": { "expectedSpeedMbps": 40000 } } }""");
        Assert.Equal((40000d, "config"), ((double)Reading(dictionary, "maxSpeedMbps")!, (string?)Reading(dictionary, "maxSpeedSource")));

        var list = await SnapshotAsync("""{ "netlink": false, "exclude": ["eth0"] }""");
        Assert.DoesNotContain(list["components"]!.AsArray(), c => (string?)c!["component"]!["id"] == "nic:eth0");
    }

    [Fact]
    public async Task RulesCheckAndExplain_SeedTablesPassBrokenTableListsFileAndLine()
    {
        var seed = Path.Combine(SeedRules.RepoRoot, "rules");
        var ok = await AgentCommand.RunAsync(["rules", "check", seed], Wait);
        Assert.True(ok.ExitCode == 0, ok.StandardOutput + ok.StandardError);

        var broken = Path.Combine(_dir, "rules");
        CopyTree(seed, broken);
        var psu = Directory.GetFiles(broken, "*.yaml", SearchOption.AllDirectories).First(f => Path.GetFileName(f).StartsWith("psu", StringComparison.Ordinal));
        await File.AppendAllTextAsync(psu, "\nnotAKey: [unclosed\n");
        var bad = await AgentCommand.RunAsync(["rules", "check", broken], Wait);
        Assert.NotEqual(0, bad.ExitCode);
        Assert.Matches(Regex.Escape(Path.GetFileName(psu)) + @":\d+", bad.StandardOutput + bad.StandardError);

        var explain = await AgentCommand.RunAsync(["explain", "psu", "blinking amber", "--json"], Wait);
        Assert.True(explain.ExitCode == 0, explain.StandardError);
        var j = JsonNode.Parse(explain.StandardOutput)!;
        Assert.Equal(("psu", "psu.problem", "failed"), ((string?)j["family"], (string?)j["ruleId"], (string?)j["state"]));
        var text = await AgentCommand.RunAsync(["explain", "psu", "blinking amber"], Wait);
        Assert.True(text.ExitCode == 0, text.StandardError);
        Assert.Contains("PSU", text.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Simulate_ListAndInteractive_ScenariosTargetsAndStateJson()
    {
        var list = await AgentCommand.RunAsync(["simulate", "--list"], Wait);
        Assert.True(list.ExitCode == 0, list.StandardError);
        Assert.Contains("psu-fails", list.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("demo", list.StandardOutput, StringComparison.Ordinal);

        var r = await AgentCommand.RunAsync(["simulate", "-i", "-p", "-1", "--panel-link", "none"], Wait, stdin: "psu2 fault\nbogus 1\nstate\nquit\n");
        Assert.True(r.ExitCode == 0, r.StandardError);
        Assert.Contains("ok: psu2 = fault", r.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("error: unknown target 'bogus'", r.StandardOutput, StringComparison.Ordinal);
        var json = r.StandardOutput[r.StandardOutput.IndexOf('{', StringComparison.Ordinal)..(r.StandardOutput.LastIndexOf('}') + 1)];
        Assert.Equal("fault", (string?)JsonNode.Parse(json)!["targets"]!["psu2"]);
    }

    [Fact]
    public async Task Snapshot_FixtureTree_JsonAndTableWithComponentsAndRules()
    {
        var config = Path.Combine(_dir, "agent.json");
        await File.WriteAllTextAsync(config, """{ "sources": { "smart": { "enabled": false } } }""");
        var r = await AgentCommand.RunAsync(["snapshot", "--json", "--config", config, "--host-root", Path.Combine(AppContext.BaseDirectory, "testcases", "nct6779-fan-stalled")], Wait);
        Assert.True(r.ExitCode == 2, r.StandardError); // critical: a check from cron or a monitoring system
        var components = JsonNode.Parse(r.StandardOutput)!["components"]!.AsArray();
        Assert.Contains(components, c => (string?)c!["component"]!["id"] == "hwmon:nct6779:fan2" && (string?)c["state"] == "failed" && (string?)c["severity"] == "critical");

        // the console table (Spectre.Console), with --why
        var table = await AgentCommand.RunAsync(["snapshot", "--why", "--config", config, "--host-root", Path.Combine(AppContext.BaseDirectory, "testcases", "nct6779-fan-stalled")], Wait);
        Assert.True(table.ExitCode == 2, table.StandardError);
        Assert.Contains("hwmon:nct6779:fan2", table.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("why: sensor.fan › sensor.fan.stalled", table.StandardOutput, StringComparison.Ordinal);
    }

    private static void CopyTree(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var f in Directory.GetFiles(from)) File.Copy(f, Path.Combine(to, Path.GetFileName(f)));
        foreach (var d in Directory.GetDirectories(from)) CopyTree(d, Path.Combine(to, Path.GetFileName(d)));
    }
}
