using System.Security.Cryptography;
using Campaigns.Grains.Issuance;
using Campaigns.Grains.Ledger;
using Microsoft.Extensions.DependencyInjection;

namespace Campaigns.Storage.Postgres;

/// <summary>
/// Production mode's ledger, opened and migrated at start-up, with the voucher-code key kept in
/// it, so every silo of the cluster (and every restart) checks codes with the same key.
/// </summary>
public sealed class ProductionStore
{
    // The embedded store's name too: a ledger moved from one to the other keeps its codes valid.
    private const string VoucherCodeKeyName = "voucher-code-key";

    private ProductionStore(PostgresLedger ledger, VoucherCodes codes)
    {
        Ledger = ledger;
        Codes = codes;
    }

    public PostgresLedger Ledger { get; }

    public VoucherCodes Codes { get; }

    /// <summary>
    /// Opens the ledger on <paramref name="connectionString"/> and migrates it (silos starting
    /// together migrate one after the other). An unreachable server throws
    /// <see cref="LedgerUnavailableException"/>.
    /// </summary>
    public static async Task<ProductionStore> OpenAsync(string connectionString, CancellationToken cancellationToken = default)
    {
        var ledger = new PostgresLedger(connectionString);
        try
        {
            await ledger.EnsureSchemaAsync(cancellationToken);
            var key = await ledger.GetOrCreateSecretAsync(VoucherCodeKeyName, RandomNumberGenerator.GetBytes(32));
            return new ProductionStore(ledger, new VoucherCodes(key));
        }
        catch
        {
            await ledger.DisposeAsync();
            throw;
        }
    }
}

/// <summary>Production mode's registration of the ledger, as <c>AddEmbeddedStorage</c> is the embedded default's.</summary>
public static class ProductionStorage
{
    /// <summary>
    /// Registers the PostgreSQL ledger under each of its roles, and the code key. The container
    /// owns the ledger and disposes it (its connection pool) on shutdown. Grain state on
    /// PostgreSQL is not registered here yet: a silo still needs a grain storage named
    /// <c>StorageNames.Grains</c>.
    /// </summary>
    public static ISiloBuilder AddProductionStorage(this ISiloBuilder silo, ProductionStore store)
    {
        silo.Services.AddProductionLedger(store);
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
