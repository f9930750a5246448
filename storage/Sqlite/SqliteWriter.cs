using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Campaigns.Grains.Ledger;
using Microsoft.Data.Sqlite;

namespace Campaigns.Storage.Sqlite;

/// <summary>
/// SQLite's one writer, as a dedicated thread with one connection. It takes every write that is
/// waiting, runs each in a savepoint of a single transaction, commits once, then answers them
/// all: group commit across every shard, campaign and voucher, one fsync for the lot.
/// <para>
/// Why a thread of its own: Microsoft.Data.Sqlite is synchronous underneath, and a write held
/// on a thread-pool thread for a transaction starves a 2-core pool (new threads come slowly),
/// which shows as 100 ms+ tail latency. Grains now only enqueue and await.
/// </para>
/// A write that throws is rolled back to its savepoint and fails alone; the others commit. If
/// the commit itself fails, every write of the group fails and nothing of it is stored.
/// <para>
/// The writer's connection commits with <c>synchronous = NORMAL</c>: the commit hands the group's
/// WAL frames to the OS and returns. The writer then flushes the WAL file itself and only then
/// answers the group's writes, so an acknowledged write has been on disk before its answer, as with
/// <c>synchronous = FULL</c>. The writes that arrive during the flush make the next group. (A syncer
/// thread of its own did the flush until 2026-12-07: the hand-off and the two threads' waits for
/// each other cost more than the overlap gained, see loadtests/README.md.) Readers can see a commit
/// before its flush, so the ledger's reads wait (<see cref="WhenDurableAsync"/>) until whatever they
/// may have seen is on disk too: no caller is shown a write that a power cut could still take back.
/// </para>
/// <para>
/// Checkpoints (copying the WAL back into the database file) run on a thread of their own with
/// their own connection, every <see cref="WalUpkeep.CheckpointEvery"/> while there are commits, rather than
/// inside whichever commit crossed SQLite's 1,000-page mark, so the writer turns
/// <c>wal_autocheckpoint</c> off on its connection. Waiting longer between checkpoints also lets a
/// page that several commits touched be copied once (measured: about 20% more vouchers per second
/// than checkpoints inside commits, on 200,000-voucher runs of 8 to 40 shards). Off the writer's
/// thread, a checkpoint (2-3 ms typically, 15-30 ms at worst under load) no longer holds up the
/// commits queued behind it: a PASSIVE checkpoint and a writer run side by side in WAL mode.
/// Those checkpoints alone never let the WAL start over while the load lasts, so the writer
/// itself does that when the WAL gets long (<see cref="RestartWal"/>). Once the writes stop for
/// a while, the checkpointer empties the WAL file to give its disk space back
/// (<see cref="TruncateQuietWal"/>).
/// </para>
/// </summary>
internal sealed class SqliteWriter : IDisposable
{
    /// <summary>At most this many writes share one transaction, to bound the time a commit holds them.</summary>
    private const int MaxGroup = 512;

    /// <summary>How long the writer waits for readers still on old frames before it lets the WAL start over.</summary>
    private const int RestartWaitMilliseconds = 5;

    /// <summary>How long the checkpointer waits for readers still on old frames before it empties a quiet WAL.</summary>
    private const int TruncateWaitMilliseconds = 50;

    /// <summary>The longest the checkpointer waits before it tries again to empty a quiet WAL that a reader held.</summary>
    private static readonly TimeSpan MaxTruncateRetryGap = TimeSpan.FromMinutes(1);

    private readonly BlockingCollection<IWrite> _queue = [];
    private readonly Func<SqliteConnection> _open;
    private readonly Action<FileStream> _flush;
    private readonly WalUpkeep _upkeep;
    private readonly Thread _thread;
    private readonly Thread _checkpointer;
    private readonly ManualResetEventSlim _stopping = new();
    private readonly PreparedStatements _statements = new();
    private readonly List<FileStream> _walFiles = [];
    private readonly Lock _durability = new();
    private readonly List<(long Sequence, TaskCompletionSource Done)> _waiting = [];
    private long _commits;
    private long _walRestarts;
    private long _slowestCommitTicks;
    private long _slowestFlushTicks;
    private long _activityCommits;
    private long _activityRestarts;
    private long _walBytes;
    private long _activityWalBytes;
    private volatile bool _walLong;
    private long _sealing;
    private long _durable;
    private volatile Exception? _fenced;

