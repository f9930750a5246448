using Campaigns.Grains.Campaigns;

namespace Campaigns.Tests.Rules;

/// <summary>A valid campaign for tests to change one thing of.</summary>
internal static class Campaign
{
    public static readonly DateTimeOffset Start = new(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);

    public static VoucherTerms Terms => new(DiscountKind.AmountOff, 500, 2000, 0, 0, 0);

    public static CampaignDefinition Valid() => new()
    {
        CampaignId = "golden-week.2026_sh",
        Name = "Golden week consumption vouchers",
        OrganiserId = "sh-commerce-bureau",
        Terms = Terms,
        TotalStock = 1000,
        BudgetCents = 0,
        PerUserLimit = 1,
        PerUserDailyLimit = 0,
        StartsAt = Start,
        EndsAt = Start.AddDays(7),
        VoucherValidDays = 30,
        VoucherValidUntil = null,
        RefundWindowDays = 7,
        Districts = ["huangpu", "xuhui"],
        ChannelQuotas = new Dictionary<string, long> { ["alipay"] = 100, ["meituan"] = 200 },
        ShardCount = 4,
    };

    public static CampaignSnapshot Snapshot(CampaignStatus status, CampaignDefinition? definition = null)
    {
        var d = definition ?? Valid();
        return new CampaignSnapshot(d, status, Start.AddDays(-1), Start.AddDays(-1), d.TotalStock, d.BudgetCents);
    }
}
