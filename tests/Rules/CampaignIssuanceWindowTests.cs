using Campaigns.Grains.Campaigns;
using Campaigns.Grains.Common;

namespace Campaigns.Tests.Rules;

public sealed class CampaignIssuanceWindowTests
{
    private static readonly DateTimeOffset Start = Campaign.Start;
    private static readonly DateTimeOffset End = Campaign.Valid().EndsAt;
    private static readonly DateTimeOffset Midway = Start.AddDays(3);

    [Theory]
    [InlineData(CampaignStatus.Draft)]
    [InlineData(CampaignStatus.Paused)]
    public void A_campaign_that_is_not_active_refuses_claims_with_CAMPAIGN_NOT_ACTIVE(CampaignStatus status) =>
        Assert.Equal(Refusal.CampaignNotActive, Campaign.Snapshot(status).IssuanceRefusal(Midway));

    [Fact]
    public void An_ended_campaign_refuses_claims_with_CAMPAIGN_ENDED_even_inside_its_window() =>
        Assert.Equal(Refusal.CampaignEnded, Campaign.Snapshot(CampaignStatus.Ended).IssuanceRefusal(Midway));

    [Fact]
    public void An_active_campaign_refuses_claims_a_second_before_starts_at_with_CAMPAIGN_NOT_STARTED() =>
        Assert.Equal(Refusal.CampaignNotStarted, Campaign.Snapshot(CampaignStatus.Active).IssuanceRefusal(Start.AddSeconds(-1)));

    [Fact]
    public void An_active_campaign_issues_from_the_instant_of_starts_at() =>
        Assert.Null(Campaign.Snapshot(CampaignStatus.Active).IssuanceRefusal(Start));

    [Fact]
    public void An_active_campaign_issues_a_tick_before_ends_at() =>
        Assert.Null(Campaign.Snapshot(CampaignStatus.Active).IssuanceRefusal(End.AddTicks(-1)));

    [Fact]
    public void An_active_campaign_refuses_claims_at_ends_at_with_CAMPAIGN_ENDED() =>
        Assert.Equal(Refusal.CampaignEnded, Campaign.Snapshot(CampaignStatus.Active).IssuanceRefusal(End));

    [Fact]
    public void An_active_campaign_refuses_claims_after_ends_at_with_CAMPAIGN_ENDED() =>
        Assert.Equal(Refusal.CampaignEnded, Campaign.Snapshot(CampaignStatus.Active).IssuanceRefusal(End.AddDays(1)));

    [Fact]
    public void An_active_campaign_whose_vouchers_would_be_born_expired_refuses_claims_with_CAMPAIGN_ENDED()
    {
        var definition = Campaign.Valid() with { VoucherValidUntil = Midway };

        Assert.Null(Campaign.Snapshot(CampaignStatus.Active, definition).IssuanceRefusal(Midway.AddTicks(-1)));
        Assert.Equal(Refusal.CampaignEnded, Campaign.Snapshot(CampaignStatus.Active, definition).IssuanceRefusal(Midway));
    }

    [Fact]
    public void A_paused_campaign_before_its_start_says_not_active_rather_than_not_started() =>
        Assert.Equal(Refusal.CampaignNotActive, Campaign.Snapshot(CampaignStatus.Paused).IssuanceRefusal(Start.AddDays(-1)));
}
