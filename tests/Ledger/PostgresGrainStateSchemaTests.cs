using Campaigns.Storage.Postgres;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Orleans.Storage;
using Orleans.TestingHost;

namespace Campaigns.Tests.Ledger;

/// <summary>
/// Our PostgreSQL schema driven through the real Orleans ADO.NET grain storage provider, registered
/// by AddProductionStorage on a one-silo test cluster of its own.
/// </summary>
public sealed class PostgresGrainStateSchemaTests(PostgresGrainStateSchemaTests.ProviderCluster cluster)
    : IClassFixture<PostgresGrainStateSchemaTests.ProviderCluster>
{
    [Fact]
    public async Task Grain_state_is_written_reread_after_deactivation_and_written_again()
    {
        var key = "written-" + Guid.NewGuid().ToString("N");
        var probe = cluster.Grains.GetGrain<IStateProbeGrain>(key);

        await probe.AddAsync(2);
        await probe.AddAsync(3);
        await probe.DeactivateAsync();
        var reread = await probe.GetAsync();
        var written = await probe.AddAsync(1);

        Assert.Equal(5, reread);
        Assert.Equal(6, written);
        // A string key travels as the "extension" string; three writes, one row.
        Assert.Equal(3, await cluster.ScalarAsync($"SELECT Version FROM OrleansStorage WHERE GrainIdExtensionString = '{key}'"));
        Assert.Equal(1L, await cluster.ScalarAsync($"SELECT COUNT(*) FROM OrleansStorage WHERE GrainIdExtensionString = '{key}'"));
    }

    [Fact]
    public async Task Stale_writes_and_clears_are_refused_by_the_provider()
    {
        var probe = cluster.Grains.GetGrain<IStateProbeGrain>("stale-" + Guid.NewGuid().ToString("N"));
        await probe.AddAsync(1);
        await probe.AddAsync(1); // stored version 2
        var storage = cluster.Storage;
        var id = probe.GetGrainId();

        // A duplicate activation that never read the state, one a version behind, and one whose
        // row was never there: each must be told, none may overwrite.
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync("s", id, State(10, etag: null)));
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync("s", id, State(10, etag: "1")));
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync("never-written", id, State(10, etag: "2")));
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.ClearStateAsync("s", id, State(0, etag: "1")));

        var current = State(0, etag: null);
        await storage.ReadStateAsync("s", id, current);
        Assert.Equal((2, "2"), (current.State!.Total, current.ETag));

        // The holder of the current version may clear; the row stays with the next version.
        await storage.ClearStateAsync("s", id, current);
        var cleared = State(0, etag: null);
        await storage.ReadStateAsync("s", id, cleared);
        Assert.Equal((0, "3"), (cleared.State!.Total, cleared.ETag));
        var rewritten = State(7, etag: "3");
        await storage.WriteStateAsync("s", id, rewritten);
        Assert.Equal("4", rewritten.ETag);
    }

    [Fact]
    public async Task Racing_first_writes_insert_exactly_one_row()
    {
        var writeQuery = (string)(await cluster.ScalarAsync("SELECT QueryText FROM OrleansQuery WHERE QueryKey = 'WriteToStorageKey'"))!;
        var grainId = Random.Shared.Next();
        using var start = new Barrier(8);

        var versions = await Task.WhenAll(Enumerable.Range(0, 8).Select(writer => Task.Run(() =>
        {
            using var connection = new NpgsqlConnection(cluster.ConnectionString);
            connection.Open();
            using var write = new NpgsqlCommand(writeQuery, connection);
            // Named and typed as the provider binds them; the nulls untyped, as it sends them.
            write.Parameters.AddWithValue("GrainIdHash", grainId);
            write.Parameters.AddWithValue("GrainIdN0", 0L);
            write.Parameters.AddWithValue("GrainIdN1", 0L);
            write.Parameters.AddWithValue("GrainTypeHash", 42);
            write.Parameters.AddWithValue("GrainTypeString", "race");
            write.Parameters.AddWithValue("GrainIdExtensionString", DBNull.Value);
            write.Parameters.AddWithValue("ServiceId", "campaigns");
            write.Parameters.AddWithValue("GrainStateVersion", DBNull.Value);
            write.Parameters.AddWithValue("PayloadBinary", new[] { (byte)writer });
            start.SignalAndWait();
            using var reader = write.ExecuteReader();
            var rows = new List<object>();
            do
            {
                while (reader.Read())
                {
                    rows.Add(reader.GetValue(0));
                }
            }
            while (reader.NextResult());

            // The provider requires one answer per command: the new version, or NULL on conflict.
            return Assert.Single(rows);
        })));

        Assert.Equal(1, versions.Count(v => v is int version && version == 1));
        Assert.Equal(7, versions.Count(v => v is DBNull));
        Assert.Equal(1L, await cluster.ScalarAsync($"SELECT COUNT(*) FROM OrleansStorage WHERE GrainIdHash = {grainId} AND GrainTypeString = 'race'"));
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

    private static GrainState<StateProbe> State(int total, string? etag) =>
        new(new StateProbe { Total = total }, etag!) { RecordExists = etag is not null };

    /// <summary>A silo whose storage is AddProductionStorage's, on a schema of its own in a test database.</summary>
    public sealed class ProviderCluster : IAsyncLifetime
    {
        private const string ConnectionStringKey = "PostgresGrainStateSchemaTests:ConnectionString";

        private TestCluster _cluster = null!;

        public PostgresTestDatabase Database { get; } = new();

        public string ConnectionString { get; private set; } = "";

        public IGrainFactory Grains => _cluster.GrainFactory;

        /// <summary>The silo's provider itself, to call with ETags a grain would never send.</summary>
        public IGrainStorage Storage =>
            ((InProcessSiloHandle)_cluster.Primary!).SiloHost.Services.GetRequiredKeyedService<IGrainStorage>(SqliteGrainStateSchemaTests.StorageName);

        public Task<object?> ScalarAsync(string sql) => PostgresTestDatabase.ScalarAsync(ConnectionString, sql);

        public async Task InitializeAsync()
        {
            await Database.InitializeAsync();
            ConnectionString = await Database.CreateSchemaAsync();
            var builder = new TestClusterBuilder(1);
            builder.Properties[ConnectionStringKey] = ConnectionString;
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
