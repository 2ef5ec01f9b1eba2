using System.IO.Enumeration;
using System.Net.Sockets;
using System.Threading.Channels;
using HealthAgent.Model;
using Microsoft.Extensions.Logging;

namespace HealthAgent.Sources.Nic;

/// <summary>
/// Network ports from /sys/class/net: carrier, operstate, speed, duplex, counters; the port's maximum speed from the
/// ethtool ioctl (or config, or a fixture hook file); link changes pushed from rtnetlink within milliseconds.
/// Components are <c>nic:&lt;if&gt;</c>, family <c>nic</c>, derived by the <c>nic.linux</c> table.
/// </summary>
public sealed partial class NicSource : IPushSource, IDisposable
{
    public const string Key = "nic", DerivationKey = "nic.linux", Family = "nic", HwType = "network";
    /// <summary>Test/simulator hook: a file <c>/sys/class/net/&lt;if&gt;/healthagent_max_speed_mbps</c> in a fixture tree gives the port's maximum speed (the ioctl only works on the real host).</summary>
    public const string MaxSpeedHookFile = "healthagent_max_speed_mbps";

    private readonly NicOptions _options;
    private readonly ILogger _log;
    private readonly string _netDir;
    private readonly bool _realHost;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, NicState> _state = new(StringComparer.Ordinal);
    private readonly byte[] _buffer = new byte[4096]; // sysfs attributes are at most one page
    private readonly TaskCompletionSource<bool> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Ethtool? _ethtool;
    private long _generation;

    public NicSource(NicOptions options, SourceContext ctx)
    {
        _options = options;
        _log = ctx.LoggerFactory.CreateLogger<NicSource>();
        _netDir = options.Under("sys/class/net");
        _realHost = Path.GetFullPath(options.HostRoot) == "/";
    }

    public string Name => Key;

    /// <summary>Completes once <see cref="RunAsync"/> listens for link events (true) or knows it will not (false).</summary>
    public Task<bool> Listening => _listening.Task;

    public Task<SourceResult> PollAsync(CancellationToken ct) => Task.FromResult(Poll(updateBaseline: true));

    /// <summary>One poll of every watched interface. <paramref name="updateBaseline"/>: compare and keep the byte counters for "active".</summary>
    public SourceResult Poll(bool updateBaseline = true)
    {
        if (!Directory.Exists(_netDir)) return SourceResult.Absent(Name, $"{_netDir} does not exist");
        var names = new FileSystemEnumerable<string>(_netDir, (ref FileSystemEntry e) => e.FileName.ToString(), ListOptions).ToArray();
        Array.Sort(names, StringComparer.Ordinal);
        var observations = new List<Observation>(names.Length);
        List<SourceError>? errors = null;
        lock (_gate)
        {
            _generation++;
            foreach (var name in names)
            {
                var s = StateOf(name);
                s.Generation = _generation;
                if (!s.Watched) continue;
                var obs = Observe(s, updateBaseline);
                observations.Add(obs);
                if (obs.UnknownReason is { } why) (errors ??= []).Add(new SourceError(name, why));
            }
            if (_state.Count > names.Length)
                foreach (var gone in _state.Where(kv => kv.Value.Generation != _generation).Select(kv => kv.Key).ToList()) _state.Remove(gone);
        }
        if (observations.Count == 0)
            return SourceResult.Absent(Name, $"no watched interface under {_netDir} (watched: interfaces with a backing device, or named by sources.nic.include)");
        return new SourceResult(Name, observations, (IReadOnlyList<SourceError>?)errors ?? []);
    }

    private static readonly EnumerationOptions ListOptions = new() { AttributesToSkip = 0, IgnoreInaccessible = true, RecurseSubdirectories = false };

    /// <summary>Per-interface state; whether it is watched is decided once (a backing device does not come and go under one name).</summary>
    private NicState StateOf(string name)
    {
        if (_state.TryGetValue(name, out var s)) return s;
        s = new NicState(name, Path.Combine(_netDir, name));
        s.Watched = NicParser.IsWatched(name, Directory.Exists(Path.Combine(s.Dir, "device")), _options.Include, _options.Exclude);
        _state[name] = s;
        return s;
    }

