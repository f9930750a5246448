using Campaigns.Proto;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace Campaigns.Tests.EndToEnd;

/// <summary>Why a partner's claim is refused, and that a refused claim takes nothing.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class IssuanceRefusalTests(SiloFixture silo)
{
    [Fact]
    public async Task Claims_on_a_draft_or_paused_campaign_are_CAMPAIGN_NOT_ACTIVE()
    {
        var campaign = await silo.CreatedCampaignAsync();
        await Expect.RefusedAsync(StatusCode.FailedPrecondition, "CAMPAIGN_NOT_ACTIVE",
            () => silo.Partner.IssueVoucherAsync(campaign.CampaignId, "user-early", "req-draft"));

        await silo.Organiser.Admin.StartCampaignAsync(new CampaignActionRequest { CampaignId = campaign.CampaignId });
        await silo.PauseAsync(campaign.CampaignId);
        await Expect.RefusedAsync(StatusCode.FailedPrecondition, "CAMPAIGN_NOT_ACTIVE",
            () => silo.Partner.IssueVoucherAsync(campaign.CampaignId, "user-early", "req-paused"));
        Assert.Equal(0, (await silo.StatsAsync(campaign.CampaignId)).Issued);

        await silo.ResumeAsync(campaign.CampaignId);
        var issued = await silo.Partner.IssueVoucherAsync(campaign.CampaignId, "user-early", "req-resumed");
        Assert.False(issued.Replayed);
        Assert.Equal(1, (await silo.StatsAsync(campaign.CampaignId)).Issued);
    }

    [Fact]
    public async Task Claims_before_starts_at_are_CAMPAIGN_NOT_STARTED_until_the_clock_gets_there()
    {
        var now = silo.Clock.GetUtcNow();
        var campaign = await silo.StartedCampaignAsync(r => r.StartsAt = Timestamp.FromDateTimeOffset(now.AddHours(1)));
        Assert.Equal(CampaignStatus.Active, campaign.Status);

        await Expect.RefusedAsync(StatusCode.FailedPrecondition, "CAMPAIGN_NOT_STARTED",
            () => silo.Partner.IssueVoucherAsync(campaign.CampaignId, "user-eager", "req-too-early"));
        Assert.Equal(0, (await silo.StatsAsync(campaign.CampaignId)).Issued);

        silo.Clock.Advance(TimeSpan.FromHours(1));
        var issued = await silo.Partner.IssueVoucherAsync(campaign.CampaignId, "user-eager", "req-on-time");
        Assert.Equal(VoucherStatus.Issued, issued.Voucher.Status);
    }

    [Fact]
    public async Task Claims_after_EndCampaign_or_after_ends_at_are_CAMPAIGN_ENDED()
    {
        var ended = await silo.StartedCampaignAsync();
        var voucher = await silo.IssueAsync(ended.CampaignId, "user-before-end");
        await silo.EndAsync(ended.CampaignId);
        await Expect.RefusedAsync(StatusCode.FailedPrecondition, "CAMPAIGN_ENDED",
            () => silo.Partner.IssueVoucherAsync(ended.CampaignId, "user-after-end", "req-after-end"));
        await Expect.RefusedAsync(StatusCode.FailedPrecondition, "CAMPAIGN_ENDED", () => silo.Organiser.Admin.AddStockAsync(
            new AddStockRequest { CampaignId = ended.CampaignId, RequestId = "top-up-late", AdditionalStock = 10 }));
        var stats = await silo.StatsAsync(ended.CampaignId);
        Assert.Equal(1, stats.Issued);
        Assert.Equal(100, stats.TotalStock);
        // Vouchers already issued stay what they were.
        Assert.Equal(VoucherStatus.Issued, (await silo.Partner.GetVoucherAsync(voucher.Code)).Status);

        var now = silo.Clock.GetUtcNow();
        var window = await silo.StartedCampaignAsync(r => r.EndsAt = Timestamp.FromDateTimeOffset(now.AddHours(2)));
        silo.Clock.Advance(TimeSpan.FromHours(2));
        await Expect.RefusedAsync(StatusCode.FailedPrecondition, "CAMPAIGN_ENDED",
            () => silo.Partner.IssueVoucherAsync(window.CampaignId, "user-late", "req-late"));
    }

    [Fact]
    public async Task A_claim_past_the_stock_is_SOLD_OUT_yet_a_retry_of_an_earlier_claim_still_gets_its_voucher()
    {
        var campaign = await silo.StartedCampaignAsync(r => r.TotalStock = 3);
        var first = await silo.Partner.IssueVoucherAsync(campaign.CampaignId, "user-1", "req-1");
        await silo.IssueAsync(campaign.CampaignId, "user-2");
        await silo.IssueAsync(campaign.CampaignId, "user-3");

        await Expect.RefusedAsync(StatusCode.ResourceExhausted, "SOLD_OUT", () => silo.Partner.IssueVoucherAsync(campaign.CampaignId, "user-4", "req-4"));
        var retry = await silo.Partner.IssueVoucherAsync(campaign.CampaignId, "user-1", "req-1");
        Assert.True(retry.Replayed);
        Assert.Equal(first.Voucher.Code, retry.Voucher.Code);

        var stats = await silo.StatsAsync(campaign.CampaignId);
        Assert.Equal(3, stats.Issued);
        Assert.Equal(0, stats.Remaining);
    }

    [Fact]
    public async Task A_claim_whose_liability_would_pass_the_budget_is_BUDGET_EXHAUSTED()
    {
        // ¥20 vouchers, stock 10, but only ¥50 of budget: two vouchers.
        var campaign = await silo.StartedCampaignAsync(r => (r.TotalStock, r.BudgetCents) = (10, 5_000));
        await silo.IssueAsync(campaign.CampaignId, "user-1");
        await silo.IssueAsync(campaign.CampaignId, "user-2");

        await Expect.RefusedAsync(StatusCode.ResourceExhausted, "BUDGET_EXHAUSTED", () => silo.Partner.IssueVoucherAsync(campaign.CampaignId, "user-3", "req-3"));
        var stats = await silo.StatsAsync(campaign.CampaignId);
        Assert.Equal(2, stats.Issued);
        Assert.Equal(4_000, stats.IssuedLiabilityCents);
        Assert.Equal(5_000, stats.BudgetCents);
    }

    [Fact]
    public async Task A_user_past_per_user_limit_is_USER_LIMIT_REACHED()
    {
        var campaign = await silo.StartedCampaignAsync(r => r.PerUserLimit = 2);
        await silo.IssueAsync(campaign.CampaignId, "user-greedy");
        await silo.IssueAsync(campaign.CampaignId, "user-greedy");

        await Expect.RefusedAsync(StatusCode.ResourceExhausted, "USER_LIMIT_REACHED",
            () => silo.Partner.IssueVoucherAsync(campaign.CampaignId, "user-greedy", "req-third"));
        // Another channel does not get around the limit: it is per user and campaign.
        await Expect.RefusedAsync(StatusCode.ResourceExhausted, "USER_LIMIT_REACHED",
            () => silo.OtherPartner.IssueVoucherAsync(campaign.CampaignId, "user-greedy", "req-third"));
        Assert.Equal(2, (await silo.StatsAsync(campaign.CampaignId)).Issued);
    }

    [Fact]
    public async Task A_user_past_the_daily_limit_is_USER_DAILY_LIMIT_REACHED_until_the_next_day_in_Shanghai()
    {
        var campaign = await silo.StartedCampaignAsync(r => (r.PerUserLimit, r.PerUserDailyLimit) = (5, 1));
        await silo.IssueAsync(campaign.CampaignId, "user-daily");
        await Expect.RefusedAsync(StatusCode.ResourceExhausted, "USER_DAILY_LIMIT_REACHED",
            () => silo.Partner.IssueVoucherAsync(campaign.CampaignId, "user-daily", "req-same-day"));
        Assert.Equal(1, (await silo.StatsAsync(campaign.CampaignId)).Issued);

        silo.AdvanceToNextShanghaiDay(after: TimeSpan.FromMinutes(1));
        var nextDay = await silo.Partner.IssueVoucherAsync(campaign.CampaignId, "user-daily", "req-next-day");
        Assert.False(nextDay.Replayed);
        await Expect.RefusedAsync(StatusCode.ResourceExhausted, "USER_DAILY_LIMIT_REACHED",
            () => silo.Partner.IssueVoucherAsync(campaign.CampaignId, "user-daily", "req-next-day-again"));
        Assert.Equal(2, (await silo.StatsAsync(campaign.CampaignId)).Issued);
    }

    [Fact]
    public async Task A_channel_without_a_quota_stops_at_the_shared_stock_with_CHANNEL_QUOTA_EXHAUSTED()
    {
        // Three vouchers: two reserved for the other partner, one shared.
        var campaign = await silo.StartedCampaignAsync(r => { r.TotalStock = 3; r.ChannelQuotas[SiloFixture.OtherPartnerId] = 2; });
        await silo.IssueAsync(campaign.CampaignId, "user-a1");

        await Expect.RefusedAsync(StatusCode.ResourceExhausted, "CHANNEL_QUOTA_EXHAUSTED",
            () => silo.Partner.IssueVoucherAsync(campaign.CampaignId, "user-a2", "req-a2"));

        // The quota holder still gets its reserved stock, then the campaign is sold out for it.
        await silo.OtherPartner.IssueVoucherAsync(campaign.CampaignId, "user-b1", "req-b1");
        await silo.OtherPartner.IssueVoucherAsync(campaign.CampaignId, "user-b2", "req-b2");
        await Expect.RefusedAsync(StatusCode.ResourceExhausted, "SOLD_OUT",
            () => silo.OtherPartner.IssueVoucherAsync(campaign.CampaignId, "user-b3", "req-b3"));

        var stats = await silo.StatsAsync(campaign.CampaignId);
        Assert.Equal(3, stats.Issued);
        Assert.Equal(1, stats.ByChannel[SiloFixture.PartnerId].Issued);
        Assert.Equal(2, stats.ByChannel[SiloFixture.OtherPartnerId].Issued);
        Assert.Equal(2, stats.ByChannel[SiloFixture.OtherPartnerId].Quota);
    }

    [Fact]
    public async Task A_request_id_is_its_user_s_and_repeated_for_another_district_is_IDEMPOTENCY_KEY_REUSED()
    {
        var campaign = await silo.StartedCampaignAsync();
        var first = await silo.Partner.IssueVoucherAsync(campaign.CampaignId, "user-alice", "req-shared");

        await Expect.RefusedAsync(StatusCode.FailedPrecondition, "IDEMPOTENCY_KEY_REUSED",
            () => silo.Partner.IssueVoucherAsync(campaign.CampaignId, "user-alice", "req-shared", district: "xuhui"));
        var bobs = await silo.Partner.IssueVoucherAsync(campaign.CampaignId, "user-bob", "req-shared");

        Assert.False(bobs.Replayed);
        Assert.Equal("user-bob", bobs.Voucher.UserId);
        Assert.NotEqual(first.Voucher.Code, bobs.Voucher.Code);
        Assert.Equal(2, (await silo.StatsAsync(campaign.CampaignId)).Issued);
        Assert.Equal("user-alice", (await silo.Partner.GetVoucherAsync(first.Voucher.Code)).UserId);
        Assert.Equal("", (await silo.Partner.GetVoucherAsync(first.Voucher.Code)).District);
    }

    [Fact]
    public async Task Issuing_with_bad_input_is_INVALID_ARGUMENT_naming_the_field_and_issues_nothing()
    {
        var campaign = await silo.StartedCampaignAsync(r => r.Districts.Add("Xuhui"));

        await Expect.InvalidAsync("user_id", () => silo.Partner.IssueVoucherAsync(campaign.CampaignId, "", "req-no-user"));
        await Expect.InvalidAsync("district", () => silo.Partner.IssueVoucherAsync(campaign.CampaignId, "user-1", "req-1", district: "Atlantis"));
        await Expect.InvalidAsync("items", () => silo.Partner.Vouchers.IssueVouchersAsync(new IssueVouchersRequest { CampaignId = campaign.CampaignId }));
        var tooMany = new IssueVouchersRequest { CampaignId = campaign.CampaignId };
        tooMany.Items.AddRange(Enumerable.Range(0, 1_001).Select(i => new IssueVouchersItem { UserId = $"user-{i}", RequestId = $"req-{i}" }));
        await Expect.InvalidAsync("items", () => silo.Partner.Vouchers.IssueVouchersAsync(tooMany));
        await Expect.InvalidAsync("user_id", () => silo.Partner.Vouchers.ListUserVouchersAsync(new ListUserVouchersRequest { UserId = "" }));

        var stats = await silo.StatsAsync(campaign.CampaignId);
        Assert.Equal(0, stats.Issued);
        Assert.Equal(100, stats.Remaining);
    }
}
