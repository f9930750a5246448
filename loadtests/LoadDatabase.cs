using Npgsql;

namespace Campaigns.LoadTests;

/// <summary>
/// A fresh PostgreSQL database for one round of a production-mode run (as the embedded default
/// gets a fresh SQLite file), created on the given server and dropped at the end.
/// </summary>
public sealed class LoadDatabase : IAsyncDisposable
{
    private readonly string _server;
    private readonly string _name;

    private LoadDatabase(string server, string name)
    {
        _server = server;
        _name = name;
    }

    public string ConnectionString => new NpgsqlConnectionStringBuilder(_server) { Database = _name }.ToString();

    public static async Task<LoadDatabase> CreateAsync(string server)
    {
        var database = new LoadDatabase(server, "campaigns_load_" + Guid.NewGuid().ToString("N")[..12]);
        await database.AdminAsync($"CREATE DATABASE {database._name};");
        return database;
    }

    /// <summary>The silo's settings for production mode on this database and <paramref name="redis"/>, in a cluster of its own.</summary>
    public IReadOnlyList<string> SiloSettings(string redis) =>
    [
        $"--ConnectionStrings:Postgres={ConnectionString}",
        $"--ConnectionStrings:Redis={redis}",
        $"--Orleans:ClusterId={_name}",
    ];

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await AdminAsync($"DROP DATABASE IF EXISTS {_name} WITH (FORCE);");
    }

    private async Task AdminAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(_server);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
