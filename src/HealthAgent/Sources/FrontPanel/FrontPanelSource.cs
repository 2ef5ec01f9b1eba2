using System.Globalization;
using System.Threading.Channels;
using HealthAgent.Model;
using HealthAgent.Rules;
using Microsoft.Extensions.Logging;

namespace HealthAgent.Sources.FrontPanel;

/// <summary>
/// Reads a front-panel controller on a serial line (protocol: README.md), opened through System.IO.Ports
/// (<see cref="SerialLine"/>). A dedicated reader thread owns the line and waits for input in the kernel (no
/// DataReceived handler: an exception escaping one kills the process): it opens the line, asks for every LED (SYNC),
/// parses lines, closes and reopens with backoff when the device goes away, and pushes each change. Components are
/// <c>panel:&lt;family&gt;:&lt;index&gt;</c> with the LED state as observed; all of them turn unknown when the panel
/// stays silent for 3 heartbeats.
/// </summary>
public sealed partial class FrontPanelSource : IPushSource, IDisposable
{
    private static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(200), MaxBackoff = TimeSpan.FromSeconds(10);

    private readonly FrontPanelOptions _options;
    private readonly SourceContext _ctx;
    private RuleSet Rules => _ctx.CurrentRules; // read each time: a rules reload reaches the parser
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly object _gate = new();
    private readonly Dictionary<string, PanelLed> _leds = new(StringComparer.Ordinal);
    private readonly List<ChannelWriter<SourceResult>> _subscribers = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _firstLine = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Thread? _reader;
    /// <summary>Polled beside the line: Dispose sets it so the reader stops at once (it closes the line itself).</summary>
    private Wakeup? _wake;
    private int _disposed;
    private DateTimeOffset _lastValid;
    private bool _silent = true;
    private string? _deviceError;
    private readonly HashSet<PanelLineError> _loggedErrors = [];

    public FrontPanelSource(FrontPanelOptions options, SourceContext ctx)
    {
        _options = options;
        _ctx = ctx;
        _time = ctx.Time;
        _log = ctx.LoggerFactory.CreateLogger<FrontPanelSource>();
        _lastValid = _time.GetUtcNow();
    }

    public string Name => "frontPanel";
    public bool PollNeverBlocks => true; // returns the reader thread's latest view

    /// <summary>Lines dropped for a wrong checksum.</summary>
    public long BadChecksums { get; private set; }
    /// <summary>Lines dropped as malformed, naming an unknown family, or with LED words that did not parse.</summary>
    public long BadLines { get; private set; }
    /// <summary>Non-printable bytes dropped (line noise, a wrong baud rate).</summary>
    public long NoiseBytes => Interlocked.Read(ref _noise);
    /// <summary>Lines dropped for being longer than <see cref="FrontPanelParser.MaxLineLength"/>.</summary>
    public long OverlongLines => Interlocked.Read(ref _overlong);
    /// <summary>How often the device was (re)opened.</summary>
    public long Opens { get; private set; }
    /// <summary>Valid lines read.</summary>
    public long Lines { get; private set; }

    private long _noise, _overlong;

    public async Task<SourceResult> PollAsync(CancellationToken ct)
    {
        EnsureStarted();
        // A one-shot poll (snapshot) right after start waits for the panel's answer to SYNC, at most the silence limit.
        if (!_firstLine.Task.IsCompleted)
        {
            try { await _firstLine.Task.WaitAsync(_options.SilenceLimit, _time, ct).ConfigureAwait(false); }
            catch (TimeoutException) { }
        }
        return Snapshot();
    }

    public async Task RunAsync(ChannelWriter<SourceResult> changes, CancellationToken ct)
    {
        lock (_gate) _subscribers.Add(changes);
        EnsureStarted();
        try { await Task.Delay(Timeout.Infinite, ct).ConfigureAwait(false); }
        catch (OperationCanceledException) { }
        finally { lock (_gate) _subscribers.Remove(changes); }
    }

    /// <summary>What the panel shows now: every LED seen, or all of them unknown while the panel is silent.</summary>
    public SourceResult Snapshot()
    {
        lock (_gate)
        {
            var why = _silent ? SilenceReason() : null;
            var obs = _leds.Values.OrderBy(l => l.Family, StringComparer.Ordinal).ThenBy(l => l.Index, StringComparer.Ordinal)
                .Select(l => ToObservation(l, why)).ToList();
            var errors = why is null ? new List<SourceError>() : [new SourceError(_options.Device, why)];
            return new SourceResult(Name, obs, errors);
        }
    }

