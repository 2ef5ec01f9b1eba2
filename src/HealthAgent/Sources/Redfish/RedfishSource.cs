using System.Collections.Concurrent;
using System.Text.Json;
using System.Threading.Channels;
using HealthAgent.Model;
using Microsoft.Extensions.Logging;

namespace HealthAgent.Sources.Redfish;

/// <summary>
/// Reads BMCs over Redfish. Each poll walks every endpoint under the SourceRunner's schedule, timeout and hung
/// handling, like every other source (one walk per endpoint at a time, never stacked). With an EventService SSE
/// stream, events re-read the affected resource and push a fresh observation immediately, then a walk is pushed so
/// roll-ups follow. Identify switches LocationIndicatorActive (or IndicatorLED) on systems, chassis and drives.
/// </summary>
public sealed partial class RedfishSource : IPushSource, IIdentifySource, IAsyncDisposable
{
    private readonly RedfishOptions _options;
    private readonly ILogger _log;
    private readonly TimeProvider _time;
    private readonly List<Endpoint> _endpoints;
    private readonly CancellationTokenSource _stop = new();
    private readonly object _gate = new();
    private readonly List<Task> _eventWalks = [];
    private ChannelWriter<SourceResult>? _push;

    public RedfishSource(RedfishOptions options, SourceContext ctx, Func<RedfishEndpointOptions, HttpMessageHandler?>? handlers = null)
    {
        _options = options;
        _log = ctx.LoggerFactory.CreateLogger("HealthAgent.Sources.Redfish");
        _time = ctx.Time;
        _endpoints = options.Endpoints.Select(e => new Endpoint(e, new RedfishClient(e, handlers?.Invoke(e)))).ToList();
    }

    public string Name => RedfishParser.SourceName;
    public bool PollNeverBlocks => true; // a walk is asynchronous network I/O only: it never blocks a thread

    // ---- poll: the cached view ------------------------------------------------------------------------

    /// <summary>
    /// Walks every endpoint now and returns what they show. The runner owns the schedule and the timeout: a BMC slower
    /// than the poll timeout is reported hung by the runner (and no second poll starts); its last good view is kept
    /// until it is older than <see cref="RedfishOptions.StaleAfter"/>.
    /// </summary>
    public async Task<SourceResult> PollAsync(CancellationToken ct)
    {
        await Task.WhenAll(_endpoints.Select(e => WalkOnceAsync(e, ct))).ConfigureAwait(false);
        return LatestWalks();
    }

