using Campaigns.Grains.Campaigns;

namespace Campaigns.Tests.Rules;

public sealed class CampaignDefinitionTests
{
    private static readonly DateTimeOffset Start = Campaign.Start;

    /// <summary>One broken field per case: the field the message must name, and the break.</summary>
    private static readonly Dictionary<string, (string Field, Func<CampaignDefinition, CampaignDefinition> Break)> Breaks = new()
    {
        ["empty campaign id"] = ("campaign_id", d => d with { CampaignId = "" }),
        ["campaign id with a slash"] = ("campaign_id", d => d with { CampaignId = "golden/week" }),
        ["campaign id with a space"] = ("campaign_id", d => d with { CampaignId = "golden week" }),
        ["campaign id of 65 characters"] = ("campaign_id", d => d with { CampaignId = new string('c', 65) }),
        ["blank name"] = ("name", d => d with { Name = "   " }),
        ["name of 201 characters"] = ("name", d => d with { Name = new string('n', 201) }),
        ["zero face value"] = ("face_value_cents", d => d with { Terms = d.Terms with { FaceValueCents = 0 } }),
        ["percent off of 100"] = ("percent_off", d => d with { Terms = new VoucherTerms(DiscountKind.PercentOff, 0, 0, 100, 0, 1000) }),
        ["zero stock"] = ("total_stock", d => d with { TotalStock = 0 }),
        ["stock above the maximum"] = ("total_stock", d => d with { TotalStock = CampaignDefinition.MaxStock + 1L }),
        ["negative budget"] = ("budget_cents", d => d with { BudgetCents = -1 }),
        ["budget below one voucher's liability"] = ("budget_cents", d => d with { BudgetCents = 499 }),
        ["per-user limit of 0"] = ("per_user_limit", d => d with { PerUserLimit = 0 }),
        ["negative per-user daily limit"] = ("per_user_daily_limit", d => d with { PerUserDailyLimit = -1 }),
        ["no start"] = ("starts_at", d => d with { StartsAt = default }),
        ["end equal to start"] = ("ends_at", d => d with { EndsAt = d.StartsAt }),
        ["end before start"] = ("ends_at", d => d with { EndsAt = d.StartsAt.AddSeconds(-1) }),
        ["negative validity days"] = ("voucher_valid_days", d => d with { VoucherValidDays = -1 }),
        ["validity of 3661 days"] = ("voucher_valid_days", d => d with { VoucherValidDays = 3661 }),
        ["neither relative nor absolute validity"] = ("voucher_valid_days", d => d with { VoucherValidDays = 0, VoucherValidUntil = null }),
        ["valid until the start"] = ("voucher_valid_until", d => d with { VoucherValidUntil = d.StartsAt }),
        ["valid until a tick before the window ends"] = ("voucher_valid_until", d => d with { VoucherValidUntil = d.EndsAt.AddTicks(-1) }),
        ["valid from the end of validity"] = ("voucher_valid_from", d => d with { VoucherValidUntil = Start.AddDays(10), VoucherValidFrom = Start.AddDays(10) }),
        ["valid from after the end of validity"] = ("voucher_valid_from", d => d with { VoucherValidUntil = Start.AddDays(10), VoucherValidFrom = Start.AddDays(11) }),
        ["negative refund window"] = ("refund_window_days", d => d with { RefundWindowDays = -1 }),
        ["refund window of 366 days"] = ("refund_window_days", d => d with { RefundWindowDays = 366 }),
        ["blank district"] = ("districts", d => d with { Districts = ["huangpu", " "] }),
        ["district of 65 characters"] = ("districts", d => d with { Districts = [new string('d', 65)] }),
        ["repeated district"] = ("districts", d => d with { Districts = ["huangpu", "xuhui", "huangpu"] }),
        ["channel quota for a malformed channel id"] = ("channel_quotas", d => d with { ChannelQuotas = new Dictionary<string, long> { ["ali pay"] = 10 } }),
        ["zero channel quota"] = ("channel_quotas", d => d with { ChannelQuotas = new Dictionary<string, long> { ["alipay"] = 0 } }),
        ["channel quotas above the stock"] = ("channel_quotas", d => d with { ChannelQuotas = new Dictionary<string, long> { ["alipay"] = 600, ["meituan"] = 401 } }),
        ["zero shards"] = ("expected_peak_claims_per_second", d => d with { ShardCount = 0 }),
        ["65 shards"] = ("expected_peak_claims_per_second", d => d with { ShardCount = 65 }),
        ["negative partner cap"] = ("partner_cap_per_minute", d => d with { PartnerCapPerMinute = -1, PartnerCapMinutes = 5 }),
        ["partner cap below the shard count"] = ("partner_cap_per_minute", d => d with { ShardCount = 4, PartnerCapPerMinute = 3, PartnerCapMinutes = 5 }),
        ["partner cap above the maximum stock"] = ("partner_cap_per_minute", d => d with { PartnerCapPerMinute = CampaignDefinition.MaxStock + 1L, PartnerCapMinutes = 5 }),
        ["partner cap for no minutes"] = ("partner_cap_minutes", d => d with { PartnerCapPerMinute = 100, PartnerCapMinutes = 0 }),
        ["partner cap for 1441 minutes"] = ("partner_cap_minutes", d => d with { PartnerCapPerMinute = 100, PartnerCapMinutes = 1_441 }),
        ["partner cap minutes without a cap"] = ("partner_cap_minutes", d => d with { PartnerCapMinutes = 5 }),
        ["negative partner cap minutes without a cap"] = ("partner_cap_minutes", d => d with { PartnerCapMinutes = -1 }),
    };

