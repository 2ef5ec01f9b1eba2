using System.Collections.Concurrent;
using System.Text.Json;
using System.Threading.Channels;
using HealthAgent.Model;
using Microsoft.Extensions.Logging;

namespace HealthAgent.Sources.Redfish;

/// <summary>
/// Reads BMCs over Redfish. Each endpoint is walked on its own background loop (one walk at a time, never stacked);
/// <see cref="PollAsync"/> returns the latest completed walk at once, with its age on the service component, so a slow
/// BMC never blocks the agent. With an EventService SSE stream, events re-read the affected resource and push a fresh
/// observation immediately. Identify switches LocationIndicatorActive (or IndicatorLED) on systems, chassis and drives.
/// </summary>
public sealed partial class RedfishSource : IPushSource, IIdentifySource, IAsyncDisposable
{
    private readonly RedfishOptions _options;
    private readonly ILogger _log;
    private readonly TimeProvider _time;
    private readonly List<Endpoint> _endpoints;
    private readonly CancellationTokenSource _stop = new();
    private readonly object _gate = new();
    private Task[] _loops = [];
    private ChannelWriter<SourceResult>? _push;

    public RedfishSource(RedfishOptions options, SourceContext ctx, Func<RedfishEndpointOptions, HttpMessageHandler?>? handlers = null)
    {
        _options = options;
        _log = ctx.LoggerFactory.CreateLogger("HealthAgent.Sources.Redfish");
        _time = ctx.Time;
        _endpoints = options.Endpoints.Select(e => new Endpoint(e, new RedfishClient(e, handlers?.Invoke(e)))).ToList();
    }

    public string Name => RedfishParser.SourceName;
    public bool PollNeverBlocks => true; // returns the latest completed walk

    // ---- poll: the cached view ------------------------------------------------------------------------

    /// <summary>Returns the latest completed walk of every endpoint. Only the very first poll waits, briefly, for a first walk.</summary>
    public async Task<SourceResult> PollAsync(CancellationToken ct)
    {
        EnsureStarted();
        var pending = _endpoints.Where(e => e.Last is null).Select(e => e.FirstWalk.Task).ToList();
        if (pending.Count > 0)
        {
            var budget = TimeSpan.FromTicks((long)(_options.Timeout.Ticks * 0.75));
            try { await Task.WhenAll(pending).WaitAsync(budget, _time, ct).ConfigureAwait(false); }
            catch (TimeoutException) { }
        }
        return LatestWalks();
    }

    /// <summary>The latest completed walk of every endpoint as a poll returns it, without starting the background schedule.</summary>
    internal SourceResult LatestWalks()
    {
        var observations = new List<Observation>();
        var errors = new List<SourceError>();
        foreach (var e in _endpoints) View(e, observations, errors);
        return new SourceResult(Name, observations, errors);
    }

    private void View(Endpoint e, List<Observation> observations, List<SourceError> errors)
    {
        var now = _time.GetUtcNow();
        var last = e.Last;
        var started = e.WalkStartedAt;
        var running = started is { } s ? now - s : (TimeSpan?)null;
        var overrun = running > _options.Interval || last?.Duration > _options.Interval;
        if (running > _options.Interval)
            errors.Add(new SourceError(e.Name, $"walk has run {running.Value.TotalSeconds:0} s, longer than the {_options.IntervalSeconds:0.#} s interval; not starting another, reporting the last completed walk"));
        var age = last is null ? (TimeSpan?)null : now - last.CompletedAt;
        observations.Add(RedfishParser.Service(e.Name, e.Client.BaseUri.ToString(), last?.Reachable, age?.TotalSeconds, last?.Duration.TotalSeconds,
            overrun, _options.StaleAfter.TotalSeconds, last?.LastError));
        if (last is null) { errors.Add(new SourceError(e.Name, "no walk has completed yet")); return; }
        errors.AddRange(last.Errors);
        var stale = age > _options.StaleAfter;
        foreach (var o in last.Observations)
            observations.Add(stale && o.UnknownReason is null
                ? o with { UnknownReason = $"the last good walk is {age!.Value.TotalSeconds:0} s old (BMC: {last.LastError ?? "walk overdue"})" }
                : o);
    }

    /// <summary>Walks every endpoint now, outside the schedule (tests, and `snapshot` when it wants a fresh view).</summary>
    internal Task WalkNowAsync(CancellationToken ct) => Task.WhenAll(_endpoints.Select(e => WalkAsync(e, ct)));

    // ---- background schedule --------------------------------------------------------------------------

    private void EnsureStarted()
    {
        lock (_gate)
        {
            if (_loops.Length > 0 || _stop.IsCancellationRequested) return;
            _loops = _endpoints.Select(e => Task.Run(() => LoopAsync(e, _stop.Token))).ToArray();
        }
    }