    /// <param name="open">Opens a connection to the ledger's database (the writer's and the checkpointer's).</param>
    /// <param name="flush">Puts the WAL file on disk; by default an fsync. Tests hold it to see what waits for it.</param>
    /// <param name="upkeep">How often to checkpoint and when to start the WAL over; <see cref="WalUpkeep.Default"/> unless a test says otherwise.</param>
    public SqliteWriter(Func<SqliteConnection> open, Action<FileStream>? flush = null, WalUpkeep? upkeep = null)
    {
        _open = open;
        _upkeep = upkeep ?? WalUpkeep.Default;
        _flush = flush ?? (wal => wal.Flush(flushToDisk: true));
        _thread = new Thread(Run) { IsBackground = true, Name = "sqlite-ledger-writer" };
        _thread.Start();
        _checkpointer = new Thread(RunCheckpoints) { IsBackground = true, Name = "sqlite-ledger-checkpointer" };
        _checkpointer.Start();
    }

    /// <summary>
    /// Why the writer takes no more writes, once a WAL flush has failed; null while it is well.
    /// After a failed fsync the OS may have dropped the pages it could not write and report the
    /// next fsync as a success, so no later commit could be trusted to be on disk: every write,
    /// and every read waiting on <see cref="WhenDurableAsync"/>, is refused from then on until the
    /// process restarts and SQLite recovers from the file.
    /// </summary>
    public Exception? Fault => _fenced;

    /// <summary>
    /// Completes once every commit that had begun by now is on disk: a read that calls it after
    /// reading shows nothing a power cut could undo. Already complete when nothing is pending.
    /// </summary>
    public Task WhenDurableAsync()
    {
        // Once a flush has failed, what a reader sees may be commits that never reached the disk.
        if (_fenced is { } fenced)
        {
            return Task.FromException(fenced);
        }

        var sequence = Volatile.Read(ref _sealing);
        if (Volatile.Read(ref _durable) >= sequence)
        {
            return Task.CompletedTask;
        }

        lock (_durability)
        {
            if (_fenced is { } fencedMeanwhile)
            {
                return Task.FromException(fencedMeanwhile);
            }

            if (_durable >= sequence)
            {
                return Task.CompletedTask;
            }

            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiting.Add((sequence, done));
            return done.Task;
        }
    }

    /// <summary>
    /// A statement parsed once for the writer's connection and kept with it. Only for work running
    /// in this writer (it runs on the writer's thread, in <paramref name="transaction"/>).
    /// </summary>
    public PreparedStatement Statement(SqliteTransaction transaction, string sql, params IReadOnlyList<string> parameterNames) =>
        _statements.Get(transaction.Connection!, sql, parameterNames);

    /// <summary>
    /// Runs <paramref name="work"/> inside the writer's transaction. The work must not commit; to
    /// write nothing it throws (its savepoint is rolled back) or undoes its own nested savepoint.
    /// The task completes once the work's changes are durable.
    /// </summary>
    public Task<T> WriteAsync<T>(Func<SqliteTransaction, T> work)
    {
        if (_fenced is { } fenced)
        {
            return Task.FromException<T>(fenced);
        }

        var write = new Write<T>(work);
        ObjectDisposedException.ThrowIf(_queue.IsAddingCompleted, this);
        _queue.Add(write);

        return write.Completion.Task;
    }

    public void Dispose()
    {
        _queue.CompleteAdding();
        _thread.Join();
        _stopping.Set();
        _checkpointer.Join();
        foreach (var wal in _walFiles)
        {
            wal.Dispose();
        }

        _queue.Dispose();
        _stopping.Dispose();
    }

