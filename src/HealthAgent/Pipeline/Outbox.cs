using System.Globalization;
using HealthAgent.Model;
using Microsoft.Data.Sqlite;

namespace HealthAgent.Pipeline;

/// <summary>Bounds of the outbox (agent.json: publishers.mqtt.outbox).</summary>
public sealed class OutboxLimits
{
    /// <summary>Most queued events (default 100000).</summary>
    public int MaxRows { get; set; } = 100_000;
    /// <summary>Most queued payload bytes (default 64 MiB).</summary>
    public long MaxBytes { get; set; } = 64L * 1024 * 1024;
}

/// <summary>One queued message: the event it carries, where it goes, and its bytes.</summary>
public sealed record OutboxEntry(Guid EventId, long Seq, string Topic, byte[] Payload, bool Droppable);

/// <summary>A stored entry with its row id (the replay order).</summary>
public sealed record OutboxRow(long Id, Guid EventId, long Seq, string Topic, byte[] Payload);

/// <summary>
/// The durable outbox of one publisher: a table <c>outbox_&lt;name&gt;</c> in the agent's state.db (SQLite, WAL). The
/// pipeline commits each event's row in the <b>same transaction</b> as the event's history row, its sequence number and
/// the raised condition (<see cref="HealthStore.Record"/>), so a crash at any point either loses the whole event or
/// nothing; the publisher deletes a row only after the broker acknowledged it (PUBACK), so a broker outage or a SIGKILL
/// loses nothing either. Replay is in insertion order.
/// <para>Bound policy: at most <see cref="OutboxLimits.MaxRows"/> rows and <see cref="OutboxLimits.MaxBytes"/>
/// payload bytes. When a new event would exceed either, the oldest <i>droppable</i> rows (cleared events and
/// events of severity ok/info) go first, then the oldest rows of any kind. Every dropped row is counted in
/// <see cref="Dropped"/> (persisted, so it survives restarts) and reported through <see cref="RowsDropped"/> —
/// never silently.</para>
/// Thread-safe: it shares the store's connection and lock (the state loop adds, the publisher's sender peeks and
/// deletes). A standalone outbox on a file of its own (<see cref="Outbox(string, OutboxLimits?, string)"/>) is for
/// tools, benchmarks and tests.
/// </summary>
public sealed class Outbox : IDisposable
{
    private readonly SqliteConnection _db;
    private readonly WalCheckpointer _checkpointer;
    private readonly OutboxLimits _limits;
    private readonly Lock _lock;
    private readonly bool _owned;
    private readonly string _table, _name;
    private long _rows, _bytes, _dropped;

    /// <summary>A standalone outbox in its own SQLite file (a corrupt file is moved aside, see <see cref="MovedAside"/>).</summary>
    public Outbox(string path, OutboxLimits? limits = null, string name = "mqtt")
    {
        Path = path;
        _name = CheckName(name);
        _table = "outbox_" + name;
        _limits = limits ?? new OutboxLimits();
        _db = SqliteStore.Open(path, Schema(_table), out var moved);
        MovedAside = moved;
        _checkpointer = new WalCheckpointer(path, TimeSpan.FromSeconds(5));
        _lock = new Lock();
        _owned = true;
        Load();
    }

    /// <summary>An outbox inside a store: same connection, lock and checkpointer (see <see cref="HealthStore.OpenOutbox"/>).</summary>
    internal Outbox(SqliteConnection db, Lock storeLock, WalCheckpointer checkpointer, string path, string name, OutboxLimits limits)
    {
        Path = path;
        _name = CheckName(name);
        _table = "outbox_" + name;
        _limits = limits;
        _db = db;
        _lock = storeLock;
        _checkpointer = checkpointer;
        lock (_lock)
        {
            SqliteStore.Exec(_db, Schema(_table));
            Load();
        }
    }

    private static string Schema(string table) => $"""
        CREATE TABLE IF NOT EXISTS {table} (id INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL, seq INTEGER NOT NULL,
          topic TEXT NOT NULL, payload BLOB NOT NULL, droppable INTEGER NOT NULL, created TEXT NOT NULL);
        CREATE INDEX IF NOT EXISTS {table}_droppable ON {table} (droppable, id);
        CREATE TABLE IF NOT EXISTS outbox_dropped (name TEXT PRIMARY KEY, n INTEGER NOT NULL);
        """;