    private async Task LoopAsync(Endpoint e, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            var start = _time.GetUtcNow();
            e.WalkStartedAt = start;
            Interlocked.Exchange(ref e.WalkRequested, 0);
            try
            {
                var snap = await WalkAsync(e, ct).ConfigureAwait(false);
                // Every completed walk goes to the pipeline at once, not only those events asked for: the runner's
                // poll runs on its own clock, so a change would otherwise wait for the walk *and* the next poll
                // (~2 intervals at worst). The state tracker raises events only on change, so repeats cost nothing.
                if (_push is { } push && snap.Reachable)
                    await push.WriteAsync(new SourceResult(Name, snap.Observations, snap.Errors), ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { break; }
            catch (Exception ex)
            {
                // A bug in the walk must not end the loop: report it as the walk's outcome.
                LogWalkCrashed(_log, e.Name, ex);
                Complete(e, e.Last is { } prev ? prev with { Reachable = false, LastError = "walk failed: " + e.Client.Scrub(ex.Message) } : Snapshot.Failed(e.Name, "walk failed: " + e.Client.Scrub(ex.Message), _time.GetUtcNow(), TimeSpan.Zero));
            }
            finally { e.WalkStartedAt = null; }
            var took = _time.GetUtcNow() - start;
            var overran = took > _options.Interval;
            if (overran && !e.LoggedOverrun) LogOverrun(_log, e.Name, took.TotalSeconds, _options.IntervalSeconds);
            e.LoggedOverrun = overran; // logged when it starts, not on every slow walk
            var wait = _options.Interval - took;
            if (wait < TimeSpan.FromMilliseconds(50)) wait = TimeSpan.FromMilliseconds(50);
            using var wake = CancellationTokenSource.CreateLinkedTokenSource(ct);
            e.Wake = wake;
            // An event that arrived during the walk (before Wake was set) asks for another walk straight away.
            if (Volatile.Read(ref e.WalkRequested) == 1) wake.Cancel();
            try { await Task.Delay(wait, _time, wake.Token).ConfigureAwait(false); }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                // Woken by an event: still leave the BMC a breather, so an event storm cannot make walks back to back.
                var gap = MinEventWalkGap - (_time.GetUtcNow() - start);
                if (gap > TimeSpan.Zero)
                {
                    try { await Task.Delay(gap, _time, ct).ConfigureAwait(false); }
                    catch (OperationCanceledException) { break; }
                }
            }
            catch (OperationCanceledException) { break; }
            finally { e.Wake = null; }
        }
    }

    /// <summary>Least time between the starts of two walks when events ask for them.</summary>
    private static readonly TimeSpan MinEventWalkGap = TimeSpan.FromSeconds(2);

    /// <summary>Asks the endpoint's loop to walk now (coalesced: one pending request at most) and push the result.</summary>
    private static void WalkSoon(Endpoint e)
    {
        Interlocked.Exchange(ref e.WalkRequested, 1);
        try { e.Wake?.Cancel(); } catch (ObjectDisposedException) { }
    }

    private void Complete(Endpoint e, Snapshot snap)
    {
        e.Last = snap;
        var summary = snap.LastError ?? (snap.Errors.Count == 0 ? null : $"{snap.Errors.Count} resource(s) unreadable, first: {snap.Errors[0].Message}");
        if (summary != e.LoggedProblem)
        {
            if (summary is null) LogRecovered(_log, e.Name);
            else LogProblem(_log, e.Name, summary);
            e.LoggedProblem = summary;
        }
        e.FirstWalk.TrySetResult();
    }

    // ---- the walk -------------------------------------------------------------------------------------

    private async Task<Snapshot> WalkAsync(Endpoint e, CancellationToken ct)
    {
        var start = _time.GetUtcNow();
        var w = new Walk(e, ct, _log);
        var root = await e.Client.GetAsync("/redfish/v1", ct).ConfigureAwait(false);
        if (!root.Ok)
        {
            var failed = e.Last is { } prev
                ? prev with { Reachable = false, LastError = root.Error, Errors = [new SourceError(e.Name, root.Error!)] }
                : Snapshot.Failed(e.Name, root.Error!, start, _time.GetUtcNow() - start);
            Complete(e, failed);
            return failed;
        }
        var r = root.Json!.Value;
        w.ExpandQuery = e.Options.Expand ? RedfishParser.ExpandQuery(r) : null;
        var systems = RedfishParser.Link(r, "Systems");
        var chassis = RedfishParser.Link(r, "Chassis");
        var managers = RedfishParser.Link(r, "Managers");
        var events = RedfishParser.Link(r, "EventService");
        await Task.WhenAll(
            WalkSystemsAsync(w, systems),
            WalkChassisAsync(w, chassis),
            WalkManagersAsync(w, managers),
            ReadEventServiceAsync(w, events)).ConfigureAwait(false);
        // EthernetInterfaces only stand in for NIC ports when no NetworkAdapters ports exist (else they would double-count).
        if (!w.SawPorts) await Task.WhenAll(w.SystemPaths.Select(p => WalkEthernetAsync(w, p.Path, p.Id))).ConfigureAwait(false);

        // Anything the previous walk had that this walk could not reach (a collection failed) stays, marked unknown.
        var seen = w.Observations.Select(o => o.Component.Id).ToHashSet(StringComparer.Ordinal);
        if (w.Errors.Count > 0 && e.Last is { } last)
            foreach (var o in last.Observations.Where(o => !seen.Contains(o.Component.Id)))
                w.Observations.Add(o with { UnknownReason = "not reached in the last walk (" + w.Errors[0].Message + ")" });

        var snap = new Snapshot([.. w.Observations], [.. w.Errors], _time.GetUtcNow(), _time.GetUtcNow() - start, true, null);
        lock (e.Sync)
        {
            e.Readers = w.Readers;
            e.IdentifyTargets = w.Identify;
            if (w.SseUri is not null) e.SseUri = w.SseUri;
        }
        Complete(e, snap);
        return snap;
    }