    /// <summary>Reads one interface. Callers hold <see cref="_gate"/>.</summary>
    private Observation Observe(NicState s, bool updateBaseline)
    {
        var name = s.Name;
        if (!Read(s.Operstate, "operstate", out var t) && !Directory.Exists(s.Dir))
            return new Observation(s.Component, [], null, $"{s.Dir} disappeared (interface removed)");
        var operstate = t.Error is null ? NicParser.OperState(t) : Reading.Unknown("operstate", t.Error);
        var carrier = Read(s.Carrier, "carrier", out t) ? NicParser.Carrier(t) : Reading.Unknown("carrier", t.Error!);
        var speed = Read(s.Speed, "speed", out t) ? NicParser.Speed(t) : Reading.Unknown("speedMbps", t.Error!, NicParser.SpeedUnit);
        var duplex = Read(s.Duplex, "duplex", out t) ? NicParser.Duplex(t) : Reading.Unknown("duplex", t.Error!);
        var rx = Read(s.RxBytes, "statistics/rx_bytes", out t) ? NicParser.Counter("rxBytes", "statistics/rx_bytes", t, NicParser.ByteUnit) : Reading.Unknown("rxBytes", t.Error!, NicParser.ByteUnit);
        var tx = Read(s.TxBytes, "statistics/tx_bytes", out t) ? NicParser.Counter("txBytes", "statistics/tx_bytes", t, NicParser.ByteUnit) : Reading.Unknown("txBytes", t.Error!, NicParser.ByteUnit);
        var changes = Counter(s.CarrierChanges, "carrierChanges", "carrier_changes");
        var ups = Counter(s.CarrierUp, "carrierUpCount", "carrier_up_count");
        var downs = Counter(s.CarrierDown, "carrierDownCount", "carrier_down_count");
        var (max, maxSource) = MaxSpeed(name, s);

        NicCounters? counters = rx.Value is double r && tx.Value is double w ? new NicCounters((ulong)r, (ulong)w) : null;
        Reading active;
        if (updateBaseline)
        {
            active = NicParser.Activity(s.Counters, counters);
            s.Counters = counters;
            s.Active = active;
        }
        else active = s.Active ?? NicParser.Activity(null, counters); // a pushed change keeps the last poll's activity: no flapping

        s.LinkKey = LinkKey(carrier, operstate, speed);
        return new Observation(s.Component, [carrier, operstate, speed, max, maxSource, duplex, active, rx, tx, changes, ups, downs]);
    }

    private Reading Counter(string path, string name, string file) =>
        Read(path, file, out var t) ? NicParser.Counter(name, file, t) : Reading.Unknown(name, t.Error!);

    /// <summary>Maximum speed: expectedSpeedMbps from config, else the fixture hook file (fixture roots), else the ethtool supported link modes (real host).</summary>
    private (Reading Max, Reading Source) MaxSpeed(string name, NicState s)
    {
        if (_options.ExpectedSpeedMbps(name) is { } configured)
            return (NicParser.MaxSpeed(configured, "config"), new Reading("maxSpeedSource", "config"));
        string why;
        if (!_realHost)
        {
            if (Read(s.Hook, MaxSpeedHookFile, out var t) && NicParser.ParseMbps(t) is { } hook)
                return (NicParser.MaxSpeed(hook, "fixture"), new Reading("maxSpeedSource", "fixture"));
            why = $"no expectedSpeedMbps configured and no {MaxSpeedHookFile} in this fixture";
        }
        else
        {
            _ethtool ??= new Ethtool();
            var settings = _ethtool.TryGet(name, out var error);
            if (settings?.MaxSpeedMbps is { } mbps)
            {
                s.EthtoolError = null;
                return (NicParser.MaxSpeed(mbps, "ethtool"), new Reading("maxSpeedSource", "ethtool"));
            }
            why = error ?? "the driver reports no supported link modes with a speed (ETHTOOL_GLINKSETTINGS)";
            if (why != s.EthtoolError) LogNoMaxSpeed(_log, name, why);
            s.EthtoolError = why;
        }
        return (Reading.Unknown("maxSpeedMbps", $"{why}; set sources.nic.interfaces.{name}.expectedSpeedMbps", NicParser.SpeedUnit),
            Reading.Unknown("maxSpeedSource", "maximum speed unknown"));
    }

    private static string LinkKey(Reading carrier, Reading operstate, Reading speed) =>
        $"{carrier.Value ?? "?"}|{operstate.Value ?? "?"}|{speed.Value ?? "?"}";

    /// <summary>A read of one small sysfs attribute: the bytes, or why there are none.</summary>
    private readonly ref struct Text(ReadOnlySpan<byte> bytes, string? error)
    {
        public readonly ReadOnlySpan<byte> Bytes = bytes;
        public readonly string? Error = error;
        public static implicit operator ReadOnlySpan<byte>(Text t) => t.Bytes;
    }

    private bool Read(string path, string file, out Text text)
    {
        try
        {
            using var h = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            var n = RandomAccess.Read(h, _buffer.AsSpan(), 0);
            text = new Text(_buffer.AsSpan(0, n), null);
            return true;
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            text = new Text(default, $"{file}: missing");
        }
        catch (IOException e) when (e.HResult == 22)
        {
            // sysfs answers EINVAL for carrier, speed and duplex while the interface is administratively down
            text = new Text(default, $"{file}: EINVAL (the kernel reports no value, e.g. while the interface is administratively down)");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            text = new Text(default, $"{file}: {e.Message}");
        }
        return false;
    }

