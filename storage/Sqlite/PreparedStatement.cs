using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Campaigns.Storage.Sqlite;

/// <summary>
/// One SQL statement, parsed once and re-bound per row: a group commit of a thousand vouchers
/// must not parse its INSERT a thousand times. It belongs to one connection and may run in any
/// of that connection's transactions, one after another.
/// <para>
/// It drives SQLite's statement API (SQLitePCL, the layer under Microsoft.Data.Sqlite) directly,
/// with each parameter's position looked up once. Through <see cref="SqliteCommand"/>, every run
/// looked each parameter up by name again and went through a data reader: on the writer thread
/// that was about a third of a voucher's cost.
/// </para>
/// </summary>
internal sealed class PreparedStatement : IDisposable
{
    private readonly SqliteConnection _connection;
    private readonly sqlite3_stmt _statement;
    private readonly int[] _positions;
    private int _bound;

    /// <param name="parameterNames">Names used in <paramref name="sql"/> as <c>@name</c>, in the order values are passed.</param>
    public PreparedStatement(SqliteConnection connection, string sql, IReadOnlyList<string> parameterNames)
    {
        _connection = connection;
        var db = connection.Handle ?? throw new InvalidOperationException("the connection is not open");
        SqliteException.ThrowExceptionForRC(raw.sqlite3_prepare_v3(db, sql, raw.SQLITE_PREPARE_PERSISTENT, out _statement, out string tail), db);
        if (!string.IsNullOrWhiteSpace(tail))
        {
            _statement.Dispose();
            throw new ArgumentException($"one statement at a time; this text goes on with: {tail.Trim()}", nameof(sql));
        }

        _positions = new int[parameterNames.Count];
        for (var i = 0; i < _positions.Length; i++)
        {
            _positions[i] = raw.sqlite3_bind_parameter_index(_statement, "@" + parameterNames[i]);
            if (_positions[i] == 0)
            {
                _statement.Dispose();
                throw new ArgumentException($"the statement has no parameter @{parameterNames[i]}", nameof(parameterNames));
            }
        }

        if (raw.sqlite3_bind_parameter_count(_statement) != _positions.Length)
        {
            _statement.Dispose();
            throw new ArgumentException("the statement has parameters no name was given for", nameof(parameterNames));
        }
    }

    /// <summary>Runs the statement with these values; returns the rows it changed.</summary>
    public int Execute(SqliteTransaction transaction, params ReadOnlySpan<object?> values) =>
        Run(Bind(transaction, values));

    /// <summary>
    /// Runs the statement with the values <paramref name="bind"/> gives it from <paramref name="row"/>,
    /// typed and unboxed (the path for the writer's hottest rows); returns the rows it changed.
    /// Every parameter must be given, each once.
    /// </summary>
    public int Execute<TRow>(SqliteTransaction transaction, TRow row, Action<Parameters, TRow> bind)
    {
        var db = Connection(transaction);
        _bound = 0;
        bind(new Parameters(this, db), row);
        if (_bound != _positions.Length)
        {
            throw new ArgumentException($"expected {_positions.Length} values, got {_bound}", nameof(bind));
        }

        return Run(db);
    }

    /// <summary>Runs the statement with these values; returns the first column of its first row (e.g. from RETURNING).</summary>
    public object? Scalar(SqliteTransaction transaction, params ReadOnlySpan<object?> values) =>
        Step(Bind(transaction, values), readFirst: true).First;

    public void Dispose() => _statement.Dispose();

    private int Run(sqlite3 db) => Step(db, readFirst: false).Changes;

    /// <summary>Steps the bound statement to its end (a statement that writes, RETURNING or not, finishes its write), then resets it.</summary>
    private (int Changes, object? First) Step(sqlite3 db, bool readFirst)
    {
        try
        {
            object? first = null;
            var rows = 0;
            int rc;
            while ((rc = raw.sqlite3_step(_statement)) == raw.SQLITE_ROW)
            {
                if (readFirst && rows++ == 0)
                {
                    first = Column0();
                }
            }

            Check(rc, db);
            return (raw.sqlite3_changes(db), first);
        }
        finally
        {
            raw.sqlite3_reset(_statement);
        }
    }

    private sqlite3 Connection(SqliteTransaction transaction) =>
        ReferenceEquals(transaction.Connection, _connection)
            ? _connection.Handle!
            : throw new InvalidOperationException("the transaction is not on this statement's connection");

