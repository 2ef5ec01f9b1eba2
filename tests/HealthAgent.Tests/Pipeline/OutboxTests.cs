using System.Text;
using HealthAgent.Model;
using HealthAgent.Pipeline;
using Microsoft.Data.Sqlite;

namespace HealthAgent.Tests.Pipeline;

public sealed class OutboxTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("outbox-test-").FullName;
    private string DbPath => Path.Combine(_dir, "outbox.db");

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    private static OutboxEntry Entry(int seq, bool droppable = false, int size = 10) =>
        new(Guid.NewGuid(), seq, "healthagent/v1/a/event/power_supply/psu_1", Encoding.UTF8.GetBytes(seq.ToString("D" + size, System.Globalization.CultureInfo.InvariantCulture)), droppable);

    [Fact]
    public void Peek_AfterAdds_ReturnsRowsInInsertionOrder()
    {
        using var o = new Outbox(DbPath);
        var ids = Enumerable.Range(1, 50).Select(i => o.Add(Entry(i))).ToList();
        var rows = o.Peek(0, 100);
        Assert.Equal(ids, rows.Select(r => r.Id));
        Assert.Equal(Enumerable.Range(1, 50).Select(i => (long)i), rows.Select(r => r.Seq));
        Assert.Equal(rows.Skip(10).Take(5).Select(r => r.Id), o.Peek(rows[9].Id, 5).Select(r => r.Id));
    }

    [Fact]
    public void Delete_AfterAck_RemovesOnlyThatRow()
    {
        using var o = new Outbox(DbPath);
        var a = o.Add(Entry(1));
        var b = o.Add(Entry(2));
        Assert.True(o.Delete(a));
        Assert.False(o.Delete(a));
        Assert.Equal([b], o.Peek(0, 10).Select(r => r.Id));
        Assert.Equal(1, o.Count);
    }

    [Fact]
    public void Add_ThenProcessDiesWithoutDispose_SecondConnectionSeesEveryRow()
    {
        // The first outbox is never disposed or checkpointed: as after SIGKILL, only the WAL holds the rows.
        var first = new Outbox(DbPath);
        var added = Enumerable.Range(1, 20).Select(i => Entry(i)).ToList();
        foreach (var e in added) first.Add(e);

        using var second = new Outbox(DbPath);
        Assert.Equal(added.Select(e => e.EventId), second.Peek(0, 100).Select(r => r.EventId));
        GC.KeepAlive(first);
        first.Dispose();
    }

    [Fact]
    public void Add_BeyondMaxRows_DropsOldestDroppableFirstAndCountsIt()
    {
        using var o = new Outbox(DbPath, new OutboxLimits { MaxRows = 5 });
        var dropped = 0;
        o.RowsDropped += n => dropped += n;
        o.Add(Entry(1));
        o.Add(Entry(2, droppable: true));
        o.Add(Entry(3));
        o.Add(Entry(4, droppable: true));
        o.Add(Entry(5));
        o.Add(Entry(6));
        o.Add(Entry(7));
        Assert.Equal([1L, 3, 5, 6, 7], o.Peek(0, 10).Select(r => r.Seq));
        o.Add(Entry(8)); // nothing droppable left: the oldest goes
        Assert.Equal([3L, 5, 6, 7, 8], o.Peek(0, 10).Select(r => r.Seq));
        Assert.Equal(3, o.Dropped);
        Assert.Equal(3, dropped);
    }

    [Fact]
    public void Add_BeyondMaxBytes_DropsUntilItFits()
    {
        using var o = new Outbox(DbPath, new OutboxLimits { MaxBytes = 100 });
        for (var i = 1; i <= 10; i++) o.Add(Entry(i, size: 30));
        Assert.True(o.Bytes <= 100);
        Assert.Equal(3, o.Count);
        Assert.Equal(7, o.Dropped);
    }

    [Fact]
    public void Dropped_AfterReopen_IsStillCounted()
    {
        using (var o = new Outbox(DbPath, new OutboxLimits { MaxRows = 1 }))
        {
            o.Add(Entry(1));
            o.Add(Entry(2));
        }
        using var again = new Outbox(DbPath);
        Assert.Equal(1, again.Dropped);
        Assert.Equal(1, again.Count);
    }

    [Fact]
    public void Open_CorruptFile_MovesItAsideAndStartsFresh()
    {
        File.WriteAllText(DbPath, "this is not an SQLite database, just garbage written by a failing disk " + new string('x', 5000));
        using var o = new Outbox(DbPath);
        Assert.NotNull(o.MovedAside);
        Assert.True(File.Exists(o.MovedAside));
        Assert.Contains(".corrupt-", o.MovedAside, StringComparison.Ordinal);
        Assert.Equal(0, o.Count);
        o.Add(Entry(1));
        Assert.Single(o.Peek(0, 10));
    }

    [Fact]
    public void Open_DamagedPages_MovesItAsideAndStartsFresh()
    {
        using (var o = new Outbox(DbPath))
            for (var i = 0; i < 200; i++) o.Add(Entry(i, size: 200));
        SqliteConnection.ClearAllPools();
        // Overwrite pages after the header: a valid header, broken b-tree pages.
        using (var f = File.OpenWrite(DbPath))
        {
            f.Position = 4096 + 100;
            f.Write(Enumerable.Repeat((byte)0xA5, 8192).ToArray());
        }
        using var again = new Outbox(DbPath);
        Assert.NotNull(again.MovedAside);
        Assert.Equal(0, again.Count);
    }

    private static HealthEvent Event(long seq) => new(Guid.NewGuid(), "a", "b", seq, DateTimeOffset.UnixEpoch, EventKind.Raised, PipelineFixtures.Psu1,
        null, "psu.problem", "psu.fault", HwState.Failed, Severity.Critical, "m", "a", [], null, null, null, null);

    private static readonly TrackedCondition Raised = new("psu.fault", Severity.Critical, HwState.Failed, "psu.problem", null, DateTimeOffset.UnixEpoch);

    [Fact]
    public void Record_EventWithOutbox_HistorySeqConditionAndOutboxRowCommitTogether()
    {
        using var store = new HealthStore(Path.Combine(_dir, "state.db"));
        var outbox = store.OpenOutbox("mqtt", new OutboxLimits());
        var e = store.Record("psu:1", Raised, Event, [(outbox, ev => new OutboxEntry(ev.EventId, ev.Seq, "t/" + ev.Seq, [1, 2, 3], false))])!;
        Assert.Equal(1, e.Seq);
        Assert.Equal(e.EventId, Assert.Single(store.History(10, null, null)).EventId);
        var row = Assert.Single(outbox.Peek(0, 10));
        Assert.Equal((e.EventId, 1L, "t/1"), (row.EventId, row.Seq, row.Topic));
        Assert.Equal(1, outbox.Count);
    }

    /// <summary>The other half of "one transaction": when the outbox row cannot be written, the event is not recorded either.</summary>
    [Fact]
    public void Record_OutboxRowFails_NothingOfTheEventIsCommitted()
    {
        using var store = new HealthStore(Path.Combine(_dir, "state.db"));
        var outbox = store.OpenOutbox("mqtt", new OutboxLimits());
        Assert.Throws<InvalidOperationException>(() =>
            store.Record("psu:1", Raised, Event, [(outbox, _ => throw new InvalidOperationException("disk full"))]));
        Assert.Empty(store.History(10, null, null));
        Assert.Empty(store.LoadConditions());
        Assert.Equal(0, store.LastSeq);
        Assert.Equal(0, outbox.Count);
        // and the store still works
        Assert.Equal(1, store.Record("psu:1", Raised, Event, [(outbox, ev => new OutboxEntry(ev.EventId, ev.Seq, "t", [1], false))])!.Seq);
        Assert.Equal(1, outbox.Count);
    }

    [Fact]
    public void ImportLegacy_OutboxDbOfEarlierVersion_RowsMovedInOrderAndFileDeleted()
    {
        var legacy = Path.Combine(_dir, "outbox.db");
        using (var c = new SqliteConnection($"Data Source={legacy};Pooling=False"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            // the schema of the separate outbox.db before issue #14
            cmd.CommandText = """
                CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL, seq INTEGER NOT NULL,
                  topic TEXT NOT NULL, payload BLOB NOT NULL, droppable INTEGER NOT NULL, created TEXT NOT NULL);
                CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
                INSERT INTO outbox (event_id, seq, topic, payload, droppable, created) VALUES
                  ('6f1b7a53-8c1e-4d3e-9a55-0c2f7b1d0001', 7, 't', x'01', 0, '2026-12-01T00:00:00Z'),
                  ('6f1b7a53-8c1e-4d3e-9a55-0c2f7b1d0002', 8, 't', x'02', 1, '2026-12-01T00:00:01Z');
                """;
            cmd.ExecuteNonQuery();
        }
        using var store = new HealthStore(Path.Combine(_dir, "state.db"));
        var outbox = store.OpenOutbox("mqtt", new OutboxLimits());
        outbox.Add(Entry(9)); // a row already in the new table keeps its place; imported rows follow, in their order
        Assert.Equal(2, outbox.ImportLegacy(legacy));
        Assert.False(File.Exists(legacy));
        Assert.Equal([9L, 7, 8], outbox.Peek(0, 10).Select(r => r.Seq));
        Assert.Equal(3, outbox.Count);
        Assert.Equal(0, outbox.ImportLegacy(legacy)); // nothing left to import
    }
}