    private sealed class Walk(Endpoint e, CancellationToken ct, ILogger log)
    {
        public Endpoint E { get; } = e;
        public CancellationToken Ct { get; } = ct;
        /// <summary>"$expand=…" when the service root advertises $expand (and the endpoint allows it), else null: one GET per resource.</summary>
        public string? ExpandQuery;
        /// <summary>Resources that came inline in expanded answers during this walk, by path; only filled with $expand.</summary>
        private readonly ConcurrentDictionary<string, JsonElement> _expanded = new(StringComparer.Ordinal);
        public List<Observation> Observations { get; } = [];
        public List<SourceError> Errors { get; } = [];
        public Dictionary<string, Reader> Readers { get; } = new(StringComparer.Ordinal);
        public Dictionary<string, (string Path, IdentifyProperty Property)> Identify { get; } = new(StringComparer.Ordinal);
        public List<(string Path, string Id)> SystemPaths { get; } = [];
        public bool SawPorts;
        public string? SseUri;

        public void Add(Observation o) { lock (this) Observations.Add(o); }
        public void Add(IEnumerable<Observation> os) { lock (this) Observations.AddRange(os); }
        public void Error(string path, string message) { lock (this) Errors.Add(new SourceError($"{E.Name}:{path}", message)); }
        public void Read(string path, Reader reader) { lock (this) Readers[Key(path)] = reader; }
        public void Ident(Observation o, string path, JsonElement j)
        {
            var p = RedfishParser.IdentifyPropertyOf(j);
            if (p != IdentifyProperty.None) lock (this) Identify[o.Component.Id] = (path, p);
        }

        /// <summary>GETs a resource; on failure records the error and, when given, marks that component unknown with the reason.</summary>
        public async Task<JsonElement?> Get(string? path, ComponentRef? unknownAs = null)
        {
            if (path is null) return null;
            if (_expanded.TryGetValue(Key(path), out var inline)) return inline;
            var r = await E.Client.GetAsync(path, Ct).ConfigureAwait(false);
            if (r.Ok) return r.Json;
            Error(path, r.Error!);
            if (unknownAs is not null) Add(RedfishParser.Unknown(unknownAs, r.Error!));
            return null;
        }

        /// <summary>
        /// Reads a resource that is one component: unknown with the reason when unreadable; else parsed, kept for SSE
        /// re-reads and, with <paramref name="identify"/>, for identify. <paramref name="stub"/> names the component
        /// from its path alone (defaults to <paramref name="parse"/> of an empty object).
        /// </summary>
        public async Task<(Observation? Observation, JsonElement Json)> Component(string path, Func<JsonElement, Observation> parse, bool identify = false, Func<JsonElement, Observation>? stub = null)
        {
            if (await Get(path, (stub ?? parse)(Empty).Component).ConfigureAwait(false) is not { } j) return (null, default);
            var o = parse(j);
            Add(o);
            if (identify) Ident(o, path, j);
            Read(path, new Reader([o.Component], x => [parse(x)]));
            return (o, j);
        }

        public async Task<IReadOnlyList<string>> MembersOf(string? collection)
        {
            if (collection is null) return [];
            if (ExpandQuery is not null)
            {
                // Members already inline in an earlier answer need no request; else the collection with its members inline.
                if (_expanded.TryGetValue(Key(collection), out var known) && RedfishParser.Members(known) is var m && m.All(x => _expanded.ContainsKey(Key(x)))) return m;
                if (await Expanded(collection).ConfigureAwait(false) is { } c) return RedfishParser.Members(c);
            }
            return await Get(collection).ConfigureAwait(false) is { } plain ? RedfishParser.Members(plain) : [];
        }

