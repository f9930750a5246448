using System.Diagnostics;
using Campaigns.Grains.Ledger;
using Campaigns.Storage.Sqlite;
using Microsoft.Data.Sqlite;

namespace Campaigns.Tests.Ledger;

/// <summary>The writer answers a write only once its commit is on disk, and reads wait for the same.</summary>
/// <remarks>Run apart from the other tests: the WAL test keeps a core busy writing for seconds.</remarks>
[Collection(SqliteWriterCollection.Name)]
public sealed class SqliteWriterTests : IDisposable
{
    private readonly TemporaryDatabase _database = new();
    private readonly ManualResetEventSlim _flushing = new();
    private readonly ManualResetEventSlim _release = new();
    private int _flushes;

    public SqliteWriterTests()
    {
        using var connection = Open();
        Execute(connection, "PRAGMA journal_mode = WAL; CREATE TABLE t (k TEXT NOT NULL PRIMARY KEY);");
    }

    public void Dispose()
    {
        _release.Set();
        _database.Dispose();
    }

    [Fact]
    public async Task A_committed_write_is_answered_and_seen_by_readers_only_after_the_WAL_flush()
    {
        using var writer = new SqliteWriter(Open, HeldFlush);
        var write = writer.WriteAsync(transaction => Insert(transaction, "a"));

        Assert.True(_flushing.Wait(TimeSpan.FromSeconds(10)));
        Assert.Equal(1L, _database.Scalar("SELECT COUNT(*) FROM t")); // committed: another connection sees it
        var read = writer.WhenDurableAsync();
        await Task.Delay(50);
        Assert.False(write.IsCompleted);
        Assert.False(read.IsCompleted);

        _release.Set();
        Assert.Equal(1, await write.WaitAsync(TimeSpan.FromSeconds(10)));
        await read.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(writer.WhenDurableAsync().IsCompleted);
    }

    [Fact]
    public async Task Writes_that_arrive_while_a_flush_is_under_way_are_committed_together_once_it_ends()
    {
        using var writer = new SqliteWriter(Open, HeldFlush);
        var first = writer.WriteAsync(transaction => Insert(transaction, "first"));
        Assert.True(_flushing.Wait(TimeSpan.FromSeconds(10)));
        writer.TakeActivity();

        // Each would have been a transaction of its own, committed while the flush held the disk.
        var during = new List<Task<int>>();
        for (var i = 0; i < 20; i++)
        {
            var key = $"during-{i}";
            during.Add(writer.WriteAsync(transaction => Insert(transaction, key)));
            await Task.Delay(5);
        }

        var committedDuringFlush = _database.Scalar("SELECT COUNT(*) - 1 FROM t");
        _release.Set(); // before any assertion: the writer's disposal waits for the held flush
        await first.WaitAsync(TimeSpan.FromSeconds(10));
        await Task.WhenAll(during).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(0L, committedDuringFlush);
        Assert.Equal(21L, _database.Scalar("SELECT COUNT(*) FROM t"));
        Assert.Equal(1L, writer.TakeActivity().Commits);
    }

    [Fact]
    public async Task After_a_failed_flush_the_writes_it_covered_every_later_one_and_every_read_are_refused()
    {
        using var writer = new SqliteWriter(Open, wal =>
        {
            Interlocked.Increment(ref _flushes);
            throw new IOException("disk gone");
        });
        Assert.Null(writer.Fault);

        var failed = await Assert.ThrowsAsync<LedgerUnavailableException>(() => writer.WriteAsync(transaction => Insert(transaction, "a")));
        Assert.Contains("disk gone", failed.Message);
        Assert.Contains("restarts", failed.Message);
        Assert.Same(failed, writer.Fault);

        // A later fsync could report success for pages the OS dropped: nothing more is written.
        await Assert.ThrowsAsync<LedgerUnavailableException>(() => writer.WriteAsync(transaction => Insert(transaction, "b")));
        Assert.Equal(1L, _database.Scalar("SELECT COUNT(*) FROM t"));
        Assert.Equal(1, _flushes);
        // The row "a" is in the database, where readers would see it, but may not be on disk:
        // no read is let through any more.
        Assert.Same(failed, await Assert.ThrowsAsync<LedgerUnavailableException>(() => writer.WhenDurableAsync().WaitAsync(TimeSpan.FromSeconds(10))));
    }