    /// <summary>
    /// Pushes link changes from rtnetlink (RTM_NEWLINK/RTM_DELLINK on RTMGRP_LINK): each change of a watched
    /// interface's carrier, operstate or speed is re-read from sysfs and written at once. On ENOBUFS (events lost) every
    /// watched interface is re-read. On a fixture host root, or with netlink off, it only waits for cancellation.
    /// </summary>
    public async Task RunAsync(ChannelWriter<SourceResult> changes, CancellationToken ct)
    {
        if (!_realHost || !_options.Netlink)
        {
            LogPushOff(_log, _realHost ? "sources.nic.netlink is false" : $"host root {_options.HostRoot} is not the real host");
            _listening.TrySetResult(false);
            await WaitForCancellation(ct);
            return;
        }
        RtNetlink nl;
        try { nl = RtNetlink.Open(); }
        catch (SocketException e)
        {
            LogNetlinkFailed(_log, e.Message);
            _listening.TrySetResult(false);
            await WaitForCancellation(ct);
            return;
        }
        _listening.TrySetResult(true);
        using (nl) await ReceiveLoopAsync(nl, changes, ct);
    }

    private async Task ReceiveLoopAsync(RtNetlink nl, ChannelWriter<SourceResult> changes, CancellationToken ct)
    {
        var buffer = new byte[64 * 1024];
        var messages = new List<LinkMessage>();
        string? lastMalformed = null;
        while (!ct.IsCancellationRequested)
        {
            int n;
            try { n = await nl.ReceiveAsync(buffer, ct); }
            catch (OperationCanceledException) { return; }
            catch (SocketException e) when (RtNetlink.IsOverrun(e))
            {
                LogOverrun(_log);
                if (!await TryWrite(changes, Poll(updateBaseline: false), ct)) return;
                continue;
            }
            messages.Clear();
            var batch = RtNetlinkParser.Parse(buffer.AsSpan(0, n), messages);
            if (batch.Malformed != lastMalformed && batch.Malformed is { } m) LogMalformed(_log, m);
            lastMalformed = batch.Malformed;
            SourceResult? result;
            if (batch.Overrun) result = Poll(updateBaseline: false);
            else
            {
                var observations = Changed(messages);
                result = observations.Count > 0 ? new SourceResult(Name, observations, []) : null;
            }
            if (result is not null && !await TryWrite(changes, result, ct)) return;
        }
    }

    /// <summary>Observations for the watched interfaces whose link facts changed with these messages.</summary>
    public IReadOnlyList<Observation> Changed(IReadOnlyList<LinkMessage> messages)
    {
        var list = new List<Observation>();
        lock (_gate)
        {
            foreach (var m in messages)
            {
                if (m.Name is not { } name || list.Any(o => o.Component.Name == name)) continue;
                if (m.Removed)
                {
                    if (_state.Remove(name, out var removed) && removed.Watched)
                        list.Add(new Observation(removed.Component, [], null, $"interface {name} was removed (RTM_DELLINK)"));
                    continue;
                }
                var s = StateOf(name);
                if (!s.Watched) continue;
                var before = s.LinkKey;
                var obs = Observe(s, updateBaseline: false);
                if (s.LinkKey != before) list.Add(obs);
            }
        }
        return list;
    }

    private static async Task<bool> TryWrite(ChannelWriter<SourceResult> changes, SourceResult result, CancellationToken ct)
    {
        try { await changes.WriteAsync(result, ct); return true; }
        catch (Exception e) when (e is OperationCanceledException or ChannelClosedException) { return false; }
    }

    private static async Task WaitForCancellation(CancellationToken ct)
    {
        try { await Task.Delay(Timeout.Infinite, ct); }
        catch (OperationCanceledException) { }
    }

    public void Dispose() => _ethtool?.Dispose();

    private sealed class NicState(string name, string dir)
    {
        public readonly string Name = name, Dir = dir;
        public readonly ComponentRef Component = new("nic:" + name, HwType, name, null, Family, DerivationKey);
        public bool Watched;
        public long Generation;
        public readonly string Operstate = Path.Combine(dir, "operstate"), Carrier = Path.Combine(dir, "carrier"), Speed = Path.Combine(dir, "speed"),
            Duplex = Path.Combine(dir, "duplex"), RxBytes = Path.Combine(dir, "statistics", "rx_bytes"), TxBytes = Path.Combine(dir, "statistics", "tx_bytes"),
            CarrierChanges = Path.Combine(dir, "carrier_changes"), CarrierUp = Path.Combine(dir, "carrier_up_count"),
            CarrierDown = Path.Combine(dir, "carrier_down_count"), Hook = Path.Combine(dir, MaxSpeedHookFile);
        public NicCounters? Counters;
        public Reading? Active;
        public string? LinkKey;
        public string? EthtoolError;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "nic {Interface}: maximum speed unknown: {Reason}")]
    private static partial void LogNoMaxSpeed(ILogger logger, string @interface, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "nic: link events off ({Reason}); changes are seen at the next poll")]
    private static partial void LogPushOff(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "nic: cannot open the rtnetlink socket ({Error}); link changes are seen at the next poll only")]
    private static partial void LogNetlinkFailed(ILogger logger, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "nic: rtnetlink receive buffer overflowed (ENOBUFS), link events were lost; re-reading every interface")]
    private static partial void LogOverrun(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "nic: malformed rtnetlink message ignored: {Detail}")]
    private static partial void LogMalformed(ILogger logger, string detail);
}
