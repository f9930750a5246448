using Npgsql;

namespace Campaigns.Tests.Ledger;

/// <summary>
/// The PostgreSQL server the tests run against, named by <c>CAMPAIGNS_TEST_POSTGRES</c> (a
/// connection string with rights to create databases). <c>scripts/test.sh</c> starts a throwaway
/// one and sets it; without it, every PostgreSQL test fails and says why, rather than passing
/// without having run.
/// </summary>
public static class PostgresTestServer
{
    public const string Variable = "CAMPAIGNS_TEST_POSTGRES";

    public static string ConnectionString =>
        Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } connectionString
            ? connectionString
            : throw new InvalidOperationException(
                $"{Variable} is not set, so the PostgreSQL tests cannot run: run scripts/test.sh (it starts a throwaway server), " +
                $"or set {Variable} to a connection string of a server where these tests may create databases.");
}

/// <summary>A database of its own for one test class, dropped afterwards; each test takes a schema of its own in it.</summary>
public sealed class PostgresTestDatabase : IAsyncLifetime
{
    private readonly string _name = $"campaigns_test_{Guid.NewGuid():N}";

    public string ConnectionString { get; private set; } = "";

    public async Task InitializeAsync()
    {
        await Admin($"CREATE DATABASE {_name};");
        ConnectionString = new NpgsqlConnectionStringBuilder(PostgresTestServer.ConnectionString) { Database = _name }.ToString();
    }

    public async Task DisposeAsync()
    {
        if (ConnectionString.Length > 0)
        {
            NpgsqlConnection.ClearAllPools();
            await Admin($"DROP DATABASE IF EXISTS {_name} WITH (FORCE);");
        }
    }

    /// <summary>A new, empty schema: its connection string puts it first on the search path.</summary>
    public async Task<string> CreateSchemaAsync()
    {
        var schema = $"test_{Guid.NewGuid():N}";
        await using (var connection = new NpgsqlConnection(ConnectionString))
        {
            await connection.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE SCHEMA {schema};", connection);
            await create.ExecuteNonQueryAsync();
        }

        return new NpgsqlConnectionStringBuilder(ConnectionString) { SearchPath = schema }.ToString();
    }

    /// <summary>The first column of the first row, for asserting on what the database holds.</summary>
    public static async Task<object?> ScalarAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }

    private static async Task Admin(string sql)
    {
        await using var connection = new NpgsqlConnection(PostgresTestServer.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
