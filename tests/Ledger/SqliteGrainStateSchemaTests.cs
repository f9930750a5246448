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
    : IClassFixture<SqliteGrainStateSchemaTests.ProviderCluster>
{
    // The name the application's grains use, so the PostgreSQL tests' silo can register it with AddProductionStorage.
    public const string StorageName = StorageNames.Grains;

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
        Assert.Equal(3L, cluster.Database.Scalar($"SELECT Version FROM OrleansStorage WHERE GrainIdExtensionString = '{key}'"));
        Assert.Equal(1L, cluster.Database.Scalar($"SELECT COUNT(*) FROM OrleansStorage WHERE GrainIdExtensionString = '{key}'"));
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
        await storage.WriteStateAsync("s", id, State(7, etag: "3"));
    }

    [Fact]
    public async Task Racing_first_writes_insert_exactly_one_row()
    {
        var writeQuery = (string)cluster.Database.Scalar("SELECT QueryText FROM OrleansQuery WHERE QueryKey = 'WriteToStorageKey'")!;
        var grainId = Random.Shared.Next();
        using var start = new Barrier(8);

        var versions = await Task.WhenAll(Enumerable.Range(0, 8).Select(writer => Task.Run(() =>
        {
            using var connection = new SqliteConnection(cluster.Database.ConnectionString);
            connection.Open();
            using var write = connection.CreateCommand();
            write.CommandText = writeQuery;
            write.Parameters.AddWithValue("@GrainIdHash", grainId);
            write.Parameters.AddWithValue("@GrainIdN0", 0L);
            write.Parameters.AddWithValue("@GrainIdN1", 0L);
            write.Parameters.AddWithValue("@GrainTypeHash", 42);
            write.Parameters.AddWithValue("@GrainTypeString", "race");
            write.Parameters.AddWithValue("@GrainIdExtensionString", DBNull.Value);
            write.Parameters.AddWithValue("@ServiceId", "campaigns");
            write.Parameters.AddWithValue("@GrainStateVersion", DBNull.Value);
            write.Parameters.AddWithValue("@PayloadBinary", new[] { (byte)writer });
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

        Assert.Equal(1, versions.Count(v => v is long version && version == 1));
        Assert.Equal(7, versions.Count(v => v is DBNull));
        Assert.Equal(1L, cluster.Database.Scalar($"SELECT COUNT(*) FROM OrleansStorage WHERE GrainIdHash = {grainId} AND GrainTypeString = 'race'"));
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

    private static GrainState<StateProbe> State(int total, string? etag) =>
        new(new StateProbe { Total = total }, etag!) { RecordExists = etag is not null };

    /// <summary>A silo whose only storage is the provider on our schema, in a temp file.</summary>
    public sealed class ProviderCluster : IAsyncLifetime
    {
        private const string ConnectionStringKey = "SqliteGrainStateSchemaTests:ConnectionString";

        private TestCluster _cluster = null!;

        public TemporaryDatabase Database { get; } = new();

        public IGrainFactory Grains => _cluster.GrainFactory;

        /// <summary>The silo's provider itself, to call with ETags a grain would never send.</summary>
        public IGrainStorage Storage =>
            ((InProcessSiloHandle)_cluster.Primary!).SiloHost.Services.GetRequiredKeyedService<IGrainStorage>(StorageName);

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
                siloBuilder.AddAdoNetGrainStorage(StorageName, options =>
                {
                    options.Invariant = SqliteGrainStateSchema.Invariant;
                    options.ConnectionString = siloBuilder.Configuration[ConnectionStringKey];
                });
        }
    }
}

public interface IStateProbeGrain : IGrainWithStringKey
{
    Task<int> AddAsync(int amount);

    Task<int> GetAsync();

    Task DeactivateAsync();
}

[GenerateSerializer]
public sealed class StateProbe
{
    [Id(0)] public int Total { get; set; }
}

/// <summary>
/// The smallest grain that persists: each call that changes it writes before answering. Each test
/// cluster gives it the backend under test.
/// </summary>
public sealed class StateProbeGrain(
    [PersistentState("s", StorageNames.Grains)] IPersistentState<StateProbe> state) : Grain, IStateProbeGrain
{
    public async Task<int> AddAsync(int amount)
    {
        state.State.Total += amount;
        await state.WriteStateAsync();
        return state.State.Total;
    }

    public Task<int> GetAsync() => Task.FromResult(state.State.Total);

    public Task DeactivateAsync()
    {
        DeactivateOnIdle();
        return Task.CompletedTask;
    }
}
