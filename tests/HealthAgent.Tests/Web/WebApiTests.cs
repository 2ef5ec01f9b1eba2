using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using HealthAgent.Web.Auth;

namespace HealthAgent.Tests.Web;

public sealed class WebApiTests : IAsyncLifetime
{
    private WebTestHost _host = null!;

    public async Task InitializeAsync() => _host = await WebTestHost.StartAsync();
    public async Task DisposeAsync() => await _host.DisposeAsync();

    // Rows: the endpoint; columns: anonymous, viewer, operator, operator without the privilege, viewer in an operator group, administrator.
    public static TheoryData<string, string, int[]> Matrix => new()
    {
        { "GET", "/api/me", [401, 200, 200, 200, 200, 200] },
        { "GET", "/api/health", [401, 200, 200, 200, 200, 200] },
        { "GET", "/api/explain?family=psu&led=blinking%20amber", [401, 200, 200, 200, 200, 200] },
        { "GET", "/api/stream", [401, 200, 200, 200, 200, 200] },
        { "GET", "/api/components", [401, 403, 200, 403, 200, 200] },
        { "GET", "/api/events", [401, 403, 200, 403, 200, 200] },
        { "POST", "/api/events/{event}/ack", [401, 403, 200, 403, 200, 200] },
        { "POST", "/api/components/system/identify", [401, 403, 200, 403, 200, 200] },
        { "POST", "/api/rules/reload", [401, 403, 403, 403, 403, 200] },
        { "POST", "/api/logout", [401, 200, 200, 200, 200, 200] },
    };

    private static readonly string?[] Cases = [null, "viewer", "operator", "restricted", "nocviewer", "admin"];

    [Theory]
    [MemberData(nameof(Matrix))]
    public async Task Endpoint_EachAccessCase_AnswersPerRole(string method, string path, int[] expected)
    {
        _host.FailPsu2();
        var eventId = _host.State.History(1)[0].EventId;
        for (var i = 0; i < Cases.Length; i++)
        {
            using var c = await _host.ClientAsync(Cases[i]);
            var p = path.Replace("{event}", eventId.ToString(), StringComparison.Ordinal);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            using var r = method == "GET"
                ? await c.Http.GetAsync(p, HttpCompletionOption.ResponseHeadersRead, cts.Token) // the stream never ends: headers are enough
                : await c.PostAsync(p);
            Assert.True(expected[i] == (int)r.StatusCode, $"{method} {path} as {Cases[i] ?? "anonymous"}: expected {expected[i]}, got {(int)r.StatusCode}");
        }
    }