    [Fact]
    public async Task Without_a_WAL_each_commit_syncs_itself_and_no_flush_is_needed()
    {
        var path = Path.Combine(Path.GetTempPath(), $"campaigns-rollback-{Guid.NewGuid():N}.db");
        var connectionString = new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString();
        try
        {
            using (var setup = new SqliteConnection(connectionString))
            {
                setup.Open();
                Execute(setup, "PRAGMA journal_mode = DELETE; CREATE TABLE t (k TEXT NOT NULL PRIMARY KEY);");
            }

            using (var writer = new SqliteWriter(() => OpenAt(connectionString), _ => Interlocked.Increment(ref _flushes)))
            {
                Assert.Equal(1, await writer.WriteAsync(transaction => Insert(transaction, "a")).WaitAsync(TimeSpan.FromSeconds(10)));
            }

            Assert.Equal(0, _flushes);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task Its_activity_window_counts_commits_and_keeps_the_slowest_flush_then_starts_over()
    {
        using var writer = new SqliteWriter(Open, HeldFlush);
        var write = writer.WriteAsync(transaction => Insert(transaction, "a"));
        Assert.True(_flushing.Wait(TimeSpan.FromSeconds(10)));
        await Task.Delay(200); // the disk "stalls"
        _release.Set();
        await write.WaitAsync(TimeSpan.FromSeconds(10));
        await writer.WriteAsync(transaction => Insert(transaction, "b")).WaitAsync(TimeSpan.FromSeconds(10));

        var activity = writer.TakeActivity();
        Assert.Equal(2, activity.Commits);
        Assert.True(activity.SlowestFlush >= TimeSpan.FromMilliseconds(190), $"slowest flush {activity.SlowestFlush}");
        Assert.True(activity.SlowestCommit < activity.SlowestFlush);

        var next = writer.TakeActivity();
        Assert.Equal((0L, TimeSpan.Zero, TimeSpan.Zero, 0L), (next.Commits, next.SlowestCommit, next.SlowestFlush, next.LogRestarts));
    }

    [Fact]
    public async Task Its_activity_counts_the_bytes_appended_to_the_WAL()
    {
        Execute(Open(), "CREATE TABLE b (k INTEGER PRIMARY KEY, v BLOB NOT NULL);");
        using var writer = new SqliteWriter(Open, _ => { }, new SqliteWriter.WalUpkeep(TimeSpan.FromMilliseconds(10), RestartFrames: 1_000_000, QuietAfter: TimeSpan.FromMinutes(1)));
        writer.TakeActivity();

        // 100 commits of one 40 KiB row each: about ten 4 KiB pages (and their 24-byte headers) a commit.
        for (var k = 0; k < 100; k++)
        {
            await writer.WriteAsync(transaction =>
            {
                using var insert = transaction.Connection!.CreateCommand();
                insert.Transaction = transaction;
                insert.CommandText = $"INSERT INTO b (k, v) VALUES ({k}, zeroblob(40960));";
                return insert.ExecuteNonQuery();
            });
        }

        await Task.Delay(300); // the checkpointer counts what it finds
        var bytes = writer.TakeActivity().LogBytes;
        Assert.InRange(bytes, 100 * 40_960, 100 * 14 * (4_096 + 24));
    }

    [Fact]
    public async Task Under_steady_writes_and_reads_the_WAL_starts_over_instead_of_growing()
    {
        Execute(Open(), "CREATE TABLE b (k INTEGER PRIMARY KEY, v BLOB NOT NULL);");
        var wal = new SqliteConnectionStringBuilder(_database.ConnectionString).DataSource + "-wal";
        using var writer = new SqliteWriter(Open, _ => { }, new SqliteWriter.WalUpkeep(TimeSpan.FromMilliseconds(10), RestartFrames: 64, QuietAfter: TimeSpan.FromMinutes(1)));

        // A reader nearly always under way, each holding its snapshot for a moment, as redemptions'
        // reads do, so that PASSIVE checkpoints alone never let the WAL start over.
        using var stop = new CancellationTokenSource();
        var reader = Task.Run(() =>
        {
            using var connection = Open();
            while (!stop.IsCancellationRequested)
            {
                using (var transaction = connection.BeginTransaction(deferred: true))
                using (var count = connection.CreateCommand())
                {
                    count.Transaction = transaction;
                    count.CommandText = "SELECT COUNT(*) FROM b;";
                    count.ExecuteScalar();
                    Thread.Sleep(2);
                }

                Thread.Sleep(1);
            }
        });

        // Writes over the same 256 rows (the file stays small, every write still goes through the
        // WAL) until far more has been written than the WAL ever held. Without the writer's RESTART
        // the WAL grows with every write and never gets there. Bounded by time rather than by a
        // count of writes: on a busy machine the checkpointer that notices a long WAL runs late.
        const int BlobBytes = 16 * 1024;
        var deadline = Stopwatch.StartNew();
        long largest = 0, written = 0, k = 0;
        while ((written < 8 * largest || writer.WalRestarts < 2) && deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Interlocked.Increment(ref k) % 256).Select(key => writer.WriteAsync(transaction =>
            {
                using var insert = transaction.Connection!.CreateCommand();
                insert.Transaction = transaction;
                insert.CommandText = "INSERT OR REPLACE INTO b (k, v) VALUES (@k, zeroblob(@size));";
                insert.Parameters.AddWithValue("@k", key);
                insert.Parameters.AddWithValue("@size", BlobBytes);
                return insert.ExecuteNonQuery();
            })));
            written += 8 * BlobBytes;
            largest = Math.Max(largest, new FileInfo(wal).Length);
        }

        await stop.CancelAsync();
        await reader;

        Assert.Equal(256L, _database.Scalar("SELECT COUNT(*) FROM b"));
        Assert.True(writer.WalRestarts > 0, "the WAL never started over");
        Assert.True(written >= 8 * largest, $"after {written:N0} bytes written in {deadline.Elapsed.TotalSeconds:N0} s the WAL had grown to {largest:N0} bytes");
    }

