using Campaigns.Proto;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace Campaigns.Tests.EndToEnd;

/// <summary>
/// "A bad input never crashes a call or leaves partial state behind" (API.md, Errors), at the
/// edges of the wire types: timestamps protobuf cannot represent, and amounts near the int64 range.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class BadInputTests(SiloFixture silo)
{
    [Fact]
    public async Task A_timestamp_outside_the_protobuf_range_is_INVALID_ARGUMENT_naming_the_field_not_INTERNAL()
    {
        // Past 9999-12-31T23:59:59Z, and a negative nanos: both invalid google.protobuf.Timestamp values.
        var pastYear9999 = silo.Campaign(r => r.StartsAt = new Timestamp { Seconds = 253_402_300_800 });
        await Expect.InvalidAsync("starts_at", () => silo.Organiser.Admin.CreateCampaignAsync(pastYear9999));
        var negativeNanos = silo.Campaign(r => r.EndsAt = new Timestamp { Seconds = r.EndsAt.Seconds, Nanos = -1 });
        await Expect.InvalidAsync("ends_at", () => silo.Organiser.Admin.CreateCampaignAsync(negativeNanos));

        await Expect.RefusedAsync(StatusCode.NotFound, "CAMPAIGN_NOT_FOUND", () => silo.GetCampaignAsync(pastYear9999.CampaignId));
    }

    [Fact]
    public async Task Voucher_validity_running_past_the_end_of_time_is_INVALID_ARGUMENT_not_INTERNAL()
    {
        var endOfTime = silo.Campaign(r => r.VoucherValidFrom = Timestamp.FromDateTimeOffset(new DateTimeOffset(9999, 12, 31, 0, 0, 0, TimeSpan.Zero)));
        await Expect.InvalidAsync("voucher_valid", () => silo.Organiser.Admin.CreateCampaignAsync(endOfTime));
        await Expect.RefusedAsync(StatusCode.NotFound, "CAMPAIGN_NOT_FOUND", () => silo.GetCampaignAsync(endOfTime.CampaignId));
    }

    [Fact]
    public async Task Channel_quotas_adding_up_past_the_int64_range_are_INVALID_ARGUMENT_not_INTERNAL()
    {
        var quotas = silo.Campaign(r =>
        {
            r.ChannelQuotas[SiloFixture.PartnerId] = long.MaxValue;
            r.ChannelQuotas[SiloFixture.OtherPartnerId] = 2;
        });
        await Expect.InvalidAsync("channel_quotas", () => silo.Organiser.Admin.CreateCampaignAsync(quotas));
        await Expect.RefusedAsync(StatusCode.NotFound, "CAMPAIGN_NOT_FOUND", () => silo.GetCampaignAsync(quotas.CampaignId));
    }

    [Fact]
    public async Task AddStock_that_would_overflow_the_stock_is_INVALID_ARGUMENT_and_leaves_the_stock_alone()
    {
        var campaign = await silo.StartedCampaignAsync();
        await Expect.InvalidAsync("additional_stock", () => silo.Organiser.Admin.AddStockAsync(
            new AddStockRequest { CampaignId = campaign.CampaignId, RequestId = "fat-finger", AdditionalStock = long.MaxValue }));

        Assert.Equal(100, (await silo.GetCampaignAsync(campaign.CampaignId)).TotalStock);
        await silo.Partner.IssueVoucherAsync(campaign.CampaignId, "user-after-typo", "req-1");
    }

    [Fact]
    public async Task AddStock_that_would_overflow_the_budget_is_INVALID_ARGUMENT_and_keeps_the_budget_cap()
    {
        // ¥20 vouchers under a ¥40 cap: two vouchers, whatever the stock.
        var campaign = await silo.StartedCampaignAsync(r => (r.TotalStock, r.BudgetCents) = (10, 4_000));
        await Expect.InvalidAsync("additional_budget_cents", () => silo.Organiser.Admin.AddStockAsync(
            new AddStockRequest { CampaignId = campaign.CampaignId, RequestId = "fat-finger", AdditionalBudgetCents = long.MaxValue }));

        Assert.Equal(4_000, (await silo.GetCampaignAsync(campaign.CampaignId)).BudgetCents);
        await silo.IssueAsync(campaign.CampaignId, "user-1");
        await silo.IssueAsync(campaign.CampaignId, "user-2");
        await Expect.RefusedAsync(StatusCode.ResourceExhausted, "BUDGET_EXHAUSTED",
            () => silo.Partner.IssueVoucherAsync(campaign.CampaignId, "user-3", "req-3"));
    }
}