        /// <summary>
        /// Reads a resource whose subordinate resources the walk reads next (Storage → Drives[], ThermalSubsystem →
        /// ThermalMetrics) with them inline when $expand is on; else, or when that fails, as <see cref="Get"/>.
        /// </summary>
        public async Task<JsonElement?> GetWithSubordinates(string? path) =>
            path is not null && await Expanded(path).ConfigureAwait(false) is { } j ? j : await Get(path).ConfigureAwait(false);

        /// <summary>
        /// GETs a resource with $expand and keeps every complete resource inside it for <see cref="Get"/>. Null when
        /// $expand is off or the answer is unusable; the caller then reads the resources one by one, as without $expand,
        /// so nothing is lost: members left as bare links or carrying @Message.ExtendedInfo are fetched by their own GET.
        /// </summary>
        public async Task<JsonElement?> Expanded(string path)
        {
            if (ExpandQuery is null || E.ExpandRefused.ContainsKey(Key(path))) return null;
            var r = await E.Client.GetAsync(path + (path.Contains('?', StringComparison.Ordinal) ? "&" : "?") + ExpandQuery, Ct).ConfigureAwait(false);
            var problem = r.Ok ? RedfishParser.IncompleteMembers(r.Json!.Value) : r.Error;
            if (problem is not null)
            {
                // Refused (400/405/501: the service does not expand here after all), too large for the 8 MiB cap, or
                // slower than the request timeout: the same would happen every walk (and cost a timeout each time), so
                // stop asking for this resource. Anything else (a 5xx, a broken answer) may pass: ask again next walk.
                var permanent = r.Status is 400 or 405 or 501 || r.TooLarge || r.TimedOut;
                if (permanent) E.ExpandRefused[Key(path)] = 0;
                if (E.ExpandLogged.TryAdd(Key(path), 0)) LogExpandFallback(log, E.Name, path, E.Client.Scrub(problem), permanent ? "from now on" : "this time");
                return null;
            }
            foreach (var (p, resource) in RedfishParser.ExpandedResources(r.Json!.Value)) _expanded[Key(p)] = resource;
            return r.Json;
        }
    }

    /// <summary>How to turn one re-read resource back into observations (for SSE and identify), and which components it holds.</summary>
    private sealed record Reader(IReadOnlyList<ComponentRef> Components, Func<JsonElement, IReadOnlyList<Observation>> Parse);

    private static string Key(string path)
    {
        var p = path;
        var hash = p.IndexOf('#');
        if (hash >= 0) p = p[..hash];
        return p.TrimEnd('/');
    }

    private static readonly JsonElement Empty = JsonDocument.Parse("{}").RootElement.Clone();

    private async Task WalkSystemsAsync(Walk w, string? collection)
    {
        foreach (var path in await w.MembersOf(collection).ConfigureAwait(false))
        {
            var (o, sys) = await w.Component(path, j => RedfishParser.System(w.E.Name, path, j), identify: true).ConfigureAwait(false);
            if (o is null) continue;
            lock (w) w.SystemPaths.Add((path, RedfishParser.IdOf(sys, path)));
            await WalkStorageAsync(w, RedfishParser.Link(sys, "Storage"), o.Component.Id).ConfigureAwait(false);
        }
    }

    private async Task WalkStorageAsync(Walk w, string? collection, string systemId)
    {
        await Task.WhenAll((await w.MembersOf(collection).ConfigureAwait(false)).Select(async path =>
        {
            // With $expand, one answer holds the storage and its Drives[] (and the Volumes collection's links).
            if (await w.GetWithSubordinates(path).ConfigureAwait(false) is not { } storage) return;
            var parent = systemId;
            // Volumes first: a rebuilding volume may explain its drives' Warning (RedfishParser.Drive).
            var rebuildingDrives = new HashSet<string>(StringComparer.Ordinal);
            foreach (var vp in await w.MembersOf(RedfishParser.Link(storage, "Volumes")).ConfigureAwait(false))
            {
                var (o, vol) = await w.Component(vp, j => Remember(w.E, RedfishParser.Volume(w.E.Name, parent, vp, j)),
                    stub: j => RedfishParser.Volume(w.E.Name, parent, vp, j)).ConfigureAwait(false);
                if (o?["rebuilding"] is true)
                    foreach (var d in RedfishParser.Links(vol, "Links", "Drives")) rebuildingDrives.Add(Key(d));
            }
            var drives = RedfishParser.Links(storage, "Drives");
            await Task.WhenAll(drives.Select(async dp =>
            {
                var inRebuild = rebuildingDrives.Contains(Key(dp));
                await w.Component(dp, j => Remember(w.E, RedfishParser.Drive(w.E.Name, parent, dp, j, inRebuild)), identify: true,
                    stub: j => RedfishParser.Drive(w.E.Name, parent, dp, j, false)).ConfigureAwait(false);
            })).ConfigureAwait(false);
        })).ConfigureAwait(false);
    }