    [Fact]
    public async Task Login_WrongPassword_Is401AndNotLogged()
    {
        using var c = await _host.ClientAsync(null);
        var r = await c.Http.PostAsJsonAsync("/api/login", new { username = "admin", password = "not-the-password" });
        Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
        var unknown = await c.Http.PostAsJsonAsync("/api/login", new { username = "nobody", password = "x" });
        Assert.Equal(HttpStatusCode.Unauthorized, unknown.StatusCode);
        using var ok = await _host.ClientAsync("admin");
        var log = string.Join("\n", _host.Logs.Lines);
        Assert.Contains("Sign-in failed for admin", log, StringComparison.Ordinal);
        Assert.Contains("Signed in: admin (administrator)", log, StringComparison.Ordinal);
        Assert.DoesNotContain("not-the-password", log, StringComparison.Ordinal);
        Assert.DoesNotContain(WebTestHost.PasswordOf("admin"), log, StringComparison.Ordinal);
        Assert.DoesNotContain("pbkdf2", log, StringComparison.Ordinal);
        foreach (var u in _host.Options.Users!) Assert.DoesNotContain(u.PasswordHash.Split('$')[3], log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Login_Success_SetsHttpOnlyStrictCookieAndReturnsCsrfToken()
    {
        using var c = await _host.ClientAsync(null);
        var r = await c.Http.PostAsJsonAsync("/api/login", new { username = "Operator", password = WebTestHost.PasswordOf("operator") });
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        var cookie = Assert.Single(r.Headers.GetValues("Set-Cookie"));
        Assert.StartsWith("ha_session=", cookie, StringComparison.Ordinal);
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", cookie, StringComparison.OrdinalIgnoreCase);
        var body = JsonNode.Parse(await r.Content.ReadAsStringAsync())!;
        Assert.Equal("operator", body["role"]!.GetValue<string>());
        Assert.True(body["csrfToken"]!.GetValue<string>().Length >= 40);
        Assert.Equal(["systemHealthMonitoring"], body["privileges"]!.AsArray().Select(x => x!.GetValue<string>()));
    }

    [Fact]
    public async Task StateChangingRequest_WithoutOrWithWrongCsrf_Is403()
    {
        _host.FailPsu2();
        var id = _host.State.History(1)[0].EventId;
        using var c = await _host.ClientAsync("admin");
        Assert.Equal(HttpStatusCode.Forbidden, (await c.PostAsync($"/api/events/{id}/ack", withCsrf: false)).StatusCode);
        var wrong = new HttpRequestMessage(HttpMethod.Post, $"/api/events/{id}/ack");
        wrong.Headers.Add("X-CSRF-Token", c.Csrf + "x");
        Assert.Equal(HttpStatusCode.Forbidden, (await c.Http.SendAsync(wrong)).StatusCode);
        Assert.Empty(_host.State.Acknowledged);
        Assert.Equal(HttpStatusCode.OK, (await c.PostAsync($"/api/events/{id}/ack")).StatusCode);
        Assert.Equal((id, "admin"), Assert.Single(_host.State.Acknowledged));
        var events = JsonNode.Parse(await c.Http.GetStringAsync("/api/events"))!.AsArray();
        Assert.Equal("admin", events.First(e => e!["eventId"]!.GetValue<string>() == id.ToString())!["acknowledgedBy"]!.GetValue<string>());
    }

    [Fact]
    public async Task Session_IdleLongerThanSessionMinutes_Expires()
    {
        using var c = await _host.ClientAsync("operator");
        _host.Time.Advance(TimeSpan.FromMinutes(20));
        Assert.Equal(HttpStatusCode.OK, (await c.GetAsync("/api/health")).StatusCode); // sliding: this request extends it
        _host.Time.Advance(TimeSpan.FromMinutes(29));
        Assert.Equal(HttpStatusCode.OK, (await c.GetAsync("/api/health")).StatusCode);
        _host.Time.Advance(TimeSpan.FromMinutes(31));
        Assert.Equal(HttpStatusCode.Unauthorized, (await c.GetAsync("/api/health")).StatusCode);
    }

    [Fact]
    public async Task Logout_EndsTheSession()
    {
        using var c = await _host.ClientAsync("viewer");
        Assert.Equal(HttpStatusCode.OK, (await c.PostAsync("/api/logout")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await c.GetAsync("/api/health")).StatusCode);
    }

    [Fact]
    public async Task Login_RepeatedFailures_AreRateLimitedPerUserThenReleased()
    {
        using var c = await _host.ClientAsync(null);
        for (var i = 0; i < _host.Options.MaxFailedLoginsPerUser; i++)
            Assert.Equal(HttpStatusCode.Unauthorized, (await c.Http.PostAsJsonAsync("/api/login", new { username = "viewer", password = "guess" + i })).StatusCode);
        var limited = await c.Http.PostAsJsonAsync("/api/login", new { username = "viewer", password = WebTestHost.PasswordOf("viewer") });
        Assert.Equal((HttpStatusCode)429, limited.StatusCode);
        Assert.True(limited.Headers.RetryAfter is not null);
        // Another user from the same address is not locked out by viewer's failures (address limit is higher).
        Assert.Equal(HttpStatusCode.OK, (await c.Http.PostAsJsonAsync("/api/login", new { username = "admin", password = WebTestHost.PasswordOf("admin") })).StatusCode);
        _host.Time.Advance(_host.Options.LoginWindow + TimeSpan.FromSeconds(1));
        Assert.Equal(HttpStatusCode.OK, (await c.Http.PostAsJsonAsync("/api/login", new { username = "viewer", password = WebTestHost.PasswordOf("viewer") })).StatusCode);
    }

    [Fact]
    public async Task Login_ManyUsersFromOneAddress_AreRateLimitedPerAddress()
    {
        using var c = await _host.ClientAsync(null);
        for (var i = 0; i < _host.Options.MaxFailedLoginsPerAddress; i++)
            await c.Http.PostAsJsonAsync("/api/login", new { username = "spray" + i, password = "x" });
        var r = await c.Http.PostAsJsonAsync("/api/login", new { username = "admin", password = WebTestHost.PasswordOf("admin") });
        Assert.Equal((HttpStatusCode)429, r.StatusCode);
    }

    [Fact]
    public async Task Components_Operator_SeesLedJsonVerdictAndReadings()
    {
        _host.FailPsu2();
        using var c = await _host.ClientAsync("operator");
        var list = JsonNode.Parse(await c.Http.GetStringAsync("/api/components"))!.AsArray();
        var psu = list.Single(x => x!["component"]!["id"]!.GetValue<string>() == "psu:2")!;
        Assert.Equal("critical", psu["severity"]!.GetValue<string>());
        Assert.Equal("psu.problem", psu["ruleId"]!.GetValue<string>());
        Assert.Equal("Indicates a problem with the PSU.", psu["meaning"]!.GetValue<string>());
        var led = psu["led"]!["leds"]!["status"]!;
        Assert.Equal("blinking", led["pattern"]!.GetValue<string>());
        Assert.Equal("amber", led["color"]!.GetValue<string>());
        Assert.Equal(4.0, led["rate"]!["hz"]!.GetValue<double>());
        Assert.Equal("psu", psu["group"]!.GetValue<string>());
        // Issue 13: the state MQTT and `snapshot --json` carry (docs/schemas/state.json), plus only the page's fields.
        var status = _host.State.Components.Single(s => s.Component.Id == "psu:2");
        var expected = HealthAgent.Model.HealthJson.State(_host.State.AgentId, status, "psu:2");
        foreach (var web in new[] { "group", "groupTitle", "ledNames", "identify" }) expected[web] = psu[web]?.DeepClone();
        Assert.True(JsonNode.DeepEquals(expected, psu), $"expected {expected.ToJsonString()}\n     got {psu.ToJsonString()}");
        Assert.Equal(("PSU 2", "psu:2", false), ((string?)psu["component"]!["name"], (string?)psu["part"], (bool)psu["identify"]!));
        var nic = list.Single(x => x!["component"]!["id"]!.GetValue<string>() == "nic:eth0")!;
        Assert.Contains(nic["readings"]!.AsArray(), r => r!["name"]!.GetValue<string>() == "maxSpeedMbps" && r["value"]!.GetValue<double>() == 10000);
        var drive = list.Single(x => x!["component"]!["id"]!.GetValue<string>() == "drive:1")!["led"]!["leds"]!["status"]!;
        Assert.Equal("sequence", drive["pattern"]!.GetValue<string>());
        Assert.Equal(3.0, drive["steps"]![0]!["seconds"]!.GetValue<double>());
    }

    [Fact]
    public async Task Parts_PsuFailure_PsuTwoFirstWithItsObservation_ViewerRefused()
    {
        _host.FailPsu2();
        using var c = await _host.ClientAsync("operator");
        var parts = JsonNode.Parse(await c.Http.GetStringAsync("/api/parts"))!.AsArray();
        Assert.Equal("critical", (string?)parts[0]!["severity"]);
        var psu = parts.Single(p => (string?)p!["part"]!["id"] == "psu:2")!;
        Assert.Equal(("PSU 2", "psu.fault"), ((string?)psu["part"]!["name"], (string?)psu["code"]));
        Assert.Equal("psu:2", (string?)Assert.Single(psu["observations"]!.AsArray())!["component"]!["id"]);
        using var viewer = await _host.ClientAsync("viewer");
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.Http.GetAsync("/api/parts")).StatusCode);
    }

