using System.Globalization;
using HealthAgent.Model;
using HealthAgent.Publishing;
using Microsoft.Data.Sqlite;

namespace HealthAgent.Pipeline;

/// <summary>
/// The agent's own state (state.db in the state directory): the accepted condition per component (so a restart
/// does not raise again), the event sequence number (monotonic per agent), and the event history with
/// acknowledgements for the web view (newest <see cref="MaxHistory"/> events kept), and the publishers' outboxes
/// (<see cref="OpenOutbox"/>), written in the same transaction as the event they carry.
/// </summary>
public sealed class HealthStore : IDisposable
{
    public const int MaxHistory = 20_000;

    private const string Schema = """
        CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS conditions (component_id TEXT PRIMARY KEY, code TEXT NOT NULL, severity INTEGER NOT NULL,
          state INTEGER NOT NULL, rule_id TEXT, led TEXT, since TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS history (seq INTEGER PRIMARY KEY, event_id TEXT NOT NULL UNIQUE, component_id TEXT NOT NULL,
          severity INTEGER NOT NULL, json BLOB NOT NULL, acked_by TEXT, acked_at TEXT);
        CREATE INDEX IF NOT EXISTS history_component ON history (component_id, seq);
        """;

    private readonly SqliteConnection _db;
    private readonly WalCheckpointer _checkpointer;
    private readonly Lock _lock = new();
    private long _seq;

    public HealthStore(string path)
    {
        Path = path;
        _db = SqliteStore.Open(path, Schema, out var moved);
        MovedAside = moved;
        _checkpointer = new WalCheckpointer(path, TimeSpan.FromSeconds(5));
        var s = SqliteStore.Scalar(_db, "SELECT value FROM meta WHERE key = 'seq'") as string;
        var maxHistory = SqliteStore.Scalar(_db, "SELECT MAX(seq) FROM history");
        _seq = Math.Max(s is null ? 0 : long.Parse(s, CultureInfo.InvariantCulture), maxHistory is null ? 0 : Convert.ToInt64(maxHistory, CultureInfo.InvariantCulture));
    }

    public string? MovedAside { get; }
    public string Path { get; }

    /// <summary>
    /// The outbox of publisher <paramref name="name"/> (table <c>outbox_&lt;name&gt;</c> in this file), sharing this
    /// store's connection so <see cref="Record"/> commits an event and its outbox rows together.
    /// </summary>
    public Outbox OpenOutbox(string name, OutboxLimits limits) => new(_db, _lock, _checkpointer, Path, name, limits);

    /// <summary>The last sequence number handed out.</summary>
    public long LastSeq { get { lock (_lock) return _seq; } }

