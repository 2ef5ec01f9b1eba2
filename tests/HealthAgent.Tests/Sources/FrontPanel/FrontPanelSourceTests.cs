using System.Diagnostics;
using System.Threading.Channels;
using HealthAgent.Model;
using HealthAgent.Rules;
using HealthAgent.Sources;
using HealthAgent.Sources.FrontPanel;
using HealthAgent.Tests.Sources.Redfish;
using Microsoft.Extensions.Logging;

namespace HealthAgent.Tests.Sources.FrontPanel;

public sealed class FrontPanelSourceTests : IDisposable
{
    private static readonly RuleSet Rules = RuleLoader.LoadEmbedded().Rules!;
    private readonly string _dir = Directory.CreateTempSubdirectory("panel-test-").FullName;
    private readonly PanelPty _pty;
    private readonly CapturingLoggerProvider _log = new();
    private readonly ILoggerFactory _loggers;
    private readonly FrontPanelSource _source;

    public FrontPanelSourceTests()
    {
        _pty = new PanelPty(Path.Combine(_dir, "panel"));
        _loggers = LoggerFactory.Create(b => b.AddProvider(_log).SetMinimumLevel(LogLevel.Debug));
        _source = Source(0.4);
    }

    private FrontPanelSource Source(double heartbeatSeconds) =>
        new(new FrontPanelOptions { Enabled = true, Device = _pty.Link, HeartbeatSeconds = heartbeatSeconds }, new SourceContext(_loggers, Rules, TimeProvider.System));

    public void Dispose()
    {
        _source.Dispose();
        _pty.Dispose();
        _loggers.Dispose();
        Directory.Delete(_dir, true);
    }

    private void Start()
    {
        _ = _source.PollAsync(CancellationToken.None);
        Assert.True(_pty.WaitForSync(TimeSpan.FromSeconds(5)), "the source never sent SYNC");
    }

    private string? Led(string id) =>
        _source.Snapshot().Observations.FirstOrDefault(o => o.Component.Id == id)?.Observed?.ToString();

    private bool Shows(string id, string led) => Led(id) == led;

    [Fact]
    public void Lines_NormalPanel_ReportLedStatesThatEvaluateToSeedRows()
    {
        Start();
        _pty.Led("psu", "1", "blinking amber");
        _pty.Led("nic", "2", "link solid amber; activity blinking green");
        _pty.Led("quick-sync", "1", "Blinks white slowly");   // alias and human words
        _pty.Heartbeat(1);
        Assert.True(PanelPty.Eventually(() => _source.Snapshot().Observations.Count == 3));

        var ev = new Evaluator(Rules);
        var byId = _source.Snapshot().Observations.ToDictionary(o => o.Component.Id, o => ev.Evaluate(o).Rule?.Id);
        Assert.Equal("psu.problem", byId["panel:psu:1"]);
        Assert.Equal("nic.reduced-speed-active", byId["panel:nic:2"]);
        Assert.Equal("quicksync.firmware-update", byId["panel:quicksync:1"]);
        Assert.Empty(_source.Snapshot().Errors);
    }

    [Fact]
    public void Lines_WithNoiseBytes_NoiseDroppedLinesStillRead()
    {
        Start();
        _pty.Write([0x00, 0xFF, 0x1B, 0x07]);
        var line = FrontPanelParser.Frame("LED drive 3 solid green");
        _pty.Write([.. "\x01\x02"u8.ToArray(), .. System.Text.Encoding.ASCII.GetBytes(line[..10]), 0x80, 0x9B, .. System.Text.Encoding.ASCII.GetBytes(line[10..])]);
        Assert.True(PanelPty.Eventually(() => Shows("panel:drive:3", "solid green")));
        Assert.True(_source.NoiseBytes >= 8);
    }

    [Fact]
    public void Lines_HalfLineCompletedLater_ReadWhenComplete()
    {
        Start();
        var line = FrontPanelParser.Frame("LED system 1 blinking blue");
        _pty.Write(line[..12]);
        Thread.Sleep(300);
        Assert.Null(Led("panel:system:1"));
        _pty.Write(line[12..]);
        Assert.True(PanelPty.Eventually(() => Shows("panel:system:1", "blinking blue")));
    }

    [Fact]
    public void Lines_BadChecksum_CountedAndIgnored()
    {
        Start();
        _pty.Led("power", "1", "solid green");
        Assert.True(PanelPty.Eventually(() => Shows("panel:power:1", "solid green")));
        var bad = FrontPanelParser.Frame("LED power 1 blinking amber");
        _pty.Write(bad[..^3] + (bad[^3] == '0' ? "1" : "0") + bad[^2..]);
        _pty.Write(new string('X', FrontPanelParser.MaxLineLength + 50) + "\n");
        _pty.Heartbeat(2);
        Assert.True(PanelPty.Eventually(() => _source.BadChecksums == 1 && _source.OverlongLines == 1));
        Assert.Equal("solid green", Led("panel:power:1"));
    }