    [Fact]
    public async Task Events_AreTheOneEventContract_PlusAcknowledgement()
    {
        // Issue 13: the web API serves the event MQTT and the history store carry (docs/schemas/event.json), plus only
        // who acknowledged it — not a dialect of its own.
        _host.FailPsu2();
        _host.State.Observe(WebTestHost.Led(WebTestHost.Psu(2), "solid green"));
        using var c = await _host.ClientAsync("admin");
        var history = _host.State.History(10, componentId: "psu:2");
        Assert.Equal(["cleared", "raised"], history.Select(h => HealthAgent.Model.HealthJson.KindName(h.Kind)));
        Assert.Equal(HttpStatusCode.OK, (await c.PostAsync($"/api/events/{history[1].EventId}/ack")).StatusCode);

        var events = JsonNode.Parse(await c.Http.GetStringAsync("/api/events?component=psu:2"))!.AsArray();
        Assert.Equal(2, events.Count);
        foreach (var (json, e) in events.Zip(history))
        {
            var o = json!.AsObject();
            var expected = HealthAgent.Model.HealthJson.Event(e);
            expected["acknowledgedBy"] = e == history[1] ? "admin" : null;
            expected["acknowledgedAt"] = o["acknowledgedAt"]?.DeepClone();
            Assert.True(JsonNode.DeepEquals(expected, o), $"expected {expected.ToJsonString()}\n     got {o.ToJsonString()}");
        }
        var cleared = events[0]!;
        Assert.Equal(("psu:2", "PSU 2"), ((string?)cleared["component"]!["id"], (string?)cleared["component"]!["name"]));
        Assert.Equal(("blinking amber 4hz", "critical"), ((string?)cleared["from"]!["led"]!["text"], (string?)cleared["from"]!["severity"]));
        Assert.Equal("psu:2", (string?)cleared["incident"]!["root"]!["part"]!["id"]);
        Assert.NotNull(events[1]!["acknowledgedAt"]);
        Assert.Null(events[1]!["from"]);
        Assert.DoesNotContain(events, e => e!.AsObject().ContainsKey("componentId") || e.AsObject().ContainsKey("fromLed"));
    }

