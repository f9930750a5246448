using Campaigns.Client;
using Campaigns.Proto;
using Grpc.Core;

namespace Campaigns.Tests.EndToEnd;

/// <summary>The reconciliation export resumed with after_sequence, and its event type as an enum.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class ExportTests(SiloFixture silo)
{
    [Fact]
    public async Task An_export_resumed_after_a_sequence_sends_exactly_the_later_events_with_their_own_checksum()
    {
        var (campaign, voucher, merchantId, merchant) = await silo.RedeemableVoucherAsync();
        await merchant.RedeemVoucherAsync(voucher.Code, merchantId, "order-1", 20_000);
        await merchant.RefundRedemptionAsync(voucher.Code, merchantId, "order-1", "refund-1");
        var (all, whole) = await ExportAsync(campaign.CampaignId, 0);

        var (rest, resumed) = await ExportAsync(campaign.CampaignId, all[0].Sequence);
        var (none, nothing) = await ExportAsync(campaign.CampaignId, whole.LastSequence);

        Assert.Equal([RedemptionEventType.Redeemed, RedemptionEventType.Refunded], all.Select(e => e.Type));
        Assert.Equal(["REDEEMED", "REFUNDED"], all.Select(e => e.EventType));
        Assert.Equal(all[^1].Sequence, whole.LastSequence);
        Assert.Equal([all[1]], rest);
        Assert.Equal((1L, 0L, 1L, all[1].Sequence), (resumed.Events, resumed.Redemptions, resumed.Refunds, resumed.LastSequence));
        Assert.Equal(RedemptionEventCsv.Checksum([RedemptionEventCsv.Line(all[1])]), resumed.ChecksumSha256);
        Assert.Empty(none);
        Assert.Equal((0L, whole.LastSequence), (nothing.Events, nothing.LastSequence));

        // What happens next is what the next resume brings.
        var next = await silo.IssueAsync(campaign.CampaignId, Scenario.NewId("user"));
        await merchant.RedeemVoucherAsync(next.Code, merchantId, "order-2", 20_000);
        var (since, _) = await ExportAsync(campaign.CampaignId, whole.LastSequence);
        Assert.Equal(["order-2"], since.Select(e => e.OrderId));
    }

    [Fact]
    public async Task A_negative_after_sequence_is_INVALID_ARGUMENT_and_an_unknown_campaign_CAMPAIGN_NOT_FOUND()
    {
        var campaign = await silo.StartedCampaignAsync();

        await Expect.InvalidAsync("after_sequence", Expect.Drain(silo.Organiser.ExportRedemptionEventsAsync(campaign.CampaignId, -1)));
        await Expect.RefusedAsync(StatusCode.NotFound, "CAMPAIGN_NOT_FOUND",
            Expect.Drain(silo.Organiser.ExportRedemptionEventsAsync(Scenario.NewId("missing"), 5)));
    }

    private async Task<(List<RedemptionEvent> Events, ExportSummary Summary)> ExportAsync(string campaignId, long afterSequence)
    {
        var events = new List<RedemptionEvent>();
        ExportSummary? summary = null;
        await foreach (var record in silo.Organiser.ExportRedemptionEventsAsync(campaignId, afterSequence))
        {
            Assert.Null(summary);
            if (record.RecordCase == ExportRecord.RecordOneofCase.Event)
            {
                events.Add(record.Event);
            }
            else
            {
                summary = record.Summary;
            }
        }

        Assert.NotNull(summary);
        return (events, summary);
    }
}