    public IReadOnlyDictionary<string, TrackedCondition> LoadConditions()
    {
        lock (_lock)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "SELECT component_id, code, severity, state, rule_id, led, since FROM conditions";
            using var r = cmd.ExecuteReader();
            var d = new Dictionary<string, TrackedCondition>(StringComparer.Ordinal);
            while (r.Read())
                d[r.GetString(0)] = new TrackedCondition(r.GetString(1), (Severity)r.GetInt32(2), (HwState)r.GetInt32(3),
                    r.IsDBNull(4) ? null : r.GetString(4), r.IsDBNull(5) ? null : r.GetString(5),
                    DateTimeOffset.Parse(r.GetString(6), CultureInfo.InvariantCulture));
            return d;
        }
    }

    /// <summary>
    /// Records an accepted condition and, when <paramref name="makeEvent"/> is given, the event it makes with the
    /// next sequence number, and that event's row in each given outbox — condition, sequence number, history and
    /// outbox rows in one transaction, so a crash never reuses a sequence number, forgets a raised condition, nor
    /// keeps an event in the history that no publisher will send.
    /// </summary>
    public HealthEvent? Record(string componentId, TrackedCondition condition, Func<long, HealthEvent>? makeEvent,
        IReadOnlyList<(Outbox Outbox, Func<HealthEvent, OutboxEntry> Entry)>? outboxes = null)
    {
        List<(Outbox, Outbox.Pending)>? pending = null;
        HealthEvent? result;
        lock (_lock)
        {
            using var tx = _db.BeginTransaction();
            HealthEvent? e = null;
            if (makeEvent is not null)
            {
                e = makeEvent(_seq + 1);
                using var seq = _db.CreateCommand();
                seq.Transaction = tx;
                seq.CommandText = "INSERT INTO meta (key, value) VALUES ('seq', $v) ON CONFLICT(key) DO UPDATE SET value = $v";
                seq.Parameters.AddWithValue("$v", e.Seq.ToString(CultureInfo.InvariantCulture));
                seq.ExecuteNonQuery();
            }
            using (var cmd = _db.CreateCommand())
            {
                cmd.Transaction = tx;
                cmd.CommandText = """
                    INSERT INTO conditions (component_id, code, severity, state, rule_id, led, since) VALUES ($id,$c,$s,$st,$r,$l,$t)
                    ON CONFLICT(component_id) DO UPDATE SET code=$c, severity=$s, state=$st, rule_id=$r, led=$l, since=$t
                    """;
                cmd.Parameters.AddWithValue("$id", componentId);
                cmd.Parameters.AddWithValue("$c", condition.Code);
                cmd.Parameters.AddWithValue("$s", (int)condition.Severity);
                cmd.Parameters.AddWithValue("$st", (int)condition.State);
                cmd.Parameters.AddWithValue("$r", (object?)condition.RuleId ?? DBNull.Value);
                cmd.Parameters.AddWithValue("$l", (object?)condition.Led ?? DBNull.Value);
                cmd.Parameters.AddWithValue("$t", condition.Since.ToString("O", CultureInfo.InvariantCulture));
                cmd.ExecuteNonQuery();
            }
            if (e is not null)
            {
                using var cmd = _db.CreateCommand();
                cmd.Transaction = tx;
                cmd.CommandText = "INSERT OR IGNORE INTO history (seq, event_id, component_id, severity, json) VALUES ($q,$e,$c,$s,$j)";
                cmd.Parameters.AddWithValue("$q", e.Seq);
                cmd.Parameters.AddWithValue("$e", e.EventId.ToString());
                cmd.Parameters.AddWithValue("$c", e.Component.Id);
                cmd.Parameters.AddWithValue("$s", (int)e.Severity);
                cmd.Parameters.AddWithValue("$j", HealthJson.Bytes(HealthJson.Event(e)));
                cmd.ExecuteNonQuery();
                if (e.Seq % 500 == 0)
                {
                    using var trim = _db.CreateCommand();
                    trim.Transaction = tx;
                    trim.CommandText = "DELETE FROM history WHERE seq <= (SELECT MAX(seq) FROM history) - $n";
                    trim.Parameters.AddWithValue("$n", MaxHistory);
                    trim.ExecuteNonQuery();
                }
                foreach (var (outbox, entry) in outboxes ?? [])
                    (pending ??= []).Add((outbox, outbox.AddIn(tx, entry(e))));
            }
            tx.Commit();
            _checkpointer.Dirty();
            foreach (var (outbox, p) in pending ?? []) outbox.Committed(p);
            if (e is not null) _seq = e.Seq;
            result = e;
        }
        foreach (var (outbox, p) in pending ?? []) outbox.Announce(p);
        return result;
    }

    /// <summary>Newest first; unreadable rows are skipped (they cannot crash the web view).</summary>
    public IReadOnlyList<HealthEvent> History(int limit, Severity? minSeverity, string? componentId)
    {
        lock (_lock)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "SELECT json FROM history WHERE severity >= $s AND ($c IS NULL OR component_id = $c) ORDER BY seq DESC LIMIT $l";
            cmd.Parameters.AddWithValue("$s", (int)(minSeverity ?? Severity.Ok));
            cmd.Parameters.AddWithValue("$c", (object?)componentId ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$l", Math.Clamp(limit, 0, MaxHistory));
            using var r = cmd.ExecuteReader();
            var list = new List<HealthEvent>();
            while (r.Read())
            {
                try { list.Add(HealthJson.ParseEvent((byte[])r[0])); }
                catch (FormatException) { }
            }
            return list;
        }
    }

    public bool Acknowledge(Guid eventId, string user, DateTimeOffset at)
    {
        lock (_lock)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "UPDATE history SET acked_by = $u, acked_at = $t WHERE event_id = $e";
            cmd.Parameters.AddWithValue("$u", user);
            cmd.Parameters.AddWithValue("$t", at.ToString("O", CultureInfo.InvariantCulture));
            cmd.Parameters.AddWithValue("$e", eventId.ToString());
            var changed = cmd.ExecuteNonQuery() > 0;
            if (changed) _checkpointer.Dirty();
            return changed;
        }
    }

    public void Dispose()
    {
        _checkpointer.Dispose();
        lock (_lock) _db.Dispose();
    }
}
