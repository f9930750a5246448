using Campaigns.Proto;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace Campaigns.Tests.EndToEnd;

/// <summary>
/// A definition means what it says: a zero is kept where the rules allow it and refused where
/// they do not, fields foreign to the discount kind are refused, and a campaign's status is
/// reported as it is at the time of asking. A refused definition leaves nothing behind.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class DefinitionAsWrittenTests(SiloFixture silo)
{
    [Fact]
    public async Task A_refund_window_of_0_days_is_kept_and_every_refund_is_REFUND_WINDOW_CLOSED()
    {
        var (campaign, voucher, merchantId, merchant) = await silo.RedeemableVoucherAsync(r => r.RefundWindowDays = 0);
        Assert.Equal(0, campaign.RefundWindowDays);
        await merchant.RedeemVoucherAsync(voucher.Code, merchantId, "order-1", 20_000);

        await Expect.RefusedAsync(StatusCode.FailedPrecondition, "REFUND_WINDOW_CLOSED",
            () => merchant.RefundRedemptionAsync(voucher.Code, merchantId, "order-1", "refund-1"));
        Assert.Equal(VoucherStatus.Redeemed, (await silo.Partner.GetVoucherAsync(voucher.Code)).Status);
    }

    [Fact]
    public async Task Unset_refund_window_and_per_user_limit_take_their_defaults_of_7_days_and_1()
    {
        var created = await silo.CreatedCampaignAsync(r =>
        {
            r.ClearRefundWindowDays();
            r.ClearPerUserLimit();
        });

        Assert.Equal((7, 1), (created.RefundWindowDays, created.PerUserLimit));
    }

    [Fact]
    public async Task A_per_user_limit_of_0_is_INVALID_ARGUMENT_not_silently_1()
    {
        var request = silo.Campaign(r => r.PerUserLimit = 0);

        await Expect.InvalidAsync("per_user_limit", () => silo.Organiser.Admin.CreateCampaignAsync(request));
        await Expect.RefusedAsync(StatusCode.NotFound, "CAMPAIGN_NOT_FOUND", () => silo.GetCampaignAsync(request.CampaignId));
    }

    public static TheoryData<string, DiscountKind, string> ForeignFields => new()
    {
        { "face_value_cents", DiscountKind.FoldPrice, "fold 3 with a face value" },
        { "percent_off", DiscountKind.FoldPrice, "fold 3 with a percentage" },
        { "percent_off", DiscountKind.AmountOff, "amount off with a percentage" },
        { "fold", DiscountKind.AmountOff, "amount off with a fold" },
        { "max_discount_cents", DiscountKind.AmountOff, "amount off with a cap" },
        { "face_value_cents", DiscountKind.PercentOff, "percent off with a face value" },
        { "fold", DiscountKind.PercentOff, "percent off with a fold" },
    };

    [Theory]
    [MemberData(nameof(ForeignFields))]
    public async Task A_field_that_does_not_belong_to_the_discount_kind_is_INVALID_ARGUMENT_naming_it(string field, DiscountKind kind, string scenario)
    {
        var request = silo.Campaign(r =>
        {
            (r.Kind, r.FaceValueCents, r.PercentOff, r.Fold, r.MaxDiscountCents) = kind switch
            {
                DiscountKind.AmountOff => (kind, 2_000, 0, 0, 0L),
                DiscountKind.PercentOff => (kind, 0, 15, 0, 5_000L),
                _ => (kind, 0, 0, 3, 5_000L),
            };
            switch (field)
            {
                case "face_value_cents": r.FaceValueCents = 2_000; break;
                case "percent_off": r.PercentOff = 20; break;
                case "fold": r.Fold = 3; break;
                default: r.MaxDiscountCents = 5_000; break;
            }
        });

        var error = await Expect.InvalidAsync(field, () => silo.Organiser.Admin.CreateCampaignAsync(request));
        Assert.False(string.IsNullOrEmpty(scenario));
        Assert.Contains(kind switch { DiscountKind.AmountOff => "AMOUNT_OFF", DiscountKind.PercentOff => "PERCENT_OFF", _ => "FOLD_PRICE" },
            error.Status.Detail, StringComparison.Ordinal);
        await Expect.RefusedAsync(StatusCode.NotFound, "CAMPAIGN_NOT_FOUND", () => silo.GetCampaignAsync(request.CampaignId));
    }

    [Fact]
    public async Task Starting_a_campaign_whose_window_has_passed_is_CAMPAIGN_ENDED_and_it_reads_ENDED()
    {
        var now = silo.Clock.GetUtcNow();
        var created = await silo.CreatedCampaignAsync(r =>
        {
            r.StartsAt = Timestamp.FromDateTimeOffset(now.AddDays(-3));
            r.EndsAt = Timestamp.FromDateTimeOffset(now.AddDays(-1));
        });

        Assert.Equal(CampaignStatus.Ended, created.Status);
        await Expect.RefusedAsync(StatusCode.FailedPrecondition, "CAMPAIGN_ENDED",
            () => silo.Organiser.Admin.StartCampaignAsync(new CampaignActionRequest { CampaignId = created.CampaignId }));
        Assert.Equal(CampaignStatus.Ended, (await silo.GetCampaignAsync(created.CampaignId)).Status);
    }

    [Fact]
    public async Task An_active_campaign_reads_ENDED_everywhere_once_its_window_has_passed()
    {
        var campaign = await silo.StartedCampaignAsync(r => r.EndsAt = Timestamp.FromDateTimeOffset(silo.Clock.GetUtcNow().AddHours(1)));
        Assert.Equal(CampaignStatus.Active, campaign.Status);

        silo.Clock.Advance(TimeSpan.FromHours(1));

        Assert.Equal(CampaignStatus.Ended, (await silo.GetCampaignAsync(campaign.CampaignId)).Status);
        Assert.Equal(CampaignStatus.Ended, (await silo.StatsAsync(campaign.CampaignId)).Status);
        var ended = await AllCampaignsAsync(CampaignStatus.Ended);
        Assert.Contains(campaign.CampaignId, ended.Select(c => c.CampaignId));
        Assert.Equal(CampaignStatus.Ended, ended.Single(c => c.CampaignId == campaign.CampaignId).Status);
        Assert.DoesNotContain(campaign.CampaignId, (await AllCampaignsAsync(CampaignStatus.Active)).Select(c => c.CampaignId));
        await Expect.RefusedAsync(StatusCode.FailedPrecondition, "CAMPAIGN_ENDED",
            () => silo.Organiser.Admin.ResumeCampaignAsync(new CampaignActionRequest { CampaignId = campaign.CampaignId }));
    }

    [Fact]
    public async Task Vouchers_that_would_expire_before_the_issuing_window_closes_are_INVALID_ARGUMENT()
    {
        // Valid until a minute after the start of an hour-long window: a voucher claimed in its
        // last 59 minutes would be expired on receipt.
        var now = silo.Clock.GetUtcNow();
        var request = silo.Campaign(r =>
        {
            r.StartsAt = Timestamp.FromDateTimeOffset(now);
            r.EndsAt = Timestamp.FromDateTimeOffset(now.AddHours(1));
            r.VoucherValidDays = 0;
            r.VoucherValidUntil = Timestamp.FromDateTimeOffset(now.AddMinutes(1));
        });

        await Expect.InvalidAsync("voucher_valid_until", () => silo.Organiser.Admin.CreateCampaignAsync(request));
        await Expect.RefusedAsync(StatusCode.NotFound, "CAMPAIGN_NOT_FOUND", () => silo.GetCampaignAsync(request.CampaignId));
    }

    private async Task<List<Campaign>> AllCampaignsAsync(CampaignStatus status)
    {
        var all = new List<Campaign>();
        var token = "";
        do
        {
            var page = await silo.Organiser.Admin.ListCampaignsAsync(new ListCampaignsRequest { Status = status, PageSize = 100, PageToken = token });
            all.AddRange(page.Campaigns);
            token = page.NextPageToken;
        }
        while (token.Length > 0);
        return all;
    }
}