    [Fact]
    public void Heartbeat_Stops_AllPanelComponentsUnknown()
    {
        Start();
        _pty.Led("psu", "2", "solid green");
        _pty.Heartbeat(1);
        Assert.True(PanelPty.Eventually(() => Shows("panel:psu:2", "solid green")));
        // no more heartbeats: after 3 × 0.4 s the panel counts as silent
        Assert.True(PanelPty.Eventually(() => _source.Snapshot().Observations.Single().UnknownReason is not null, 5));
        var o = _source.Snapshot().Observations.Single();
        Assert.StartsWith("front panel silent for", o.UnknownReason);
        Assert.Equal(HwState.Unknown, new Evaluator(Rules).Evaluate(o).Verdict.State);
        _pty.Heartbeat(2);
        Assert.True(PanelPty.Eventually(() => Shows("panel:psu:2", "solid green")));
    }

    /// <summary>A new pty at the same link: the source opens it again and shows what it says.</summary>
    private void AssertReopened(string family, string index, string led)
    {
        using var again = new PanelPty(_pty.Link);
        Assert.True(again.WaitForSync(TimeSpan.FromSeconds(10)), "the source did not reopen the re-created device");
        again.Led(family, index, led);
        again.Heartbeat(1);
        Assert.True(PanelPty.Eventually(() => Shows($"panel:{family}:{index}", led)));
        Assert.True(_source.Opens >= 2);
    }

    [Fact]
    public void Device_VanishesAndReturns_SourceReopens()
    {
        Start();
        _pty.Led("drive", "0", "blinking amber 4hz");
        Assert.True(PanelPty.Eventually(() => Shows("panel:drive:0", "blinking amber 4hz")));
        _pty.Vanish();
        Assert.True(PanelPty.Eventually(() => _source.Snapshot().Errors.Count > 0, 5));
        Assert.Contains("silent", _source.Snapshot().Errors[0].Message);

        AssertReopened("drive", "0", "solid green");
    }

    [Fact]
    public void Device_HangsUpWithPathLeft_ClosedAndReopenedWithoutCrash()
    {
        // System.IO.Ports on a vanished pty: reads may throw (ArgumentOutOfRangeException from ReadLine, IOException) or
        // keep timing out while IsOpen stays true. Either way the source closes the port and reopens it; nothing escapes.
        Start();
        _pty.Led("psu", "1", "solid green");
        Assert.True(PanelPty.Eventually(() => Shows("panel:psu:1", "solid green")));
        _pty.HangUp();
        Assert.True(PanelPty.Eventually(() => _source.Snapshot().Errors.Count > 0, 5));

        AssertReopened("psu", "1", "blinking amber");
    }

    [Fact]
    public void Device_MasterClosed_HangUpSeenAndLineReopened()
    {
        // The controller end goes away while /dev/pts/N and the symlink stay (this process still holds the slave): the
        // kernel hangs up the line, poll(2) reports it, and the source closes the port — not the path check, not silence.
        Start();
        _pty.Led("psu", "1", "solid green");
        Assert.True(PanelPty.Eventually(() => Shows("panel:psu:1", "solid green")));
        _pty.CloseMaster();
        Assert.True(PanelPty.Eventually(() => _log.Messages.Any(m => m.Contains("disconnected (", StringComparison.Ordinal))), string.Join("\n", _log.Messages));
        var disconnected = _log.Messages.First(m => m.Contains("disconnected (", StringComparison.Ordinal));
        Assert.DoesNotContain("device", disconnected.Split("disconnected (")[1].Split(')')[0], StringComparison.Ordinal);

        AssertReopened("psu", "1", "blinking amber");
    }

    [Fact]
    public void Dispose_ReaderWaitingForInput_ReturnsAtOnceWithLineClosed()
    {
        // A slow heartbeat: the reader's poll(2) timeout is 1 s. Dispose wakes it through its eventfd instead of waiting
        // that out; the reader closes the port itself before Dispose returns.
        using var source = Source(60);
        _ = source.PollAsync(CancellationToken.None);
        Assert.True(_pty.WaitForSync(TimeSpan.FromSeconds(5)));
        _pty.Heartbeat(1);
        Assert.True(PanelPty.Eventually(() => source.Lines == 1)); // handled: the reader went back into a 1 s poll
        Assert.Equal(2, _pty.DescriptorsOnSlave()); // the source's port and this pair's own slave

        var sw = Stopwatch.StartNew();
        source.Dispose();
        sw.Stop();
        Assert.Equal(1, _pty.DescriptorsOnSlave());
        // generous: ~1 ms when woken; ~1 s if Dispose had to wait for the poll timeout
        Assert.True(sw.Elapsed < TimeSpan.FromMilliseconds(500), $"Dispose took {sw.Elapsed.TotalMilliseconds:0} ms");
    }

    [Fact]
    public async Task RunAsync_LedChanges_PushedImmediately()
    {
        var channel = Channel.CreateUnbounded<SourceResult>();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var run = _source.RunAsync(channel.Writer, cts.Token);
        Assert.True(_pty.WaitForSync(TimeSpan.FromSeconds(5)));
        _pty.Led("quicksync", "1", "solid amber");
        while (true)
        {
            var r = await channel.Reader.ReadAsync(cts.Token);
            if (r.Observations.Any(o => o.Component.Id == "panel:quicksync:1" && o.Observed?.ToString() == "solid amber")) break;
        }
        await cts.CancelAsync();
        await run;
    }
}