    private void Run()
    {
        SqliteConnection? connection = null;
        FileStream? wal = null;
        var group = new List<IWrite>(MaxGroup);
        foreach (var first in _queue.GetConsumingEnumerable())
        {
            group.Clear();
            group.Add(first);
            TakeWaiting(group);

            // Numbered before COMMIT, so a reader that saw this group's rows also waits for its sync.
            var sequence = Interlocked.Increment(ref _sealing);
            if (_fenced is not null)
            {
                // Settling fails every write of the group with the fence's reason.
                Settle(group, wal: null, sequence);
                continue;
            }

            try
            {
                connection ??= Open(out wal);
                var started = Stopwatch.GetTimestamp();
                Commit(connection, group);
                RaiseTo(ref _slowestCommitTicks, Stopwatch.GetTimestamp() - started);
                Interlocked.Increment(ref _commits);
                Settle(group, wal, sequence);
                if (_walLong)
                {
                    RestartWal(connection);
                }
            }
            catch (Exception ex)
            {
                // The transaction did not commit: nothing of this group is stored. A fresh
                // connection next time, in case this one is what broke.
                var unavailable = SqliteFaults.Classify(ex, "the ledger could not commit");
                foreach (var write in group)
                {
                    write.Fail(unavailable);
                }

                Settle([], wal: null, sequence);
                _statements.Clear();
                connection?.Dispose();
                connection = null;
            }
        }

        _statements.Dispose();
        connection?.Dispose();
    }

    /// <summary>Adds the writes waiting now to <paramref name="group"/>, up to <see cref="MaxGroup"/>.</summary>
    private void TakeWaiting(List<IWrite> group)
    {
        while (group.Count < MaxGroup && _queue.TryTake(out var next))
        {
            group.Add(next);
        }
    }

    /// <summary>
    /// Flushes the WAL (when there is one and the group committed), then answers the group's writes
    /// and the reads waiting for its <paramref name="sequence"/>: the writer's own fsync, so that a
    /// group takes no hand-off to another thread between its commit and its answers.
    /// </summary>
    private void Settle(IReadOnlyList<IWrite> writes, FileStream? wal, long sequence)
    {
        var failure = _fenced;
        try
        {
            if (failure is null && wal is not null)
            {
                var started = Stopwatch.GetTimestamp();
                _flush(wal);
                RaiseTo(ref _slowestFlushTicks, Stopwatch.GetTimestamp() - started);
            }
        }
        catch (Exception ex)
        {
            // Whether the commit reached the disk is unknown: it is not acknowledged, and nothing
            // after it will be (see Fault). Its callers see the ledger unavailable; every write is
            // idempotent, so retries after a restart are safe.
            failure = _fenced = new LedgerUnavailableException(
                $"the ledger's WAL could not be flushed to disk ({ex.Message}); it answers no more writes or reads until the silo restarts", ex);
        }

        foreach (var write in writes)
        {
            if (failure is null)
            {
                write.Succeed();
            }
            else
            {
                write.Fail(failure);
            }
        }

        if (failure is null)
        {
            MarkDurable(sequence);
        }
        else
        {
            FailWaiters(failure);
        }
    }

    /// <summary>Every read waiting for a sync fails with the flush's failure: it may have seen lost commits.</summary>
    private void FailWaiters(Exception failure)
    {
        lock (_durability)
        {
            foreach (var (_, done) in _waiting)
            {
                done.TrySetException(failure);
            }

            _waiting.Clear();
        }
    }

    private void MarkDurable(long sequence)
    {
        lock (_durability)
        {
            _durable = sequence;
            _waiting.RemoveAll(waiter =>
            {
                if (waiter.Sequence > sequence)
                {
                    return false;
                }

                waiter.Done.TrySetResult();
                return true;
            });
        }
    }

