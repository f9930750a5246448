using System.Data.Common;
using Campaigns.Grains.Common;
using Campaigns.Storage.Sqlite;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;
using Orleans.TestingHost;

namespace Campaigns.Tests.Ledger;

/// <summary>
/// Our SQLite schema driven through the real Orleans ADO.NET grain storage provider, on a
/// one-silo test cluster of its own.
/// </summary>
public sealed class SqliteGrainStateSchemaTests(SqliteGrainStateSchemaTests.ProviderCluster cluster)
    : GrainStateProviderTests, IClassFixture<SqliteGrainStateSchemaTests.ProviderCluster>
{
    protected override IGrainFactory Grains => cluster.Grains;

    protected override IGrainStorage Storage => cluster.Storage;

    protected override Task<object?> ScalarAsync(string sql) => Task.FromResult(cluster.Database.Scalar(sql));

    protected override DbConnection OpenConnection()
    {
        var connection = new SqliteConnection(cluster.Database.ConnectionString);
        connection.Open();
        return connection;
    }

    [Fact]
    public async Task Schema_creation_is_idempotent_and_restores_the_queries()
    {
        using var database = new TemporaryDatabase();
        await SqliteGrainStateSchema.EnsureCreatedAsync(database.ConnectionString, CancellationToken.None);
        database.Scalar("UPDATE OrleansQuery SET QueryText = 'SELECT 1' WHERE QueryKey = 'WriteToStorageKey'");

        await SqliteGrainStateSchema.EnsureCreatedAsync(database.ConnectionString, CancellationToken.None);

        Assert.Equal(3L, database.Scalar("SELECT COUNT(*) FROM OrleansQuery"));
        Assert.Equal(SqliteGrainStateSchema.WriteQuery, database.Scalar("SELECT QueryText FROM OrleansQuery WHERE QueryKey = 'WriteToStorageKey'"));
    }

    /// <summary>A silo whose only storage is the provider on our schema, in a temp file.</summary>
    public sealed class ProviderCluster : IAsyncLifetime
    {
        private const string ConnectionStringKey = "SqliteGrainStateSchemaTests:ConnectionString";

        private TestCluster _cluster = null!;

        public TemporaryDatabase Database { get; } = new();

        public IGrainFactory Grains => _cluster.GrainFactory;

        public IGrainStorage Storage =>
            ((InProcessSiloHandle)_cluster.Primary!).SiloHost.Services.GetRequiredKeyedService<IGrainStorage>(StorageNames.Grains);

        public async Task InitializeAsync()
        {
            await SqliteGrainStateSchema.EnsureCreatedAsync(Database.ConnectionString, CancellationToken.None);
            var builder = new TestClusterBuilder(1);
            builder.Properties[ConnectionStringKey] = Database.ConnectionString;
            builder.AddSiloBuilderConfigurator<SiloWithSqliteStorage>();
            _cluster = builder.Build();
            await _cluster.DeployAsync();
        }

        public async Task DisposeAsync()
        {
            await _cluster.StopAllSilosAsync();
            await _cluster.DisposeAsync();
            Database.Dispose();
        }

        private sealed class SiloWithSqliteStorage : ISiloConfigurator
        {
            public void Configure(ISiloBuilder siloBuilder) =>
                siloBuilder.AddAdoNetGrainStorage(StorageNames.Grains, options =>
                {
                    options.Invariant = SqliteGrainStateSchema.Invariant;
                    options.ConnectionString = siloBuilder.Configuration[ConnectionStringKey];
                });
        }
    }
}