    /// <summary>Adds rebuildStopped from what the previous walk saw of this drive or volume (Redfish has no such value).</summary>
    private static Observation Remember(Endpoint e, Observation o)
    {
        lock (e.Sync)
        {
            var id = o.Component.Id;
            var stopped = RedfishParser.RebuildStopped(e.RebuildMemory.Contains(id), o);
            if (o["rebuilding"] is true || stopped is true) e.RebuildMemory.Add(id);
            else if (stopped is false) e.RebuildMemory.Remove(id);
            return RedfishParser.With(o, stopped is { } s ? new Reading("rebuildStopped", s) : Reading.Unknown("rebuildStopped", "health unknown"));
        }
    }

    private async Task WalkChassisAsync(Walk w, string? collection)
    {
        await Task.WhenAll((await w.MembersOf(collection).ConfigureAwait(false)).Select(async path =>
        {
            var (o, ch) = await w.Component(path, j => RedfishParser.Chassis(w.E.Name, path, j), identify: true).ConfigureAwait(false);
            if (o is null) return;
            var chassisId = RedfishParser.IdOf(ch, path);
            await Task.WhenAll(
                WalkPowerAsync(w, ch, chassisId),
                WalkThermalAsync(w, ch, chassisId),
                WalkAdaptersAsync(w, RedfishParser.Link(ch, "NetworkAdapters"))).ConfigureAwait(false);
        })).ConfigureAwait(false);
    }

    private async Task WalkPowerAsync(Walk w, JsonElement ch, string chassisId)
    {
        var ep = w.E.Name;
        if (RedfishParser.Link(ch, "PowerSubsystem") is { } subPath)
        {
            if (await w.Get(subPath).ConfigureAwait(false) is not { } sub) return;
            var psus = new List<Observation>();
            foreach (var pp in await w.MembersOf(RedfishParser.Link(sub, "PowerSupplies")).ConfigureAwait(false))
            {
                var (o, _) = await w.Component(pp, j => RedfishParser.Psu(ep, chassisId, pp, j)).ConfigureAwait(false);
                psus.Add(o ?? RedfishParser.Unknown(RedfishParser.Psu(ep, chassisId, pp, Empty).Component, "unreadable"));
            }
            // The newer schema's redundancy: PowerSubsystem.PowerSupplyRedundancy[] (RedundantGroup); else the older Power.Redundancy[].
            JsonElement? group = First(sub, "PowerSupplyRedundancy");
            if (group is null && RedfishParser.Link(ch, "Power") is { } legacy && await w.Get(legacy).ConfigureAwait(false) is { } power)
                group = First(power, "Redundancy");
            if (psus.Count > 0) w.Add(RedfishParser.Redundancy(ep, chassisId, group, psus));
            return;
        }
        if (RedfishParser.Link(ch, "Power") is { } powerPath)
        {
            var rf = RedfishParser.Redundancy(ep, chassisId, null, []).Component;
            if (await w.Get(powerPath).ConfigureAwait(false) is not { } power) { w.Add(RedfishParser.Unknown(rf, "Power could not be read")); return; }
            var parse = LegacyPower(ep, chassisId, powerPath);
            var obs = parse(power);
            w.Add(obs);
            w.Read(powerPath, new Reader(obs.Select(o => o.Component).ToList(), parse));
        }
    }

    /// <summary>The deprecated Chassis.Power: PowerSupplies[] and Redundancy[] inline in one resource.</summary>
    private static Func<JsonElement, IReadOnlyList<Observation>> LegacyPower(string ep, string chassisId, string powerPath) => power =>
    {
        var list = new List<Observation>();
        if (power.TryGetProperty("PowerSupplies", out var arr) && arr.ValueKind == JsonValueKind.Array)
        {
            var i = 0;
            foreach (var p in arr.EnumerateArray())
                list.Add(RedfishParser.Psu(ep, chassisId, RedfishParser.Link(p) ?? $"{powerPath}#/PowerSupplies/{i++}", p));
        }
        if (list.Count > 0) list.Add(RedfishParser.Redundancy(ep, chassisId, First(power, "Redundancy"), list));
        return list;
    };

    private static JsonElement? First(JsonElement e, string array) =>
        e.TryGetProperty(array, out var a) && a.ValueKind == JsonValueKind.Array && a.GetArrayLength() > 0 && a[0].ValueKind == JsonValueKind.Object ? a[0] : null;

