using Campaigns.Grains.Campaigns;
using Orleans.Core.Internal;

namespace Campaigns.Tests.Cluster;

/// <summary>The claims a campaign's rules refused, as the silos add them to the campaign.</summary>
[Collection(ClusterCollection.Name)]
public sealed class RefusedClaimsTests(ClusterFixture fixture)
{
    [Fact]
    public async Task Refused_claims_added_by_silos_are_summed_by_reason_and_outlive_the_campaign_s_activation()
    {
        var campaign = await fixture.StartCampaignAsync();
        var before = await campaign.GetAsync();

        await campaign.CountRefusedClaimsAsync(new Dictionary<string, long> { ["SOLD_OUT"] = 40, ["USER_BLOCKED"] = 2 });
        await campaign.CountRefusedClaimsAsync(new Dictionary<string, long> { ["SOLD_OUT"] = 2, ["INVALID_ARGUMENT"] = 7, ["USER_LIMIT_REACHED"] = 0 });
        await campaign.Cast<IGrainManagementExtension>().DeactivateOnIdle();

        var after = await campaign.GetAsync();
        Assert.Equal(new Dictionary<string, long> { ["SOLD_OUT"] = 42, ["USER_BLOCKED"] = 2 }.OrderBy(e => e.Key), after.RefusedClaims.OrderBy(e => e.Key));
        // Counting is not a change of the campaign.
        Assert.Equal(before.UpdatedAt, after.UpdatedAt);
    }

    [Fact]
    public async Task Refused_claims_for_a_campaign_never_created_create_nothing()
    {
        var campaign = fixture.Grains.GetGrain<ICampaignGrain>($"never-created-{Guid.NewGuid():N}");

        await campaign.CountRefusedClaimsAsync(new Dictionary<string, long> { ["SOLD_OUT"] = 1 });

        Assert.Null(await campaign.FindAsync());
    }
}
