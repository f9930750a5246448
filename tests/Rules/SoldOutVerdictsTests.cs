using Campaigns.Grains.Campaigns;
using Campaigns.Grains.Common;
using Campaigns.Grains.Issuance;

namespace Campaigns.Tests.Rules;

/// <summary>
/// A shard's sold-out verdicts: what its silo's API may refuse without a turn, and when a verdict
/// stops holding (its time runs out, the campaign changes, a unit is freed, it is withdrawn).
/// </summary>
public sealed class SoldOutVerdictsTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 11, 12, 0, 0, TimeSpan.Zero);
    private readonly SoldOutVerdicts _verdicts = new();
    private readonly CampaignSnapshot _campaign = Campaign.Snapshot(CampaignStatus.Active);

    [Fact]
    public void A_verdict_answers_its_own_channel_until_its_time_runs_out()
    {
        _verdicts.Note("alipay", Refusal.SoldOut, Now.AddSeconds(1), _campaign, freed: 4);

        Assert.Equal(Refusal.SoldOut, _verdicts.For("alipay", Now, _campaign, freed: 4));
        Assert.Equal(Refusal.SoldOut, _verdicts.For("alipay", Now.AddMilliseconds(999), _campaign, freed: 4));
        Assert.Null(_verdicts.For("alipay", Now.AddSeconds(1), _campaign, freed: 4));
        Assert.Null(_verdicts.For("meituan", Now, _campaign, freed: 4));
    }

    [Fact]
    public void A_verdict_does_not_hold_once_a_unit_may_have_been_freed()
    {
        _verdicts.Note("alipay", Refusal.SoldOut, Now.AddSeconds(1), _campaign, freed: 4);

        Assert.Null(_verdicts.For("alipay", Now, _campaign, freed: 5));
    }

    [Fact]
    public void A_verdict_does_not_hold_for_another_campaign_snapshot_even_an_equal_one()
    {
        _verdicts.Note("alipay", Refusal.SoldOut, Now.AddSeconds(1), _campaign, freed: 4);

        Assert.Null(_verdicts.For("alipay", Now, _campaign with { }, freed: 4));
    }

    [Fact]
    public void Withdrawn_verdicts_answer_nothing()
    {
        _verdicts.Note("alipay", Refusal.SoldOut, Now.AddSeconds(1), _campaign, freed: 4);
        _verdicts.Note("meituan", Refusal.ChannelQuotaExhausted, Now.AddSeconds(1), _campaign, freed: 4);

        _verdicts.Withdraw();

        Assert.Null(_verdicts.For("alipay", Now, _campaign, freed: 4));
        Assert.Null(_verdicts.For("meituan", Now, _campaign, freed: 4));
    }

    [Fact]
    public void Each_channel_keeps_its_own_verdict_and_a_later_one_replaces_it()
    {
        _verdicts.Note("alipay", Refusal.SoldOut, Now.AddSeconds(1), _campaign, freed: 4);
        _verdicts.Note("meituan", Refusal.ChannelQuotaExhausted, Now.AddSeconds(1), _campaign, freed: 4);
        _verdicts.Note("alipay", Refusal.BudgetExhausted, Now.AddSeconds(2), _campaign, freed: 4);

        Assert.Equal(Refusal.BudgetExhausted, _verdicts.For("alipay", Now.AddSeconds(1.5), _campaign, freed: 4));
        Assert.Equal(Refusal.ChannelQuotaExhausted, _verdicts.For("meituan", Now, _campaign, freed: 4));
    }

    [Fact]
    public void A_verdict_on_newer_stock_drops_those_on_older_stock()
    {
        _verdicts.Note("meituan", Refusal.ChannelQuotaExhausted, Now.AddSeconds(1), _campaign, freed: 4);
        _verdicts.Note("alipay", Refusal.SoldOut, Now.AddSeconds(1), _campaign, freed: 5);

        Assert.Null(_verdicts.For("meituan", Now, _campaign, freed: 4));
        Assert.Equal(Refusal.SoldOut, _verdicts.For("alipay", Now, _campaign, freed: 5));
    }
}