    private sqlite3 Bind(SqliteTransaction transaction, ReadOnlySpan<object?> values)
    {
        var db = Connection(transaction);
        if (values.Length != _positions.Length)
        {
            throw new ArgumentException($"expected {_positions.Length} values, got {values.Length}", nameof(values));
        }

        _bound = 0;
        var parameters = new Parameters(this, db);
        for (var i = 0; i < values.Length; i++)
        {
            switch (values[i])
            {
                case null or DBNull:
                    parameters.Null(i);
                    break;
                case string text:
                    parameters.Text(i, text);
                    break;
                case long number:
                    parameters.Number(i, number);
                    break;
                case int number:
                    parameters.Number(i, number);
                    break;
                case bool flag:
                    parameters.Number(i, flag ? 1 : 0);
                    break;
                case byte[] bytes:
                    parameters.Blob(i, bytes);
                    break;
                case var other:
                    throw new ArgumentException($"value {i} is a {other.GetType().Name}, which the ledger does not store", nameof(values));
            }
        }

        return db;
    }

    private object? Column0() => raw.sqlite3_column_type(_statement, 0) switch
    {
        raw.SQLITE_INTEGER => raw.sqlite3_column_int64(_statement, 0),
        raw.SQLITE_TEXT => raw.sqlite3_column_text(_statement, 0).utf8_to_string(),
        raw.SQLITE_FLOAT => raw.sqlite3_column_double(_statement, 0),
        raw.SQLITE_BLOB => raw.sqlite3_column_blob(_statement, 0).ToArray(),
        _ => null,
    };

    /// <summary>Sets a <see cref="PreparedStatement"/>'s parameters by their place in its name list.</summary>
    public readonly struct Parameters
    {
        private readonly PreparedStatement _statement;
        private readonly sqlite3 _db;

        internal Parameters(PreparedStatement statement, sqlite3 db) => (_statement, _db) = (statement, db);

        public void Null(int parameter) =>
            Set(raw.sqlite3_bind_null(_statement._statement, _statement._positions[parameter]));

        public void Text(int parameter, string? value)
        {
            if (value is null)
            {
                Null(parameter);
                return;
            }

            // Encoded on the stack: the writer binds nine texts a voucher, and the string overload
            // allocated a UTF-8 copy of each before SQLite made its own.
            const int OnStack = 512;
            var most = System.Text.Encoding.UTF8.GetMaxByteCount(value.Length);
            Span<byte> utf8 = most <= OnStack ? stackalloc byte[OnStack] : new byte[most];
            var length = System.Text.Encoding.UTF8.GetBytes(value, utf8);
            Set(raw.sqlite3_bind_text(_statement._statement, _statement._positions[parameter], utf8[..length]));
        }

        public void Number(int parameter, long value) =>
            Set(raw.sqlite3_bind_int64(_statement._statement, _statement._positions[parameter], value));

        public void Number(int parameter, long? value)
        {
            if (value is { } number)
            {
                Number(parameter, number);
                return;
            }

            Null(parameter);
        }

        public void Blob(int parameter, byte[] value) =>
            Set(raw.sqlite3_bind_blob(_statement._statement, _statement._positions[parameter], value));

        private void Set(int rc)
        {
            Check(rc, _db);
            _statement._bound++;
        }
    }

    private static void Check(int rc, sqlite3 db)
    {
        if (rc is not (raw.SQLITE_OK or raw.SQLITE_DONE))
        {
            SqliteException.ThrowExceptionForRC(rc, db);
        }
    }
}

/// <summary>
/// The statements one connection has parsed, by SQL text, kept for as long as the connection:
/// the writer runs the same few statements for every write, and parsing each anew was a
/// measurable part of a redemption's time on the writer thread. Used from one thread only.
/// </summary>
internal sealed class PreparedStatements : IDisposable
{
    private readonly Dictionary<string, PreparedStatement> _statements = new(StringComparer.Ordinal);
    private SqliteConnection? _connection;

    public PreparedStatement Get(SqliteConnection connection, string sql, IReadOnlyList<string> parameterNames)
    {
        if (!ReferenceEquals(connection, _connection))
        {
            Clear();
            _connection = connection;
        }

        if (!_statements.TryGetValue(sql, out var statement))
        {
            _statements[sql] = statement = new PreparedStatement(connection, sql, parameterNames);
        }

        return statement;
    }

    public void Dispose() => Clear();

    /// <summary>Drops every statement (before their connection goes); the next <see cref="Get"/> parses again.</summary>
    public void Clear()
    {
        foreach (var statement in _statements.Values)
        {
            statement.Dispose();
        }

        _statements.Clear();
        _connection = null;
    }
}
