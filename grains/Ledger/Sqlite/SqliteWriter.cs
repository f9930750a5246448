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
/// </summary>
internal sealed class SqliteWriter : IDisposable
{
    /// <summary>At most this many writes share one transaction, to bound the time a commit holds them.</summary>
    private const int MaxGroup = 512;

    private readonly BlockingCollection<IWrite> _queue = [];
    private readonly Func<SqliteConnection> _open;
    private readonly Thread _thread;

    public SqliteWriter(Func<SqliteConnection> open)
    {
        _open = open;
        _thread = new Thread(Run) { IsBackground = true, Name = "sqlite-ledger-writer" };
        _thread.Start();
    }

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
        _queue.Dispose();
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
                connection ??= _open();
                Commit(connection, group);
            }
            catch (Exception ex)
            {
                // The transaction did not commit: nothing of this group is stored. A fresh
                // connection next time, in case this one is what broke.
                foreach (var write in group)
                {
                    write.Fail(ex);
                }

                connection?.Dispose();
                connection = null;
            }
        }

        connection?.Dispose();
    }

    private static void Commit(SqliteConnection connection, List<IWrite> group)
    {
        using var transaction = connection.BeginTransaction(deferred: false);
        for (var i = 0; i < group.Count; i++)
        {
            var savepoint = "w" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
            transaction.Save(savepoint);
            try
            {
                group[i].Run(transaction);
                transaction.Release(savepoint);
            }
            catch (Exception ex)
            {
                transaction.Rollback(savepoint);
                transaction.Release(savepoint);
                group[i].Fail(ex);
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