    public static TheoryData<string> BrokenFields => [.. Breaks.Keys];

    /// <summary>Edge values that are still valid.</summary>
    private static readonly Dictionary<string, Func<CampaignDefinition, CampaignDefinition>> Edges = new()
    {
        ["campaign id of 64 characters"] = d => d with { CampaignId = new string('c', 64) },
        ["name of 200 characters"] = d => d with { Name = new string('n', 200) },
        ["stock at the maximum"] = d => d with { TotalStock = CampaignDefinition.MaxStock },
        ["budget of exactly one voucher"] = d => d with { BudgetCents = 500 },
        ["end one tick after start"] = d => d with { EndsAt = d.StartsAt.AddTicks(1) },
        ["validity of 3660 days"] = d => d with { VoucherValidDays = 3660 },
        ["absolute validity only, ending with the window"] = d => d with { VoucherValidDays = 0, VoucherValidUntil = d.EndsAt },
        ["valid from a day before the end of validity"] = d => d with { VoucherValidUntil = Start.AddDays(10), VoucherValidFrom = Start.AddDays(9) },
        ["no refund window"] = d => d with { RefundWindowDays = 0 },
        ["refund window of 365 days"] = d => d with { RefundWindowDays = 365 },
        ["any district"] = d => d with { Districts = [] },
        ["channel quotas adding up to the stock"] = d => d with { ChannelQuotas = new Dictionary<string, long> { ["alipay"] = 600, ["meituan"] = 400 } },
        ["no channel quotas"] = d => d with { ChannelQuotas = new Dictionary<string, long>() },
        ["one shard"] = d => d with { ShardCount = 1 },
        ["64 shards"] = d => d with { ShardCount = 64 },
        ["partner cap of one voucher a shard, for one minute"] = d => d with { ShardCount = 4, PartnerCapPerMinute = 4, PartnerCapMinutes = 1 },
        ["partner cap for a day of minutes"] = d => d with { PartnerCapPerMinute = 1_000, PartnerCapMinutes = 1_440 },
    };

    public static TheoryData<string> EdgeCases => [.. Edges.Keys];

    [Fact]
    public void The_reference_campaign_is_valid() => Campaign.Valid().Validate();

    [Theory]
    [MemberData(nameof(BrokenFields))]
    public void A_definition_with_one_broken_field_is_refused_naming_that_field(string broken)
    {
        var (field, breakIt) = Breaks[broken];
        var definition = breakIt(Campaign.Valid());

        Refused.InvalidField(field, definition.Validate);
    }

    [Theory]
    [MemberData(nameof(EdgeCases))]
    public void A_definition_at_the_edge_of_a_rule_is_accepted(string edge) => Edges[edge](Campaign.Valid()).Validate();

    // SameAs: an identical repeat of a create is idempotent.

    [Fact]
    public void A_repeat_differing_only_in_what_the_system_fills_in_is_the_same_campaign()
    {
        var first = Campaign.Valid();
        var repeat = Campaign.Valid() with { OrganiserId = "someone-else", ShardCount = 16, RequestId = "req-2" };

        Assert.True(first.SameAs(repeat));
        Assert.True(repeat.SameAs(first));
    }

    [Fact]
    public void A_repeat_listing_the_channel_quotas_in_another_order_is_the_same_campaign()
    {
        var repeat = Campaign.Valid() with { ChannelQuotas = new Dictionary<string, long> { ["meituan"] = 200, ["alipay"] = 100 } };

        Assert.True(Campaign.Valid().SameAs(repeat));
    }

    public static TheoryData<string> Differences => [.. DifferenceOf.Keys];

