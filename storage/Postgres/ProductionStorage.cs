using System.Security.Cryptography;
using Campaigns.Grains.Issuance;
using Campaigns.Grains.Ledger;
using Campaigns.Grains.Common;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Serialization;
using Orleans.Storage;

namespace Campaigns.Storage.Postgres;

/// <summary>
/// Production mode's ledger and grain-state tables, opened and migrated at start-up, with the
/// voucher-code key kept in the ledger, so every silo of the cluster (and every restart) checks
/// codes with the same key.
/// </summary>
public sealed class ProductionStore
{
    // The embedded store's name too: a ledger moved from one to the other keeps its codes valid.
    private const string VoucherCodeKeyName = "voucher-code-key";

    private ProductionStore(string connectionString, PostgresLedger ledger, VoucherCodes codes)
    {
        ConnectionString = connectionString;
        Ledger = ledger;
        Codes = codes;
    }

    /// <summary>The database's connection string, as given (the grain storage's sessions force durable commits on it).</summary>
    public string ConnectionString { get; }

    public PostgresLedger Ledger { get; }

    public VoucherCodes Codes { get; }

    /// <summary>
    /// Opens the ledger on <paramref name="connectionString"/> and migrates it, grain-state tables
    /// included (silos starting together migrate one after the other). An unreachable server throws
    /// <see cref="LedgerUnavailableException"/>.
    /// </summary>
    public static async Task<ProductionStore> OpenAsync(string connectionString, CancellationToken cancellationToken = default)
    {
        var ledger = new PostgresLedger(connectionString);
        try
        {
            await ledger.EnsureSchemaAsync(cancellationToken);
            var key = await ledger.GetOrCreateSecretAsync(VoucherCodeKeyName, RandomNumberGenerator.GetBytes(32));
            return new ProductionStore(connectionString, ledger, new VoucherCodes(key));
        }
        catch
        {
            await ledger.DisposeAsync();
            throw;
        }
    }
}

/// <summary>Production mode's registration, as <c>AddEmbeddedStorage</c> is the embedded default's.</summary>
public static class ProductionStorage
{
    /// <summary>
    /// Registers Orleans grain state through the ADO.NET provider on the store's database
    /// (<see cref="PostgresGrainStateSchema"/>), the PostgreSQL ledger under each of its roles, and
    /// the code key. The container owns the ledger and disposes it (its connection pool) on shutdown.
    /// </summary>
    public static ISiloBuilder AddProductionStorage(this ISiloBuilder silo, ProductionStore store)
    {
        silo.AddAdoNetGrainStorage(StorageNames.Grains, (OptionsBuilder<AdoNetGrainStorageOptions> options) =>
            options.Configure<Serializer>((o, serializer) =>
            {
                o.Invariant = PostgresGrainStateSchema.Invariant;
                // An acknowledged state change (a campaign started, a key revoked) survives a crash
                // of the server like a voucher does.
                o.ConnectionString = PostgresLedger.Durable(store.ConnectionString);
                // Orleans' own versioned binary format, as in the embedded store: a store moved
                // from one backend to the other keeps one encoding.
                o.GrainStorageSerializer = new OrleansGrainStorageSerializer(serializer);
            }));
        silo.Services.AddProductionLedger(store);
        // The driver's exceptions travel inside LedgerUnavailableException between silos; Orleans
        // serializes only the exception namespaces it is told to.
        silo.Services.Configure<ExceptionSerializationOptions>(options => options.SupportedNamespacePrefixes.Add("Npgsql"));
        return silo;
    }

    /// <summary>The services <see cref="AddProductionStorage"/> registers.</summary>
    public static IServiceCollection AddProductionLedger(this IServiceCollection services, ProductionStore store)
    {
        services.AddSingleton(store);
        // Made by a factory, so the container owns it and disposes it.
        services.AddSingleton(_ => store.Ledger);
        foreach (var role in new[] { typeof(ILedger), typeof(ICampaignDirectory), typeof(IReportingLedger), typeof(ILedgerDiagnostics) })
        {
            services.AddSingleton(role, provider => provider.GetRequiredService<PostgresLedger>());
        }

        services.AddSingleton(store.Codes);
        return services;
    }
}
