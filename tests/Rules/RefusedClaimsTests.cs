using Campaigns.Grains.Campaigns;
using Campaigns.Silo.Api;

namespace Campaigns.Tests.Rules;

/// <summary>Which refused claims count in a campaign's stats, and a silo's tally of them.</summary>
public sealed class RefusedClaimsTests
{
    [Theory]
    [InlineData("SOLD_OUT", true)]
    [InlineData("USER_BLOCKED", true)]
    [InlineData("CAMPAIGN_ENDED", true)]
    [InlineData("IDEMPOTENCY_KEY_REUSED", true)]
    [InlineData("PARTNER_DROP_CAP_REACHED", true)]
    [InlineData("INVALID_ARGUMENT", false)]
    [InlineData("RATE_LIMITED", false)]
    [InlineData("CAMPAIGN_NOT_FOUND", false)]
    [InlineData("UNAVAILABLE", false)]
    [InlineData("sold_out", false)]
    public void Only_refusals_a_claim_meets_once_it_reached_the_campaign_count(string reason, bool counts) =>
        Assert.Equal(counts, RefusedClaims.Counts(reason));

    [Fact]
    public void Adding_counts_sums_them_by_reason_and_leaves_out_what_does_not_count()
    {
        var sum = RefusedClaims.Add(
            new Dictionary<string, long> { ["SOLD_OUT"] = 5 },
            new Dictionary<string, long> { ["SOLD_OUT"] = 3, ["USER_BLOCKED"] = 1, ["RATE_LIMITED"] = 9, ["USER_LIMIT_REACHED"] = -2 });

        Assert.Equal([new("SOLD_OUT", 8L), new("USER_BLOCKED", 1L)], sum.ToList());
    }

    [Fact]
    public async Task A_silo_s_tally_hands_over_every_refusal_counted_from_many_threads_once()
    {
        var tally = new RefusedClaimsTally();
        await Task.WhenAll(Enumerable.Range(0, 8).Select(t => Task.Run(() =>
        {
            for (var i = 0; i < 10_000; i++)
            {
                tally.Refused(i % 2 == 0 ? "campaign-a" : "campaign-b", "SOLD_OUT");
                tally.Refused("campaign-a", "INVALID_ARGUMENT");
            }
        })));
        tally.Refused("campaign-b", "USER_BLOCKED", claims: 3);

        var taken = tally.Take();

        Assert.Equal(40_000, taken["campaign-a"]["SOLD_OUT"]);
        Assert.Equal(new Dictionary<string, long> { ["SOLD_OUT"] = 40_000, ["USER_BLOCKED"] = 3 }.OrderBy(e => e.Key), taken["campaign-b"].OrderBy(e => e.Key));
        Assert.False(taken["campaign-a"].ContainsKey("INVALID_ARGUMENT"));
        Assert.Empty(tally.Take());
    }
}