    private async Task WalkThermalAsync(Walk w, JsonElement ch, string chassisId)
    {
        var ep = w.E.Name;
        if (RedfishParser.Link(ch, "ThermalSubsystem") is { } subPath)
        {
            // With $expand: ThermalMetrics comes inline with ThermalSubsystem, and the chassis' Sensors collection with
            // every sensor inline replaces one GET per fan speed sensor and per temperature (both are Sensor resources).
            var sensors = w.ExpandQuery is not null && RedfishParser.Link(ch, "Sensors") is { } sensorsPath
                ? w.Expanded(sensorsPath) : Task.FromResult<JsonElement?>(null);
            if (await w.GetWithSubordinates(subPath).ConfigureAwait(false) is not { } sub) { await sensors.ConfigureAwait(false); return; }
            var fans = (await w.MembersOf(RedfishParser.Link(sub, "Fans")).ConfigureAwait(false)).Select(async fp =>
            {
                var stub = RedfishParser.Fan(ep, chassisId, fp, Empty, null).Component;
                if (await w.Get(fp, stub).ConfigureAwait(false) is not { } fan) return;
                var sensorPath = RedfishParser.Str(fan, "SpeedPercent", "DataSourceUri");
                await sensors.ConfigureAwait(false);
                var sensor = await w.Get(sensorPath).ConfigureAwait(false);
                var o = RedfishParser.Fan(ep, chassisId, fp, fan, sensor);
                w.Add(o);
                w.Read(fp, new Reader([o.Component], j => [RedfishParser.Fan(ep, chassisId, fp, j, sensor)]));
            });
            var temps = Task.Run(async () =>
            {
                if (await w.Get(RedfishParser.Link(sub, "ThermalMetrics")).ConfigureAwait(false) is not { } metrics) return;
                if (!metrics.TryGetProperty("TemperatureReadingsCelsius", out var arr) || arr.ValueKind != JsonValueKind.Array) return;
                await sensors.ConfigureAwait(false);
                await Task.WhenAll(arr.EnumerateArray().Select(x => RedfishParser.Str(x, "DataSourceUri")).OfType<string>().Select(async sp =>
                {
                    await w.Component(sp, j => RedfishParser.SensorTemperature(ep, chassisId, sp, j)).ConfigureAwait(false);
                })).ConfigureAwait(false);
            });
            await Task.WhenAll(fans.Append(temps).Append(sensors)).ConfigureAwait(false);
            return;
        }
        if (RedfishParser.Link(ch, "Thermal") is { } thermalPath && await w.Get(thermalPath).ConfigureAwait(false) is { } thermal)
        {
            IReadOnlyList<Observation> Parse(JsonElement t)
            {
                var list = new List<Observation>();
                foreach (var (array, make) in new (string, Func<string, string, string, JsonElement, Observation>)[]
                         { ("Temperatures", RedfishParser.LegacyTemperature), ("Fans", RedfishParser.LegacyFan) })
                {
                    if (!t.TryGetProperty(array, out var arr) || arr.ValueKind != JsonValueKind.Array) continue;
                    var i = 0;
                    foreach (var x in arr.EnumerateArray()) list.Add(make(ep, chassisId, RedfishParser.Link(x) ?? $"{thermalPath}#/{array}/{i++}", x));
                }
                return list;
            }
            var obs = Parse(thermal);
            w.Add(obs);
            w.Read(thermalPath, new Reader(obs.Select(o => o.Component).ToList(), Parse));
        }
    }

    private async Task WalkAdaptersAsync(Walk w, string? collection)
    {
        var ep = w.E.Name;
        await Task.WhenAll((await w.MembersOf(collection).ConfigureAwait(false)).Select(async ap =>
        {
            if (await w.Get(ap).ConfigureAwait(false) is not { } adapter) return;
            var adapterId = RedfishParser.IdOf(adapter, ap);
            // Ports (NetworkAdapter v1.7+) replace NetworkPorts; read the older collection only when Ports is absent.
            var ports = RedfishParser.Link(adapter, "Ports") ?? RedfishParser.Link(adapter, "NetworkPorts");
            foreach (var pp in await w.MembersOf(ports).ConfigureAwait(false))
            {
                w.SawPorts = true;
                await w.Component(pp, j => RedfishParser.Port(ep, adapterId, pp, j)).ConfigureAwait(false);
            }
        })).ConfigureAwait(false);
    }

    private async Task WalkEthernetAsync(Walk w, string systemPath, string systemId)
    {
        var ep = w.E.Name;
        if (await w.Get(systemPath).ConfigureAwait(false) is not { } sys) return;
        foreach (var ip in await w.MembersOf(RedfishParser.Link(sys, "EthernetInterfaces")).ConfigureAwait(false))
        {
            await w.Component(ip, j => RedfishParser.EthernetInterface(ep, systemId, ip, j)).ConfigureAwait(false);
        }
    }

    private async Task WalkManagersAsync(Walk w, string? collection)
    {
        foreach (var path in await w.MembersOf(collection).ConfigureAwait(false))
        {
            await w.Component(path, j => RedfishParser.Manager(w.E.Name, path, j)).ConfigureAwait(false);
        }
    }

