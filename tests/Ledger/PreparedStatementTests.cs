using Campaigns.Storage.Sqlite;
using Microsoft.Data.Sqlite;

namespace Campaigns.Tests.Ledger;

public sealed class PreparedStatementTests : IDisposable
{
    private readonly SqliteConnection _connection = new("Data Source=:memory:");

    public PreparedStatementTests()
    {
        _connection.Open();
        using var create = _connection.CreateCommand();
        create.CommandText = "CREATE TABLE t (k TEXT NOT NULL PRIMARY KEY, n INTEGER, b BLOB);";
        create.ExecuteNonQuery();
    }

    public void Dispose() => _connection.Dispose();

    [Fact]
    public void Values_of_every_stored_kind_round_trip_and_rows_changed_are_counted()
    {
        using var transaction = _connection.BeginTransaction();
        using var insert = new PreparedStatement(_connection, "INSERT INTO t (k, n, b) VALUES (@k, @n, @b) ON CONFLICT (k) DO NOTHING;", ["k", "n", "b"]);
        using var read = new PreparedStatement(_connection, "SELECT n FROM t WHERE k = @k;", ["k"]);
        using var readBlob = new PreparedStatement(_connection, "SELECT b FROM t WHERE k = @k;", ["k"]);

        Assert.Equal(1, insert.Execute(transaction, "券-一", 5_000_000_000L, new byte[] { 1, 2 }));
        Assert.Equal(1, insert.Execute(transaction, "int", 7, null));
        Assert.Equal(0, insert.Execute(transaction, "券-一", 1L, DBNull.Value));

        Assert.Equal(5_000_000_000L, read.Scalar(transaction, "券-一"));
        Assert.Equal(7L, read.Scalar(transaction, "int"));
        Assert.Equal(new byte[] { 1, 2 }, readBlob.Scalar(transaction, "券-一"));
        Assert.Null(readBlob.Scalar(transaction, "int"));
        Assert.Null(read.Scalar(transaction, "absent"));
    }

    [Fact]
    public void A_constraint_failure_is_a_SqliteException_and_the_statement_runs_again_afterwards()
    {
        using var transaction = _connection.BeginTransaction();
        using var insert = new PreparedStatement(_connection, "INSERT INTO t (k, n) VALUES (@k, @n);", ["k", "n"]);
        insert.Execute(transaction, "a", 1L);

        var refused = Assert.Throws<SqliteException>(() => insert.Execute(transaction, "a", 2L));
        Assert.Equal(19, refused.SqliteErrorCode); // SQLITE_CONSTRAINT
        Assert.Throws<SqliteException>(() => insert.Execute(transaction, null, 2L));

        Assert.Equal(1, insert.Execute(transaction, "b", 2L));
    }

    [Fact]
    public void Wrong_values_are_refused_before_anything_runs()
    {
        using var transaction = _connection.BeginTransaction();
        using var insert = new PreparedStatement(_connection, "INSERT INTO t (k, n) VALUES (@k, @n);", ["k", "n"]);

        Assert.Throws<ArgumentException>(() => insert.Execute(transaction, "a"));
        Assert.Throws<ArgumentException>(() => insert.Execute(transaction, "a", 1.5m));
        using var count = new PreparedStatement(_connection, "SELECT COUNT(*) FROM t;", []);
        Assert.Equal(0L, count.Scalar(transaction));
    }

    [Fact]
    public void A_typed_row_binds_every_parameter_or_is_refused()
    {
        using var transaction = _connection.BeginTransaction();
        using var insert = new PreparedStatement(_connection, "INSERT INTO t (k, n) VALUES (@k, @n);", ["k", "n"]);
        using var read = new PreparedStatement(_connection, "SELECT n FROM t WHERE k = @k;", ["k"]);

        Assert.Equal(1, insert.Execute(transaction, ("row", (long?)42), static (p, row) =>
        {
            p.Text(0, row.Item1);
            p.Number(1, row.Item2);
        }));
        Assert.Equal(1, insert.Execute(transaction, ("null", (long?)null), static (p, row) =>
        {
            p.Text(0, row.Item1);
            p.Number(1, row.Item2);
        }));
        Assert.Equal(42L, read.Scalar(transaction, "row"));
        Assert.Null(read.Scalar(transaction, "null"));

        Assert.Throws<ArgumentException>(() => insert.Execute(transaction, "half", static (p, key) => p.Text(0, key)));
        Assert.Null(read.Scalar(transaction, "half"));
    }

    [Fact]
    public void Text_that_is_not_one_statement_with_exactly_the_named_parameters_is_refused()
    {
        Assert.Throws<ArgumentException>(() => new PreparedStatement(_connection, "DELETE FROM t; DELETE FROM t;", []));
        Assert.Throws<ArgumentException>(() => new PreparedStatement(_connection, "DELETE FROM t WHERE k = @k;", ["other"]));
        Assert.Throws<ArgumentException>(() => new PreparedStatement(_connection, "DELETE FROM t WHERE k = @k AND n = @n;", ["k"]));
        Assert.Throws<SqliteException>(() => new PreparedStatement(_connection, "DELETE FROM nowhere;", []));
    }

    [Fact]
    public void A_transaction_on_another_connection_is_refused()
    {
        using var other = new SqliteConnection("Data Source=:memory:");
        other.Open();
        using var foreign = other.BeginTransaction();
        using var statement = new PreparedStatement(_connection, "DELETE FROM t;", []);

        Assert.Throws<InvalidOperationException>(() => statement.Execute(foreign));
    }
}