    [Fact]
    public async Task Events_FilterBySeverityAndComponent_ReturnsOnlyMatching()
    {
        _host.FailPsu2();
        using var c = await _host.ClientAsync("operator");
        var critical = JsonNode.Parse(await c.Http.GetStringAsync("/api/events?minSeverity=critical"))!.AsArray();
        Assert.NotEmpty(critical);
        Assert.All(critical, e => Assert.Equal("critical", e!["severity"]!.GetValue<string>()));
        var psu = JsonNode.Parse(await c.Http.GetStringAsync("/api/events?component=psu:2"))!.AsArray();
        var e = Assert.Single(psu)!;
        Assert.Equal("raised", e["kind"]!.GetValue<string>());
        Assert.Equal("psu.fault", e["code"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.BadRequest, (await c.GetAsync("/api/events?minSeverity=dire")).StatusCode);
    }

    [Fact]
    public async Task Health_Viewer_GetsRollupWithSystemLedMeaning()
    {
        _host.FailPsu2();
        using var c = await _host.ClientAsync("viewer");
        var h = JsonNode.Parse(await c.Http.GetStringAsync("/api/health"))!;
        Assert.Equal("critical", h["worst"]!.GetValue<string>());
        Assert.Equal("blinking amber", h["systemLed"]!["text"]!.GetValue<string>());
        Assert.Equal("The system is experiencing a fault.", h["systemMeaning"]!.GetValue<string>());
        Assert.True(h["counts"]!["critical"]!.GetValue<int>() >= 2);
        // Issue 13: the roll-up MQTT carries (docs/schemas/health.json); a viewer does not see which part failed.
        Assert.Equal(("healthagent/v2/health", false), ((string?)h["schema"], (bool)h["systemLedDerived"]!));
        Assert.Null(h["problems"]);

        using var op = await _host.ClientAsync("operator");
        var o = JsonNode.Parse(await op.Http.GetStringAsync("/api/health"))!.AsObject();
        var expected = HealthAgent.Model.HealthJson.Health(_host.State.AgentId, _host.State.Rollup, systemLedDerived: false);
        foreach (var web in new[] { "systemMeaning", "systemAction", "systemRuleId" }) expected[web] = o[web]?.DeepClone();
        Assert.True(JsonNode.DeepEquals(expected, o), $"expected {expected.ToJsonString()}\n     got {o.ToJsonString()}");
        Assert.Contains(o["problems"]!.AsArray(), p => (string?)p!["root"]!["part"]!["id"] == "psu:2" && (string?)p["severity"] == "critical");
    }

    [Fact]
    public async Task Explain_WordsAndPicks_AnswerLikeTheCli()
    {
        using var c = await _host.ClientAsync("viewer");
        var a = JsonNode.Parse(await c.Http.GetStringAsync("/api/explain?family=power-supply&led=blinking%20amber"))!;
        Assert.True(a["matched"]!.GetValue<bool>());
        Assert.Equal("psu.problem", a["answers"]![0]!["ruleId"]!.GetValue<string>());
        var nic = JsonNode.Parse(await c.Http.GetStringAsync("/api/explain?family=nic&led=" + Uri.EscapeDataString("link solid amber; activity blinking green")))!;
        Assert.Contains("maximum", nic["answers"]![0]!["meaning"]!.GetValue<string>(), StringComparison.OrdinalIgnoreCase);
        var none = JsonNode.Parse(await c.Http.GetStringAsync("/api/explain?family=psu&led=solid%20red"))!;
        Assert.False(none["matched"]!.GetValue<bool>());
        Assert.NotEmpty(none["known"]!.AsArray());
        Assert.Equal(HttpStatusCode.BadRequest, (await c.GetAsync("/api/explain?family=psu&led=wobbling%20purple")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await c.GetAsync("/api/explain?family=toaster&led=off")).StatusCode);
        var families = JsonNode.Parse(await c.Http.GetStringAsync("/api/explain"))!["families"]!.AsArray();
        Assert.Equal(6, families.Count);
    }

    [Fact]
    public async Task Identify_SupportedAndUnsupported_AnswerOkOr409()
    {
        using var c = await _host.ClientAsync("operator");
        Assert.Equal(HttpStatusCode.OK, (await c.PostAsync("/api/components/drive:0/identify", new { on = false })).StatusCode);
        Assert.Equal(("drive:0", false), Assert.Single(_host.State.Identified));
        Assert.Equal(HttpStatusCode.Conflict, (await c.PostAsync("/api/components/psu:1/identify")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await c.PostAsync("/api/components/nope/identify")).StatusCode);
    }

    [Fact]
    public async Task RulesReload_Administrator_LoadsDirectoryOrReportsErrors()
    {
        using var c = await _host.ClientAsync("admin");
        var ok = await c.PostAsync("/api/rules/reload");
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.NotNull(_host.Reloaded);
        File.WriteAllText(Path.Combine(_host.RulesDirectory, "indicators", "psu.yaml"), "family: psu\ntitle: x\nhwType: power_supply\nleds: [status]\nrules:\n  - id: psu.bad\n    led: wobbling\n");
        var bad = await c.PostAsync("/api/rules/reload");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, bad.StatusCode);
        var body = JsonNode.Parse(await bad.Content.ReadAsStringAsync())!;
        Assert.Contains(body["errors"]!.AsArray(), e => e!.GetValue<string>().Contains("psu.yaml:", StringComparison.Ordinal));
        // the previous rules stay in force
        Assert.True(JsonNode.Parse(await c.Http.GetStringAsync("/api/explain?family=psu&led=blinking%20amber"))!["matched"]!.GetValue<bool>());
    }