    private static async Task ReadEventServiceAsync(Walk w, string? path)
    {
        if (path is null) return;
        // Not every BMC offers SSE (iDRAC: often disabled); a missing EventService is not an error.
        var r = await w.E.Client.GetAsync(path, w.Ct).ConfigureAwait(false);
        if (r.Ok && RedfishParser.Str(r.Json!.Value, "ServerSentEventUri") is { Length: > 0 } uri) w.SseUri = uri;
    }

    // ---- push: SSE ------------------------------------------------------------------------------------

    /// <summary>Subscribes to each endpoint's SSE stream (when offered) and pushes re-read resources as they change.</summary>
    public async Task RunAsync(ChannelWriter<SourceResult> changes, CancellationToken ct)
    {
        _push = changes;
        EnsureStarted();
        await Task.WhenAll(_endpoints.Select(e => RunEndpointEventsAsync(e, changes, ct))).ConfigureAwait(false);
    }

    private async Task RunEndpointEventsAsync(Endpoint e, ChannelWriter<SourceResult> changes, CancellationToken ct)
    {
        try
        {
            await e.FirstWalk.Task.WaitAsync(ct).ConfigureAwait(false);
            string? uri;
            // The stream is discovered by a walk; keep looking (the BMC may enable SSE later), polling meanwhile.
            while ((uri = e.SseUri) is null)
                await Task.Delay(_options.Interval, _time, ct).ConfigureAwait(false);
            var sse = new RedfishSse(e.Client, e.Name, _log, _time);
            var first = true;
            await sse.RunAsync(uri, ev => OnEventAsync(e, ev, changes, ct), () => { if (!first) WalkSoon(e); first = false; }, ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
    }

    private async Task OnEventAsync(Endpoint e, SseEvent ev, ChannelWriter<SourceResult> changes, CancellationToken ct)
    {
        // Metric reports and other non-Event payloads say nothing about health.
        if (RedfishParser.EventOrigins(ev.Data) is not { } origins) return;
        var handled = false;
        foreach (var origin in origins.Distinct())
        {
            if (FindReader(e, origin) is not { } found) continue;
            handled = true;
            var resp = await e.Client.GetAsync(found.Path, ct).ConfigureAwait(false);
            IReadOnlyList<Observation> fresh;
            if (resp.Ok)
            {
                try { fresh = found.Reader.Parse(resp.Json!.Value); }
                catch (Exception ex) when (ex is InvalidOperationException or FormatException) { fresh = found.Reader.Components.Select(c => RedfishParser.Unknown(c, ex.Message)).ToList(); }
            }
            else fresh = found.Reader.Components.Select(c => RedfishParser.Unknown(c, resp.Error!)).ToList();
            Merge(e, fresh);
            await changes.WriteAsync(new SourceResult(Name, fresh, resp.Ok ? [] : [new SourceError($"{e.Name}:{found.Path}", resp.Error!)]), ct).ConfigureAwait(false);
        }
        // Roll-ups (redundancy, system health) depend on more than the origin: walk soon; unknown origins need it anyway.
        LogEvent(_log, e.Name, ev.Id ?? "", string.Join(", ", origins), handled);
        WalkSoon(e);
    }

    private static (string Path, Reader Reader)? FindReader(Endpoint e, string origin)
    {
        var key = Key(origin);
        lock (e.Sync)
        {
            if (e.Readers.TryGetValue(key, out var exact)) return (key, exact);
            // An origin inside a resource (Power#/PowerSupplies/1 or a sub-path): the longest enclosing resource.
            var best = e.Readers.Keys.Where(k => key.StartsWith(k + "/", StringComparison.Ordinal)).MaxBy(k => k.Length);
            return best is null ? null : (best, e.Readers[best]);
        }
    }

    private static void Merge(Endpoint e, IReadOnlyList<Observation> fresh)
    {
        lock (e.Sync)
        {
            if (e.Last is not { } last) return;
            var ids = fresh.ToDictionary(o => o.Component.Id, StringComparer.Ordinal);
            var merged = last.Observations.Select(o => ids.Remove(o.Component.Id, out var n) ? n : o).Concat(ids.Values).ToList();
            e.Last = last with { Observations = merged };
        }
    }

    // ---- identify -------------------------------------------------------------------------------------

    /// <summary>True for the systems, chassis and drives whose resource has LocationIndicatorActive or IndicatorLED.</summary>
    public bool CanIdentify(string componentId)
    {
        foreach (var e in _endpoints)
            if (componentId.StartsWith(RedfishParser.ServiceId(e.Name) + ":", StringComparison.Ordinal))
                lock (e.Sync) return e.IdentifyTargets.ContainsKey(componentId);
        return false;
    }

    /// <summary>Switches the ID LED of a system, chassis or drive: PATCH LocationIndicatorActive, or IndicatorLED Blinking/Off.</summary>
    public async Task<bool> IdentifyAsync(string componentId, bool on, CancellationToken ct)
    {
        foreach (var e in _endpoints)
        {
            if (!componentId.StartsWith(RedfishParser.ServiceId(e.Name) + ":", StringComparison.Ordinal)) continue;
            (string Path, IdentifyProperty Property) target;
            lock (e.Sync) if (!e.IdentifyTargets.TryGetValue(componentId, out target)) return false;
            var r = await e.Client.PatchAsync(target.Path, RedfishParser.IdentifyPatch(target.Property, on), ct).ConfigureAwait(false);
            if (!r.Ok) { LogIdentifyFailed(_log, componentId, r.Error!); return false; }
            // Show the new state at once instead of at the next walk.
            if (FindReader(e, target.Path) is { } found && await e.Client.GetAsync(found.Path, ct).ConfigureAwait(false) is { Ok: true } fresh)
            {
                var obs = found.Reader.Parse(fresh.Json!.Value);
                Merge(e, obs);
                _push?.TryWrite(new SourceResult(Name, obs, []));
            }
            return true;
        }
        return false;
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        try { await Task.WhenAll(_loops).WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false); }
        catch (Exception ex) when (ex is OperationCanceledException or TimeoutException) { }
        foreach (var e in _endpoints) await e.Client.DisposeAsync().ConfigureAwait(false);
        _stop.Dispose();
    }

    // ---- state ----------------------------------------------------------------------------------------

    private sealed record Snapshot(IReadOnlyList<Observation> Observations, IReadOnlyList<SourceError> Errors, DateTimeOffset CompletedAt, TimeSpan Duration, bool Reachable, string? LastError)
    {
        public static Snapshot Failed(string endpoint, string error, DateTimeOffset at, TimeSpan took) => new([], [new SourceError(endpoint, error)], at, took, false, error);
    }

    private sealed class Endpoint(RedfishEndpointOptions options, RedfishClient client)
    {
        public string Name => options.Name;
        public RedfishEndpointOptions Options => options;
        /// <summary>Resources whose $expand the BMC refused or answered too large: read without it from then on.</summary>
        public readonly ConcurrentDictionary<string, byte> ExpandRefused = new(StringComparer.Ordinal);
        /// <summary>Resources whose $expand fallback was logged (once each).</summary>
        public readonly ConcurrentDictionary<string, byte> ExpandLogged = new(StringComparer.Ordinal);
        public RedfishClient Client => client;
        public readonly object Sync = new();
        private Snapshot? _last;
        public Snapshot? Last { get { lock (Sync) return _last; } set { lock (Sync) _last = value; } }
        public readonly TaskCompletionSource FirstWalk = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public DateTimeOffset? WalkStartedAt;
        public int WalkRequested;
        public CancellationTokenSource? Wake;
        public string? LoggedProblem;
        public bool LoggedOverrun;
        public string? SseUri;
        public Dictionary<string, Reader> Readers = new(StringComparer.Ordinal);
        public Dictionary<string, (string Path, IdentifyProperty Property)> IdentifyTargets = new(StringComparer.Ordinal);
        public readonly HashSet<string> RebuildMemory = new(StringComparer.Ordinal);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "redfish {Endpoint}: {Problem}")]
    private static partial void LogProblem(ILogger log, string endpoint, string problem);

