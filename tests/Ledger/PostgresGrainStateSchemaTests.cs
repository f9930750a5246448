using System.Data.Common;
using Campaigns.Grains.Common;
using Campaigns.Storage.Postgres;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;
using Orleans.Configuration;
using Orleans.Storage;
using Orleans.TestingHost;

namespace Campaigns.Tests.Ledger;

/// <summary>
/// Our PostgreSQL schema driven through the real Orleans ADO.NET grain storage provider, registered
/// by AddProductionStorage on a one-silo test cluster of its own.
/// </summary>
public sealed class PostgresGrainStateSchemaTests(PostgresGrainStateSchemaTests.ProviderCluster cluster)
    : GrainStateProviderTests, IClassFixture<PostgresGrainStateSchemaTests.ProviderCluster>
{
    protected override IGrainFactory Grains => cluster.Grains;

    protected override IGrainStorage Storage => cluster.Storage;

    protected override Task<object?> ScalarAsync(string sql) => PostgresTestDatabase.ScalarAsync(cluster.ConnectionString, sql);

    protected override DbConnection OpenConnection()
    {
        var connection = new NpgsqlConnection(cluster.ConnectionString);
        connection.Open();
        return connection;
    }

    [Fact]
    public async Task The_provider_s_sessions_wait_for_the_WAL_flush_at_every_commit()
    {
        // The silo was given synchronous_commit off: the registration must not inherit it.
        var options = cluster.Services.GetRequiredService<IOptionsMonitor<AdoNetGrainStorageOptions>>().Get(StorageNames.Grains);

        Assert.Equal("on", await PostgresTestDatabase.ScalarAsync(options.ConnectionString!, "SHOW synchronous_commit"));
    }

    [Fact]
    public async Task Silos_starting_at_once_create_the_grain_state_tables_once()
    {
        var connectionString = await cluster.Database.CreateSchemaAsync();

        // Each opens the store as a silo does at start-up; the advisory lock puts them in turn.
        var stores = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => Task.Run(() => ProductionStore.OpenAsync(connectionString))));
        foreach (var store in stores)
        {
            await store.Ledger.DisposeAsync();
        }

        Assert.Equal(1L, await PostgresTestDatabase.ScalarAsync(connectionString, "SELECT COUNT(*) FROM schema_version WHERE version = 4"));
        Assert.Equal(3L, await PostgresTestDatabase.ScalarAsync(connectionString, "SELECT COUNT(*) FROM OrleansQuery"));
        Assert.Equal(
            PostgresGrainStateSchema.WriteQuery,
            await PostgresTestDatabase.ScalarAsync(connectionString, "SELECT QueryText FROM OrleansQuery WHERE QueryKey = 'WriteToStorageKey'"));
        Assert.Equal(
            "ux_orleansstorage_grain",
            await PostgresTestDatabase.ScalarAsync(connectionString,
                "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'orleansstorage'"));
    }

    /// <summary>A silo whose storage is AddProductionStorage's, on a schema of its own in a test database.</summary>
    public sealed class ProviderCluster : IAsyncLifetime
    {
        private const string ConnectionStringKey = "PostgresGrainStateSchemaTests:ConnectionString";

        private TestCluster _cluster = null!;

        public PostgresTestDatabase Database { get; } = new();

        public string ConnectionString { get; private set; } = "";

        public IGrainFactory Grains => _cluster.GrainFactory;

        public IServiceProvider Services => ((InProcessSiloHandle)_cluster.Primary!).SiloHost.Services;

        public IGrainStorage Storage => Services.GetRequiredKeyedService<IGrainStorage>(StorageNames.Grains);

        public async Task InitializeAsync()
        {
            await Database.InitializeAsync();
            ConnectionString = await Database.CreateSchemaAsync();
            var builder = new TestClusterBuilder(1);
            builder.Properties[ConnectionStringKey] =
                new NpgsqlConnectionStringBuilder(ConnectionString) { Options = "-c synchronous_commit=off" }.ToString();
            builder.AddSiloBuilderConfigurator<SiloWithProductionStorage>();
            _cluster = builder.Build();
            await _cluster.DeployAsync();
        }

        public async Task DisposeAsync()
        {
            if (_cluster is not null)
            {
                await _cluster.StopAllSilosAsync();
                await _cluster.DisposeAsync();
            }

            await Database.DisposeAsync();
        }

        private sealed class SiloWithProductionStorage : ISiloConfigurator
        {
            // Configurators are synchronous; the silo's own start-up opens (and migrates) the store the same way.
            public void Configure(ISiloBuilder siloBuilder) =>
                siloBuilder.AddProductionStorage(ProductionStore.OpenAsync(siloBuilder.Configuration[ConnectionStringKey]!).GetAwaiter().GetResult());
        }
    }
}
