using Campaigns.Grains.Common;
using Campaigns.Grains.Issuance;
using Campaigns.Grains.Merchants;
using Campaigns.Grains.Redemption;
using Orleans.Core.Internal;

namespace Campaigns.Tests.Cluster;

[Collection(ClusterCollection.Name)]
public sealed class RedemptionTests(ClusterFixture fixture)
{
    [Fact]
    public async Task Fifty_merchants_racing_for_one_voucher_leave_exactly_one_redemption()
    {
        var (campaignId, code) = await IssueOneAsync();
        var merchants = await Task.WhenAll(Enumerable.Range(0, 50).Select(i => EnrolledMerchantAsync(campaignId, $"shop-{campaignId}-{i}")));

        var voucher = fixture.Grains.GetGrain<IVoucherGrain>(code);
        var attempts = await Task.WhenAll(merchants.Select(async (m, i) =>
        {
            try
            {
                return (Ok: true, Reason: (Refusal?)null, Receipt: await voucher.RedeemAsync(m, $"order-{i}", 20_000));
            }
            catch (CampaignsException ex)
            {
                return (Ok: false, Reason: (Refusal?)ex.Code, Receipt: (RedemptionReceipt?)null);
            }
        }));

        Assert.Single(attempts, a => a.Ok);
        Assert.All(attempts.Where(a => !a.Ok), a => Assert.Equal(Refusal.VoucherAlreadyRedeemed, a.Reason));
        var winner = attempts.Single(a => a.Ok).Receipt!;
        Assert.Equal(2_000, winner.DiscountCents);
        var settlement = await fixture.Store.Ledger.GetSettlementAsync(winner.MerchantId, campaignId);
        Assert.Equal(1, settlement.Redemptions);
        Assert.Equal(2_000, settlement.NetSubsidyCents);
    }

    [Fact]
    public async Task A_redeemed_voucher_leaves_memory_when_its_call_ends_and_a_held_one_stays()
    {
        var (campaignId, redeemedCode) = await IssueOneAsync();
        var (otherCampaignId, heldCode) = await IssueOneAsync();
        var shop = await EnrolledMerchantAsync(campaignId, $"mem-{campaignId}");
        await fixture.Grains.GetGrain<IMerchantGrain>(shop).EnrollAsync(otherCampaignId);

        await fixture.Grains.GetGrain<IVoucherGrain>(heldCode).ReserveAsync(shop, "held-1", 20_000, holdSeconds: 0);
        await fixture.Grains.GetGrain<IVoucherGrain>(redeemedCode).RedeemAsync(shop, "paid-1", 20_000);

        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (await IsActiveAsync(redeemedCode) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        Assert.False(await IsActiveAsync(redeemedCode), "the redeemed voucher's activation is still in memory");
        Assert.True(await IsActiveAsync(heldCode), "a voucher on hold keeps its activation for the confirm to come");

        // Its next touch reads the ledger again and sees the redemption.
        var view = await fixture.Grains.GetGrain<IVoucherGrain>(redeemedCode).GetAsync();
        Assert.Equal(Campaigns.Grains.Ledger.StoredVoucherStatus.Redeemed, view.Record.Status);
    }

    private async Task<bool> IsActiveAsync(string code)
    {
        var voucher = fixture.Grains.GetGrain<IVoucherGrain>(code).GetGrainId();
        var statistics = await fixture.Grains.GetGrain<IManagementGrain>(0).GetDetailedGrainStatistics();
        return statistics.Any(s => s.GrainId == voucher);
    }

    [Fact]
    public async Task Two_activations_cannot_spend_one_voucher_twice()
    {
        var (campaignId, code) = await IssueOneAsync();
        var shopA = await EnrolledMerchantAsync(campaignId, $"a-{campaignId}");
        var shopB = await EnrolledMerchantAsync(campaignId, $"b-{campaignId}");
        var voucher = fixture.Grains.GetGrain<IVoucherGrain>(code);
        await voucher.GetAsync(); // activation one caches ISSUED

        // A write behind the grain's back, as a second activation during a silo failure would make.
        var row = (await fixture.LedgerVoucherAsync(code))!;
        var step = VoucherRedemption.Redeem(row, [], await fixture.Grains.GetGrain<IMerchantGrain>(shopA).GetAsync(), "a-1", 20_000, fixture.Clock.GetUtcNow());
        Assert.True(await fixture.Store.Ledger.TryTransitionAsync(step.After, row.Version, step.Event!));

        // The stale activation's conditional write loses, it rereads, and refuses.
        var refusal = await Assert.ThrowsAsync<CampaignsException>(() => voucher.RedeemAsync(shopB, "b-1", 20_000));
        Assert.Equal(Refusal.VoucherAlreadyRedeemed, refusal.Code);
    }

    [Fact]
    public async Task Reservation_survives_reactivation_and_lapses_by_itself()
    {
        var (campaignId, code) = await IssueOneAsync();
        var shop = await EnrolledMerchantAsync(campaignId, $"hold-{campaignId}");
        var voucher = fixture.Grains.GetGrain<IVoucherGrain>(code);
        var hold = await voucher.ReserveAsync(shop, "o-1", 15_000, 60);
        Assert.Equal(2_000, hold.DiscountCents);
        Assert.Equal(13_000, hold.PayableCents);

        await voucher.Cast<IGrainManagementExtension>().DeactivateOnIdle();
        Assert.Equal(VoucherStatus.Reserved, (await voucher.GetAsync()).Status);
        var other = await Assert.ThrowsAsync<CampaignsException>(() => voucher.ReserveAsync(shop, "o-2", 15_000, 60));
        Assert.Equal(Refusal.VoucherReserved, other.Code);

        fixture.Clock.Advance(TimeSpan.FromSeconds(61));
        Assert.Equal(VoucherStatus.Issued, (await voucher.GetAsync()).Status);
        var lapsed = await Assert.ThrowsAsync<CampaignsException>(() => voucher.ConfirmAsync(shop, "o-1"));
        Assert.Equal(Refusal.ReservationNotFound, lapsed.Code);
        var second = await voucher.ReserveAsync(shop, "o-2", 15_000, 60);
        Assert.Equal("o-2", second.OrderId);
        var redemption = await voucher.ConfirmAsync(shop, "o-2");
        Assert.Equal(13_000, redemption.PayableCents);
    }

    private async Task<(string CampaignId, string Code)> IssueOneAsync()
    {
        var campaign = await fixture.StartCampaignAsync();
        var id = campaign.GetPrimaryKeyString();
        var user = "holder-" + id;
        var pool = fixture.Grains.GetGrain<IVoucherPoolGrain>(ShardRouting.PoolKey(id, ShardRouting.ShardFor(user, 4)));
        var outcome = (await pool.IssueAsync([new IssueClaim("partner-a", user, "r-1", "")]))[0];
        return (id, outcome.Voucher!.Code);
    }

    private async Task<string> EnrolledMerchantAsync(string campaignId, string merchantId)
    {
        var merchant = fixture.Grains.GetGrain<IMerchantGrain>(merchantId);
        await merchant.RegisterAsync("Shop " + merchantId, "Huangpu", "food");
        await merchant.EnrollAsync(campaignId);
        return merchantId;
    }
}
