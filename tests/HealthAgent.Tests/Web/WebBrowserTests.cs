using Microsoft.Playwright;

namespace HealthAgent.Tests.Web;

/// <summary>Debian's chromium driven by Playwright (its own browser download is not used).</summary>
public sealed class ChromiumFixture : IAsyncLifetime
{
    public const string ChromiumPath = "/usr/bin/chromium";
    public IPlaywright Playwright { get; private set; } = null!;
    public IBrowser Browser { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Playwright = await Microsoft.Playwright.Playwright.CreateAsync();
        Browser = await Playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });
    }

    public async Task DisposeAsync()
    {
        await Browser.DisposeAsync();
        Playwright.Dispose();
    }

    /// <summary>artifacts/screenshots under the repository root (found by HealthAgent.sln), kept as test artifacts.</summary>
    public static string ScreenshotPath(string name)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "HealthAgent.sln"))) dir = dir.Parent;
        var root = Path.Combine(dir?.FullName ?? AppContext.BaseDirectory, "artifacts", "screenshots");
        Directory.CreateDirectory(root);
        return Path.Combine(root, name);
    }
}

public sealed class WebBrowserTests(ChromiumFixture chromium) : IClassFixture<ChromiumFixture>, IAsyncLifetime
{
    private WebTestHost _host = null!;

    public async Task InitializeAsync() => _host = await WebTestHost.StartAsync();
    public async Task DisposeAsync() => await _host.DisposeAsync();

