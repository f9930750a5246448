using Campaigns.Grains.Campaigns;
using Campaigns.Grains.Common;
using Campaigns.Grains.Issuance;
using Campaigns.Grains.Ledger;
using Campaigns.Silo.Hosting;
using Campaigns.Storage.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Orleans.TestingHost;

namespace Campaigns.Tests.Cluster;

/// <summary>
/// An in-process Orleans test cluster running the real grains on a real SQLite store (grain
/// state and ledger in a temp file) with a controlled clock.
/// </summary>
public sealed class ClusterFixture : ClusterFixture<ClusterFixture>;

/// <summary>
/// A test cluster of its own for each <typeparamref name="TSelf"/>: test-cluster silos are built
/// from configurator types, so each fixture hands its silo the store (and the ledger the grains
/// get) through static fields, which a generic class keeps apart per fixture type.
/// </summary>
public abstract class ClusterFixture<TSelf> : IAsyncLifetime
    where TSelf : ClusterFixture<TSelf>
{
    private static EmbeddedStore? s_store;
    private static ILedger? s_ledger;
    private static FakeTimeProvider? s_clock;

    private readonly string _directory = Path.Combine(Path.GetTempPath(), "campaigns-cluster-" + Guid.NewGuid().ToString("N"));

    public TestCluster Cluster { get; private set; } = null!;

    public EmbeddedStore Store => s_store!;

    /// <summary>The cluster's clock; starts at 2026-11-11T02:00:00Z (10:00 in Shanghai).</summary>
    public FakeTimeProvider Clock => s_clock!;

    public IGrainFactory Grains => Cluster.GrainFactory;

    public async Task InitializeAsync()
    {
        s_clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 11, 2, 0, 0, TimeSpan.Zero));
        s_store = await EmbeddedStore.OpenAsync(_directory);
        s_ledger = LedgerForGrains(s_store.Ledger);
        var builder = new TestClusterBuilder(1);
        builder.AddSiloBuilderConfigurator<Configurator>();
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        await Cluster.StopAllSilosAsync();
        await Cluster.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A temp directory left behind is harmless.
        }
    }

    /// <summary>Every voucher of a campaign in the ledger, shard by shard in issue order.</summary>
    public async Task<IReadOnlyList<VoucherRecord>> LedgerVouchersAsync(string campaignId, int shards = CampaignDefinition.MaxShards)
    {
        var number = await Store.Ledger.FindCampaignNumberAsync(campaignId) ?? throw new InvalidOperationException($"no campaign '{campaignId}' in the directory");
        var vouchers = new List<VoucherRecord>();
        for (var shard = 0; shard < shards; shard++)
        {
            vouchers.AddRange(await Store.Ledger.LoadShardVouchersAsync(number, shard));
        }

        return vouchers;
    }

    /// <summary>The ledger's row of a voucher, by its code.</summary>
    public async Task<VoucherRecord?> LedgerVoucherAsync(string code)
    {
        var read = Store.Codes.Read(code);
        return read.Key is { } key ? await Store.Ledger.GetVoucherAsync(key) : null;
    }

    /// <summary>The ledger the grains are given: the store's own unless a fixture stands something in front of it.</summary>
    protected virtual ILedger LedgerForGrains(ILedger ledger) => ledger;

    /// <summary>Creates and starts a campaign open from the clock's now for a week.</summary>
    public async Task<ICampaignGrain> StartCampaignAsync(Func<CampaignDefinition, CampaignDefinition>? adjust = null)
    {
        var id = "c-" + Guid.NewGuid().ToString("N")[..12];
        var definition = new CampaignDefinition
        {
            CampaignId = id,
            Name = "Test drop",
            OrganiserId = "organiser",
            Terms = new VoucherTerms(DiscountKind.AmountOff, FaceValueCents: 2_000, MinSpendCents: 10_000, 0, 0, 0),
            TotalStock = 100,
            BudgetCents = 0,
            PerUserLimit = 1,
            PerUserDailyLimit = 0,
            StartsAt = Clock.GetUtcNow().AddMinutes(-1),
            EndsAt = Clock.GetUtcNow().AddDays(7),
            VoucherValidDays = 30,
            VoucherValidUntil = null,
            RefundWindowDays = 7,
            Districts = [],
            ChannelQuotas = new Dictionary<string, long>(),
            ShardCount = 4,
        };
        definition = adjust?.Invoke(definition) ?? definition;
        var campaign = Grains.GetGrain<ICampaignGrain>(definition.CampaignId);
        await campaign.CreateAsync(definition);
        await campaign.StartAsync();
        return campaign;
    }

    /// <summary>One claim, sent to the shard its user is routed to among <paramref name="shards"/>.</summary>
    public async Task<IssueOutcome> IssueAsync(string campaignId, int shards, IssueClaim claim)
    {
        var pool = Grains.GetGrain<IVoucherPoolGrain>(ShardRouting.PoolKey(campaignId, ShardRouting.ShardFor(claim.UserId, shards)));
        return (await pool.IssueAsync([claim]))[0];
    }

    /// <summary><paramref name="users"/> user ids (<c>idle-0</c>, <c>idle-1</c>, ...), by the shard their claims go to.</summary>
    public static List<string>[] UsersByShard(int shards, int users)
    {
        var result = Enumerable.Range(0, shards).Select(_ => new List<string>()).ToArray();
        for (var u = 0; u < users; u++)
        {
            result[ShardRouting.ShardFor($"idle-{u}", shards)].Add($"idle-{u}");
        }

        return result;
    }

    private sealed class Configurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder)
        {
            siloBuilder.Services.AddKeyedSingleton<TimeProvider>(CampaignClock.Key, s_clock!);
            siloBuilder.AddEmbeddedStorage(s_store!).AddCampaignGrains();
            // Registered last, so it is the ledger every grain resolves.
            siloBuilder.Services.AddSingleton(s_ledger!);
        }
    }
}

[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>
{
    public const string Name = "cluster";
}