    private string SilenceReason()
    {
        var secs = (_time.GetUtcNow() - _lastValid).TotalSeconds;
        var s = $"front panel silent for {secs.ToString("0", CultureInfo.InvariantCulture)} s";
        return _deviceError is null ? s : $"{s} ({_deviceError})";
    }

    private Observation ToObservation(PanelLed led, string? unknownReason)
    {
        var family = Rules.FindFamily(led.Family)!;
        var c = new ComponentRef($"panel:{led.Family}:{led.Index}", family.HwType, $"{family.Title} {led.Index} (front panel)", Family: family.Name);
        return unknownReason is null
            ? new Observation(c, [new Reading("panelText", led.State.ToString())], led.State)
            : new Observation(c, [], null, unknownReason);
    }

    private void EnsureStarted()
    {
        lock (_gate)
        {
            if (_reader is not null || _stop.IsCancellationRequested) return;
            _wake = new Wakeup();
            var wake = _wake;
            _reader = new Thread(() => ReadLoop(wake)) { IsBackground = true, Name = "frontPanel reader" };
            _reader.Start();
        }
    }

    // ---- reader thread ------------------------------------------------------------------------------------

    private void ReadLoop(Wakeup wake)
    {
        var ct = _stop.Token;
        var backoff = FirstBackoff;
        var framer = new LineFramer();
        var buffer = new byte[512];
        while (!ct.IsCancellationRequested)
        {
            SerialLine line;
            try { line = SerialLine.Open(_options.Device, _options.BaudRate); }
            catch (Exception e) // IOException, UnauthorizedAccessException, ArgumentException...: whatever it is, retry; nothing escapes this thread
            {
                if (_deviceError != e.Message) LogOpenFailed(_options.Device, e.Message, backoff.TotalSeconds);
                lock (_gate) _deviceError = e.Message;
                Wait(backoff, ct);
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
                continue;
            }
            Opens++;
            lock (_gate) _deviceError = null;
            LogOpened(_options.Device, _options.BaudRate);
            var target = LinkTarget(_options.Device);
            var linesBefore = Lines;
            framer.Reset();
            _loggedErrors.Clear();
            string? why = null;
            try
            {
                line.Write(FrontPanelParser.SyncLine);
                var lastCheck = Environment.TickCount64;
                while (!ct.IsCancellationRequested)
                {
                    // Asleep in poll(2) until bytes arrive, the line hangs up, Dispose wakes us, or it is time to look at
                    // silence and the device path.
                    var seen = line.Wait(wake, PollMilliseconds);
                    if ((seen & LineEvents.Input) != 0)
                    {
                        var n = line.Read(buffer);
                        if (n > 0) Handle(framer, buffer.AsSpan(0, n));
                        else if (n == 0) { why = "end of file"; break; }
                        else if ((seen & LineEvents.HangUp) != 0) { why = "hang-up"; break; }
                    }
                    else if ((seen & LineEvents.HangUp) != 0) { why = "hang-up"; break; }
                    CheckSilence();
                    // A device path that is gone or now names another file (USB adapter re-enumerated, symlink re-created)
                    // means close and reopen: the old line may stay open and quiet without ever hanging up.
                    if (Environment.TickCount64 - lastCheck > 1000)
                    {
                        lastCheck = Environment.TickCount64;
                        if (LinkTarget(_options.Device) != target) { why = target is null || File.Exists(_options.Device) ? "device path now names another device" : "device gone"; break; }
                    }
                }
            }
            // Whatever fails once the device is gone — read(2) with EIO, SerialPort.Write with IOException or TimeoutException
            // (System.IO.Ports also throws ArgumentOutOfRangeException on a vanished device while IsOpen still says true) —
            // the line is treated as vanished: closed and reopened with backoff. Nothing escapes this thread.
            catch (Exception e) { why = $"{e.GetType().Name}: {e.Message}"; }
            finally
            {
                try { line.Dispose(); } catch (Exception) { } // closing a vanished device may fail too; it is closed either way
            }
            if (ct.IsCancellationRequested) break;
            LogDisconnected(_options.Device, why ?? "closed");
            lock (_gate) _deviceError = "disconnected: " + why;
            if (Lines > linesBefore) backoff = FirstBackoff;
            Wait(backoff, ct);
            backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
        }
    }