    private static readonly Dictionary<string, Func<CampaignDefinition, CampaignDefinition>> DifferenceOf = new()
    {
        ["campaign id"] = d => d with { CampaignId = "other" },
        ["name"] = d => d with { Name = "Other" },
        ["terms"] = d => d with { Terms = d.Terms with { FaceValueCents = 600 } },
        ["stock"] = d => d with { TotalStock = 1001 },
        ["budget"] = d => d with { BudgetCents = 100_000 },
        ["per-user limit"] = d => d with { PerUserLimit = 2 },
        ["daily limit"] = d => d with { PerUserDailyLimit = 1 },
        ["start"] = d => d with { StartsAt = d.StartsAt.AddSeconds(1) },
        ["end"] = d => d with { EndsAt = d.EndsAt.AddSeconds(1) },
        ["valid days"] = d => d with { VoucherValidDays = 31 },
        ["valid until"] = d => d with { VoucherValidUntil = Start.AddDays(20) },
        ["valid from"] = d => d with { VoucherValidFrom = Start.AddDays(1) },
        ["refund window"] = d => d with { RefundWindowDays = 3 },
        ["a district fewer"] = d => d with { Districts = ["huangpu"] },
        ["another district"] = d => d with { Districts = ["huangpu", "jingan"] },
        ["a quota value"] = d => d with { ChannelQuotas = new Dictionary<string, long> { ["alipay"] = 100, ["meituan"] = 201 } },
        ["a quota more"] = d => d with { ChannelQuotas = new Dictionary<string, long> { ["alipay"] = 100, ["meituan"] = 200, ["jd"] = 1 } },
        ["a quota fewer"] = d => d with { ChannelQuotas = new Dictionary<string, long> { ["alipay"] = 100 } },
        ["a quota for another channel"] = d => d with { ChannelQuotas = new Dictionary<string, long> { ["alipay"] = 100, ["jd"] = 200 } },
        ["a partner cap"] = d => d with { PartnerCapPerMinute = 100, PartnerCapMinutes = 5 },
        ["partner cap minutes"] = d => d with { PartnerCapMinutes = 5 },
    };

    [Theory]
    [MemberData(nameof(Differences))]
    public void A_repeat_with_a_different_definition_is_not_the_same_campaign(string difference)
    {
        var other = DifferenceOf[difference](Campaign.Valid());

        Assert.False(Campaign.Valid().SameAs(other));
        Assert.False(other.SameAs(Campaign.Valid()));
    }

    // Validity of the vouchers a campaign issues.

    private static readonly DateTimeOffset Received = new(2026, 11, 2, 9, 30, 0, TimeSpan.Zero);

    [Fact]
    public void A_voucher_valid_30_days_received_on_2_November_is_valid_until_2_December() =>
        Assert.Equal(Received.AddDays(30), Campaign.Valid().VoucherValidityEnd(Received));

    [Fact]
    public void A_voucher_with_only_an_absolute_end_is_valid_until_it() =>
        Assert.Equal(Start.AddDays(20), (Campaign.Valid() with { VoucherValidDays = 0, VoucherValidUntil = Start.AddDays(20) }).VoucherValidityEnd(Received));

    [Fact]
    public void An_absolute_end_earlier_than_the_relative_one_wins() =>
        Assert.Equal(Received.AddDays(10), (Campaign.Valid() with { VoucherValidUntil = Received.AddDays(10) }).VoucherValidityEnd(Received));

    [Fact]
    public void A_relative_end_earlier_than_the_absolute_one_wins() =>
        Assert.Equal(Received.AddDays(30), (Campaign.Valid() with { VoucherValidUntil = Received.AddDays(40) }).VoucherValidityEnd(Received));

    [Fact]
    public void A_voucher_without_a_valid_from_is_redeemable_from_receipt() =>
        Assert.Equal(Received, Campaign.Valid().VoucherValidityStart(Received));

    [Fact]
    public void A_voucher_received_before_the_campaigns_valid_from_is_redeemable_from_valid_from()
    {
        var from = Received.AddDays(3);
        Assert.Equal(from, (Campaign.Valid() with { VoucherValidFrom = from }).VoucherValidityStart(Received));
    }

    [Fact]
    public void A_voucher_received_after_the_campaigns_valid_from_is_redeemable_from_receipt() =>
        Assert.Equal(Received, (Campaign.Valid() with { VoucherValidFrom = Received.AddDays(-1) }).VoucherValidityStart(Received));

    // Shards for an expected peak.

    [Theory]
    [InlineData(0, 4)]
    [InlineData(-10, 4)]
    [InlineData(1, 1)]
    [InlineData(2_500, 1)]
    [InlineData(2_501, 2)]
    [InlineData(10_000, 4)]
    [InlineData(50_000, 20)]
    [InlineData(160_000, 64)]
    [InlineData(160_001, 64)]
    [InlineData(1_000_000, 64)]
    public void Shards_follow_the_expected_peak_at_2500_claims_a_second_each_up_to_64(int peak, int shards) =>
        Assert.Equal(shards, CampaignDefinition.ShardsFor(peak));

    [Theory]
    [InlineData(int.MaxValue)]
    [InlineData(int.MaxValue - 2_498)]
    public void The_largest_expected_peaks_get_the_most_shards_not_the_fewest(int peak) =>
        Assert.Equal(CampaignDefinition.MaxShards, CampaignDefinition.ShardsFor(peak));
}
