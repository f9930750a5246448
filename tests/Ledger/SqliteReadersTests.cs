using Campaigns.Storage.Sqlite;
using Microsoft.Data.Sqlite;

namespace Campaigns.Tests.Ledger;

public sealed class SqliteReadersTests : IDisposable
{
    private readonly TemporaryDatabase _database = new();
    private int _opened;

    public SqliteReadersTests()
    {
        using var connection = Open();
        using var create = connection.CreateCommand();
        create.CommandText = "CREATE TABLE t (k TEXT NOT NULL PRIMARY KEY); INSERT INTO t VALUES ('a'), ('b');";
        create.ExecuteNonQuery();
        _opened = 0;
    }

    public void Dispose() => _database.Dispose();

    [Fact]
    public void Reads_one_after_another_share_a_connection_and_take_new_values_each_time()
    {
        using var readers = new SqliteReaders(Open);

        Assert.Equal(1L, readers.Read(r => r.Command("SELECT COUNT(*) FROM t WHERE k = @k;", ("k", "a")).ExecuteScalar()));
        Assert.Equal(0L, readers.Read(r => r.Command("SELECT COUNT(*) FROM t WHERE k = @k;", ("k", "z")).ExecuteScalar()));
        Assert.Equal(2L, readers.Read(r => r.Command("SELECT COUNT(*) FROM t;").ExecuteScalar()));
        Assert.Equal(1, _opened);
    }

    [Fact]
    public void A_read_that_fails_gives_up_its_connection_and_the_next_read_opens_another()
    {
        using var readers = new SqliteReaders(Open);

        Assert.Throws<SqliteException>(() => readers.Read(r => r.Command("SELECT nothing FROM nowhere;").ExecuteScalar()));
        Assert.Equal(2L, readers.Read(r => r.Command("SELECT COUNT(*) FROM t;").ExecuteScalar()));
        Assert.Equal(2, _opened);
    }

    [Fact]
    public void Reads_after_disposal_are_refused()
    {
        var readers = new SqliteReaders(Open);
        readers.Dispose();

        Assert.Throws<ObjectDisposedException>(() => readers.Read(r => 0));
    }

    private SqliteConnection Open()
    {
        _opened++;
        var connection = new SqliteConnection(_database.ConnectionString);
        connection.Open();
        return connection;
    }
}