    private void RunCheckpoints()
    {
        SqliteConnection? connection = null;
        var checkpointed = 0L;
        var lastCommitSeen = Stopwatch.GetTimestamp();
        var emptied = false;
        // After an attempt a reader held up, the next waits as long again as the quiet so far (at
        // most a minute): a long export may be reading, and each attempt holds off the writer.
        var truncateAfter = _upkeep.QuietAfter;
        var walFrames = 0L;
        var pageBytes = 0L;
        // Also once more on the way out, so a stopped ledger leaves its commits in the file.
        while (!_stopping.Wait(_upkeep.CheckpointEvery) || Volatile.Read(ref _commits) != checkpointed)
        {
            var commits = Volatile.Read(ref _commits);
            try
            {
                if (commits != checkpointed)
                {
                    connection ??= _open();
                    var frames = Checkpoint(connection);
                    _walLong = frames > _upkeep.RestartFrames;
                    // Frames counted at each checkpoint; fewer than last time means the WAL started over.
                    pageBytes = pageBytes > 0 ? pageBytes : PageSize(connection);
                    Interlocked.Add(ref _walBytes, (frames >= walFrames ? frames - walFrames : frames) * (pageBytes + WalFrameHeaderBytes));
                    walFrames = frames;
                    checkpointed = commits;
                    lastCommitSeen = Stopwatch.GetTimestamp();
                    emptied = false;
                    truncateAfter = _upkeep.QuietAfter;
                }
                else if (!emptied && !_stopping.IsSet && Stopwatch.GetElapsedTime(lastCommitSeen) >= truncateAfter)
                {
                    connection ??= _open();
                    emptied = TruncateQuietWal(connection);
                    var quiet = Stopwatch.GetElapsedTime(lastCommitSeen);
                    truncateAfter = emptied ? _upkeep.QuietAfter : quiet + TimeSpan.FromTicks(Math.Min(quiet.Ticks, MaxTruncateRetryGap.Ticks));
                }
            }
            catch (Exception)
            {
                // Nothing is lost: the WAL still holds every commit. A fresh connection next time.
                // Whatever failed, this thread must not end: an exception escaping it ends the process.
                connection?.Dispose();
                connection = null;
                if (_stopping.IsSet)
                {
                    break;
                }
            }
        }

        connection?.Dispose();
    }

