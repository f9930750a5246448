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

    [Fact]
    public async Task A_wallet_pages_with_tokens_and_the_pages_together_are_the_whole_wallet()
    {
        var campaign = await silo.StartedCampaignAsync(r => r.PerUserLimit = 6);
        var user = Scenario.NewId("user-paged");
        for (var i = 0; i < 5; i++)
        {
            await silo.Partner.IssueVoucherAsync(campaign.CampaignId, user, Scenario.NewId("req"));
            silo.Clock.Advance(TimeSpan.FromSeconds(1));
        }

        var whole = await silo.Partner.Vouchers.ListUserVouchersAsync(new ListUserVouchersRequest { UserId = user });
        Assert.Equal(5, whole.Vouchers.Count);
        Assert.Empty(whole.NextPageToken);

        var pages = new List<ListUserVouchersResponse>();
        var token = "";
        do
        {
            var page = await silo.Partner.Vouchers.ListUserVouchersAsync(new ListUserVouchersRequest { UserId = user, PageSize = 2, PageToken = token });
            pages.Add(page);
            token = page.NextPageToken;
        }
        while (token.Length > 0);

        Assert.Equal([2, 2, 1], pages.Select(p => p.Vouchers.Count));
        Assert.Equal(whole.Vouchers.Select(v => v.Code), pages.SelectMany(p => p.Vouchers).Select(v => v.Code));

        // The SDK follows the tokens itself.
        var followed = new List<string>();
        await foreach (var voucher in silo.Partner.ListUserVouchersAsync(user, pageSize: 2))
        {
            followed.Add(voucher.Code);
        }

        Assert.Equal(whole.Vouchers.Select(v => v.Code), followed);

        // A voucher issued meanwhile comes first on a new listing; the pages already begun go on unchanged.
        var fresh = (await silo.Partner.IssueVoucherAsync(campaign.CampaignId, user, Scenario.NewId("req"))).Voucher;
        var second = await silo.Partner.Vouchers.ListUserVouchersAsync(
            new ListUserVouchersRequest { UserId = user, PageSize = 2, PageToken = pages[0].NextPageToken });
        Assert.Equal(pages[1].Vouchers.Select(v => v.Code), second.Vouchers.Select(v => v.Code));
        var renewed = await silo.Partner.Vouchers.ListUserVouchersAsync(new ListUserVouchersRequest { UserId = user, PageSize = 2 });
        Assert.Equal(fresh.Code, renewed.Vouchers[0].Code);
    }

    [Fact]
    public async Task A_tampered_or_foreign_page_token_and_a_bad_page_size_are_INVALID_ARGUMENT()
    {
        var campaign = await silo.StartedCampaignAsync(r => r.PerUserLimit = 3);
        var user = Scenario.NewId("user-tamper");
        for (var i = 0; i < 3; i++)
        {
            await silo.Partner.IssueVoucherAsync(campaign.CampaignId, user, Scenario.NewId("req"));
        }

        var first = await silo.Partner.Vouchers.ListUserVouchersAsync(new ListUserVouchersRequest { UserId = user, PageSize = 1 });
        var token = first.NextPageToken;
        Assert.NotEmpty(token);
        var tampered = (token[0] == 'A' ? "B" : "A") + token[1..];

        await Expect.InvalidAsync("page_token", () => silo.Partner.Vouchers.ListUserVouchersAsync(
            new ListUserVouchersRequest { UserId = user, PageSize = 1, PageToken = tampered }));
        await Expect.InvalidAsync("page_token", () => silo.Partner.Vouchers.ListUserVouchersAsync(
            new ListUserVouchersRequest { UserId = Scenario.NewId("user-other"), PageSize = 1, PageToken = token }));
        await Expect.InvalidAsync("page_token", () => silo.OtherPartner.Vouchers.ListUserVouchersAsync(
            new ListUserVouchersRequest { UserId = user, PageSize = 1, PageToken = token }));
        await Expect.InvalidAsync("page_size", () => silo.Partner.Vouchers.ListUserVouchersAsync(
            new ListUserVouchersRequest { UserId = user, PageSize = 101 }));
        await Expect.InvalidAsync("page_size", () => silo.Partner.Vouchers.ListUserVouchersAsync(
            new ListUserVouchersRequest { UserId = user, PageSize = -1 }));
    }
}
