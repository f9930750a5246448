using Campaigns.Grains.Common;
using Campaigns.Grains.Issuance;
using Campaigns.Grains.Ledger;
using Campaigns.Silo.Storage;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Serialization;
using Orleans.Storage;

namespace Campaigns.Silo.Hosting;

/// <summary>What a silo needs to run the campaign grains; shared by the host and the test cluster.</summary>
public static class SiloWiring
{
    public static ISiloBuilder AddCampaignGrains(this ISiloBuilder silo, EmbeddedStore store)
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
        silo.Services.AddSingleton<ILedger>(store.Ledger);
        silo.Services.AddSingleton<ICampaignDirectory>(store.Ledger);
        silo.Services.AddSingleton<IReportingLedger>(store.Ledger);
        silo.Services.AddSingleton<ILedgerDiagnostics>(store.Ledger);
        silo.Services.AddSingleton(store.Codes);
        silo.Services.TryAddKeyedSingleton(CampaignClock.Key, TimeProvider.System);
        return silo;
    }
}