    [LoggerMessage(Level = LogLevel.Information, Message = "redfish {Endpoint}: every resource readable again")]
    private static partial void LogRecovered(ILogger log, string endpoint);

    [LoggerMessage(Level = LogLevel.Warning, Message = "redfish {Endpoint}: walk took {Seconds:0.#} s, longer than the {Interval} s interval; the next walk starts after it, never beside it")]
    private static partial void LogOverrun(ILogger log, string endpoint, double seconds, double interval);

    [LoggerMessage(Level = LogLevel.Error, Message = "redfish {Endpoint}: walk failed unexpectedly")]
    private static partial void LogWalkCrashed(ILogger log, string endpoint, Exception ex);

    [LoggerMessage(Level = LogLevel.Debug, Message = "redfish {Endpoint}: event {EventId} about {Origins} (re-read: {Handled})")]
    private static partial void LogEvent(ILogger log, string endpoint, string eventId, string origins, bool handled);

    [LoggerMessage(Level = LogLevel.Warning, Message = "redfish {Endpoint}: $expand of {Path} not used ({Problem}); reading its resources one GET each, {Scope}")]
    private static partial void LogExpandFallback(ILogger log, string endpoint, string path, string problem, string scope);

    [LoggerMessage(Level = LogLevel.Warning, Message = "redfish identify {Component}: {Error}")]
    private static partial void LogIdentifyFailed(ILogger log, string component, string error);
}
