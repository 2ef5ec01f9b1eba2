using Microsoft.Data.Sqlite;

namespace HealthAgent.Pipeline;

/// <summary>
/// Opens one SQLite file in WAL mode with its schema. A file that is not a database or fails its quick check is
/// moved aside (<c>NAME.corrupt-YYYYMMDDTHHMMSS</c>, with its -wal/-shm) and a fresh store is created: the agent
/// reports it and keeps running rather than refusing to start (peers panic here: Telegraf #18528).
/// </summary>
internal static class SqliteStore
{
    // SQLite result codes (sqlite.org/rescode.html): SQLITE_CORRUPT 11, SQLITE_NOTADB 26.
    private const int Corrupt = 11, NotADb = 26;

    public static SqliteConnection Open(string path, string schema, out string? movedAside)
    {
        movedAside = null;
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        try
        {
            return OpenChecked(path, schema);
        }
        catch (SqliteException e) when (e.SqliteErrorCode is Corrupt or NotADb || e.Message.Contains("malformed", StringComparison.OrdinalIgnoreCase))
        {
            SqliteConnection.ClearAllPools();
            movedAside = $"{path}.corrupt-{DateTime.UtcNow:yyyyMMdd'T'HHmmss}";
            File.Move(path, movedAside, overwrite: true);
            foreach (var ext in new[] { "-wal", "-shm" })
                if (File.Exists(path + ext)) File.Move(path + ext, movedAside + ext, overwrite: true);
            return OpenChecked(path, schema);
        }
    }

    private static SqliteConnection OpenChecked(string path, string schema)
    {
        var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        try
        {
            c.Open();
            // WAL + synchronous=NORMAL: a committed transaction survives a process crash (SIGKILL); only a power
            // loss may lose the last transactions (sqlite.org/wal.html, pragma.html#pragma_synchronous).
            // No automatic checkpoint on commit: it fsyncs on the committing thread (the state loop) and showed as
            // 0.5–0.9 s latency outliers on a busy disk. WalCheckpointer runs it from a timer on its own connection.
            Exec(c, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000; PRAGMA wal_autocheckpoint=0;" + CacheSize);
            using (var cmd = c.CreateCommand())
            {
                cmd.CommandText = "PRAGMA quick_check;";
                var r = cmd.ExecuteScalar() as string;
                if (r != "ok") throw new SqliteException("database disk image is malformed: " + r, Corrupt);
            }
            Exec(c, schema);
            return c;
        }
        catch
        {
            c.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The page cache of each connection: 512 KiB instead of SQLite's 2 MB default (pragma.html#pragma_cache_size,
    /// negative = KiB). It fills with the pages a connection touches and is not given back, so with a full history
    /// (<see cref="HealthStore.MaxHistory"/> events, megabytes of state.db) or after an outbox backlog every connection
    /// would hold its 2 MB for good. A commit touches a few dozen pages; the rest come from the OS page cache.
    /// </summary>
    internal const string CacheSize = "PRAGMA cache_size=-512;";

    public static void Exec(SqliteConnection c, string sql, params (string Name, object? Value)[] args)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        foreach (var (n, v) in args) cmd.Parameters.AddWithValue(n, v ?? DBNull.Value);
        cmd.ExecuteNonQuery();
    }

    public static object? Scalar(SqliteConnection c, string sql, params (string Name, object? Value)[] args)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        foreach (var (n, v) in args) cmd.Parameters.AddWithValue(n, v ?? DBNull.Value);
        var r = cmd.ExecuteScalar();
        return r is DBNull ? null : r;
    }
}

/// <summary>
/// Checkpoints a WAL database a few seconds after a write (<see cref="Dirty"/>), from a timer, on its own connection,
/// so commits on the hot path never wait for the checkpoint's fsync; with nothing written it never wakes. PASSIVE never blocks writers (sqlite.org/c3ref/wal_checkpoint_v2.html);
/// closing the last connection checkpoints the rest.
/// </summary>
internal sealed class WalCheckpointer : IDisposable
{
    private readonly SqliteConnection _c;
    private readonly Timer _timer;
    private readonly TimeSpan _period;
    private int _armed;

    /// <summary>Something was committed: checkpoint within one period (many writes meanwhile share one checkpoint).</summary>
    public void Dirty()
    {
        if (Interlocked.Exchange(ref _armed, 1) == 0)
        {
            try { _timer.Change(_period, Timeout.InfiniteTimeSpan); }
            catch (ObjectDisposedException) { }
        }
    }
    private readonly Lock _lock = new();
    private bool _disposed;

    public WalCheckpointer(string path, TimeSpan period)
    {
        _c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        _c.Open();
        SqliteStore.Exec(_c, "PRAGMA busy_timeout=1000;" + SqliteStore.CacheSize);
        _period = period;
        _timer = new Timer(_ => { Volatile.Write(ref _armed, 0); Checkpoint(); }, null, Timeout.Infinite, Timeout.Infinite);
    }

    public void Checkpoint()
    {
        lock (_lock)
        {
            if (_disposed) return;
            try { SqliteStore.Exec(_c, "PRAGMA wal_checkpoint(PASSIVE);"); }
            catch (SqliteException) { } // busy or I/O: the next tick tries again
        }
    }

    public void Dispose()
    {
        _timer.Dispose();
        lock (_lock)
        {
            _disposed = true;
            _c.Dispose();
        }
    }
}
