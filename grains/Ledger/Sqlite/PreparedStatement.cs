using Microsoft.Data.Sqlite;

namespace Campaigns.Grains.Ledger.Sqlite;

/// <summary>
/// One SQL statement, parsed once and re-bound per row: a group commit of a thousand vouchers
/// must not parse its INSERT a thousand times.
/// </summary>
internal sealed class PreparedStatement : IDisposable
{
    private readonly SqliteCommand _command;
    private readonly SqliteParameter[] _parameters;

    /// <param name="parameterNames">Names used in <paramref name="sql"/> as <c>@name</c>, in the order values are passed.</param>
    public PreparedStatement(SqliteTransaction transaction, string sql, IReadOnlyList<string> parameterNames)
    {
        _command = transaction.Connection!.CreateCommand();
        _command.Transaction = transaction;
        _command.CommandText = sql;
        _parameters = new SqliteParameter[parameterNames.Count];
        for (var i = 0; i < _parameters.Length; i++)
        {
            _parameters[i] = _command.Parameters.Add(new SqliteParameter("@" + parameterNames[i], DBNull.Value));
        }

        _command.Prepare();
    }

    /// <summary>Runs the statement with these values; returns the rows it changed.</summary>
    public int Execute(params ReadOnlySpan<object?> values)
    {
        Bind(values);
        return _command.ExecuteNonQuery();
    }

    /// <summary>Runs the statement with these values; returns the first column of its first row (e.g. from RETURNING).</summary>
    public object? Scalar(params ReadOnlySpan<object?> values)
    {
        Bind(values);
        return _command.ExecuteScalar();
    }

    public void Dispose() => _command.Dispose();

    private void Bind(ReadOnlySpan<object?> values)
    {
        if (values.Length != _parameters.Length)
        {
            throw new ArgumentException($"expected {_parameters.Length} values, got {values.Length}", nameof(values));
        }

        for (var i = 0; i < values.Length; i++)
        {
            _parameters[i].Value = values[i] ?? DBNull.Value;
        }
    }
}
