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
/// The durable outbox: one SQLite file (WAL) in the state directory. Each event is committed here before it is
/// published and deleted only after the broker acknowledged it (PUBACK), so a broker outage or a SIGKILL loses
/// nothing; replay is in insertion order.
/// <para>Bound policy: at most <see cref="OutboxLimits.MaxRows"/> rows and <see cref="OutboxLimits.MaxBytes"/>
/// payload bytes. When a new event would exceed either, the oldest <i>droppable</i> rows (cleared events and
/// events of severity ok/info) go first, then the oldest rows of any kind. Every dropped row is counted in
/// <see cref="Dropped"/> (persisted, so it survives restarts) and reported through <see cref="RowsDropped"/> —
/// never silently.</para>
/// Thread-safe (one connection behind a lock): the state loop adds, the publisher's sender peeks and deletes.
/// </summary>
public sealed class Outbox : IDisposable
{
    private const string Schema = """
        CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL, seq INTEGER NOT NULL,
          topic TEXT NOT NULL, payload BLOB NOT NULL, droppable INTEGER NOT NULL, created TEXT NOT NULL);
        CREATE INDEX IF NOT EXISTS outbox_droppable ON outbox (droppable, id);
        CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
        """;

    private readonly SqliteConnection _db;
    private readonly WalCheckpointer _checkpointer;
    private readonly OutboxLimits _limits;
    private readonly Lock _lock = new();
    private long _rows, _bytes, _dropped;

    public Outbox(string path, OutboxLimits? limits = null)
    {
        Path = path;
        _limits = limits ?? new OutboxLimits();
        _db = SqliteStore.Open(path, Schema, out var moved);
        MovedAside = moved;
        _checkpointer = new WalCheckpointer(path, TimeSpan.FromSeconds(5));
        _rows = Convert.ToInt64(SqliteStore.Scalar(_db, "SELECT COUNT(*) FROM outbox"), System.Globalization.CultureInfo.InvariantCulture);
        _bytes = Convert.ToInt64(SqliteStore.Scalar(_db, "SELECT COALESCE(SUM(LENGTH(payload)),0) FROM outbox"), System.Globalization.CultureInfo.InvariantCulture);
        _dropped = Convert.ToInt64(SqliteStore.Scalar(_db, "SELECT COALESCE((SELECT value FROM meta WHERE key='dropped'),0)"), System.Globalization.CultureInfo.InvariantCulture);
    }

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

    /// <summary>Commits the entry (durable when this returns) and returns its row id.</summary>
    public long Add(OutboxEntry e)
    {
        int dropped;
        long id;
        lock (_lock)
        {
            using var tx = _db.BeginTransaction();
            dropped = MakeRoom(tx, e.Payload.Length);
            using (var cmd = _db.CreateCommand())
            {
                cmd.Transaction = tx;
                cmd.CommandText = "INSERT INTO outbox (event_id, seq, topic, payload, droppable, created) VALUES ($e,$s,$t,$p,$d,$c); SELECT last_insert_rowid();";
                cmd.Parameters.AddWithValue("$e", e.EventId.ToString());
                cmd.Parameters.AddWithValue("$s", e.Seq);
                cmd.Parameters.AddWithValue("$t", e.Topic);
                cmd.Parameters.AddWithValue("$p", e.Payload);
                cmd.Parameters.AddWithValue("$d", e.Droppable ? 1 : 0);
                cmd.Parameters.AddWithValue("$c", DateTimeOffset.UtcNow.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
                id = (long)cmd.ExecuteScalar()!;
            }
            if (dropped > 0)
            {
                using var m = _db.CreateCommand();
                m.Transaction = tx;
                m.CommandText = "INSERT INTO meta (key, value) VALUES ('dropped', $n) ON CONFLICT(key) DO UPDATE SET value = value + $n";
                m.Parameters.AddWithValue("$n", dropped);
                m.ExecuteNonQuery();
            }
            tx.Commit();
            _checkpointer.Dirty();
            _rows++;
            _bytes += e.Payload.Length;
            _dropped += dropped;
        }
        if (dropped > 0) RowsDropped?.Invoke(dropped);
        return id;
    }

    private int MakeRoom(SqliteTransaction tx, long incoming)
    {
        var dropped = 0;
        while (_rows > 0 && (_rows + 1 > _limits.MaxRows || _bytes + incoming > _limits.MaxBytes))
        {
            using var cmd = _db.CreateCommand();
            cmd.Transaction = tx;
            // Oldest droppable row first, else the oldest row.
            cmd.CommandText = """
                DELETE FROM outbox WHERE id = COALESCE((SELECT id FROM outbox WHERE droppable = 1 ORDER BY id LIMIT 1), (SELECT MIN(id) FROM outbox))
                RETURNING LENGTH(payload);
                """;
            var len = cmd.ExecuteScalar();
            if (len is null or DBNull) break;
            _rows--;
            _bytes -= Convert.ToInt64(len, System.Globalization.CultureInfo.InvariantCulture);
            dropped++;
        }
        return dropped;
    }

    /// <summary>Up to <paramref name="max"/> rows after <paramref name="afterId"/>, oldest first.</summary>
    public IReadOnlyList<OutboxRow> Peek(long afterId, int max)
    {
        lock (_lock)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "SELECT id, event_id, seq, topic, payload FROM outbox WHERE id > $a ORDER BY id LIMIT $m";
            cmd.Parameters.AddWithValue("$a", afterId);
            cmd.Parameters.AddWithValue("$m", max);
            using var r = cmd.ExecuteReader();
            var list = new List<OutboxRow>();
            while (r.Read()) list.Add(new OutboxRow(r.GetInt64(0), Guid.Parse(r.GetString(1)), r.GetInt64(2), r.GetString(3), (byte[])r[4]));
            return list;
        }
    }

    /// <summary>Removes an acknowledged row; false when it was already gone (dropped or deleted).</summary>
    public bool Delete(long id)
    {
        lock (_lock)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "DELETE FROM outbox WHERE id = $i RETURNING LENGTH(payload)";
            cmd.Parameters.AddWithValue("$i", id);
            var len = cmd.ExecuteScalar();
            if (len is null or DBNull) return false;
            _checkpointer.Dirty();
            _rows--;
            _bytes -= Convert.ToInt64(len, System.Globalization.CultureInfo.InvariantCulture);
            return true;
        }
    }

    public void Dispose()
    {
        _checkpointer.Dispose();
        lock (_lock) _db.Dispose();
    }
}
