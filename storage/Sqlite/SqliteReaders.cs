using System.Collections.Concurrent;
using Campaigns.Grains.Ledger;
using Microsoft.Data.Sqlite;

namespace Campaigns.Storage.Sqlite;

/// <summary>
/// Open read connections, each keeping the commands it has run, so that a read SQLite has parsed
/// once is not parsed again. Every redemption begins by reading its voucher on a fresh activation;
/// preparing that read (and finalizing it afterwards) was half of the silo's thread-pool time in
/// a checkout run. A connection is used by one read at a time; there are as many as reads have
/// ever run at once.
/// </summary>
internal sealed class SqliteReaders(Func<SqliteConnection> open) : IDisposable
{
    private readonly ConcurrentBag<Reader> _idle = [];
    private bool _disposed;

    /// <summary>Runs <paramref name="read"/> on an idle connection; one that fails is closed, not reused.</summary>
    public T Read<T>(Func<Reader, T> read)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_idle.TryTake(out var reader))
        {
            reader = new Reader(open());
        }

        T result;
        try
        {
            result = read(reader);
        }
        catch (Exception ex) when (SqliteFaults.Classify(ex, "the ledger could not be read") is LedgerUnavailableException unavailable)
        {
            reader.Dispose();
            throw unavailable;
        }
        catch
        {
            reader.Dispose();
            throw;
        }

        if (Volatile.Read(ref _disposed))
        {
            reader.Dispose();
        }
        else
        {
            _idle.Add(reader);
        }

        return result;
    }

    public void Dispose()
    {
        Volatile.Write(ref _disposed, true);
        while (_idle.TryTake(out var reader))
        {
            reader.Dispose();
        }
    }

    /// <summary>One read connection and the commands it keeps, by SQL text.</summary>
    internal sealed class Reader(SqliteConnection connection) : IDisposable
    {
        private readonly Dictionary<string, SqliteCommand> _commands = new(StringComparer.Ordinal);

        /// <summary>The command for <paramref name="sql"/> on this connection, with these parameter values (as <c>@name</c>).</summary>
        public SqliteCommand Command(string sql, params ReadOnlySpan<(string Name, object? Value)> parameters)
        {
            if (!_commands.TryGetValue(sql, out var command))
            {
                command = connection.CreateCommand();
                command.CommandText = sql;
                _commands[sql] = command;
            }

            SqliteLedgerRows.SetParameters(command, parameters);

            return command;
        }

        /// <summary>The connection's SQLite handle, for reads that go below Microsoft.Data.Sqlite (see <see cref="SqliteLedger.LoadShardIssuesAsync"/>).</summary>
        public SQLitePCL.sqlite3 Handle => connection.Handle!;

        public void Dispose()
        {
            foreach (var command in _commands.Values)
            {
                command.Dispose();
            }

            connection.Dispose();
        }
    }
}
