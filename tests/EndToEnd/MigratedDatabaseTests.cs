using Campaigns.Proto;
using Campaigns.Tests.Ledger.Fixtures;
using Grpc.Core;

namespace Campaigns.Tests.EndToEnd;

/// <summary>
/// The silo started on a database written before vouchers were keyed by shard and issue order:
/// it migrates the file, and everything issued before goes on working beside what is issued after.
/// </summary>
public sealed class MigratedDatabaseTests : IAsyncLifetime
{
    private readonly LegacyLedger _legacy = LegacyLedger.Load();
    private SiloHost _host = null!;

    public async Task InitializeAsync() => _host = await SiloHost.StartAsync(LegacyLedger.WrittenAt, LegacyLedger.DatabasePath);

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task Vouchers_issued_before_the_migration_keep_their_codes_limits_and_redemptions()
    {
        var partner = _host.Client(_legacy.PartnerKey);
        var merchant = _host.Client(_legacy.MerchantKey);
        var codes = _legacy.Codes("legacy-drop");

        // Looked up and redeemed by their old codes; the refunded one is spendable again, once.
        Assert.Equal(VoucherStatus.Redeemed, (await partner.GetVoucherAsync(codes[0])).Status);
        var again = await merchant.RedeemVoucherAsync(codes[1], "tea-house", "order-2b", 15_000);
        Assert.Equal(2_000, again.DiscountCents);
        await Expect.RefusedAsync(StatusCode.FailedPrecondition, "VOUCHER_ALREADY_REDEEMED",
            () => merchant.RedeemVoucherAsync(codes[1], "tea-house", "order-2c", 15_000));
        await merchant.RedeemVoucherAsync(codes[5].ToLowerInvariant(), "tea-house", "order-6", 10_000);

        // The shards rebuilt their books from the migrated rows: a repeat replays, a new claim hits the limit.
        var repeat = await partner.IssueVoucherAsync("legacy-drop", "user-1", "req-1", district: "huangpu");
        Assert.True(repeat.Replayed);
        Assert.Equal(codes[0], repeat.Voucher.Code);
        await Expect.RefusedAsync(StatusCode.ResourceExhausted, "USER_LIMIT_REACHED",
            () => partner.IssueVoucherAsync("legacy-drop", "user-1", "req-1-again", district: "huangpu"));

        // New vouchers get keyed codes, and the stock counts on from the 12 issued before.
        var fresh = await partner.IssueVoucherAsync("legacy-drop", "user-13", "req-13", district: "huangpu");
        Assert.StartsWith("V", fresh.Voucher.Code);
        await merchant.RedeemVoucherAsync(fresh.Voucher.Code, "tea-house", "order-13", 10_000);
        var wallet = await partner.Vouchers.ListUserVouchersAsync(new ListUserVouchersRequest { UserId = "user-1" });
        Assert.Equal([codes[0], _legacy.Codes("legacy-fold")[0]], wallet.Vouchers.Select(v => v.Code).Order(StringComparer.Ordinal));

        var organiser = _host.Client(SiloHost.BootstrapOrganiserKey);
        var stats = await organiser.Admin.GetCampaignStatsAsync(new GetCampaignRequest { CampaignId = "legacy-drop" });
        Assert.Equal((13, 87, 4), (stats.Issued, stats.Remaining, stats.Redeemed));
    }
}
