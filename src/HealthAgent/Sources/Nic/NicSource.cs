using System.Collections.Concurrent;
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
    private readonly KernelFiles _files;
    private readonly Ethtool? _ethtool;
    // KernelFiles runs one batch at a time; a poll and a pushed change take turns.
    private readonly SemaphoreSlim _turn = new(1, 1);
    private readonly Lock _gate = new();
    private readonly Dictionary<string, NicState> _state = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource<bool> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);
    // Attribute paths of watched interfaces, built once (the worker reads them every poll), in the order of Files;
    // dropped with the interface's state so that interface churn (containers' veths) does not grow it.
    private readonly ConcurrentDictionary<string, string[]> _paths = new(StringComparer.Ordinal);
    private static readonly string[] Files =
        ["operstate", "carrier", "speed", "duplex", "statistics/rx_bytes", "statistics/tx_bytes", "carrier_changes", "carrier_up_count", "carrier_down_count", MaxSpeedHookFile, ""];
    /// <summary>Polls between two ETHTOOL_GLINKSETTINGS of an interface whose carrier did not change (30 × 10 s = 5 min).</summary>
    private const int EthtoolRefreshPolls = 30;
    private readonly ConcurrentDictionary<string, (EthtoolLinkSettings? Settings, string? Error, string? Carrier, int PollsLeft)> _ethtoolCache = new(StringComparer.Ordinal);

    public NicSource(NicOptions options, SourceContext ctx)
    {
        _options = options;
        _log = ctx.LoggerFactory.CreateLogger<NicSource>();
        _netDir = options.Under("sys/class/net");
        _realHost = Path.GetFullPath(options.HostRoot) == "/";
        _files = new KernelFiles(TimeSpan.FromMilliseconds(options.FileTimeoutMs));
        if (_realHost) _ethtool = new Ethtool();
    }

    public string Name => Key;
    public bool PollNeverBlocks => true; // reads run on KernelFiles workers

    /// <summary>SO_RCVBUF of the rtnetlink socket (tests make it tiny to provoke ENOBUFS).</summary>
    internal int NetlinkReceiveBufferBytes { get; init; } = 1 << 20;

    /// <summary>Completes once <see cref="RunAsync"/> listens for link events (true) or knows it will not (false).</summary>
    public Task<bool> Listening => _listening.Task;

    /// <summary>
    /// One poll of every watched interface. Reads run on a <see cref="KernelFiles"/> worker with a per-file timeout:
    /// a hung attribute becomes an unknown reading while the rest of the poll completes.
    /// </summary>
    public Task<SourceResult> PollAsync(CancellationToken ct) => PollAsync(updateBaseline: true, ct);

    /// <param name="updateBaseline">Compare and keep the byte counters for "active" (false for re-reads after lost events).</param>
    public async Task<SourceResult> PollAsync(bool updateBaseline, CancellationToken ct)
    {
        if (!Directory.Exists(_netDir)) return SourceResult.Absent(Name, $"{_netDir} does not exist");
        IReadOnlyList<NicRaw> raws;
        await _turn.WaitAsync(ct).ConfigureAwait(false);
        try { raws = await _files.RunAsync(ReadAll, ct).ConfigureAwait(false); }
        finally { _turn.Release(); }

        var observations = new List<Observation>(raws.Count);
        List<SourceError>? errors = null;
        lock (_gate)
        {
            foreach (var raw in raws)
            {
                var obs = Build(raw, updateBaseline);
                observations.Add(obs);
                if (obs.UnknownReason is { } why) (errors ??= []).Add(new SourceError(raw.Name, why));
            }
            if (_state.Count > raws.Count)
                foreach (var gone in _state.Keys.Where(k => !raws.Any(r => r.Name == k)).ToList()) Forget(gone);
        }
        if (observations.Count == 0)
            return SourceResult.Absent(Name, $"no watched interface under {_netDir} (watched: interfaces with a backing device, or named by sources.nic.include)");
        return new SourceResult(Name, observations, (IReadOnlyList<SourceError>?)errors ?? []);
    }

    /// <summary>Worker side: lists the interfaces and reads every watched one. No shared state is touched here (a batch may be abandoned and rerun).</summary>
    private List<NicRaw> ReadAll(KernelFiles.Session session)
    {
        var list = new List<NicRaw>();
        foreach (var name in session.List(_netDir))
            if (IsWatched(session, name)) list.Add(ReadOne(session, name));
        return list;
    }

    private string[] PathsOf(string name) =>
        _paths.GetOrAdd(name, static (n, netDir) => Files.Select(f => Path.Combine(netDir, n, f)).ToArray(), _netDir);

    private void Forget(string name)
    {
        _state.Remove(name);
        _paths.TryRemove(name, out _);
        _ethtoolCache.TryRemove(name, out _);
    }

    private bool IsWatched(KernelFiles.Session session, string name) =>
        NicParser.IsWatched(name, session.DirectoryExists(Path.Combine(_netDir, name, "device")), _options.Include, _options.Exclude);

    private NicRaw ReadOne(KernelFiles.Session session, string name)
    {
        var p = PathsOf(name);
        var operstate = session.Read(p[0]);
        if (operstate.Error == "missing" && !session.DirectoryExists(p[10])) return new NicRaw(name, gone: true);
        var raw = new NicRaw(name)
        {
            Operstate = operstate,
            Carrier = session.Read(p[1]),
            Speed = session.Read(p[2]),
            Duplex = session.Read(p[3]),
            RxBytes = session.Read(p[4]),
            TxBytes = session.Read(p[5]),
            CarrierChanges = session.Read(p[6]),
            CarrierUp = session.Read(p[7]),
            CarrierDown = session.Read(p[8]),
        };
        if (_options.ExpectedSpeedMbps(name) is not null) return raw;
        if (_ethtool is null) raw.Hook = session.Read(p[9]);
        else
        {
            // The supported link modes change only with the hardware (a module swap brings the link down and up), and
            // the ioctl takes the kernel's RTNL lock: ask again when carrier changed, else every EthtoolRefreshPolls polls.
            if (!_ethtoolCache.TryGetValue(name, out var cached) || cached.Carrier != raw.Carrier.Text || cached.PollsLeft <= 0)
            {
                var settings = _ethtool.TryGet(name, out var error);
                cached = (settings, error, raw.Carrier.Text, EthtoolRefreshPolls);
            }
            _ethtoolCache[name] = cached with { PollsLeft = cached.PollsLeft - 1 };
            raw.Ethtool = cached.Settings;
            raw.EthtoolError = cached.Error;
        }
        return raw;
    }

    /// <summary>Turns one interface's reads into an observation and keeps its state. Callers hold <see cref="_gate"/>.</summary>
    private Observation Build(NicRaw raw, bool updateBaseline)
    {
        var name = raw.Name;
        if (!_state.TryGetValue(name, out var s)) _state[name] = s = new NicState(name);
        if (raw.Gone)
        {
            Forget(name);
            return new Observation(s.Component, [], null, $"interface {name} was removed ({Path.Combine(_netDir, name)} is gone)");
        }

        // An attribute whose text did not change keeps its reading object (most of them, most polls): less garbage.
        var operstate = Reuse(s, 0, raw.Operstate, NicParser.OperState);
        var carrier = Reuse(s, 1, raw.Carrier, NicParser.Carrier);
        var speed = Reuse(s, 2, raw.Speed, NicParser.Speed);
        var duplex = Reuse(s, 3, raw.Duplex, NicParser.Duplex);
        var rx = Reuse(s, 4, raw.RxBytes, static r => NicParser.Counter("rxBytes", "statistics/rx_bytes", r, NicParser.ByteUnit));
        var tx = Reuse(s, 5, raw.TxBytes, static r => NicParser.Counter("txBytes", "statistics/tx_bytes", r, NicParser.ByteUnit));
        var changes = Reuse(s, 6, raw.CarrierChanges, static r => NicParser.Counter("carrierChanges", "carrier_changes", r));
        var ups = Reuse(s, 7, raw.CarrierUp, static r => NicParser.Counter("carrierUpCount", "carrier_up_count", r));
        var downs = Reuse(s, 8, raw.CarrierDown, static r => NicParser.Counter("carrierDownCount", "carrier_down_count", r));
        var (max, maxSource) = MaxSpeed(raw, s);

        NicCounters? counters = rx.Value is double r && tx.Value is double w ? new NicCounters((ulong)r, (ulong)w) : null;
        Reading active;
        if (updateBaseline)
        {
            active = NicParser.Activity(s.Counters, counters);
            s.Counters = counters;
            s.Active = active;
        }
        else active = s.Active ?? NicParser.Activity(null, counters); // a pushed change keeps the last poll's activity: no flapping

        s.LinkKey = (carrier.Value as bool?, operstate.Value as string, speed.Value as double?);
        return new Observation(s.Component, [carrier, operstate, speed, max, maxSource, duplex, active, rx, tx, changes, ups, downs]);
    }

    private static Reading Reuse(NicState s, int slot, FileRead read, Func<FileRead, Reading> parse)
    {
        ref var c = ref s.Readings[slot];
        if (c.Reading is null || c.Read != read) c = (read, parse(read));
        return c.Reading!;
    }

    private static readonly Reading MaxUnknownSource = Reading.Unknown("maxSpeedSource", "maximum speed unknown");
    private static readonly Reading FromConfig = new("maxSpeedSource", "config"), FromFixture = new("maxSpeedSource", "fixture"), FromEthtool = new("maxSpeedSource", "ethtool");

    /// <summary>Maximum speed: expectedSpeedMbps from config, else the fixture hook file (fixture roots), else the ethtool supported link modes (real host).</summary>
    private (Reading Max, Reading Source) MaxSpeed(NicRaw raw, NicState s)
    {
        var name = raw.Name;
        if (_options.ExpectedSpeedMbps(name) is { } configured)
            return (NicParser.MaxSpeed(configured), FromConfig);
        string why;
        if (_ethtool is null)
        {
            if (raw.Hook is { Ok: true, Text: var text } && NicParser.ParseMbps(text) is { } hook)
                return (NicParser.MaxSpeed(hook), FromFixture);
            why = $"no expectedSpeedMbps configured and no {MaxSpeedHookFile} in this fixture";
        }
        else
        {
            if (raw.Ethtool?.MaxSpeedMbps is { } mbps)
            {
                s.EthtoolError = null;
                return (NicParser.MaxSpeed(mbps), FromEthtool);
            }
            why = raw.EthtoolError ?? "the driver reports no supported link modes with a speed (ETHTOOL_GLINKSETTINGS)";
            if (why != s.EthtoolError) LogNoMaxSpeed(_log, name, why);
            s.EthtoolError = why;
        }
        if (s.MaxUnknown is not { } u || u.Why != why)
            s.MaxUnknown = u = (why, Reading.Unknown("maxSpeedMbps", $"{why}; set sources.nic.interfaces.{name}.expectedSpeedMbps", NicParser.SpeedUnit));
        return (u.Reading, MaxUnknownSource);
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
        try { nl = RtNetlink.Open(NetlinkReceiveBufferBytes); }
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
            try { n = await nl.ReceiveAsync(buffer, ct).ConfigureAwait(false); }
            catch (OperationCanceledException) { return; }
            catch (SocketException e) when (RtNetlink.IsOverrun(e))
            {
                LogOverrun(_log);
                if (!await TryWrite(changes, async () => await PollAsync(updateBaseline: false, ct).ConfigureAwait(false), ct).ConfigureAwait(false)) return;
                continue;
            }
            messages.Clear();
            var batch = RtNetlinkParser.Parse(buffer.AsSpan(0, n), messages);
            if (batch.Malformed != lastMalformed && batch.Malformed is { } m) LogMalformed(_log, m);
            lastMalformed = batch.Malformed;
            var ok = batch.Overrun
                ? await TryWrite(changes, async () => await PollAsync(updateBaseline: false, ct).ConfigureAwait(false), ct).ConfigureAwait(false)
                : await TryWrite(changes, async () => await ChangedAsync(messages, ct).ConfigureAwait(false) is { Count: > 0 } obs ? new SourceResult(Name, obs, []) : null, ct).ConfigureAwait(false);
            if (!ok) return;
        }
    }

    /// <summary>Observations for the watched interfaces whose carrier, operstate or speed changed with these messages.</summary>
    public async Task<IReadOnlyList<Observation>> ChangedAsync(IReadOnlyList<LinkMessage> messages, CancellationToken ct)
    {
        var list = new List<Observation>();
        var names = new List<string>();
        lock (_gate)
        {
            foreach (var m in messages)
            {
                if (m.Name is not { } name || names.Contains(name)) continue;
                if (!m.Removed) { names.Add(name); continue; }
                if (_state.TryGetValue(name, out var removed)) // state exists only for watched interfaces
                {
                    Forget(name);
                    list.Add(new Observation(removed.Component, [], null, $"interface {name} was removed (RTM_DELLINK)"));
                }
            }
        }
        if (names.Count == 0) return list;
        IReadOnlyList<NicRaw> raws;
        await _turn.WaitAsync(ct).ConfigureAwait(false);
        try { raws = await _files.RunAsync(session => names.Where(n => IsWatched(session, n)).Select(n => ReadOne(session, n)).ToList(), ct).ConfigureAwait(false); }
        finally { _turn.Release(); }
        lock (_gate)
        {
            foreach (var raw in raws)
            {
                var before = _state.TryGetValue(raw.Name, out var s) ? s.LinkKey : null;
                var obs = Build(raw, updateBaseline: false);
                if (raw.Gone || _state[raw.Name].LinkKey != before) list.Add(obs);
            }
        }
        return list;
    }

    /// <summary>Reads and writes one pushed result; false when the agent is stopping.</summary>
    private static async Task<bool> TryWrite(ChannelWriter<SourceResult> changes, Func<Task<SourceResult?>> read, CancellationToken ct)
    {
        try
        {
            if (await read().ConfigureAwait(false) is { } result) await changes.WriteAsync(result, ct).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (e is OperationCanceledException or ChannelClosedException) { return false; }
    }

    private static async Task WaitForCancellation(CancellationToken ct)
    {
        try { await Task.Delay(Timeout.Infinite, ct); }
        catch (OperationCanceledException) { }
    }

    public void Dispose()
    {
        _ethtool?.Dispose();
        _turn.Dispose();
    }

    private sealed class NicState(string name)
    {
        public readonly ComponentRef Component = new("nic:" + name, HwType, name, null, Family, DerivationKey);
        public readonly (FileRead Read, Reading? Reading)[] Readings = new (FileRead, Reading?)[9];
        public NicCounters? Counters;
        public Reading? Active;
        /// <summary>The link facts a pushed change is compared on: carrier, operstate, speed.</summary>
        public (bool?, string?, double?)? LinkKey;
        public (string Why, Reading Reading)? MaxUnknown;
        public string? EthtoolError;
    }

    /// <summary>What the worker read of one interface; turned into an observation outside the worker.</summary>
    private sealed class NicRaw(string name, bool gone = false)
    {
        public readonly string Name = name;
        public readonly bool Gone = gone;
        public FileRead Operstate, Carrier, Speed, Duplex, RxBytes, TxBytes, CarrierChanges, CarrierUp, CarrierDown;
        public FileRead? Hook;
        public EthtoolLinkSettings? Ethtool;
        public string? EthtoolError;
    }

    // Debug: the component's unknown state line already carries this reason (Deriver.WithReasons)
    [LoggerMessage(Level = LogLevel.Debug, Message = "nic {Interface}: maximum speed unknown: {Reason}")]
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