    /// <summary>
    /// The writer's connection. In WAL mode it commits without syncing (the writer flushes after) and
    /// comes with a handle on the WAL file to flush; in any other mode it keeps the connection's
    /// own per-commit sync and <paramref name="wal"/> is null.
    /// </summary>
    private SqliteConnection Open(out FileStream? wal)
    {
        var connection = _open();
        wal = null;
        try
        {
            // temp_store = MEMORY keeps each write's savepoint journal in memory. Otherwise SQLite
            // moves it to a temporary file once it passes 64 KiB: single-claim issuing created and
            // deleted about 70 such files a second, and every large batch made one.
            using var settings = connection.CreateCommand();
            settings.CommandText = "PRAGMA wal_autocheckpoint = 0; PRAGMA temp_store = MEMORY;";
            settings.ExecuteNonQuery();

            using var mode = connection.CreateCommand();
            mode.CommandText = "PRAGMA journal_mode;";
            if (!string.Equals(mode.ExecuteScalar() as string, "wal", StringComparison.OrdinalIgnoreCase))
            {
                return connection;
            }

            // The file exists once a connection has read the database in WAL mode. The handle
            // stays open until the writer stops: closing a descriptor can drop a process's locks.
            using var read = connection.CreateCommand();
            read.CommandText = "SELECT COUNT(*) FROM sqlite_schema; PRAGMA synchronous = NORMAL;";
            read.ExecuteNonQuery();
            wal = new FileStream(connection.DataSource + "-wal", FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0);
            _walFiles.Add(wal);
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>
    /// PASSIVE: copies what no reader still needs, and never waits for anyone. Returns how many
    /// frames the WAL holds.
    /// </summary>
    private const long WalFrameHeaderBytes = 24;

    private static long PageSize(SqliteConnection connection)
    {
        using var pageSize = connection.CreateCommand();
        pageSize.CommandText = "PRAGMA page_size;";
        return (long)pageSize.ExecuteScalar()!;
    }

    private static long Checkpoint(SqliteConnection connection)
    {
        using var checkpoint = connection.CreateCommand();
        checkpoint.CommandText = "PRAGMA wal_checkpoint(PASSIVE);";
        using var result = checkpoint.ExecuteReader();
        return result.Read() ? result.GetInt64(1) : 0;
    }

    /// <summary>
    /// Lets the WAL start over from its beginning. SQLite restarts the WAL only when a write
    /// transaction begins, every frame in it is already in the database file, and no reader is
    /// still reading frames from it. The checkpointer's PASSIVE runs while the writer goes on
    /// committing and readers come and go, so under steady load that never held: the WAL grew by
    /// every commit for as long as the load lasted (200 MB in a 40-second checkout run), appending
    /// to the file, growing the index every reader searches, and keeping the disk space afterwards.
    /// <para>
    /// So the writer, between two groups (nothing can commit meanwhile: it is the only writer),
    /// runs a RESTART checkpoint: it copies the frames the checkpointer has not yet copied, waits
    /// for the readers still on older frames, and leaves the next BEGIN to start the WAL over.
    /// Readers that start meanwhile read the database file. The wait is capped at
    /// <see cref="RestartWaitMilliseconds"/>: a long read (an export) makes this round give up, and
    /// the next checkpoint that finds the WAL long tries again.
    /// </para>
    /// </summary>
    private void RestartWal(SqliteConnection connection)
    {
        _walLong = false;
        if (WaitingCheckpoint(connection, "RESTART", RestartWaitMilliseconds))
        {
            Interlocked.Increment(ref _walRestarts);
        }
    }

    /// <summary>
    /// Empties the WAL file once the writes have stopped for <see cref="WalUpkeep.QuietAfter"/>,
    /// giving back the disk space a peak took (up to <see cref="WalUpkeep.RestartFrames"/> pages;
    /// under load the WAL starts over without shrinking, so that its commits never wait for the file
    /// to grow again). A TRUNCATE checkpoint holds off the writer while it runs, which costs nothing
    /// now that nothing is being written; readers still on old frames make it give up after
    /// <see cref="TruncateWaitMilliseconds"/>, and it tries again after as long again as the quiet so
    /// far, at most <see cref="MaxTruncateRetryGap"/> later (a write arriving during a try waits for
    /// it). Returns whether the WAL is empty.
    /// </summary>
    private static bool TruncateQuietWal(SqliteConnection connection) =>
        WaitingCheckpoint(connection, "TRUNCATE", TruncateWaitMilliseconds);

    /// <summary>
    /// A RESTART or TRUNCATE checkpoint, waiting at most <paramref name="waitMilliseconds"/> for
    /// readers still on old frames. Returns whether it finished; a failure is only housekeeping
    /// left undone (every commit is still in the WAL), so it returns false instead of throwing.
    /// </summary>
    private static bool WaitingCheckpoint(SqliteConnection connection, string mode, int waitMilliseconds)
    {
        try
        {
            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA busy_timeout;";
            var busyTimeout = Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
            command.CommandText = $"PRAGMA busy_timeout = {waitMilliseconds};";
            command.ExecuteNonQuery();
            try
            {
                command.CommandText = $"PRAGMA wal_checkpoint({mode});";
                using var result = command.ExecuteReader();
                // The first column is 1 when readers (or, for the checkpointer, the writer) kept it from finishing.
                return result.Read() && result.GetInt64(0) == 0;
            }
            finally
            {
                command.CommandText = $"PRAGMA busy_timeout = {busyTimeout};";
                command.ExecuteNonQuery();
            }
        }
        catch (SqliteException)
        {
            return false;
        }
    }

    /// <summary>How often the writer has cleared the WAL to start over.</summary>
    internal long WalRestarts => Volatile.Read(ref _walRestarts);

    /// <summary>Commits, the slowest commit and flush, WAL restarts and WAL bytes written (as of the last checkpoint) since the last call.</summary>
    public LedgerActivity TakeActivity()
    {
        var commits = Volatile.Read(ref _commits);
        var restarts = Volatile.Read(ref _walRestarts);
        var walBytes = Volatile.Read(ref _walBytes);
        return new LedgerActivity(
            commits - Interlocked.Exchange(ref _activityCommits, commits),
            Stopwatch.GetElapsedTime(0, Interlocked.Exchange(ref _slowestCommitTicks, 0)),
            Stopwatch.GetElapsedTime(0, Interlocked.Exchange(ref _slowestFlushTicks, 0)),
            restarts - Interlocked.Exchange(ref _activityRestarts, restarts),
            walBytes - Interlocked.Exchange(ref _activityWalBytes, walBytes));
    }

    private static void RaiseTo(ref long field, long value)
    {
        var seen = Volatile.Read(ref field);
        while (value > seen && Interlocked.CompareExchange(ref field, value, seen) is var actual && actual != seen)
        {
            seen = actual;
        }
    }

    private void Commit(SqliteConnection connection, List<IWrite> group)
    {
        using var transaction = connection.BeginTransaction(deferred: false);
        // One savepoint name serves every write: each is released before the next begins.
        var save = Statement(transaction, "SAVEPOINT w;");
        var release = Statement(transaction, "RELEASE w;");
        var rollback = Statement(transaction, "ROLLBACK TO w;");
        foreach (var write in group)
        {
            save.Execute(transaction);
            try
            {
                write.Run(transaction);
                release.Execute(transaction);
            }
            catch (Exception ex)
            {
                rollback.Execute(transaction);
                release.Execute(transaction);
                write.Fail(ex);
            }
        }

        transaction.Commit();
    }

    /// <summary>
    /// The WAL's upkeep: a PASSIVE checkpoint every <paramref name="CheckpointEvery"/> while there are
    /// commits; when one finds more than <paramref name="RestartFrames"/> frames in the WAL, a
    /// RESTART by the writer between two groups (see <see cref="RestartWal"/>); and once no commit
    /// has come for <paramref name="QuietAfter"/>, the WAL file emptied (see <see cref="TruncateQuietWal"/>).
    /// </summary>
    internal sealed record WalUpkeep(TimeSpan CheckpointEvery, long RestartFrames, TimeSpan QuietAfter)
    {
        /// <summary>
        /// Every 100 ms; the WAL starts over past 16,384 pages (64 MiB at 4 KiB pages), and is
        /// emptied after 2 s without a commit.
        /// <para>
        /// Starting over often keeps the WAL's commits in blocks the file already has, still in the
        /// page cache; a WAL that only grows puts every frame in a block the kernel must first
        /// allocate and zero. A restart is cheap now that a claim writes a few KB of WAL (the
        /// thresholds measured against each other are in loadtests/README.md).
        /// </para>
        /// </summary>
        public static readonly WalUpkeep Default = new(TimeSpan.FromMilliseconds(100), 16_384, TimeSpan.FromSeconds(2));
    }

    private interface IWrite
    {
        void Run(SqliteTransaction transaction);

        void Succeed();

        void Fail(Exception error);
    }

    private sealed class Write<T>(Func<SqliteTransaction, T> work) : IWrite
    {
        private T? _result;
        private bool _ran;

        // Continuations run on the caller's scheduler (a grain's), never on the writer thread.
        public TaskCompletionSource<T> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Run(SqliteTransaction transaction)
        {
            _result = work(transaction);
            _ran = true;
        }

        public void Succeed()
        {
            if (_ran)
            {
                Completion.TrySetResult(_result!);
            }
        }

        public void Fail(Exception error) => Completion.TrySetException(error);
    }
}