    [Fact]
    public async Task Stream_OperatorGetsStatusAndEvents_ViewerOnlyTheRollup()
    {
        using var op = await _host.ClientAsync("operator");
        using var viewer = await _host.ClientAsync("viewer");
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var opText = ReadStreamAsync(op, 3, cts.Token);
        var viewerText = ReadStreamAsync(viewer, 1, cts.Token);
        while (_host.State.WatcherCount < 2) await Task.Delay(20, cts.Token);
        _host.State.Observe(WebTestHost.Led(WebTestHost.Psu(2), "blinking amber 4hz"));
        var o = await opText;
        Assert.Contains("event: status", o, StringComparison.Ordinal);
        Assert.Contains("event: event", o, StringComparison.Ordinal);
        Assert.Contains("\"code\":\"psu.fault\"", o, StringComparison.Ordinal);
        var v = await viewerText;
        Assert.Contains("event: rollup", v, StringComparison.Ordinal);
        Assert.DoesNotContain("event: status", v, StringComparison.Ordinal);
        Assert.DoesNotContain("psu.fault", v, StringComparison.Ordinal);
    }

    private static async Task<string> ReadStreamAsync(WebTestHost.Client c, int messages, CancellationToken ct)
    {
        using var r = await c.Http.GetAsync("/api/stream", HttpCompletionOption.ResponseHeadersRead, ct);
        Assert.Equal("text/event-stream", r.Content.Headers.ContentType!.MediaType);
        using var reader = new StreamReader(await r.Content.ReadAsStreamAsync(ct));
        var text = new System.Text.StringBuilder();
        var seen = 0;
        while (seen < messages && await reader.ReadLineAsync(ct) is { } line)
        {
            text.AppendLine(line);
            if (line.StartsWith("data:", StringComparison.Ordinal)) seen++;
        }
        return text.ToString();
    }

    [Fact]
    public async Task Stream_SessionExpires_EndsWithExpired()
    {
        using var c = await _host.ClientAsync("operator");
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var text = ReadStreamAsync(c, 1, cts.Token);
        while (_host.State.WatcherCount < 1) await Task.Delay(20, cts.Token);
        _host.Time.Advance(TimeSpan.FromHours(1));
        _host.FailPsu2();
        Assert.Contains("event: expired", await text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Page_IsServedWithSecurityHeaders()
    {
        using var c = await _host.ClientAsync(null);
        var r = await c.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Contains("What do I see?", await r.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Contains("default-src 'self'", r.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await c.GetAsync("/app.js")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await c.GetAsync("/api/nothing")).StatusCode);
    }
}
