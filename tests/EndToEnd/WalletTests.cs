using Campaigns.Proto;

namespace Campaigns.Tests.EndToEnd;

/// <summary>A user's wallet, read from the shards that hold the user in each campaign.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class WalletTests(SiloFixture silo)
{
    [Fact]
    public async Task A_wallet_shows_a_user_s_vouchers_from_every_campaign_newest_first_and_only_the_caller_s_channel()
    {
        var spring = await silo.StartedCampaignAsync(r => r.PerUserLimit = 3);
        var autumn = await silo.StartedCampaignAsync();
        var first = (await silo.Partner.IssueVoucherAsync(spring.CampaignId, "user-wallet", "w-1")).Voucher;
        silo.Clock.Advance(TimeSpan.FromSeconds(1));
        var second = (await silo.Partner.IssueVoucherAsync(autumn.CampaignId, "user-wallet", "w-2")).Voucher;
        silo.Clock.Advance(TimeSpan.FromSeconds(1));
        var third = (await silo.Partner.IssueVoucherAsync(spring.CampaignId, "user-wallet", "w-3")).Voucher;
        var elsewhere = (await silo.OtherPartner.IssueVoucherAsync(spring.CampaignId, "user-wallet", "w-1")).Voucher;
        await silo.Partner.IssueVoucherAsync(spring.CampaignId, "user-neighbour", "w-4");

        var all = await silo.Partner.Vouchers.ListUserVouchersAsync(new ListUserVouchersRequest { UserId = "user-wallet" });
        var inSpring = await silo.Partner.Vouchers.ListUserVouchersAsync(new ListUserVouchersRequest { UserId = "user-wallet", CampaignId = spring.CampaignId });
        var unknown = await silo.Partner.Vouchers.ListUserVouchersAsync(new ListUserVouchersRequest { UserId = "user-wallet", CampaignId = "no-such-campaign" });
        var theirs = await silo.OtherPartner.Vouchers.ListUserVouchersAsync(new ListUserVouchersRequest { UserId = "user-wallet" });

        Assert.Equal([third.Code, second.Code, first.Code], all.Vouchers.Select(v => v.Code).Where(c => c == first.Code || c == second.Code || c == third.Code));
        Assert.Equal([third.Code, first.Code], inSpring.Vouchers.Select(v => v.Code));
        Assert.Empty(unknown.Vouchers);
        Assert.Contains(elsewhere.Code, theirs.Vouchers.Select(v => v.Code));
        Assert.DoesNotContain(first.Code, theirs.Vouchers.Select(v => v.Code));
    }
}
