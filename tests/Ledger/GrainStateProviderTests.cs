using System.Data.Common;
using Campaigns.Grains.Common;
using Orleans.Storage;

namespace Campaigns.Tests.Ledger;

/// <summary>
/// What every grain-state schema of ours must do under the real Orleans ADO.NET provider, whatever
/// the database: each backend's test class gives it a one-silo cluster whose grains persist there.
/// </summary>
public abstract class GrainStateProviderTests
{
    /// <summary>The cluster's grains (<see cref="StateProbeGrain"/> persists in the backend under test).</summary>
    protected abstract IGrainFactory Grains { get; }

    /// <summary>The silo's provider itself, to call with ETags a grain would never send.</summary>
    protected abstract IGrainStorage Storage { get; }

    /// <summary>The first column of the first row, read from the backend under test.</summary>
    protected abstract Task<object?> ScalarAsync(string sql);

    /// <summary>A new open connection to the backend under test, as the provider opens them.</summary>
    protected abstract DbConnection OpenConnection();

    [Fact]
    public async Task Grain_state_is_written_reread_after_deactivation_and_written_again()
    {
        var key = "written-" + Guid.NewGuid().ToString("N");
        var probe = Grains.GetGrain<IStateProbeGrain>(key);

        await probe.AddAsync(2);
        await probe.AddAsync(3);
        await probe.DeactivateAsync();
        var reread = await probe.GetAsync();
        var written = await probe.AddAsync(1);

        Assert.Equal(5, reread);
        Assert.Equal(6, written);
        // A string key travels as the "extension" string; three writes, one row.
        Assert.Equal(3L, Convert.ToInt64(await ScalarAsync($"SELECT Version FROM OrleansStorage WHERE GrainIdExtensionString = '{key}'")));
        Assert.Equal(1L, Convert.ToInt64(await ScalarAsync($"SELECT COUNT(*) FROM OrleansStorage WHERE GrainIdExtensionString = '{key}'")));
    }

    [Fact]
    public async Task Stale_writes_and_clears_are_refused_by_the_provider()
    {
        var probe = Grains.GetGrain<IStateProbeGrain>("stale-" + Guid.NewGuid().ToString("N"));
        await probe.AddAsync(1);
        await probe.AddAsync(1); // stored version 2
        var storage = Storage;
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
        var writeQuery = (string)(await ScalarAsync("SELECT QueryText FROM OrleansQuery WHERE QueryKey = 'WriteToStorageKey'"))!;
        var grainId = Random.Shared.Next();
        using var start = new Barrier(8);

        var versions = await Task.WhenAll(Enumerable.Range(0, 8).Select(writer => Task.Run(() =>
        {
            using var connection = OpenConnection();
            using var write = connection.CreateCommand();
            write.CommandText = writeQuery;
            // Named and typed as the provider binds them, the nulls without a type.
            foreach (var (name, value) in new (string, object)[]
            {
                ("GrainIdHash", grainId), ("GrainIdN0", 0L), ("GrainIdN1", 0L), ("GrainTypeHash", 42), ("GrainTypeString", "race"),
                ("GrainIdExtensionString", DBNull.Value), ("ServiceId", "campaigns"), ("GrainStateVersion", DBNull.Value),
                ("PayloadBinary", new[] { (byte)writer }),
            })
            {
                var parameter = write.CreateParameter();
                parameter.ParameterName = name;
                parameter.Value = value;
                write.Parameters.Add(parameter);
            }

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

        Assert.Equal(1, versions.Count(v => v is not DBNull && Convert.ToInt64(v) == 1));
        Assert.Equal(7, versions.Count(v => v is DBNull));
        Assert.Equal(1L, Convert.ToInt64(await ScalarAsync($"SELECT COUNT(*) FROM OrleansStorage WHERE GrainIdHash = {grainId} AND GrainTypeString = 'race'")));
    }

    protected static GrainState<StateProbe> State(int total, string? etag) =>
        new(new StateProbe { Total = total }, etag!) { RecordExists = etag is not null };
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
/// The smallest grain that persists: each call that changes it writes before answering. It uses
/// the application's storage name, which each test cluster gives the backend under test.
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