    // The name becomes part of a table name: catalog keys only.
    private static string CheckName(string name) => name.Length > 0 && name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c))
        ? name : throw new ArgumentException($"outbox name '{name}': lower-case letters and digits only");

    private void Load()
    {
        _rows = Convert.ToInt64(SqliteStore.Scalar(_db, $"SELECT COUNT(*) FROM {_table}"), CultureInfo.InvariantCulture);
        _bytes = Convert.ToInt64(SqliteStore.Scalar(_db, $"SELECT COALESCE(SUM(LENGTH(payload)),0) FROM {_table}"), CultureInfo.InvariantCulture);
        _dropped = Convert.ToInt64(SqliteStore.Scalar(_db, "SELECT COALESCE((SELECT n FROM outbox_dropped WHERE name = $n),0)", ("$n", _name)), CultureInfo.InvariantCulture);
    }

    /// <summary>The database file the rows live in.</summary>
    public string Path { get; }
    /// <summary>Set when the file was corrupt at open: where the old file was moved.</summary>
    public string? MovedAside { get; }
    public long Count { get { lock (_lock) return _rows; } }
    public long Bytes { get { lock (_lock) return _bytes; } }
    /// <summary>Rows dropped by the bound policy since the store was created.</summary>
    public long Dropped { get { lock (_lock) return _dropped; } }

    /// <summary>Raised (outside the lock) with the number of rows just dropped to stay within bounds.</summary>
    public event Action<int>? RowsDropped;

    /// <summary>Whether the bound policy may drop this event before others: cleared, or severity ok/info.</summary>
    public static bool IsDroppable(HealthEvent e) => e.Kind == EventKind.Cleared || e.Severity <= Severity.Info;

    /// <summary>Commits the entry in a transaction of its own (durable when this returns) and returns its row id.</summary>
    public long Add(OutboxEntry e)
    {
        Pending p;
        lock (_lock)
        {
            using var tx = _db.BeginTransaction();
            p = AddIn(tx, e);
            tx.Commit();
            Committed(p);
        }
        Announce(p);
        return p.Id;
    }

    /// <summary>What <see cref="AddIn"/> did inside a transaction, applied to the counters once it committed.</summary>
    internal readonly record struct Pending(long Id, long Bytes, int Dropped, long DroppedBytes);

    /// <summary>Writes the entry (and drops rows to make room) inside the caller's transaction; the caller holds the lock.</summary>
    internal Pending AddIn(SqliteTransaction tx, OutboxEntry e)
    {
        var (dropped, droppedBytes) = MakeRoom(tx, e.Payload.Length);
        long id;
        using (var cmd = _db.CreateCommand())
        {
            cmd.Transaction = tx;
            cmd.CommandText = $"INSERT INTO {_table} (event_id, seq, topic, payload, droppable, created) VALUES ($e,$s,$t,$p,$d,$c); SELECT last_insert_rowid();";
            cmd.Parameters.AddWithValue("$e", e.EventId.ToString());
            cmd.Parameters.AddWithValue("$s", e.Seq);
            cmd.Parameters.AddWithValue("$t", e.Topic);
            cmd.Parameters.AddWithValue("$p", e.Payload);
            cmd.Parameters.AddWithValue("$d", e.Droppable ? 1 : 0);
            cmd.Parameters.AddWithValue("$c", DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture));
            id = (long)cmd.ExecuteScalar()!;
        }
        if (dropped > 0)
        {
            using var m = _db.CreateCommand();
            m.Transaction = tx;
            m.CommandText = "INSERT INTO outbox_dropped (name, n) VALUES ($name, $n) ON CONFLICT(name) DO UPDATE SET n = n + $n";
            m.Parameters.AddWithValue("$name", _name);
            m.Parameters.AddWithValue("$n", dropped);
            m.ExecuteNonQuery();
        }
        return new Pending(id, e.Payload.Length, dropped, droppedBytes);
    }

    /// <summary>After the transaction of <see cref="AddIn"/> committed (caller holds the lock).</summary>
    internal void Committed(Pending p)
    {
        _checkpointer.Dirty();
        _rows += 1 - p.Dropped;
        _bytes += p.Bytes - p.DroppedBytes;
        _dropped += p.Dropped;
    }

    /// <summary>Reports dropped rows; call outside the lock.</summary>
    internal void Announce(Pending p)
    {
        if (p.Dropped > 0) RowsDropped?.Invoke(p.Dropped);
    }

    private (int Count, long Bytes) MakeRoom(SqliteTransaction tx, long incoming)
    {
        int dropped = 0;
        long bytes = 0;
        while (_rows - dropped > 0 && (_rows - dropped + 1 > _limits.MaxRows || _bytes - bytes + incoming > _limits.MaxBytes))
        {
            using var cmd = _db.CreateCommand();
            cmd.Transaction = tx;
            // Oldest droppable row first, else the oldest row.
            cmd.CommandText = $"""
                DELETE FROM {_table} WHERE id = COALESCE((SELECT id FROM {_table} WHERE droppable = 1 ORDER BY id LIMIT 1), (SELECT MIN(id) FROM {_table}))
                RETURNING LENGTH(payload);
                """;
            var len = cmd.ExecuteScalar();
            if (len is null or DBNull) break;
            bytes += Convert.ToInt64(len, CultureInfo.InvariantCulture);
            dropped++;
        }
        return (dropped, bytes);
    }

    /// <summary>Up to <paramref name="max"/> rows after <paramref name="afterId"/>, oldest first.</summary>
    public IReadOnlyList<OutboxRow> Peek(long afterId, int max)
    {
        lock (_lock)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = $"SELECT id, event_id, seq, topic, payload FROM {_table} WHERE id > $a ORDER BY id LIMIT $m";
            cmd.Parameters.AddWithValue("$a", afterId);
            cmd.Parameters.AddWithValue("$m", max);
            using var r = cmd.ExecuteReader();
            var list = new List<OutboxRow>();
            while (r.Read()) list.Add(new OutboxRow(r.GetInt64(0), Guid.Parse(r.GetString(1)), r.GetInt64(2), r.GetString(3), (byte[])r[4]));
            return list;
        }
    }

    /// <summary>Removes an acknowledged row; false when it was already gone (dropped or deleted).</summary>
    public bool Delete(long id) => Delete([id]) == 1;

    /// <summary>Removes acknowledged rows in one transaction; returns how many were still there.</summary>
    public int Delete(IReadOnlyList<long> ids)
    {
        if (ids.Count == 0) return 0;
        lock (_lock)
        {
            using var tx = _db.BeginTransaction();
            using var cmd = _db.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = $"DELETE FROM {_table} WHERE id = $i RETURNING LENGTH(payload)";
            var p = cmd.Parameters.Add("$i", SqliteType.Integer);
            var n = 0;
            long bytes = 0;
            foreach (var id in ids)
            {
                p.Value = id;
                var len = cmd.ExecuteScalar();
                if (len is null or DBNull) continue;
                n++;
                bytes += Convert.ToInt64(len, CultureInfo.InvariantCulture);
            }
            tx.Commit();
            if (n == 0) return 0;
            _checkpointer.Dirty();
            _rows -= n;
            _bytes -= bytes;
            return n;
        }
    }

    /// <summary>
    /// Moves the rows of an outbox file of an earlier version (<c>outbox.db</c>, table <c>outbox</c>) into this one, in
    /// their order, and deletes that file. Returns how many rows came over; a missing file is 0, an unreadable one throws.
    /// </summary>
    public int ImportLegacy(string legacyPath)
    {
        if (!File.Exists(legacyPath)) return 0;
        int n;
        lock (_lock)
        {
            SqliteStore.Exec(_db, "ATTACH DATABASE $p AS legacy", ("$p", legacyPath));
            try
            {
                using var tx = _db.BeginTransaction();
                using (var cmd = _db.CreateCommand())
                {
                    cmd.Transaction = tx;
                    cmd.CommandText = $"INSERT INTO {_table} (event_id, seq, topic, payload, droppable, created) SELECT event_id, seq, topic, payload, droppable, created FROM legacy.outbox ORDER BY id";
                    n = cmd.ExecuteNonQuery();
                }
                tx.Commit();
            }
            finally { SqliteStore.Exec(_db, "DETACH DATABASE legacy"); }
            Load();
            _checkpointer.Dirty();
        }
        foreach (var f in new[] { legacyPath, legacyPath + "-wal", legacyPath + "-shm" })
            if (File.Exists(f)) File.Delete(f);
        return n;
    }

    public void Dispose()
    {
        if (!_owned) return; // the store closes the shared connection
        _checkpointer.Dispose();
        lock (_lock) _db.Dispose();
    }
}
