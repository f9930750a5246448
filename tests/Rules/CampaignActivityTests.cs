using Campaigns.Silo.Dashboard;

namespace Campaigns.Tests.Rules;

/// <summary>The dashboard's recent activity: bounded, newest first, refunds taken back.</summary>
public sealed class CampaignActivityTests
{
    private static readonly DateTimeOffset Noon = new(2027, 2, 12, 12, 0, 0, TimeSpan.FromHours(8));

    [Fact]
    public void Only_the_last_refusals_are_kept_newest_first()
    {
        var activity = new CampaignActivity();
        for (var i = 0; i < CampaignActivity.RefusalsKept + 5; i++)
        {
            activity.Refused("spring", "meituan", i % 2 == 0 ? "SOLD_OUT" : "USER_LIMIT_REACHED", Noon.AddSeconds(i));
        }

        var snapshot = activity.Snapshot("spring");
        Assert.Equal(CampaignActivity.RefusalsKept, snapshot.Refusals.Count);
        Assert.Equal(Noon.AddSeconds(CampaignActivity.RefusalsKept + 4), snapshot.Refusals[0].At);
        Assert.Equal(["SOLD_OUT", "USER_LIMIT_REACHED"], snapshot.Refusals.Take(2).Select(r => r.Reason).Order());
        Assert.Empty(activity.Snapshot("autumn").Refusals);
    }

    [Fact]
    public void Top_merchants_rank_by_redemptions_net_of_refunds()
    {
        var activity = new CampaignActivity();
        activity.Redeemed("spring", "tea-house", +1);
        activity.Redeemed("spring", "tea-house", +1);
        activity.Redeemed("spring", "noodles", +1);
        activity.Redeemed("spring", "noodles", +1);
        activity.Redeemed("spring", "noodles", +1);
        activity.Redeemed("spring", "noodles", -1);
        activity.Redeemed("spring", "bakery", +1);
        activity.Redeemed("spring", "bakery", -1);

        Assert.Equal(
            [new MerchantRedemptions("noodles", 2), new MerchantRedemptions("tea-house", 2)],
            activity.Snapshot("spring").TopMerchants);
    }
}