    [Fact]
    public async Task Once_writes_stop_the_WAL_file_is_emptied_as_soon_as_no_reader_needs_it()
    {
        Execute(Open(), "CREATE TABLE b (k INTEGER PRIMARY KEY, v BLOB NOT NULL);");
        var wal = new SqliteConnectionStringBuilder(_database.ConnectionString).DataSource + "-wal";
        var quiet = TimeSpan.FromMilliseconds(200);
        using var writer = new SqliteWriter(Open, _ => { }, new SqliteWriter.WalUpkeep(TimeSpan.FromMilliseconds(10), RestartFrames: 1_000_000, quiet));
        Task<int> Put(int k) => writer.WriteAsync(transaction => Run(transaction, $"INSERT INTO b (k, v) VALUES ({k}, zeroblob(100000));"));
        for (var k = 0; k < 20; k++)
        {
            await Put(k);
        }

        // A reader whose snapshot is older than the last write still needs the WAL's frames.
        using (var reader = Open())
        {
            using var snapshot = reader.BeginTransaction(deferred: true);
            using var count = reader.CreateCommand();
            count.Transaction = snapshot;
            count.CommandText = "SELECT COUNT(*) FROM b;";
            Assert.Equal(20L, count.ExecuteScalar());
            await Put(20);

            await Task.Delay(quiet * 5);
            Assert.True(new FileInfo(wal).Length > 0, "the WAL was emptied under a reader that still needed it");
            Assert.Equal(20L, count.ExecuteScalar());
        }

        var emptied = Stopwatch.StartNew();
        while (new FileInfo(wal).Length > 0 && emptied.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(20);
        }

        Assert.Equal(0, new FileInfo(wal).Length);
        Assert.Equal(21L, _database.Scalar("SELECT COUNT(*) FROM b"));
        await Put(21);
        Assert.Equal(22L, _database.Scalar("SELECT COUNT(*) FROM b"));
    }

    [Fact]
    public async Task A_write_that_changes_many_pages_keeps_its_savepoint_journal_off_the_disk()
    {
        Execute(Open(), "CREATE TABLE b (k INTEGER PRIMARY KEY, v BLOB NOT NULL);");
        using var writer = new SqliteWriter(Open, _ => { });
        await writer.WriteAsync(transaction => Run(transaction, "WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 400) INSERT INTO b (k, v) SELECT i, zeroblob(1000) FROM n;"));

        // Rewriting every row changes about 100 pages that existed when the write's savepoint
        // began, so each is copied to the savepoint's journal first: 400 KiB, past the 64 KiB at
        // which SQLite would move that journal to a (deleted) temporary file.
        var journalFiles = await writer.WriteAsync(transaction =>
        {
            Run(transaction, "UPDATE b SET v = randomblob(1000);");
            return OpenFiles().Count(target => target.Contains("etilqs_", StringComparison.Ordinal));
        });

        Assert.Equal(0, journalFiles);
        Assert.Equal(400L, _database.Scalar("SELECT COUNT(*) FROM b WHERE length(v) = 1000"));
    }

    private void HeldFlush(FileStream wal)
    {
        _flushing.Set();
        _release.Wait();
        wal.Flush(flushToDisk: true);
    }

    private SqliteConnection Open() => OpenAt(_database.ConnectionString);

    private static SqliteConnection OpenAt(string connectionString)
    {
        var connection = new SqliteConnection(connectionString);
        connection.Open();
        return connection;
    }

    private static int Run(SqliteTransaction transaction, string sql)
    {
        using var command = transaction.Connection!.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return command.ExecuteNonQuery();
    }

    /// <summary>What this process's open file descriptors point at.</summary>
    private static IEnumerable<string> OpenFiles() =>
        new DirectoryInfo("/proc/self/fd").EnumerateFileSystemInfos().Select(fd => fd.LinkTarget ?? "");

    private static int Insert(SqliteTransaction transaction, string key)
    {
        using var insert = transaction.Connection!.CreateCommand();
        insert.Transaction = transaction;
        insert.CommandText = "INSERT INTO t (k) VALUES (@k);";
        insert.Parameters.AddWithValue("@k", key);
        return insert.ExecuteNonQuery();
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SqliteWriterCollection
{
    public const string Name = "SQLite writer, alone";
}
