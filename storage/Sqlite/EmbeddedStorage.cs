using Campaigns.Grains.Common;
using Campaigns.Grains.Ledger;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Serialization;
using Orleans.Storage;

namespace Campaigns.Storage.Sqlite;

/// <summary>The embedded default's registration: one call gives a silo its grain state, ledger and voucher codes.</summary>
public static class EmbeddedStorage
{
    /// <summary>
    /// Registers the embedded store (opened and migrated by <see cref="EmbeddedStore.OpenAsync"/>):
    /// Orleans grain state through the ADO.NET provider on the SQLite file, the ledger under each
    /// of its roles, and the code key. The container owns the ledger and disposes it on shutdown,
    /// which runs its last checkpoint.
    /// </summary>
    public static ISiloBuilder AddEmbeddedStorage(this ISiloBuilder silo, EmbeddedStore store)
    {
        silo.AddAdoNetGrainStorage(StorageNames.Grains, (OptionsBuilder<AdoNetGrainStorageOptions> options) =>
            options.Configure<Serializer>((o, serializer) =>
            {
                o.Invariant = SqliteGrainStateSchema.Invariant;
                o.ConnectionString = store.ConnectionString;
                // Grain state in Orleans' own versioned binary format: the same [Id]-tagged types
                // that cross grain calls, with no second (JSON) mapping to keep in step.
                o.GrainStorageSerializer = new OrleansGrainStorageSerializer(serializer);
            }));
        silo.Services.AddSingleton(store);
        // Made by a factory, so the container owns it and disposes it.
        silo.Services.AddSingleton(_ => store.Ledger);
        silo.Services.AddSingleton<ILedger>(services => services.GetRequiredService<SqliteLedger>());
        silo.Services.AddSingleton<ICampaignDirectory>(services => services.GetRequiredService<SqliteLedger>());
        silo.Services.AddSingleton<IReportingLedger>(services => services.GetRequiredService<SqliteLedger>());
        silo.Services.AddSingleton<ILedgerDiagnostics>(services => services.GetRequiredService<SqliteLedger>());
        silo.Services.AddSingleton(store.Codes);
        return silo;
    }
}
