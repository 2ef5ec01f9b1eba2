using System.Net.Sockets;
using System.Security.Authentication;
using HealthAgent.Cli;
using HealthAgent.Model;
using HealthAgent.Pipeline;
using HealthAgent.Sources;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace HealthAgent.Tests.Cli;

/// <summary>
/// What the operator reads on the console of `healthagent run`: the pipeline's real log calls through the real
/// formatter, compared line by line (golden lines), for a terminal, a pipe and journald.
/// </summary>
public sealed class ConsoleLogTests : IDisposable
{
    private readonly string _state = Directory.CreateTempSubdirectory("console-log-test-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_state, true); } catch (IOException) { }
    }

    private sealed class FixedTime : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => new(2026, 12, 4, 21, 14, 0, TimeSpan.Zero);
    }

    /// <summary>A logger provider that writes every entry through <see cref="ConsoleLog"/> into a string, as the console logger does.</summary>
    private sealed class FormattingProvider(ConsoleLog formatter) : ILoggerProvider
    {
        public readonly StringWriter Output = new();
        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);
        public void Dispose() { }

        private sealed class Logger(FormattingProvider p, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;
            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (!IsEnabled(logLevel)) return;
                lock (p.Output) formatter(state, exception).ToString(); // the message must format on its own too
                lock (p.Output) p.Formatter.Write(new Microsoft.Extensions.Logging.Abstractions.LogEntry<TState>(logLevel, category, eventId, state, exception, formatter), null, p.Output);
            }
        }

        public ConsoleLog Formatter => formatter;
    }

    private static ConsoleLog Formatter(ConsoleLogMode mode) => new(new ConsoleLogOptions { Mode = mode, Time = new FixedTime(), UseUtcTimestamp = true });

    private static readonly ComponentRef CpuTemp = new("redfish:bmc:temp:1:Temp.cpu1", "temperature", "CPU1 Temp", Derivation: "redfish.temperature");
    private static readonly ComponentRef Psu2 = new("redfish:bmc:psu:PSU2", "power_supply", "PSU 2", Family: "psu", Derivation: "redfish.psu");
    private static readonly ComponentRef PanelPsu2 = new("panel:psu:2", "power_supply", "Power supply unit indicator 2 (front panel)", Family: "psu");
    private static readonly ComponentRef Eth0 = new("nic:eth0", "network", "eth0", Family: "nic", Derivation: "nic.linux");

    private static Observation Cpu(double celsius) => new(CpuTemp,
    [
        new Reading("state", "Enabled"), new Reading("health", "OK"), new Reading("readingCelsius", celsius, "Cel"),
        new Reading("upperCaution", 90.0, "Cel"), new Reading("upperCritical", 95.0, "Cel"), new Reading("upperFatal", 105.0, "Cel"),
    ]);

    private static Observation PanelPsu(string led) => new(PanelPsu2, [], LedText.ParseIndicator(led, ["status"]));

    private static Observation Nic(bool? active) => new(Eth0,
    [
        new Reading("carrier", true), new Reading("operstate", "up"), new Reading("speedMbps", 1000.0, "Mbit/s"),
        Reading.Unknown("maxSpeedMbps", "the driver reports no supported link modes"),
        active is { } a ? new Reading("active", a) : Reading.Unknown("active", "first poll"),
    ]);

    private async Task<string> RunAsync(ConsoleLogMode mode, params Observation[][] polls)
    {
        using var provider = new FormattingProvider(Formatter(mode));
        using var loggers = LoggerFactory.Create(b => b.AddProvider(provider).SetMinimumLevel(LogLevel.Information));
        await using (var p = new HealthPipeline("agent-1", "boot-1", SeedRules.Rules, _state, [], [], loggers))
            foreach (var poll in polls) await p.ProcessAsync(new SourceResult("test", poll, []), default);
        return provider.Output.ToString();
    }

    [Fact]
    public async Task Terminal_FaultAndClear_GoldenLines()
    {
        var text = await RunAsync(ConsoleLogMode.Terminal, [Cpu(52), PanelPsu("solid green")], [Cpu(97), PanelPsu("blinking amber")], [Cpu(52), PanelPsu("solid green")]);
        Assert.Equal(
        [
            "21:14:00 ok   CPU1 Temp [bmc]: 52 °C — The temperature is within its limits.",
            "21:14:00 ok   Power supply unit indicator 2 (front panel): solid green — A valid power source is connected to the PSU and the PSU is operational.",
            "21:14:00 CRIT Power supply unit indicator 2 (front panel): blinking amber — Indicates a problem with the PSU.",
            "         → Check the system event log for the PSU's error, its power cord and input voltage, and reseat the PSU; if the indicator still blinks amber, replace",
            "           the PSU (only the one whose indicator blinks).",
            "21:14:00 CRIT CPU1 Temp [bmc]: 97 °C ≥ 95 °C critical — The temperature is at or above the BMC's critical limit.",
            "         → Check the fans and airflow (blocked vents, missing blanks, room temperature).",
            "21:14:00 ok   Power supply unit indicator 2 (front panel): cleared: solid green — A valid power source is connected to the PSU and the PSU is operational.",
            "21:14:00 ok   CPU1 Temp [bmc]: cleared: 52 °C — The temperature is within its limits.",
        ], text.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public async Task Journald_OneLinePerEntry_WithPriorityAndNoTime()
    {
        var text = await RunAsync(ConsoleLogMode.Journald, [Cpu(52)], [Cpu(97)]);
        Assert.Equal(
        [
            "<6>CPU1 Temp [bmc]: 52 °C — The temperature is within its limits.",
            "<2>CPU1 Temp [bmc]: 97 °C ≥ 95 °C critical — The temperature is at or above the BMC's critical limit. → Check the fans and airflow (blocked vents, missing blanks, room temperature).",
        ], text.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public async Task Plain_OneLinePerEntry_WithTime()
    {
        var text = await RunAsync(ConsoleLogMode.Plain, [Cpu(97)]);
        Assert.Equal("21:14:00 CRIT CPU1 Temp [bmc]: 97 °C ≥ 95 °C critical — The temperature is at or above the BMC's critical limit. → Check the fans and airflow (blocked vents, missing blanks, room temperature).\n", text);
    }

    [Fact]
    public async Task Terminal_EveryLineUnder160_EachChangeOnce()
    {
        // Every seed row's LED on a panel PSU and a BMC PSU, one after another: long meanings and actions.
        var polls = SeedRules.Rules.FindFamily("psu")!.Rules.Select(r => new[] { PanelPsu(r.Led.ToString()), Cpu(97) }).ToArray();
        var text = await RunAsync(ConsoleLogMode.Terminal, polls);
        var lines = text.TrimEnd('\n').Split('\n');
        Assert.All(lines, l => Assert.True(l.Length <= 160, $"{l.Length} chars: {l}"));
        // one line per change; a notice (info) followed by a fault is two: the notice cleared, the fault raised
        var severities = SeedRules.Rules.FindFamily("psu")!.Rules.Select(r => r.Verdict.Severity).ToList();
        var noticeThenFault = severities.Zip(severities.Skip(1)).Count(p => p.First == Severity.Info && p.Second >= Severity.Warning);
        Assert.Equal(1, noticeThenFault); // the seed's PSU table: ok, critical, warning, info, warning
        Assert.Equal(polls.Length + noticeThenFault, lines.Count(l => l.Contains("Power supply unit indicator 2", StringComparison.Ordinal)));
        Assert.Single(lines, l => l.Contains("CPU1 Temp", StringComparison.Ordinal)); // critical from the first poll on: one line
        Assert.DoesNotContain("HealthAgent.Pipeline", text, StringComparison.Ordinal);
        Assert.DoesNotContain("panel:psu:2", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownNic_ActivityFlipping_LoggedOnlyWhenTheReasonChanges()
    {
        // Link up, maximum speed unknown; traffic comes and goes. Before: a line per flip with alternating guesses.
        var text = await RunAsync(ConsoleLogMode.Terminal, [Nic(null)], [Nic(true)], [Nic(false)], [Nic(true)], [Nic(false)], [Nic(true)], [Nic(false)]);
        var lines = text.TrimEnd('\n').Split('\n');
        Assert.Equal(2, lines.Count(l => l.Contains("eth0 [nic]: unknown", StringComparison.Ordinal))); // first poll (activity too), then link only
        Assert.DoesNotContain("it could be", text, StringComparison.Ordinal);
        Assert.Contains("why: link: link is up but the port's maximum speed is unknown", text, StringComparison.Ordinal);
    }

    [Fact]
    public void OtherEntries_NoCategoryNoEventId_ExceptionInWords()
    {
        var f = Formatter(ConsoleLogMode.Terminal);
        var w = new StringWriter();
        f.Write(new LogEntry<string>(LogLevel.Warning, "HealthAgent.Publishing.Mqtt", new EventId(898765132), "MQTT: publish failed",
            new IOException("x", new SocketException((int)SocketError.ConnectionRefused)), (s, _) => s), null, w);
        Assert.Equal("21:14:00 warn MQTT: publish failed: connection refused: nothing listens on that address and port\n", w.ToString());
    }

    [Fact]
    public void ReadingVsLimit_LowerLimitAndRuleLimit()
    {
        var low = new Observation(CpuTemp, [new Reading("state", "Enabled"), new Reading("readingCelsius", 3.0, "Cel"), new Reading("lowerCritical", 5.0, "Cel")]);
        var e = new HealthAgent.Rules.Evaluator(SeedRules.Rules).Evaluate(low);
        Assert.Equal("3 °C ≤ 5 °C low critical", ChangeText.ReadingVsLimit(e, SeedRules.Rules));
        var ok = new HealthAgent.Rules.Evaluator(SeedRules.Rules).Evaluate(Cpu(52));
        Assert.Equal("52 °C", ChangeText.ReadingVsLimit(ok, SeedRules.Rules));
    }

    [Theory]
    [InlineData(SocketError.ConnectionRefused, "connection refused")]
    [InlineData(SocketError.TimedOut, "timed out")]
    [InlineData(SocketError.HostNotFound, "host name not found")]
    [InlineData(SocketError.NetworkUnreachable, "network unreachable")]
    public void ErrorWords_Socket_InWords(SocketError code, string expected) =>
        Assert.StartsWith(expected, ErrorWords.Describe(new HttpRequestException("x", new SocketException((int)code))));

    [Fact]
    public void ErrorWords_CancelledTlsAndTimeout_InWords()
    {
        Assert.DoesNotContain("The operation was canceled", ErrorWords.Describe(new OperationCanceledException()));
        Assert.StartsWith("connection dropped", ErrorWords.Describe(new OperationCanceledException()));
        Assert.StartsWith("TLS failed", ErrorWords.Describe(new IOException("x", new AuthenticationException("The remote certificate is invalid"))));
        Assert.Equal("timed out", ErrorWords.Describe(new TimeoutException("The operation has timed out.")));
    }
}
