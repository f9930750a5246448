using Campaigns.Grains.Ledger;
using Campaigns.Storage.Sqlite;
using Campaigns.Tests.Ledger.Fixtures;
using Microsoft.Data.Sqlite;

namespace Campaigns.Tests.Ledger;

/// <summary>A database written before vouchers were keyed by shard and issue order, migrated on open.</summary>
public sealed class LayoutMigrationTests : IAsyncLifetime
{
    private readonly TemporaryDatabase _database = new();
    private readonly LegacyLedger _legacy = LegacyLedger.Load();
    private SqliteLedger _ledger = null!;

    public async Task InitializeAsync()
    {
        LegacyLedger.CopyTo(new SqliteConnectionStringBuilder(_database.ConnectionString).DataSource);
        Assert.Equal(3L, _database.Scalar("SELECT MAX(version) FROM schema_version"));
        _ledger = new SqliteLedger(_database.ConnectionString);
        await _ledger.EnsureSchemaAsync();
    }

    public Task DisposeAsync()
    {
        _ledger.Dispose();
        _database.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Every_voucher_issued_before_keeps_its_code_and_is_found_by_it()
    {
        foreach (var campaign in new[] { "legacy-drop", "legacy-fold" })
        {
            foreach (var code in _legacy.Codes(campaign))
            {
                var key = await _ledger.FindLegacyCodeAsync(code);
                Assert.NotNull(key);
                var voucher = await _ledger.GetVoucherAsync(key.Value);
                Assert.Equal(code, voucher?.Code);
                Assert.Equal(campaign, voucher!.CampaignId);
            }
        }

        Assert.Equal(SqliteLedgerSchema.Migrations[^1].Version, (int)(long)_database.Scalar("SELECT MAX(version) FROM schema_version")!);
        Assert.Equal(18L, _database.Scalar("SELECT COUNT(*) FROM vouchers"));
        Assert.Null(await _ledger.FindLegacyCodeAsync("VXXXXXXXXXXXXXXXXXXXXXXX"));
    }

    [Fact]
    public async Task Each_shard_reads_its_vouchers_back_in_issue_order_with_their_redemptions()
    {
        var number = (await _ledger.FindCampaignNumberAsync("legacy-drop"))!.Value;
        var shards = Enumerable.Range(0, 64).Select(shard => _ledger.LoadShardVouchersAsync(number, shard).Result).Where(s => s.Count > 0).ToList();
        var drop = shards.SelectMany(s => s).ToList();

        Assert.Equal(_legacy.Codes("legacy-drop").Order(StringComparer.Ordinal), drop.Select(v => v.Code).Order(StringComparer.Ordinal));
        Assert.All(shards, shard =>
        {
            Assert.Equal(Enumerable.Range(1, shard.Count).Select(i => (long)i), shard.Select(v => v.Seq));
            Assert.True(shard.Zip(shard.Skip(1)).All(p => p.First.IssuedAt <= p.Second.IssuedAt));
        });

        var codes = _legacy.Codes("legacy-drop");
        Assert.Equal(StoredVoucherStatus.Redeemed, drop.Single(v => v.Code == codes[0]).Status);
        Assert.Equal(StoredVoucherStatus.Issued, drop.Single(v => v.Code == codes[1]).Status); // refunded
        Assert.Equal("user-1", drop.Single(v => v.Code == codes[0]).UserId);
        var (_, events) = await _ledger.GetVoucherWithEventsAsync(drop.Single(v => v.Code == codes[1]).Key);
        Assert.Equal([RedemptionEventType.Redeemed, RedemptionEventType.Refunded], events.Select(e => e.Type));
    }

    [Fact]
    public async Task Leases_figures_and_settlement_are_what_they_were()
    {
        var leases = await _ledger.LoadLeasesAsync("legacy-drop");
        Assert.Equal(12, leases.Sum(l => l.Issued));
        Assert.Equal(leases.Sum(l => l.Granted), (long)_database.Scalar("SELECT granted FROM lease_pools WHERE campaign_id = 'legacy-drop' AND pool = ''")!);

        Assert.Equal(12, (await _ledger.GetCampaignTotalsAsync("legacy-drop", LegacyLedger.WrittenAt)).Issued);
        Assert.Equal(6, (await _ledger.GetCampaignTotalsAsync("legacy-fold", LegacyLedger.WrittenAt)).Issued);
        var settlement = await _ledger.GetSettlementAsync("tea-house", null);
        Assert.Equal((3, 1, 7_000), (settlement.Redemptions, settlement.Refunds, settlement.NetSubsidyCents));
        Assert.Equal(["legacy-fold", "legacy-drop"], await _ledger.ListCampaignIdsAsync(null, 10));
    }

    [Fact]
    public async Task The_first_activation_after_the_migration_continues_each_shard_s_order()
    {
        var activation = await _ledger.ActivateShardAsync("legacy-drop", 0);

        Assert.Equal(1, activation.Epoch);
        Assert.Equal(await _ledger.FindCampaignNumberAsync("legacy-drop"), activation.CampaignNumber);
        // The one index on the rows is the devices' partial one, which no row from before is in.
        Assert.Equal("ix_vouchers_device", _database.Scalar("SELECT group_concat(name) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'vouchers'"));
        Assert.Equal(0L, _database.Scalar("SELECT COUNT(*) FROM vouchers INDEXED BY ix_vouchers_device WHERE device_id IS NOT NULL"));
    }
}