    /// <summary>The latest completed walk of every endpoint, without walking.</summary>
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
            overrun, _options.StaleAfter.TotalSeconds, last?.LastError, last?.Problems, last?.Requests));
        if (last is null) { errors.Add(new SourceError(e.Name, "no walk has completed yet")); return; }
        errors.AddRange(last.Errors);
        var stale = age > _options.StaleAfter;
        foreach (var o in last.Observations)
            observations.Add(stale && o.UnknownReason is null
                ? o with { UnknownReason = $"the last good walk is {age!.Value.TotalSeconds:0} s old (BMC: {last.LastError ?? "walk overdue"})" }
                : o);
    }

    /// <summary>Walks every endpoint now (tests; the same as a poll without its result).</summary>
    internal Task WalkNowAsync(CancellationToken ct) => Task.WhenAll(_endpoints.Select(e => WalkOnceAsync(e, ct)));

    // ---- walks: one at a time per endpoint ------------------------------------------------------------

    /// <summary>One walk of an endpoint, after any walk of it still running (polls and event walks never run side by side).</summary>
    private async Task<Snapshot?> WalkOnceAsync(Endpoint e, CancellationToken ct)
    {
        await e.WalkLock.WaitAsync(ct).ConfigureAwait(false);
        var start = _time.GetUtcNow();
        e.WalkStartedAt = start;
        try { return await WalkAsync(e, ct).ConfigureAwait(false); }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { throw; }
        catch (Exception ex)
        {
            // A bug in the walk must not take the source down: report it as the walk's outcome.
            LogWalkCrashed(_log, e.Name, ex);
            var failed = e.Last is { } prev ? prev with { Reachable = false, LastError = "walk failed: " + e.Client.Scrub(ex.Message) }
                : Snapshot.Failed(e.Name, "walk failed: " + e.Client.Scrub(ex.Message), _time.GetUtcNow(), TimeSpan.Zero);
            Complete(e, failed);
            return failed;
        }
        finally
        {
            e.WalkStartedAt = null;
            e.LastWalkStart = start;
            var took = _time.GetUtcNow() - start;
            var overran = took > _options.Interval;
            if (overran && !e.LoggedOverrun) LogOverrun(_log, e.Name, took.TotalSeconds, _options.IntervalSeconds);
            e.LoggedOverrun = overran; // logged when it starts, not on every slow walk
            e.WalkLock.Release();
        }
    }

    /// <summary>Least time between the starts of two walks when events ask for them.</summary>
    private static readonly TimeSpan MinEventWalkGap = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Starts a walk soon (coalesced: one pending at most, at least 2 s after the previous walk started, so an event
    /// storm cannot pin the BMC) and pushes its result: roll-ups (redundancy, system health) follow an event.
    /// </summary>
    private void WalkSoon(Endpoint e)
    {
        if (Interlocked.Exchange(ref e.WalkRequested, 1) == 1 || _stop.IsCancellationRequested) return;
        var task = Task.Run(async () =>
        {
            try
            {
                var gap = MinEventWalkGap - (_time.GetUtcNow() - e.LastWalkStart);
                if (gap > TimeSpan.Zero) await Task.Delay(gap, _time, _stop.Token).ConfigureAwait(false);
                Interlocked.Exchange(ref e.WalkRequested, 0);
                var snap = await WalkOnceAsync(e, _stop.Token).ConfigureAwait(false);
                if (_push is { } push && snap is { Reachable: true })
                    await push.WriteAsync(new SourceResult(Name, snap.Observations, snap.Errors), _stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) { Interlocked.Exchange(ref e.WalkRequested, 0); }
        });
        lock (_eventWalks)
        {
            _eventWalks.RemoveAll(t => t.IsCompleted);
            _eventWalks.Add(task);
        }
    }

    private void Complete(Endpoint e, Snapshot snap)
    {
        e.Last = snap;
        // Its errors are logged by the runner, on change, from the poll result (the snapshot's per-device errors).
        e.FirstWalk.TrySetResult();
    }

    // ---- the walk -------------------------------------------------------------------------------------

    private async Task<Snapshot> WalkAsync(Endpoint e, CancellationToken ct)
    {
        var start = _time.GetUtcNow();
        var w = new Walk(e, ct, _log, _options);
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
        // Second phase, after every Storage was read: drives that only a chassis lists, so that a drive reached both
        // ways always gets the same parent; and EthernetInterfaces only stand in for NIC ports when no NetworkAdapters
        // ports exist (else they would double-count).
        await Task.WhenAll(w.ChassisDrives.Select(c => WalkChassisDrivesAsync(w, c.Collection, c.ChassisRef))).ConfigureAwait(false);
        if (!w.SawPorts) await Task.WhenAll(w.SystemPaths.Select(p => WalkEthernetAsync(w, p.Path, p.Ref))).ConfigureAwait(false);
        w.AttachConditions();

        // Anything the previous walk had that this walk could not reach (a collection failed) stays, marked unknown.
        var seen = w.Observations.Select(o => o.Component.Id).ToHashSet(StringComparer.Ordinal);
        if (w.Errors.Count > 0 && e.Last is { } last)
            foreach (var o in last.Observations.Where(o => !seen.Contains(o.Component.Id)))
                w.Observations.Add(o with { UnknownReason = "not reached in the last walk (" + w.Errors[0].Message + ")" });

        var snap = new Snapshot([.. w.Observations], [.. w.Errors], _time.GetUtcNow(), _time.GetUtcNow() - start, true, null, [.. w.Problems], w.Requests + 1);
        lock (e.Sync)
        {
            e.Readers = w.Readers;
            e.IdentifyTargets = w.Identify;
            if (w.SseUri is not null) e.SseUri = w.SseUri;
        }
        Complete(e, snap);
        return snap;
    }

    private sealed class Walk(Endpoint e, CancellationToken ct, ILogger log, RedfishOptions limits)
    {
        public Endpoint E { get; } = e;
        public CancellationToken Ct { get; } = ct;
        /// <summary>"$expand=…" when the service root advertises $expand (and the endpoint allows it), else null: one GET per resource.</summary>
        public string? ExpandQuery;
        /// <summary>Resources that came inline in expanded answers during this walk, by path; only filled with $expand.</summary>
        private readonly ConcurrentDictionary<string, JsonElement> _expanded = new(StringComparer.Ordinal);
        /// <summary>Resources already made into a component this walk: a link listed twice, or reached two ways, is read once.</summary>
        private readonly Dictionary<string, string[]?> _claimed = new(StringComparer.Ordinal);
        /// <summary>Component id by resource path, for Status.Conditions that name the part (OriginOfCondition).</summary>
        private readonly Dictionary<string, int> _byPath = new(StringComparer.Ordinal);
        private readonly List<(string Origin, string Text, string FallbackId)> _conditions = [];
        private int _requests;
        private bool _budgetSpent;
        public int Requests => Volatile.Read(ref _requests);
        public List<Observation> Observations { get; } = [];
        public List<SourceError> Errors { get; } = [];
        /// <summary>What kept this walk from being complete (a collection unreadable, a bound exceeded): the service component shows it.</summary>
        public List<string> Problems { get; } = [];
        public Dictionary<string, Reader> Readers { get; } = new(StringComparer.Ordinal);
        public Dictionary<string, (string Path, IdentifyProperty Property)> Identify { get; } = new(StringComparer.Ordinal);
        public List<(string Path, string Ref)> SystemPaths { get; } = [];
        public List<(string Collection, string ChassisRef)> ChassisDrives { get; } = [];
        public bool SawPorts;
        public string? SseUri;

        public void Add(Observation o)
        {
            lock (this)
            {
                if (o.Readings.FirstOrDefault(x => x.Name == "path")?.Value is string p && !p.Contains('#', StringComparison.Ordinal)) _byPath[Key(p)] = Observations.Count;
                Observations.Add(o);
            }
        }
        public void Add(IEnumerable<Observation> os) { foreach (var o in os) Add(o); }
        public void Error(string path, string message) { lock (this) Errors.Add(new SourceError($"{E.Name}:{path}", message)); }
        public void Problem(string path, string cause)
        {
            var text = cause.StartsWith(path, StringComparison.Ordinal) ? cause : $"{path}: {cause}";
            lock (this) if (!Problems.Contains(text)) Problems.Add(text);
        }
        public void Read(string path, Reader reader) { lock (this) Readers[Key(path)] = reader; }
        public void Ident(Observation o, string path, JsonElement j)
        {
            var p = RedfishParser.IdentifyPropertyOf(j);
            if (p != IdentifyProperty.None) lock (this) Identify[o.Component.Id] = (path, p);
        }

        /// <summary>
        /// True the first time a resource path is claimed for a component in this walk. A link to a resource already read
        /// as another kind (a Drives[] link to the ComputerSystem) is an error on that link.
        /// </summary>
        public bool Claim(string path, string[]? types = null)
        {
            string[]? before;
            lock (this)
            {
                if (_claimed.TryAdd(Key(path), types)) return true;
                before = _claimed[Key(path)];
            }
            if (types is not null && before is not null && !before.Intersect(types).Any())
                Error(path, $"{path} is a {before[0]}, not a {string.Join(" or ", types)}; the link is ignored");
            return false;
        }

        /// <summary>Remembers the Status.Conditions of a resource that name other parts, to attach them once every part is known.</summary>
        public void Conditions(JsonElement j, string fallbackId)
        {
            foreach (var (origin, text) in RedfishParser.ConditionOrigins(j)) lock (this) _conditions.Add((origin, text, fallbackId));
        }

        /// <summary>
        /// Status.Conditions (of a system, chassis or manager) that name a part: the message goes to that part's
        /// <c>conditions</c> reading; when the walk has no such part, it stays on the resource that reported it.
        /// </summary>
        public void AttachConditions()
        {
            foreach (var group in _conditions.GroupBy(c => _byPath.TryGetValue(Key(c.Origin), out var i) ? i : -1))
            {
                foreach (var c in group)
                {
                    var index = group.Key >= 0 ? group.Key : Observations.FindIndex(o => o.Component.Id == c.FallbackId);
                    if (index < 0) continue;
                    var o = Observations[index];
                    var old = o["conditions"] as string;
                    var text = group.Key >= 0 ? c.Text : $"{c.Text} (about {c.Origin})";
                    if (old?.Contains(c.Text, StringComparison.Ordinal) == true) continue;
                    Observations[index] = RedfishParser.With(o, new Reading("conditions", old is null ? text : old + " | " + text));
                }
            }
        }

        /// <summary>
        /// GETs a resource; on failure records the error and, when given, marks that component unknown with the reason.
        /// With <paramref name="types"/>, a resource of another schema is an error on that link and yields null: it never becomes a component.
        /// </summary>
        public async Task<JsonElement?> Get(string? path, ComponentRef? unknownAs = null, string[]? types = null)
        {
            if (path is null) return null;
            JsonElement json;
            if (_expanded.TryGetValue(Key(path), out var inline)) json = inline;
            else
            {
                if (!Spend(path)) { if (unknownAs is not null) Add(RedfishParser.Unknown(unknownAs, $"not read: the walk reached maxResourcesPerWalk ({limits.MaxResourcesPerWalk})")); return null; }
                var r = await E.Client.GetAsync(path, Ct).ConfigureAwait(false);
                if (!r.Ok)
                {
                    Error(path, r.Error!);
                    if (unknownAs is not null) Add(RedfishParser.Unknown(unknownAs, r.Error!));
                    return null;
                }
                json = r.Json!.Value;
            }
            if (types is not null && RedfishParser.WrongType(json, types) is { } why)
            {
                Error(path, $"{path} {why}; the link is ignored");
                return null;
            }
            return json;
        }

        /// <summary>Counts one request against maxResourcesPerWalk; false (and a walk problem, once) when the budget is spent.</summary>
        private bool Spend(string path)
        {
            if (Interlocked.Increment(ref _requests) <= limits.MaxResourcesPerWalk) return true;
            Interlocked.Decrement(ref _requests);
            lock (this)
            {
                if (_budgetSpent) return false;
                _budgetSpent = true;
            }
            Problem("walk", $"stopped after {limits.MaxResourcesPerWalk} requests (maxResourcesPerWalk); not read from {path} on");
            return false;
        }

        /// <summary>
        /// Reads a resource that is one component: unknown with the reason when unreadable; else parsed, kept for SSE
        /// re-reads and, with <paramref name="identify"/>, for identify. <paramref name="stub"/> names the component
        /// from its path alone (defaults to <paramref name="parse"/> of an empty object). A resource already claimed in
        /// this walk, or not of one of <paramref name="types"/>, yields nothing.
        /// </summary>
        public async Task<(Observation? Observation, JsonElement Json)> Component(string path, Func<JsonElement, Observation> parse, string[] types, bool identify = false, Func<JsonElement, Observation>? stub = null)
        {
            if (!Claim(path, types)) return (null, default);
            if (await Get(path, (stub ?? parse)(Empty).Component, types).ConfigureAwait(false) is not { } j) return (null, default);
            var o = parse(j);
            Add(o);
            if (identify) Ident(o, path, j);
            Read(path, new Reader([o.Component], x => [parse(x)]));
            return (o, j);
        }

        /// <summary>
        /// The member links of a collection, each once, following <c>Members@odata.nextLink</c> (DSP0266 "Paging"),
        /// at most <see cref="RedfishOptions.MaxMembersPerCollection"/>. A collection that cannot be read, or holds more,
        /// is a walk problem (the service component says which and why); the members up to the bound are still read.
        /// </summary>
        public async Task<IReadOnlyList<string>> MembersOf(string? collection)
        {
            if (collection is null) return [];
            if (ExpandQuery is not null)
            {
                // Members already inline in an earlier answer need no request; else the collection with its members inline.
                if (_expanded.TryGetValue(Key(collection), out var known) && RedfishParser.IncompleteMembers(known) is null
                    && RedfishParser.Members(known) is var m && m.All(x => _expanded.ContainsKey(Key(x)))) return Bound(collection, m, null);
                if (await Expanded(collection).ConfigureAwait(false) is { } c) return Bound(collection, RedfishParser.Members(c), RedfishParser.Count(c));
            }
            if (!Spend(collection)) return [];
            var first = await E.Client.GetAsync(collection, Ct).ConfigureAwait(false);
            if (!first.Ok)
            {
                Error(collection, first.Error!);
                Problem(collection, first.Error!);
                return [];
            }
            var members = new List<string>(RedfishParser.Members(first.Json!.Value));
            var next = RedfishParser.Str(first.Json!.Value, "Members@odata.nextLink");
            var pages = new HashSet<string>(StringComparer.Ordinal) { Key(collection) };
            while (next is not null && members.Count <= limits.MaxMembersPerCollection)
            {
                // A nextLink back to a page already read would loop forever: stop there.
                if (!pages.Add(next)) { Problem(collection, $"Members@odata.nextLink '{next}' repeats a page already read"); break; }
                if (!Spend(next)) break;
                var page = await E.Client.GetAsync(next, Ct).ConfigureAwait(false);
                if (!page.Ok) { Error(next, page.Error!); Problem(collection, "next page: " + page.Error!); break; }
                members.AddRange(RedfishParser.Members(page.Json!.Value));
                next = RedfishParser.Str(page.Json!.Value, "Members@odata.nextLink");
            }
            return Bound(collection, members, RedfishParser.Count(first.Json!.Value));
        }

        /// <summary>Each link once, at most maxMembersPerCollection of them (a walk problem when there are more).</summary>
        public IReadOnlyList<string> Bound(string collection, IEnumerable<string> links, int? advertised)
        {
            var distinct = links.Distinct(StringComparer.Ordinal).ToList();
            var total = Math.Max(distinct.Count, advertised ?? 0);
            if (total <= limits.MaxMembersPerCollection) return distinct;
            Problem(collection, $"lists {total} members, more than maxMembersPerCollection ({limits.MaxMembersPerCollection}); only the first {limits.MaxMembersPerCollection} are read");
            return distinct.Take(limits.MaxMembersPerCollection).ToList();
        }

        /// <summary>
        /// Reads a resource whose subordinate resources the walk reads next (Storage → Drives[], ThermalSubsystem →
        /// ThermalMetrics) with them inline when $expand is on; else, or when that fails, as <see cref="Get"/>.
        /// </summary>
        public async Task<JsonElement?> GetWithSubordinates(string? path, string[]? types = null)
        {
            if (path is not null && await Expanded(path).ConfigureAwait(false) is { } j)
                return types is not null && RedfishParser.WrongType(j, types) is { } why ? Fail(path, why) : j;
            return await Get(path, null, types).ConfigureAwait(false);
        }

        private JsonElement? Fail(string path, string why)
        {
            Error(path, $"{path} {why}; the link is ignored");
            return null;
        }

        /// <summary>
        /// GETs a resource with $expand and keeps every complete resource inside it for <see cref="Get"/>. Null when
        /// $expand is off or the answer is unusable; the caller then reads the resources one by one, as without $expand,
        /// so nothing is lost: members left as bare links or carrying @Message.ExtendedInfo are fetched by their own GET.
        /// </summary>
        public async Task<JsonElement?> Expanded(string path)
        {
            if (ExpandQuery is null || E.ExpandRefused.ContainsKey(Key(path))) return null;
            if (!Spend(path)) return null;
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
        Task[] walks;
        lock (_eventWalks) walks = [.. _eventWalks];
        try { await Task.WhenAll(walks).WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false); }
        catch (Exception ex) when (ex is OperationCanceledException or TimeoutException) { }
        foreach (var e in _endpoints) await e.Client.DisposeAsync().ConfigureAwait(false);
        _stop.Dispose();
    }

    // ---- state ----------------------------------------------------------------------------------------

    private sealed record Snapshot(IReadOnlyList<Observation> Observations, IReadOnlyList<SourceError> Errors, DateTimeOffset CompletedAt, TimeSpan Duration, bool Reachable, string? LastError,
        IReadOnlyList<string>? Problems = null, int? Requests = null)
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
        public DateTimeOffset LastWalkStart;
        public readonly SemaphoreSlim WalkLock = new(1, 1);
        public bool LoggedOverrun;
        public string? SseUri;
        public Dictionary<string, Reader> Readers = new(StringComparer.Ordinal);
        public Dictionary<string, (string Path, IdentifyProperty Property)> IdentifyTargets = new(StringComparer.Ordinal);
        public readonly HashSet<string> RebuildMemory = new(StringComparer.Ordinal);
        /// <summary>NIC ports seen with link up since the agent started (a port never up is "not connected", not a fault).</summary>
        public readonly HashSet<string> LinkSeen = new(StringComparer.Ordinal);
        /// <summary>PSUs seen present since the agent started (one that becomes Absent is missing, not an empty bay).</summary>
        public readonly HashSet<string> PsuSeen = new(StringComparer.Ordinal);
    }

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
