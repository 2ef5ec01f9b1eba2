using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using HealthAgent.TestSupport;
using HealthAgent.Tests.Publishing.Mqtt;
using HealthAgent.Web.Auth;
using Microsoft.Playwright;

namespace HealthAgent.Tests.Web;

/// <summary>
/// The web view of the real agent (a `healthagent run` process) on the simulated appliance — a Redfish BMC and a
/// host tree — in Debian's chromium: what a technician sees at phone and desk width. Screenshots at 390 and 1400 px
/// go to artifacts/screenshots (web-view-390.png, web-view-1400.png).
/// </summary>
[Trait(AgentCommand.Category, AgentCommand.Process)]
public sealed partial class WebViewOnSimulatorTests(ChromiumFixture chromium) : IClassFixture<ChromiumFixture>, IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(45);
    private readonly string _dir = Directory.CreateTempSubdirectory("healthagent-webview-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    [GeneratedRegex(@"Redfish service:\s+(http://127\.0\.0\.1:\d+)/redfish/v1")]
    private static partial Regex RedfishUrl();

    [Fact]
    public async Task WebView_PhoneAndDesk_FitsReadableUnitsIdentifyOnlyWhereSwitchable()
    {
        var host = Path.Combine(_dir, "host");
        await using var sim = new AgentProcess("", _dir, ["simulate", "--scenario", "psu-fails", "--loop", "-p", "0", "--panel-link", "none", "--host-root", host]);
        await sim.WaitForOutputAsync("Press Ctrl+C to stop.", Wait);
        var redfish = RedfishUrl().Match(sim.Output).Groups[1].Value;
        var web = "http://127.0.0.1:" + MosquittoBroker.GetFreePort().ToString(CultureInfo.InvariantCulture);
        const string password = "pw-admin-web-view";
        var config = Path.Combine(_dir, "agent.json");
        await File.WriteAllTextAsync(config, $$"""
            {
              "agentId": "appliance-1", "stateDirectory": "state",
              "sources": {
                "redfish": { "enabled": true, "intervalSeconds": 1, "endpoints": [ { "name": "bmc", "url": "{{redfish}}", "timeoutSeconds": 5 } ] },
                "hwmon": { "intervalSeconds": 1, "hostRoot": "{{host}}" }, "nic": { "intervalSeconds": 1, "hostRoot": "{{host}}", "netlink": false },
                "mdraid": { "intervalSeconds": 1, "hostRoot": "{{host}}" }, "powersupply": { "intervalSeconds": 1, "hostRoot": "{{host}}" },
                "smart": { "enabled": false }
              },
              "publishers": { "mqtt": { "enabled": false } },
              "web": { "enabled": true, "urls": ["{{web}}"], "users": [ { "name": "admin", "passwordHash": "{{PasswordHasher.Hash(password, 1000)}}", "role": "administrator" } ] }
            }
            """);
        await using var agent = new AgentProcess(config, _dir);
        await agent.WaitForOutputAsync("Web view listening on " + web, Wait);

        var context = await chromium.Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = web, Locale = "en-GB", TimezoneId = "UTC", ViewportSize = new ViewportSize { Width = 390, Height = 844 }, IsMobile = true, HasTouch = true,
        });
        context.SetDefaultTimeout(20_000);
        var page = await context.NewPageAsync();
        await page.GotoAsync("/");
        await page.Locator("#login-form").WaitForAsync();
        Assert.False(await page.Locator("#session").IsVisibleAsync());
        await page.FillAsync("#username", "admin");
        await page.FillAsync("#password", password);
        await page.ClickAsync("#login-form button[type=submit]");
        await page.Locator("[data-component='redfish:bmc:psu:1:PSU2'].sev-critical").WaitForAsync();
        await page.Locator("[data-component^='nic:']").First.WaitForAsync();
        await Task.Delay(2500); // a few polls: NIC byte counters, every BMC resource

        foreach (var width in new[] { 360, 390 })
        {
            await page.SetViewportSizeAsync(width, 844);
            var wide = await page.EvaluateAsync<int>("() => document.scrollingElement.scrollWidth");
            Assert.True(wide <= width, $"{wide} px wide at a {width} px screen");
            // nothing inside a card is cut off either
            var clipped = await page.EvaluateAsync<string[]>("""
                () => [...document.querySelectorAll('.card')].filter(c => c.scrollWidth > c.clientWidth + 1).map(c => c.dataset.component)
                """);
            Assert.True(clipped.Length == 0, $"at {width} px cards overflow: {string.Join(", ", clipped)}");
        }
        await page.SetViewportSizeAsync(390, 844);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = ChromiumFixture.ScreenshotPath("web-view-390.png"), FullPage = true, Animations = ScreenshotAnimations.Disabled });
        await page.EvaluateAsync("() => window.scrollTo(0, 0)");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = ChromiumFixture.ScreenshotPath("web-view-390-top.png"), Animations = ScreenshotAnimations.Disabled });
        await page.Locator("[data-component^='nic:']").First.ScrollIntoViewIfNeededAsync();
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = ChromiumFixture.ScreenshotPath("web-view-390-nic.png"), Animations = ScreenshotAnimations.Disabled });
        await page.Locator("[data-component^='redfish:bmc:temp']").First.ScrollIntoViewIfNeededAsync();
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = ChromiumFixture.ScreenshotPath("web-view-390-temp.png"), Animations = ScreenshotAnimations.Disabled });

        // units and headings as people read them
        var text = await page.InnerTextAsync("#components");
        Assert.DoesNotMatch(@"\d (Cel|By)\b", text);
        Assert.Contains("°C", text, StringComparison.Ordinal);
        Assert.Matches(@"\d (kB|MB|GB|bytes)\b", text);
        // (textContent: innerText would show the CSS upper-casing, not what the API sent)
        var headings = await page.EvaluateAsync<string[]>("() => [...document.querySelectorAll('#components h3')].map(h => h.textContent)");
        Assert.Contains("BMC", headings);
        Assert.DoesNotContain("Bmc", headings);

        // "Identify" exactly on the components the API says a source can switch (BMC system, chassis, drives)
        var components = JsonNode.Parse(await page.EvaluateAsync<string>("async () => JSON.stringify(await (await fetch('/api/components')).json())"))!.AsArray();
        var switchable = components.Where(c => (bool)c!["identify"]!).Select(c => (string)c!["component"]!["id"]!).ToHashSet();
        Assert.Contains("redfish:bmc:system:1", switchable);
        Assert.DoesNotContain(switchable, id => id.StartsWith("nic:", StringComparison.Ordinal) || id.StartsWith("hwmon:", StringComparison.Ordinal) || id.Contains(":nic:", StringComparison.Ordinal));
        var withButton = await page.EvaluateAsync<string[]>("""
            () => [...document.querySelectorAll('.card')].filter(c => [...c.querySelectorAll('button')].some(b => /Identify/.test(b.textContent))).map(c => c.dataset.component)
            """);
        Assert.Equal(switchable.Order(StringComparer.Ordinal), withButton.Order(StringComparer.Ordinal));

        await page.SetViewportSizeAsync(1400, 900);
        await page.EvaluateAsync("() => window.scrollTo(0, 0)");
        await page.Locator("[data-component='redfish:bmc:psu:1:PSU2'].sev-critical").WaitForAsync(new LocatorWaitForOptions { Timeout = 40_000 }); // PSU 2 failed (t = 4…20 s of each 25 s loop)
        Assert.True(await page.EvaluateAsync<int>("() => document.scrollingElement.scrollWidth") <= 1400);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = ChromiumFixture.ScreenshotPath("web-view-1400.png"), FullPage = true, Animations = ScreenshotAnimations.Disabled });
        await page.ScreenshotAsync(new PageScreenshotOptions
        {
            Path = ChromiumFixture.ScreenshotPath("web-view-1400-top.png"), FullPage = true, Animations = ScreenshotAnimations.Disabled,
            Clip = new Clip { X = 0, Y = 0, Width = 1400, Height = 1300 },
        });

        // the live stream dropped by the browser: handled quietly
        await context.CloseAsync();
        await Task.Delay(1000);
        Assert.Equal(0, await agent.TerminateAsync(TimeSpan.FromSeconds(20)));
        Assert.DoesNotContain("NotSupportedException", agent.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("fail:", agent.Output, StringComparison.Ordinal);
    }
}
