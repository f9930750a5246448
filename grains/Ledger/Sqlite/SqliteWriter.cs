using System.Collections.Concurrent;
using Microsoft.Data.Sqlite;

namespace Campaigns.Grains.Ledger.Sqlite;

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
/// Checkpoints (copying the WAL back into the database file) run on a thread of their own with
/// their own connection, every <see cref="CheckpointEvery"/> while there are commits, rather than
/// inside whichever commit crossed SQLite's 1,000-page mark, so the writer turns
/// <c>wal_autocheckpoint</c> off on its connection. Waiting longer between checkpoints also lets a
/// page that several commits touched be copied once (measured: about 20% more vouchers per second
/// than checkpoints inside commits, on 200,000-voucher runs of 8 to 40 shards). Off the writer's
/// thread, a checkpoint (2-3 ms typically, 15-30 ms at worst under load) no longer holds up the
/// commits queued behind it: a PASSIVE checkpoint and a writer run side by side in WAL mode.
/// </para>
/// </summary>
internal sealed class SqliteWriter : IDisposable
{
    /// <summary>At most this many writes share one transaction, to bound the time a commit holds them.</summary>
    private const int MaxGroup = 512;

    private static readonly TimeSpan CheckpointEvery = TimeSpan.FromMilliseconds(100);

    private readonly BlockingCollection<IWrite> _queue = [];
    private readonly Func<SqliteConnection> _open;
    private readonly Thread _thread;
    private readonly Thread _checkpointer;
    private readonly ManualResetEventSlim _stopping = new();
    private readonly PreparedStatements _statements = new();
    private long _commits;

    public SqliteWriter(Func<SqliteConnection> open)
    {
        _open = open;
        _thread = new Thread(Run) { IsBackground = true, Name = "sqlite-ledger-writer" };
        _thread.Start();
        _checkpointer = new Thread(RunCheckpoints) { IsBackground = true, Name = "sqlite-ledger-checkpointer" };
        _checkpointer.Start();
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
        _queue.Dispose();
        _stopping.Dispose();
    }

    private void Run()
    {
        SqliteConnection? connection = null;
        var group = new List<IWrite>(MaxGroup);
        foreach (var first in _queue.GetConsumingEnumerable())
        {
            group.Clear();
            group.Add(first);
            while (group.Count < MaxGroup && _queue.TryTake(out var next))
            {
                group.Add(next);
            }

            try
            {
                connection ??= Open();
                Commit(connection, group);
                Interlocked.Increment(ref _commits);
            }
            catch (Exception ex)
            {
                // The transaction did not commit: nothing of this group is stored. A fresh
                // connection next time, in case this one is what broke.
                foreach (var write in group)
                {
                    write.Fail(ex);
                }

                _statements.Clear();
                connection?.Dispose();
                connection = null;
            }
        }

        _statements.Dispose();
        connection?.Dispose();
    }

    private void RunCheckpoints()
    {
        SqliteConnection? connection = null;
        var checkpointed = 0L;
        // Also once more on the way out, so a stopped ledger leaves its commits in the file.
        while (!_stopping.Wait(CheckpointEvery) || Volatile.Read(ref _commits) != checkpointed)
        {
            var commits = Volatile.Read(ref _commits);
            if (commits == checkpointed)
            {
                continue;
            }

            try
            {
                connection ??= _open();
                Checkpoint(connection);
                checkpointed = commits;
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

    private SqliteConnection Open()
    {
        var connection = _open();
        using var noAutoCheckpoint = connection.CreateCommand();
        noAutoCheckpoint.CommandText = "PRAGMA wal_autocheckpoint = 0;";
        noAutoCheckpoint.ExecuteNonQuery();
        return connection;
    }

    /// <summary>PASSIVE: copies what no reader still needs, and never waits for anyone.</summary>
    private static void Checkpoint(SqliteConnection connection)
    {
        using var checkpoint = connection.CreateCommand();
        checkpoint.CommandText = "PRAGMA wal_checkpoint(PASSIVE);";
        checkpoint.ExecuteNonQuery();
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
        foreach (var write in group)
        {
            write.Succeed();
        }
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
