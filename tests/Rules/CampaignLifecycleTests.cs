using Campaigns.Grains.Campaigns;
using Campaigns.Grains.Common;

namespace Campaigns.Tests.Rules;

public sealed class CampaignLifecycleTests
{
    [Theory]
    [InlineData(CampaignStatus.Draft, CampaignAction.Start, CampaignStatus.Active)]
    [InlineData(CampaignStatus.Active, CampaignAction.Pause, CampaignStatus.Paused)]
    [InlineData(CampaignStatus.Paused, CampaignAction.Resume, CampaignStatus.Active)]
    [InlineData(CampaignStatus.Draft, CampaignAction.End, CampaignStatus.Ended)]
    [InlineData(CampaignStatus.Active, CampaignAction.End, CampaignStatus.Ended)]
    [InlineData(CampaignStatus.Paused, CampaignAction.End, CampaignStatus.Ended)]
    public void An_allowed_action_moves_the_campaign_to_its_next_status(CampaignStatus from, CampaignAction action, CampaignStatus to) =>
        Assert.Equal(to, CampaignLifecycle.Apply(from, action));

    [Theory]
    [InlineData(CampaignStatus.Draft, CampaignAction.Pause)]
    [InlineData(CampaignStatus.Draft, CampaignAction.Resume)]
    [InlineData(CampaignStatus.Active, CampaignAction.Start)]
    [InlineData(CampaignStatus.Active, CampaignAction.Resume)]
    [InlineData(CampaignStatus.Paused, CampaignAction.Start)]
    [InlineData(CampaignStatus.Paused, CampaignAction.Pause)]
    [InlineData(CampaignStatus.Ended, CampaignAction.Start)]
    [InlineData(CampaignStatus.Ended, CampaignAction.Pause)]
    [InlineData(CampaignStatus.Ended, CampaignAction.Resume)]
    [InlineData(CampaignStatus.Ended, CampaignAction.End)]
    public void Any_other_action_is_refused_with_INVALID_TRANSITION(CampaignStatus from, CampaignAction action) =>
        Refused.With(Refusal.InvalidTransition, () => CampaignLifecycle.Apply(from, action));

    [Fact]
    public void The_refusal_says_what_was_attempted_on_what()
    {
        var refusal = Refused.With(Refusal.InvalidTransition, () => CampaignLifecycle.Apply(CampaignStatus.Ended, CampaignAction.Resume));

        Assert.Equal("cannot resume a campaign that is ENDED", refusal.Message);
    }

    [Fact]
    public void Exactly_six_of_the_sixteen_status_action_pairs_are_transitions()
    {
        var allowed = 0;
        foreach (var status in Enum.GetValues<CampaignStatus>())
        {
            foreach (var action in Enum.GetValues<CampaignAction>())
            {
                try
                {
                    CampaignLifecycle.Apply(status, action);
                    allowed++;
                }
                catch (CampaignsException e) when (e.Code == Refusal.InvalidTransition)
                {
                }
            }
        }

        Assert.Equal(6, allowed);
    }

    [Theory]
    [InlineData(CampaignStatus.Active, CampaignAction.Start)]
    [InlineData(CampaignStatus.Active, CampaignAction.Resume)]
    [InlineData(CampaignStatus.Paused, CampaignAction.Pause)]
    [InlineData(CampaignStatus.Ended, CampaignAction.End)]
    public void Repeating_an_action_on_a_campaign_already_in_its_target_status_is_a_harmless_retry(CampaignStatus current, CampaignAction action) =>
        Assert.True(CampaignLifecycle.AlreadyDone(current, action));

    [Theory]
    [InlineData(CampaignStatus.Draft, CampaignAction.Start)]
    [InlineData(CampaignStatus.Draft, CampaignAction.Pause)]
    [InlineData(CampaignStatus.Draft, CampaignAction.End)]
    [InlineData(CampaignStatus.Active, CampaignAction.Pause)]
    [InlineData(CampaignStatus.Active, CampaignAction.End)]
    [InlineData(CampaignStatus.Paused, CampaignAction.Start)]
    [InlineData(CampaignStatus.Paused, CampaignAction.Resume)]
    [InlineData(CampaignStatus.Ended, CampaignAction.Start)]
    [InlineData(CampaignStatus.Ended, CampaignAction.Resume)]
    [InlineData(CampaignStatus.Ended, CampaignAction.Pause)]
    public void An_action_that_would_change_or_cannot_reach_the_status_is_not_a_retry(CampaignStatus current, CampaignAction action) =>
        Assert.False(CampaignLifecycle.AlreadyDone(current, action));
}