    private static string? LinkTarget(string path)
    {
        try
        {
            var fi = new FileInfo(path);
            if (!fi.Exists) return null;
            return fi.ResolveLinkTarget(true)?.FullName ?? fi.FullName;
        }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }

    /// <summary>How long one wait may last: silence is noticed within a quarter of its limit, and at most every second.</summary>
    private int PollMilliseconds => (int)Math.Clamp(_options.SilenceLimit.TotalMilliseconds / 4, 50, 1000);

    private void Wait(TimeSpan span, CancellationToken ct)
    {
        var until = Environment.TickCount64 + (long)span.TotalMilliseconds;
        while (!ct.IsCancellationRequested && Environment.TickCount64 < until)
        {
            ct.WaitHandle.WaitOne(PollMilliseconds);
            CheckSilence();
        }
    }

    private void Handle(LineFramer framer, ReadOnlySpan<byte> data)
    {
        var lines = framer.Feed(data);
        var revived = false;
        Interlocked.Exchange(ref _noise, framer.NoiseBytes);
        Interlocked.Exchange(ref _overlong, framer.OverlongLines);
        foreach (var line in lines)
        {
            var p = FrontPanelParser.Parse(line, Rules);
            if (p.Error is { } err)
            {
                if (err == PanelLineError.BadChecksum) BadChecksums++; else BadLines++;
                // Logged once per kind of error and connection (the counters keep the total), not per line.
                if (_loggedErrors.Add(err)) LogBadLine(err.ToString(), p.Detail ?? "");
                continue;
            }
            Lines++;
            SourceResult? change = null;
            lock (_gate)
            {
                _lastValid = _time.GetUtcNow();
                if (_silent)
                {
                    _silent = false;
                    revived = true;
                    LogAlive(_options.Device);
                }
                if (p.Message is PanelLed led)
                {
                    var key = led.Family + ":" + led.Index;
                    if (!_leds.TryGetValue(key, out var old) || !old.State.Equals(led.State))
                    {
                        _leds[key] = led;
                        change = new SourceResult(Name, [ToObservation(led, null)], []);
                    }
                }
            }
            if (change is not null && !revived) Publish(change);
            // The first heartbeat after SYNC means every LED line has arrived.
            if (p.Message is PanelHeartbeat) { _firstLine.TrySetResult(); }
        }
        if (revived) Publish(Snapshot());
    }

    private void CheckSilence()
    {
        SourceResult? all = null;
        lock (_gate)
        {
            if (!_silent && _time.GetUtcNow() - _lastValid > _options.SilenceLimit)
            {
                _silent = true;
                LogSilent(_options.Device, _options.SilenceLimit.TotalSeconds);
                all = Snapshot();
            }
        }
        if (all is not null) Publish(all);
    }

    private void Publish(SourceResult r)
    {
        ChannelWriter<SourceResult>[] subs;
        lock (_gate) subs = [.. _subscribers];
        foreach (var s in subs) s.TryWrite(r);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        Thread? reader;
        Wakeup? wake;
        lock (_gate)
        {
            _stop.Cancel();
            (reader, wake) = (_reader, _wake);
        }
        wake?.Set(); // the reader's poll returns at once; it closes the line and ends
        // A reader still running (stuck in a subscriber?) keeps its token and its wake-up descriptor: never close a
        // descriptor another thread may still poll (its number could be reused).
        if (reader?.Join(TimeSpan.FromSeconds(2)) is not false)
        {
            _stop.Dispose();
            wake?.Dispose();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "front panel {Device} opened at {Baud} baud")]
    private partial void LogOpened(string device, int baud);
    [LoggerMessage(Level = LogLevel.Warning, Message = "front panel {Device} cannot be opened: {Error}; retrying (backoff from {Seconds} s)")]
    private partial void LogOpenFailed(string device, string error, double seconds);
    [LoggerMessage(Level = LogLevel.Warning, Message = "front panel {Device} disconnected ({Why}); reopening")]
    private partial void LogDisconnected(string device, string why);
    [LoggerMessage(Level = LogLevel.Warning, Message = "front panel {Device} silent for {Seconds} s: its LEDs are now unknown")]
    private partial void LogSilent(string device, double seconds);
    [LoggerMessage(Level = LogLevel.Information, Message = "front panel {Device} is talking")]
    private partial void LogAlive(string device);
    [LoggerMessage(Level = LogLevel.Warning, Message = "front panel line dropped ({Kind}): {Detail}; further lines like it are only counted")]
    private partial void LogBadLine(string kind, string detail);
}
