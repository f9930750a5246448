using Campaigns.Client;
using Campaigns.Proto;
using Grpc.Core;

namespace Campaigns.Tests.EndToEnd;

/// <summary>Many callers at once, over the wire: the counts must still be exact.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class RaceTests(SiloFixture silo)
{
    [Fact]
    public async Task Hundred_parallel_claims_for_one_user_issue_exactly_per_user_limit()
    {
        var campaign = await silo.StartedCampaignAsync(r => r.PerUserLimit = 3);
        var attempts = await Task.WhenAll(Enumerable.Range(0, 100).Select(i =>
            Attempt(() => silo.Partner.IssueVoucherAsync(campaign.CampaignId, "user-hammering", $"tap-{i}"))));

        var issued = attempts.Where(a => a.Result is not null).Select(a => a.Result!.Voucher.Code).ToList();
        Assert.Equal(3, issued.Count);
        Assert.Equal(3, issued.Distinct().Count());
        Assert.All(attempts.Where(a => a.Result is null), a => Assert.Equal("USER_LIMIT_REACHED", a.Reason));
        var wallet = await silo.Partner.Vouchers.ListUserVouchersAsync(new ListUserVouchersRequest { UserId = "user-hammering", CampaignId = campaign.CampaignId });
        Assert.Equal(issued.Order(), wallet.Vouchers.Select(v => v.Code).Order());
        Assert.Equal(3, (await silo.StatsAsync(campaign.CampaignId)).Issued);
    }

    [Fact]
    public async Task Fifty_parallel_retries_of_one_claim_issue_one_voucher()
    {
        var campaign = await silo.StartedCampaignAsync();
        var attempts = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ =>
            silo.Partner.IssueVoucherAsync(campaign.CampaignId, "user-impatient", "claim-once")));

        Assert.Single(attempts.Select(a => a.Voucher.Code).Distinct());
        Assert.Single(attempts, a => !a.Replayed);
        Assert.Equal(1, (await silo.StatsAsync(campaign.CampaignId)).Issued);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(20)]
    public async Task Merchants_racing_for_one_voucher_leave_exactly_one_redemption(int merchants)
    {
        var campaign = await silo.StartedCampaignAsync();
        var voucher = await silo.IssueAsync(campaign.CampaignId, "user-popular");
        var tills = await Task.WhenAll(Enumerable.Range(0, merchants).Select(async _ =>
        {
            var (merchantId, client) = await silo.NewMerchantAsync();
            await client.Merchants.JoinCampaignAsync(new JoinCampaignRequest { CampaignId = campaign.CampaignId, MerchantId = merchantId });
            return (merchantId, client);
        }));

        var attempts = await Task.WhenAll(tills.Select((till, i) =>
            Attempt(() => till.client.RedeemVoucherAsync(voucher.Code, till.merchantId, $"order-{i}", 20_000))));

        var winner = Assert.Single(attempts, a => a.Result is not null).Result!;
        Assert.All(attempts.Where(a => a.Result is null), a => Assert.Contains(a.Reason, new[] { "VOUCHER_ALREADY_REDEEMED", "VOUCHER_RESERVED" }));
        var redeemed = await silo.Partner.GetVoucherAsync(voucher.Code);
        Assert.Equal((VoucherStatus.Redeemed, winner.MerchantId, winner.OrderId), (redeemed.Status, redeemed.MerchantId, redeemed.OrderId));
        var settlements = await Task.WhenAll(tills.Select(t => t.client.SettlementAsync(t.merchantId, campaign.CampaignId)));
        Assert.Equal(1, settlements.Sum(s => s.Redemptions));
        Assert.Equal(2_000, settlements.Sum(s => s.NetSubsidyCents));
        var stats = await silo.StatsAsync(campaign.CampaignId);
        Assert.Equal((1L, 2_000L), (stats.Redeemed, stats.RedeemedDiscountCents));
    }

    [Fact]
    public async Task Flash_drop_over_grpc_of_200_vouchers_to_1000_users_issues_exactly_200()
    {
        var campaign = await silo.StartedCampaignAsync(r => (r.TotalStock, r.ExpectedPeakClaimsPerSecond) = (200, 10_000));
        var attempts = await Task.WhenAll(Enumerable.Range(0, 1_000).Select(i =>
            Attempt(() => silo.Partner.IssueVoucherAsync(campaign.CampaignId, $"fan-{i}", $"drop-{i}"))));

        var winners = attempts.Where(a => a.Result is not null).Select(a => a.Result!.Voucher).ToList();
        Assert.Equal(200, winners.Count);
        Assert.Equal(200, winners.Select(v => v.Code).Distinct().Count());
        Assert.Equal(200, winners.Select(v => v.UserId).Distinct().Count());
        Assert.All(attempts.Where(a => a.Result is null), a => Assert.Equal("SOLD_OUT", a.Reason));

        var stats = await silo.StatsAsync(campaign.CampaignId);
        Assert.Equal((200L, 0L, 400_000L), (stats.Issued, stats.Remaining, stats.IssuedLiabilityCents));
    }

    [Fact]
    public async Task Two_refunds_racing_for_one_redemption_reverse_the_subsidy_once()
    {
        var (_, voucher, merchantId, merchant) = await silo.RedeemableVoucherAsync();
        await merchant.RedeemVoucherAsync(voucher.Code, merchantId, "order-1", 20_000);

        var attempts = await Task.WhenAll(Enumerable.Range(0, 10).Select(i =>
            Attempt(() => merchant.RefundRedemptionAsync(voucher.Code, merchantId, "order-1", $"refund-{i}"))));

        Assert.Single(attempts, a => a.Result is not null);
        Assert.All(attempts.Where(a => a.Result is null), a => Assert.Equal("ORDER_REFUNDED", a.Reason));
        var settlement = await merchant.SettlementAsync(merchantId);
        Assert.Equal((1L, 1L, 0L), (settlement.Redemptions, settlement.Refunds, settlement.NetSubsidyCents));
    }

    private static async Task<(T? Result, string? Reason)> Attempt<T>(Func<Task<T>> call)
        where T : class
    {
        try
        {
            return (await call(), null);
        }
        catch (RpcException error)
        {
            Assert.Equal(CampaignsError.Domain, error.ErrorInfo()?.Domain);
            return (null, error.Reason());
        }
    }
}
