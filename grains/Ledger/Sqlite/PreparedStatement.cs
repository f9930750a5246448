using Microsoft.Data.Sqlite;

namespace Campaigns.Grains.Ledger.Sqlite;

/// <summary>
/// One SQL statement, parsed once and re-bound per row: a group commit of a thousand vouchers
/// must not parse its INSERT a thousand times. It belongs to one connection and may run in any
/// of that connection's transactions, one after another.
/// </summary>
internal sealed class PreparedStatement : IDisposable
{
    private readonly SqliteCommand _command;
    private readonly SqliteParameter[] _parameters;

    /// <param name="parameterNames">Names used in <paramref name="sql"/> as <c>@name</c>, in the order values are passed.</param>
    public PreparedStatement(SqliteConnection connection, string sql, IReadOnlyList<string> parameterNames)
    {
        _command = connection.CreateCommand();
        _command.CommandText = sql;
        _parameters = new SqliteParameter[parameterNames.Count];
        for (var i = 0; i < _parameters.Length; i++)
        {
            _parameters[i] = _command.Parameters.Add(new SqliteParameter("@" + parameterNames[i], DBNull.Value));
        }
    }

    /// <summary>Runs the statement with these values; returns the rows it changed.</summary>
    public int Execute(SqliteTransaction transaction, params ReadOnlySpan<object?> values)
    {
        Bind(transaction, values);
        return _command.ExecuteNonQuery();
    }

    /// <summary>Runs the statement with these values; returns the first column of its first row (e.g. from RETURNING).</summary>
    public object? Scalar(SqliteTransaction transaction, params ReadOnlySpan<object?> values)
    {
        Bind(transaction, values);
        return _command.ExecuteScalar();
    }

    public void Dispose() => _command.Dispose();

    private void Bind(SqliteTransaction transaction, ReadOnlySpan<object?> values)
    {
        if (values.Length != _parameters.Length)
        {
            throw new ArgumentException($"expected {_parameters.Length} values, got {values.Length}", nameof(values));
        }

        _command.Transaction = transaction;
        for (var i = 0; i < values.Length; i++)
        {
            _parameters[i].Value = values[i] ?? DBNull.Value;
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