    private async Task<IPage> SignInAsync(string user, BrowserNewContextOptions? options = null)
    {
        options ??= new BrowserNewContextOptions();
        options.BaseURL = _host.BaseUri.ToString();
        options.Locale = "en-GB";
        options.TimezoneId = "UTC";
        options.ViewportSize ??= new ViewportSize { Width = 1280, Height = 900 };
        var context = await chromium.Browser.NewContextAsync(options);
        context.SetDefaultTimeout(15_000);
        var page = await context.NewPageAsync();
        await page.GotoAsync("/");
        await page.FillAsync("#username", user);
        await page.FillAsync("#password", WebTestHost.PasswordOf(user));
        await page.ClickAsync("#login-form button[type=submit]");
        await page.Locator("#system .title").WaitForAsync();
        await page.Locator("body[data-live='true']").WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Attached });
        return page;
    }

    private static Task<bool> VisibleAsync(IPage page, string selector) => page.Locator(selector).IsVisibleAsync();

    [Theory]
    [InlineData("admin", true, true)]
    [InlineData("operator", true, false)]
    [InlineData("restricted", false, false)]
    [InlineData("viewer", false, false)]
    [InlineData("nocviewer", true, false)]
    public async Task SignIn_EachRole_SeesExactlyWhatItMay(string user, bool monitor, bool configure)
    {
        var page = await SignInAsync(user);
        if (monitor) await page.Locator("[data-component='psu:1']").WaitForAsync();
        Assert.True(await VisibleAsync(page, "#system"));
        Assert.Contains("System health", await page.InnerTextAsync("#system"), StringComparison.Ordinal);
        Assert.Equal(monitor, await VisibleAsync(page, "#components-section"));
        Assert.Equal(monitor, await VisibleAsync(page, "#events-section"));
        Assert.Equal(!monitor, await VisibleAsync(page, "#viewer-note"));
        Assert.Equal(configure, await VisibleAsync(page, "#admin-section"));
        Assert.True(await VisibleAsync(page, "#lookup-section"));
        var text = await page.InnerTextAsync("body");
        Assert.Equal(monitor, text.Contains("PSU 1", StringComparison.Ordinal));
        Assert.Equal(monitor ? 9 : 0, await page.Locator(".card").CountAsync());
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = ChromiumFixture.ScreenshotPath($"role-{user}.png"), FullPage = true, Animations = ScreenshotAnimations.Disabled });
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task PsuFailure_AppearsLiveWithoutReload_DrawnAt4Hz()
    {
        var page = await SignInAsync("operator");
        await page.Locator("[data-component='psu:2'].sev-ok").WaitForAsync();
        await page.EvaluateAsync("() => { window.__sameDocument = 42; }");
        while (_host.State.WatcherCount < 1) await Task.Delay(20);

        _host.FailPsu2();

        var card = page.Locator("[data-component='psu:2'].sev-critical");
        await card.WaitForAsync();
        Assert.Contains("Indicates a problem with the PSU.", await card.InnerTextAsync(), StringComparison.Ordinal);
        Assert.Contains("4 Hz · 250 ms cycle", await card.InnerTextAsync(), StringComparison.Ordinal);
        await page.Locator("#events li.sev-critical", new PageLocatorOptions { HasText = "Indicates a problem with the PSU." }).WaitForAsync();
        await page.Locator("#system-meaning", new PageLocatorOptions { HasText = "The system is experiencing a fault." }).WaitForAsync();
        Assert.Equal(42, await page.EvaluateAsync<int>("() => window.__sameDocument")); // no reload happened

        // The drawn LED blinks at the rule's real timing: 4 Hz → a 250 ms cycle, read from the computed style.
        var led = card.Locator(".led");
        Assert.Equal("0.25s", await led.EvaluateAsync<string>("e => getComputedStyle(e).animationDuration"));
        Assert.Equal("ha-blink", await led.EvaluateAsync<string>("e => getComputedStyle(e).animationName"));
        Assert.Equal("running", await led.EvaluateAsync<string>("e => getComputedStyle(e).animationPlayState"));
        // A blink without a rate in the table is drawn at the nominal 1 Hz; a timed sequence over its whole length
        // (3 s green + 3 s amber + 2 s dark before it is shown again).
        Assert.Equal("1s", await page.Locator("#system-led .led").EvaluateAsync<string>("e => getComputedStyle(e).animationDuration"));
        Assert.Equal("8s", await page.Locator("[data-component='drive:1'] .led").EvaluateAsync<string>("e => getComputedStyle(e).animationDuration"));
        await page.Locator("[data-component='psu:2']").ScrollIntoViewIfNeededAsync();
        await page.EvaluateAsync("() => window.scrollTo(0, 0)");
        // Screenshots stop infinite animations at their first keyframe, where every blinking LED is lit.
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = ChromiumFixture.ScreenshotPath("psu-failure.png"), FullPage = true, Animations = ScreenshotAnimations.Disabled });
        await page.ScreenshotAsync(new PageScreenshotOptions
        {
            Path = ChromiumFixture.ScreenshotPath("web-view.png"), FullPage = true, Animations = ScreenshotAnimations.Disabled,
            Clip = new Clip { X = 0, Y = 0, Width = 1280, Height = 1240 },
        });
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task PsuFailure_FirstScreenIsTheOneProblem_PartMeaningActionConsequences()
    {
        var page = await SignInAsync("operator");
        // The seeded terminal already has one problem: drive 1 predicts its failure.
        await page.Locator("#problems li[data-problem='drive:1']").WaitForAsync();
        while (_host.State.WatcherCount < 1) await Task.Delay(20);
        var before = await page.Locator("#problems li").CountAsync();

        _host.FailPsu2();

        var problem = page.Locator("#problems li[data-problem='psu:2']");
        await problem.WaitForAsync();
        // PSU 2 and the system LED it turned amber: one more problem, not two.
        Assert.Equal(before + 1, await page.Locator("#problems li").CountAsync());
        Assert.Equal(0, await page.Locator("#problems li[data-problem='system']").CountAsync());
        var text = await problem.InnerTextAsync();
        Assert.Contains("PSU 2", text, StringComparison.Ordinal);
        Assert.Contains("Indicates a problem with the PSU.", text, StringComparison.Ordinal);
        Assert.Contains("What to do:", text, StringComparison.Ordinal);
        Assert.Contains("Also affected: System health indicator (critical, blinking amber)", text, StringComparison.Ordinal);
        // One glance: the problem is on the first screen, above the components.
        var box = (await problem.BoundingBoxAsync())!;
        Assert.True(box.Y + box.Height <= 900, $"the problem ends at {box.Y + box.Height} px, below the first screen");
        Assert.True(box.Y < (await page.Locator("#components-section").BoundingBoxAsync())!.Y);
        // Then the parts by severity: the failed PSU's group comes before the healthy ones.
        var firstCard = page.Locator("#components .card").First;
        Assert.Contains("sev-critical", await firstCard.GetAttributeAsync("class") ?? "", StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReducedMotion_LedsStill_TimingStillInspectable()
    {
        _host.FailPsu2();
        var page = await SignInAsync("admin", new BrowserNewContextOptions { ReducedMotion = ReducedMotion.Reduce });
        var led = page.Locator("[data-component='psu:2'] .led");
        await led.WaitForAsync();
        Assert.Equal("paused", await led.EvaluateAsync<string>("e => getComputedStyle(e).animationPlayState"));
        Assert.Equal("0.25s", await led.EvaluateAsync<string>("e => getComputedStyle(e).animationDuration"));
        Assert.Contains("250 ms cycle", await led.GetAttributeAsync("aria-label") ?? "", StringComparison.Ordinal);
        await page.CheckAsync("#animate");
        Assert.Equal("running", await led.EvaluateAsync<string>("e => getComputedStyle(e).animationPlayState"));
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task Lookup_TypedOrPicked_AnswersWithMeaningAndAction()
    {
        var page = await SignInAsync("viewer");
        await page.SelectOptionAsync("#lookup-family", "psu");
        await page.FillAsync("#lookup-text", "blinking amber");
        await page.ClickAsync("#lookup-form button[type=submit]");
        var answer = page.Locator("#lookup-answer .result");
        await answer.WaitForAsync();
        var text = await answer.InnerTextAsync();
        Assert.Contains("Indicates a problem with the PSU.", text, StringComparison.Ordinal);
        Assert.Contains("replace the PSU", text, StringComparison.Ordinal);

        // Picked from the lists: a NIC's link LED solid amber, activity blinking green.
        await page.SelectOptionAsync("#lookup-family", "nic");
        await page.FillAsync("#lookup-text", "");
        await page.SelectOptionAsync("#pick-link-pattern", "solid");
        await page.SelectOptionAsync("#pick-link-color", "amber");
        await page.SelectOptionAsync("#pick-activity-pattern", "blinking");
        await page.SelectOptionAsync("#pick-activity-color", "green");
        await page.ClickAsync("#lookup-form button[type=submit]");
        await page.Locator("#lookup-answer .result", new PageLocatorOptions { HasText = "link solid amber" }).WaitForAsync();
        var nicAnswer = await page.InnerTextAsync("#lookup-answer");
        Assert.Contains("maximum", nicAnswer, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("null", nicAnswer, StringComparison.Ordinal);
        await page.Locator("#lookup-section").ScreenshotAsync(new LocatorScreenshotOptions { Path = ChromiumFixture.ScreenshotPath("lookup.png"), Animations = ScreenshotAnimations.Disabled });
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task Keyboard_SignInAndFilterEvents_WorkWithoutMouse()
    {
        _host.FailPsu2();
        _host.State.Observe(WebTestHost.Led(WebTestHost.Psu(2), "solid green")); // a cleared event: "was" comes from the event's `from`
        var context = await chromium.Browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = _host.BaseUri.ToString() });
        var page = await context.NewPageAsync();
        await page.GotoAsync("/");
        await page.Locator("#username").WaitForAsync();
        await page.FocusAsync("#username");
        await page.Keyboard.TypeAsync("operator");
        await page.Keyboard.PressAsync("Tab");
        await page.Keyboard.TypeAsync(WebTestHost.PasswordOf("operator"));
        await page.Keyboard.PressAsync("Enter");
        await page.Locator("#events li").First.WaitForAsync();
        // The event's nested component and `from` (the one event contract) reach the page: name, and what it was.
        await page.Locator("#events li", new PageLocatorOptions { HasText = "PSU 2" })
            .Filter(new LocatorFilterOptions { HasText = "was: blinking amber 4hz (critical)" }).WaitForAsync();
        await page.SelectOptionAsync("#filter-component", "psu:2");
        await page.Locator("#events li", new PageLocatorOptions { HasText = "System health" }).WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Detached });
        Assert.Equal(2, await page.Locator("#events li", new PageLocatorOptions { HasText = "PSU 2" }).CountAsync());
        await page.SelectOptionAsync("#filter-component", "");
        await page.FocusAsync("#filter-severity");
        await page.SelectOptionAsync("#filter-severity", "critical");
        await page.Locator("#events li.sev-warning").WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Detached });
        Assert.True(await page.Locator("#events li.sev-critical").CountAsync() >= 1);
        await context.CloseAsync();
    }

    [Fact]
    public async Task LoginPage_ShowsOnlyTheLogin()
    {
        var context = await chromium.Browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = _host.BaseUri.ToString(), ViewportSize = new ViewportSize { Width = 390, Height = 844 } });
        var page = await context.NewPageAsync();
        await page.GotoAsync("/");
        await page.Locator("#login-form").WaitForAsync();
        Assert.True(await VisibleAsync(page, "#username"));
        Assert.False(await VisibleAsync(page, "#session"));   // .session { display: flex } must not beat [hidden]
        Assert.False(await VisibleAsync(page, "#logout"));
        Assert.False(await VisibleAsync(page, "#animate"));
        Assert.False(await VisibleAsync(page, "#app"));
        Assert.DoesNotContain("Sign out", await page.InnerTextAsync("body"), StringComparison.Ordinal);
        await context.CloseAsync();
    }

    [Fact]
    public async Task Identify_OnlyWhereASourceCanSwitchIt_ErrorShownOnTheCard()
    {
        var page = await SignInAsync("operator");
        await page.Locator("[data-component='psu:1']").WaitForAsync();
        Assert.Equal(1, await page.Locator("[data-component='system'] button", new PageLocatorOptions { HasText = "Identify" }).CountAsync());
        Assert.Equal(1, await page.Locator("[data-component='drive:0'] button", new PageLocatorOptions { HasText = "Identify" }).CountAsync());
        foreach (var id in new[] { "psu:1", "nic:eth0", "fan:1", "temp:cpu" })
            Assert.Equal(0, await page.Locator($"[data-component='{id}'] button", new PageLocatorOptions { HasText = "Identify" }).CountAsync());

        await page.ClickAsync("[data-component='system'] button");
        await page.Locator("[data-component='system'] button[aria-pressed='true']").WaitForAsync();
        Assert.Contains(("system", true), _host.State.Identified);

        // the hardware stops answering: the error is on screen, beside the button, not only for the screen reader
        _host.State.Identifiable.Remove("drive:0");
        await page.ClickAsync("[data-component='drive:0'] button");
        var error = page.Locator("[data-component='drive:0'] .identify-error");
        await error.WaitForAsync();
        Assert.True(await error.IsVisibleAsync());
        Assert.Contains("no source can switch", await error.InnerTextAsync(), StringComparison.Ordinal);
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task Lookup_NewFamily_StartsAfreshWithOnlyItsColours()
    {
        var page = await SignInAsync("viewer");
        await page.SelectOptionAsync("#lookup-family", "psu");
        await page.FillAsync("#lookup-text", "blinking amber");
        await page.ClickAsync("#lookup-form button[type=submit]");
        await page.Locator("#lookup-answer .result").WaitForAsync();
        await page.SelectOptionAsync("#lookup-family", "nic");
        Assert.Equal("", await page.InputValueAsync("#lookup-text"));
        Assert.Equal(0, await page.Locator("#lookup-answer > *").CountAsync());
        // the colours offered per LED are the ones its table has
        var families = System.Text.Json.Nodes.JsonNode.Parse(await page.EvaluateAsync<string>("async () => JSON.stringify(await (await fetch('/api/explain')).json())"))!["families"]!.AsArray();
        foreach (var family in new[] { "nic", "psu", "drive" })
        {
            await page.SelectOptionAsync("#lookup-family", family);
            var fam = families.Single(f => (string?)f!["family"] == family)!;
            foreach (var led in fam["leds"]!.AsArray().Select(l => (string)l!))
            {
                var offered = await page.Locator($"#pick-{led}-color option").AllInnerTextsAsync();
                var table = fam["colors"]![led]!.AsArray().Select(c => (string)c!).ToList();
                Assert.NotEmpty(table);
                Assert.Equal(table, offered);
            }
        }
        Assert.DoesNotContain("blue", await page.Locator("#pick-status-color option").AllInnerTextsAsync()); // drive: green and amber only
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task Phone_NarrowScreen_NoSidewaysScrolling()
    {
        _host.FailPsu2();
        var page = await SignInAsync("operator", new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 390, Height = 844 }, IsMobile = true, HasTouch = true });
        await page.Locator("[data-component='psu:2']").WaitForAsync();
        Assert.True(await page.EvaluateAsync<bool>("() => document.scrollingElement.scrollWidth <= window.innerWidth"),
            await page.EvaluateAsync<string>("() => `${document.scrollingElement.scrollWidth} px wide at ${window.innerWidth}`"));
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = ChromiumFixture.ScreenshotPath("phone.png"), FullPage = true, Animations = ScreenshotAnimations.Disabled });
        await page.Context.CloseAsync();
    }
}
