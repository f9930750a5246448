using Campaigns.Client;
using Campaigns.Proto;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace Campaigns.Tests.EndToEnd;

/// <summary>Why a till's call is refused, and that a refused call changes neither voucher nor settlement.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class RedemptionRefusalTests(SiloFixture silo)
{
    private const StatusCode Precondition = StatusCode.FailedPrecondition;

    [Fact]
    public async Task A_second_order_on_a_redeemed_voucher_is_VOUCHER_ALREADY_REDEEMED()
    {
        var (_, voucher, merchantId, merchant) = await silo.RedeemableVoucherAsync();
        await merchant.RedeemVoucherAsync(voucher.Code, merchantId, "order-1", 20_000);

        await Expect.RefusedAsync(Precondition, "VOUCHER_ALREADY_REDEEMED", () => merchant.RedeemVoucherAsync(voucher.Code, merchantId, "order-2", 20_000));
        await Expect.RefusedAsync(Precondition, "VOUCHER_ALREADY_REDEEMED", () => merchant.ReserveVoucherAsync(voucher.Code, merchantId, "order-3", 20_000));
        await Expect.RefusedAsync(Precondition, "VOUCHER_ALREADY_REDEEMED", () => merchant.CancelReservationAsync(voucher.Code, merchantId, "order-1"));

        var settlement = await merchant.SettlementAsync(merchantId);
        Assert.Equal(1, settlement.Redemptions);
        Assert.Equal(2_000, settlement.NetSubsidyCents);
        Assert.Equal("order-1", (await silo.Partner.GetVoucherAsync(voucher.Code)).OrderId);
    }

    [Fact]
    public async Task A_voucher_held_for_one_order_is_VOUCHER_RESERVED_for_another()
    {
        var (campaign, voucher, merchantId, merchant) = await silo.RedeemableVoucherAsync();
        var (otherId, other) = await silo.NewMerchantAsync();
        await other.Merchants.JoinCampaignAsync(new JoinCampaignRequest { CampaignId = campaign.CampaignId, MerchantId = otherId });
        await merchant.ReserveVoucherAsync(voucher.Code, merchantId, "order-held", 20_000);

        await Expect.RefusedAsync(Precondition, "VOUCHER_RESERVED", () => merchant.RedeemVoucherAsync(voucher.Code, merchantId, "order-other", 20_000));
        await Expect.RefusedAsync(Precondition, "VOUCHER_RESERVED", () => other.ReserveVoucherAsync(voucher.Code, otherId, "order-elsewhere", 20_000));

        var held = await silo.Partner.GetVoucherAsync(voucher.Code);
        Assert.Equal(VoucherStatus.Reserved, held.Status);
        Assert.Equal("order-held", held.OrderId);
        Assert.Equal(merchantId, held.MerchantId);
        Assert.NotNull(held.ReservedUntil);
    }

    [Fact]
    public async Task A_voucher_past_its_validity_is_VOUCHER_EXPIRED()
    {
        var (campaign, voucher, merchantId, merchant) = await silo.RedeemableVoucherAsync(r => r.VoucherValidDays = 1);
        Assert.Equal(voucher.IssuedAt.ToDateTimeOffset().AddDays(1), voucher.ValidUntil.ToDateTimeOffset());

        silo.Clock.Advance(TimeSpan.FromDays(1) + TimeSpan.FromMinutes(1));
        await Expect.RefusedAsync(Precondition, "VOUCHER_EXPIRED", () => merchant.RedeemVoucherAsync(voucher.Code, merchantId, "order-late", 20_000));
        await Expect.RefusedAsync(Precondition, "VOUCHER_EXPIRED", () => merchant.ReserveVoucherAsync(voucher.Code, merchantId, "order-late", 20_000));

        Assert.Equal(VoucherStatus.Expired, (await silo.Partner.GetVoucherAsync(voucher.Code)).Status);
        var stats = await silo.StatsAsync(campaign.CampaignId);
        Assert.Equal(1, stats.Expired);
        Assert.Equal(0, stats.Redeemed);
    }

    [Fact]
    public async Task A_voucher_before_voucher_valid_from_is_VOUCHER_NOT_YET_VALID_then_redeemable()
    {
        var from = silo.Clock.GetUtcNow().AddHours(6);
        var (_, voucher, merchantId, merchant) = await silo.RedeemableVoucherAsync(r => r.VoucherValidFrom = Timestamp.FromDateTimeOffset(from));
        Assert.Equal(from.ToUnixTimeMilliseconds(), voucher.ValidFrom.ToDateTimeOffset().ToUnixTimeMilliseconds());

        await Expect.RefusedAsync(Precondition, "VOUCHER_NOT_YET_VALID", () => merchant.RedeemVoucherAsync(voucher.Code, merchantId, "order-early", 20_000));
        Assert.Equal(VoucherStatus.Issued, (await silo.Partner.GetVoucherAsync(voucher.Code)).Status);

        silo.Clock.Advance(TimeSpan.FromHours(6));
        var redemption = await merchant.RedeemVoucherAsync(voucher.Code, merchantId, "order-on-time", 20_000);
        Assert.Equal(2_000, redemption.DiscountCents);
    }

    [Fact]
    public async Task Refunding_an_order_that_never_redeemed_is_VOUCHER_NOT_REDEEMED()
    {
        var (_, voucher, merchantId, merchant) = await silo.RedeemableVoucherAsync();
        await Expect.RefusedAsync(Precondition, "VOUCHER_NOT_REDEEMED", () => merchant.RefundRedemptionAsync(voucher.Code, merchantId, "order-1", "refund-1"));

        await merchant.RedeemVoucherAsync(voucher.Code, merchantId, "order-1", 20_000);
        await Expect.RefusedAsync(Precondition, "VOUCHER_NOT_REDEEMED", () => merchant.RefundRedemptionAsync(voucher.Code, merchantId, "order-other", "refund-2"));
        Assert.Equal(VoucherStatus.Redeemed, (await silo.Partner.GetVoucherAsync(voucher.Code)).Status);
        Assert.Equal(0, (await merchant.SettlementAsync(merchantId)).Refunds);
    }

    [Fact]
    public async Task A_till_repeating_the_redeem_of_a_refunded_order_is_told_ORDER_REFUNDED_not_handed_the_old_receipt()
    {
        var (_, voucher, merchantId, merchant) = await silo.RedeemableVoucherAsync();
        var first = await merchant.RedeemVoucherAsync(voucher.Code, merchantId, "order-1", 20_000);
        Assert.False(first.Replayed);
        var repeat = await merchant.RedeemVoucherAsync(voucher.Code, merchantId, "order-1", 20_000);
        Assert.True(repeat.Replayed, "a repeat of a live redemption says it is a replay");
        Assert.Equal(first.RedeemedAt, repeat.RedeemedAt);
        await merchant.RefundRedemptionAsync(voucher.Code, merchantId, "order-1", "refund-1");

        // The discount of order-1 has been reversed: no call may answer as if it still stood.
        var redeem = await Expect.RefusedAsync(Precondition, "ORDER_REFUNDED", () => merchant.RedeemVoucherAsync(voucher.Code, merchantId, "order-1", 20_000));
        Assert.Contains("refund-1", redeem.ErrorMessage(), StringComparison.Ordinal);
        await Expect.RefusedAsync(Precondition, "ORDER_REFUNDED", () => merchant.ConfirmRedemptionAsync(voucher.Code, merchantId, "order-1"));
        await Expect.RefusedAsync(Precondition, "ORDER_REFUNDED", () => merchant.ReserveVoucherAsync(voucher.Code, merchantId, "order-1", 20_000));

        Assert.Equal(VoucherStatus.Issued, (await silo.Partner.GetVoucherAsync(voucher.Code)).Status);
        var settlement = await merchant.SettlementAsync(merchantId);
        Assert.Equal((1, 1, 0L), (settlement.Redemptions, settlement.Refunds, settlement.NetSubsidyCents));
    }

    [Fact]
    public async Task A_second_refund_of_a_refunded_order_with_a_new_refund_id_is_ORDER_REFUNDED()
    {
        var (_, voucher, merchantId, merchant) = await silo.RedeemableVoucherAsync();
        await merchant.RedeemVoucherAsync(voucher.Code, merchantId, "order-1", 20_000);
        await merchant.RefundRedemptionAsync(voucher.Code, merchantId, "order-1", "refund-1");

        var error = await Expect.RefusedAsync(Precondition, "ORDER_REFUNDED", () => merchant.RefundRedemptionAsync(voucher.Code, merchantId, "order-1", "refund-2"));
        Assert.Contains("already refunded", error.ErrorMessage(), StringComparison.Ordinal);

        // Also once the voucher has been spent again by another order.
        await merchant.RedeemVoucherAsync(voucher.Code, merchantId, "order-2", 20_000);
        await Expect.RefusedAsync(Precondition, "ORDER_REFUNDED", () => merchant.RefundRedemptionAsync(voucher.Code, merchantId, "order-1", "refund-3"));
        var settlement = await merchant.SettlementAsync(merchantId);
        Assert.Equal((2, 1, 2_000L), (settlement.Redemptions, settlement.Refunds, settlement.NetSubsidyCents));
    }

    [Fact]
    public async Task A_refund_after_refund_window_days_is_REFUND_WINDOW_CLOSED()
    {
        var (campaign, voucher, merchantId, merchant) = await silo.RedeemableVoucherAsync(r => r.RefundWindowDays = 1);
        await merchant.RedeemVoucherAsync(voucher.Code, merchantId, "order-1", 25_000);

        silo.Clock.Advance(TimeSpan.FromDays(1) + TimeSpan.FromSeconds(1));
        await Expect.RefusedAsync(Precondition, "REFUND_WINDOW_CLOSED", () => merchant.RefundRedemptionAsync(voucher.Code, merchantId, "order-1", "refund-late"));

        Assert.Equal(VoucherStatus.Redeemed, (await silo.Partner.GetVoucherAsync(voucher.Code)).Status);
        var settlement = await merchant.SettlementAsync(merchantId, campaign.CampaignId);
        Assert.Equal((1, 0, 2_000L), (settlement.Redemptions, settlement.Refunds, settlement.NetSubsidyCents));
    }

    [Fact]
    public async Task A_merchant_not_in_the_campaign_is_MERCHANT_NOT_ENROLLED()
    {
        var campaign = await silo.StartedCampaignAsync();
        var voucher = await silo.IssueAsync(campaign.CampaignId, "user-wandering");
        var (merchantId, merchant) = await silo.NewMerchantAsync();

        await Expect.RefusedAsync(Precondition, "MERCHANT_NOT_ENROLLED", () => merchant.RedeemVoucherAsync(voucher.Code, merchantId, "order-1", 20_000));
        await Expect.RefusedAsync(Precondition, "MERCHANT_NOT_ENROLLED", () => merchant.ReserveVoucherAsync(voucher.Code, merchantId, "order-1", 20_000));
        Assert.Equal(VoucherStatus.Issued, (await silo.Partner.GetVoucherAsync(voucher.Code)).Status);
        Assert.Equal(0, (await silo.StatsAsync(campaign.CampaignId)).Redeemed);
    }

    [Fact]
    public async Task District_rules_refuse_joining_and_redeeming_outside_with_MERCHANT_OUT_OF_DISTRICT()
    {
        var campaign = await silo.StartedCampaignAsync(r => r.Districts.AddRange(["Xuhui", "Jing'an"]));
        var (outsiderId, outsider) = await silo.NewMerchantAsync(district: "Pudong");
        await Expect.RefusedAsync(Precondition, "MERCHANT_OUT_OF_DISTRICT", () => outsider.Merchants.JoinCampaignAsync(
            new JoinCampaignRequest { CampaignId = campaign.CampaignId, MerchantId = outsiderId }));
        await Expect.RefusedAsync(Precondition, "MERCHANT_OUT_OF_DISTRICT", () => silo.Organiser.Admin.EnrollMerchantAsync(
            new EnrollMerchantRequest { CampaignId = campaign.CampaignId, MerchantId = outsiderId }));
        var profile = await outsider.Merchants.GetMerchantAsync(new GetMerchantRequest { MerchantId = outsiderId });
        Assert.Empty(profile.CampaignIds);

        // A Xuhui voucher is not spendable at a Jing'an shop, though both are in the campaign.
        var (jingAnId, jingAn) = await silo.NewMerchantAsync(district: "Jing'an");
        await jingAn.Merchants.JoinCampaignAsync(new JoinCampaignRequest { CampaignId = campaign.CampaignId, MerchantId = jingAnId });
        var xuhuiVoucher = await silo.IssueAsync(campaign.CampaignId, "user-xuhui", district: "Xuhui");
        Assert.Equal("Xuhui", xuhuiVoucher.District);
        await Expect.RefusedAsync(Precondition, "MERCHANT_OUT_OF_DISTRICT", () => jingAn.RedeemVoucherAsync(xuhuiVoucher.Code, jingAnId, "order-1", 20_000));
        Assert.Equal(VoucherStatus.Issued, (await silo.Partner.GetVoucherAsync(xuhuiVoucher.Code)).Status);

        // A voucher without a district is spendable in any of the campaign's districts.
        var anywhere = await silo.IssueAsync(campaign.CampaignId, "user-anywhere");
        Assert.Equal(2_000, (await jingAn.RedeemVoucherAsync(anywhere.Code, jingAnId, "order-2", 20_000)).DiscountCents);
    }

    [Fact]
    public async Task An_order_below_the_minimum_spend_is_MIN_SPEND_NOT_MET()
    {
        var (_, voucher, merchantId, merchant) = await silo.RedeemableVoucherAsync();
        var error = await Expect.RefusedAsync(Precondition, "MIN_SPEND_NOT_MET", () => merchant.RedeemVoucherAsync(voucher.Code, merchantId, "order-small", 9_999));
        Assert.Equal("the order of ¥99.99 (9999 cents) is below the voucher's minimum spend of ¥100.00 (10000 cents)", error.ErrorMessage());
        await Expect.RefusedAsync(Precondition, "MIN_SPEND_NOT_MET", () => merchant.ReserveVoucherAsync(voucher.Code, merchantId, "order-small", 9_999));
        Assert.Equal(VoucherStatus.Issued, (await silo.Partner.GetVoucherAsync(voucher.Code)).Status);

        Assert.Equal(8_000, (await merchant.RedeemVoucherAsync(voucher.Code, merchantId, "order-enough", 10_000)).PayableCents);
    }

    [Fact]
    public async Task An_order_id_reused_for_a_different_amount_is_IDEMPOTENCY_KEY_REUSED()
    {
        var (_, voucher, merchantId, merchant) = await silo.RedeemableVoucherAsync();
        var first = await merchant.RedeemVoucherAsync(voucher.Code, merchantId, "order-1", 20_000);

        await Expect.RefusedAsync(Precondition, "IDEMPOTENCY_KEY_REUSED", () => merchant.RedeemVoucherAsync(voucher.Code, merchantId, "order-1", 30_000));
        var retry = await merchant.RedeemVoucherAsync(voucher.Code, merchantId, "order-1", 20_000);
        Assert.Equal(new Redemption(first) { Replayed = true }, retry);

        // A refund id is one refund: reusing it for another order is refused too.
        await merchant.RefundRedemptionAsync(voucher.Code, merchantId, "order-1", "refund-1");
        await merchant.RedeemVoucherAsync(voucher.Code, merchantId, "order-2", 20_000);
        await Expect.RefusedAsync(Precondition, "IDEMPOTENCY_KEY_REUSED", () => merchant.RefundRedemptionAsync(voucher.Code, merchantId, "order-2", "refund-1"));

        var settlement = await merchant.SettlementAsync(merchantId);
        Assert.Equal((2, 1, 2_000L, 40_000L), (settlement.Redemptions, settlement.Refunds, settlement.NetSubsidyCents, settlement.OrderTotalCents));
    }

    [Fact]
    public async Task AddStock_with_a_reused_request_id_and_other_amounts_is_IDEMPOTENCY_KEY_REUSED()
    {
        var campaign = await silo.StartedCampaignAsync();
        var request = new AddStockRequest { CampaignId = campaign.CampaignId, RequestId = "top-up-1", AdditionalStock = 50 };
        Assert.Equal(150, (await silo.Organiser.Admin.AddStockAsync(request)).TotalStock);

        var changed = request.Clone();
        changed.AdditionalStock = 70;
        await Expect.RefusedAsync(Precondition, "IDEMPOTENCY_KEY_REUSED", () => silo.Organiser.Admin.AddStockAsync(changed));
        Assert.Equal(150, (await silo.GetCampaignAsync(campaign.CampaignId)).TotalStock);
    }

    [Fact]
    public async Task Lifecycle_moves_the_contract_forbids_are_INVALID_TRANSITION()
    {
        var campaign = await silo.CreatedCampaignAsync();
        await Expect.RefusedAsync(Precondition, "INVALID_TRANSITION", () => silo.PauseAsync(campaign.CampaignId));
        await Expect.RefusedAsync(Precondition, "INVALID_TRANSITION", () => silo.ResumeAsync(campaign.CampaignId));
        Assert.Equal(CampaignStatus.Draft, (await silo.GetCampaignAsync(campaign.CampaignId)).Status);

        await silo.EndAsync(campaign.CampaignId);
        await Expect.RefusedAsync(Precondition, "INVALID_TRANSITION",
            () => silo.Organiser.Admin.StartCampaignAsync(new CampaignActionRequest { CampaignId = campaign.CampaignId }));
        Assert.Equal(CampaignStatus.Ended, (await silo.GetCampaignAsync(campaign.CampaignId)).Status);
    }

    [Fact]
    public async Task Till_input_out_of_range_is_INVALID_ARGUMENT_naming_the_field()
    {
        var (_, voucher, merchantId, merchant) = await silo.RedeemableVoucherAsync();
        await Expect.InvalidAsync("order_amount_cents", () => merchant.RedeemVoucherAsync(voucher.Code, merchantId, "order-1", 0));
        await Expect.InvalidAsync("order_amount_cents", () => merchant.ReserveVoucherAsync(voucher.Code, merchantId, "order-1", -5));
        await Expect.InvalidAsync("hold_seconds", () => merchant.ReserveVoucherAsync(voucher.Code, merchantId, "order-1", 20_000, holdSeconds: 4_000));
        await Expect.InvalidAsync("order_id", () => merchant.Redemptions.RedeemVoucherAsync(
            new RedeemVoucherRequest { Code = voucher.Code, MerchantId = merchantId, OrderId = "", OrderAmountCents = 20_000 }));

        var unchanged = await silo.Partner.GetVoucherAsync(voucher.Code);
        Assert.Equal(VoucherStatus.Issued, unchanged.Status);
        Assert.Empty(unchanged.OrderId);
        Assert.Equal(0, (await merchant.SettlementAsync(merchantId)).Redemptions);
    }
}
