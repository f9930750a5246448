using Campaigns.Grains.Campaigns;
using Campaigns.Grains.Common;
using Campaigns.Grains.Ledger;
using Campaigns.Grains.Merchants;
using Campaigns.Grains.Redemption;

namespace Campaigns.Tests.Rules;

/// <summary>
/// The voucher state machine with explicit times. Each test keeps the ledger's event list as the
/// grain would: a step's event is appended when it has one.
/// </summary>
public sealed class VoucherRedemptionTests
{
    private const string CampaignId = "golden-week";
    private const int Hold = 300;
    private const int RefundWindowDays = 7;

    // 10:00 in Shanghai on 2 November 2026; the voucher is valid for 30 days from 1 November.
    private static readonly DateTimeOffset Now = new(2026, 11, 2, 10, 0, 0, TimeSpan.FromHours(8));
    private static readonly DateTimeOffset ValidFrom = new(2026, 11, 1, 0, 0, 0, TimeSpan.FromHours(8));
    private static readonly DateTimeOffset ValidUntil = ValidFrom.AddDays(30);

    private static readonly MerchantProfile NoodleBar = Merchant("noodle-bar", "huangpu");
    private static readonly MerchantProfile TeaHouse = Merchant("tea-house", "huangpu");

    private readonly List<RedemptionEventRecord> _events = [];

    /// <summary>¥5 off an order of at least ¥20, usable in any district.</summary>
    private static VoucherRecord Issued(string district = "") => new()
    {
        Code = "7K3M9Q2XH4T8V6W1N5P0R2ZA",
        CampaignId = CampaignId,
        CampaignNumber = 1,
        Shard = 3,
        Seq = 1,
        UserId = "user-1",
        Channel = "alipay",
        RequestId = "claim-1",
        District = district,
        Status = StoredVoucherStatus.Issued,
        Version = 1,
        Terms = new VoucherTerms(DiscountKind.AmountOff, 500, 2000, 0, 0, 0),
        ValidFrom = ValidFrom,
        ValidUntil = ValidUntil,
        IssuedAt = ValidFrom,
        Pool = "",
        IssuedDay = new DateOnly(2026, 11, 1),
    };

    private static MerchantProfile Merchant(string id, string district, bool enrolled = true) => new()
    {
        MerchantId = id,
        Name = id,
        District = district,
        Category = "food",
        RegisteredAt = ValidFrom.AddDays(-10),
        Enrollments = enrolled ? new Dictionary<string, DateTimeOffset> { [CampaignId] = ValidFrom } : new Dictionary<string, DateTimeOffset>(),
    };

    /// <summary>Applies a step as the ledger would: the event is stored, the row replaced.</summary>
    private VoucherRecord Store(RedemptionStep step)
    {
        if (step.Event is { } e)
        {
            _events.Add(e);
        }

        return step.After;
    }

    private VoucherRecord Reserved(VoucherRecord v, string orderId, long amount = 3000, int hold = Hold, DateTimeOffset? at = null, MerchantProfile? merchant = null) =>
        Store(VoucherRedemption.Reserve(v, _events, merchant ?? NoodleBar, orderId, amount, hold, at ?? Now));

    private VoucherRecord Redeemed(VoucherRecord v, string orderId, long amount = 3000, DateTimeOffset? at = null, MerchantProfile? merchant = null) =>
        Store(VoucherRedemption.Redeem(v, _events, merchant ?? NoodleBar, orderId, amount, at ?? Now));

    private static void AssertNoChange(VoucherRecord before, RedemptionStep step)
    {
        Assert.Null(step.Event);
        Assert.False(step.Changes);
        Assert.Same(before, step.After);
    }

    // The happy paths

    [Fact]
    public void Reserving_a_voucher_for_an_order_of_3000_holds_it_for_that_order_and_quotes_500_off()
    {
        var v = Issued();

        var step = VoucherRedemption.Reserve(v, _events, NoodleBar, "order-1", 3000, Hold, Now);

        Assert.Equal(StoredVoucherStatus.Reserved, step.After.Status);
        Assert.Equal(v.Version + 1, step.After.Version);
        Assert.Equal("noodle-bar", step.After.MerchantId);
        Assert.Equal("order-1", step.After.OrderId);
        Assert.Equal(3000, step.After.OrderAmountCents);
        Assert.Equal(500, step.After.DiscountCents);
        Assert.Equal(Now.AddSeconds(Hold), step.After.ReservedUntil);
        Assert.Null(step.After.RedeemedAt);
        Assert.Equal(VoucherStatus.Reserved, VoucherRedemption.StatusAt(step.After, Now));
        var e = Assert.IsType<RedemptionEventRecord>(step.Event);
        Assert.Equal(RedemptionEventType.Reserved, e.Type);
        Assert.Equal((v.Code, CampaignId, "noodle-bar", "huangpu", "order-1", 3000L, 500L, Now),
            (e.Code, e.CampaignId, e.MerchantId, e.MerchantDistrict, e.OrderId, e.OrderAmountCents, e.DiscountCents, e.OccurredAt));
    }

    [Fact]
    public void Reserve_then_confirm_redeems_the_voucher_for_that_order()
    {
        var reserved = Reserved(Issued(), "order-1");
        var at = Now.AddSeconds(60);

        var step = VoucherRedemption.Confirm(reserved, _events, NoodleBar, "order-1", at);

        Assert.Equal(StoredVoucherStatus.Redeemed, step.After.Status);
        Assert.Equal(reserved.Version + 1, step.After.Version);
        Assert.Equal(at, step.After.RedeemedAt);
        Assert.Null(step.After.ReservedUntil);
        Assert.Equal(("noodle-bar", "order-1", 3000L, 500L), (step.After.MerchantId, step.After.OrderId, step.After.OrderAmountCents, step.After.DiscountCents));
        Assert.Equal(VoucherStatus.Redeemed, VoucherRedemption.StatusAt(step.After, at));
        var e = Assert.IsType<RedemptionEventRecord>(step.Event);
        Assert.Equal((RedemptionEventType.Redeemed, "order-1", 3000L, 500L, at), (e.Type, e.OrderId, e.OrderAmountCents, e.DiscountCents, e.OccurredAt));
    }

    [Fact]
    public void Reserve_then_cancel_returns_the_voucher_to_ISSUED_with_no_order_on_it()
    {
        var reserved = Reserved(Issued(), "order-1");
        var at = Now.AddSeconds(30);

        var step = VoucherRedemption.Cancel(reserved, _events, NoodleBar, "order-1", at);

        Assert.Equal(StoredVoucherStatus.Issued, step.After.Status);
        Assert.Equal(reserved.Version + 1, step.After.Version);
        Assert.Null(step.After.MerchantId);
        Assert.Null(step.After.OrderId);
        Assert.Null(step.After.ReservedUntil);
        Assert.Equal(0, step.After.OrderAmountCents);
        Assert.Equal(0, step.After.DiscountCents);
        Assert.Equal(VoucherStatus.Issued, VoucherRedemption.StatusAt(step.After, at));
        var e = Assert.IsType<RedemptionEventRecord>(step.Event);
        Assert.Equal((RedemptionEventType.Cancelled, "order-1", 0L), (e.Type, e.OrderId, e.DiscountCents));
    }

    [Fact]
    public void A_cancelled_voucher_can_be_redeemed_by_the_next_order()
    {
        var cancelled = Store(VoucherRedemption.Cancel(Reserved(Issued(), "order-1"), _events, NoodleBar, "order-1", Now));

        var redeemed = Redeemed(cancelled, "order-2", 2500, Now.AddMinutes(1));

        Assert.Equal(StoredVoucherStatus.Redeemed, redeemed.Status);
        Assert.Equal("order-2", redeemed.OrderId);
        Assert.Equal(4, redeemed.Version);
    }

    [Fact]
    public void Redeeming_in_one_step_at_the_till_redeems_the_voucher()
    {
        var v = Issued();

        var step = VoucherRedemption.Redeem(v, _events, NoodleBar, "order-1", 2000, Now);

        Assert.Equal(StoredVoucherStatus.Redeemed, step.After.Status);
        Assert.Equal(v.Version + 1, step.After.Version);
        Assert.Equal(("noodle-bar", "order-1", 2000L, 500L, Now), (step.After.MerchantId, step.After.OrderId, step.After.OrderAmountCents, step.After.DiscountCents, step.After.RedeemedAt));
        Assert.Null(step.After.ReservedUntil);
        var e = Assert.IsType<RedemptionEventRecord>(step.Event);
        Assert.Equal((RedemptionEventType.Redeemed, "order-1", 2000L, 500L), (e.Type, e.OrderId, e.OrderAmountCents, e.DiscountCents));
    }

    [Fact]
    public void Redeeming_in_one_step_an_order_the_till_reserved_first_confirms_the_hold()
    {
        var reserved = Reserved(Issued(), "order-1");

        var step = VoucherRedemption.Redeem(reserved, _events, NoodleBar, "order-1", 3000, Now.AddSeconds(10));

        Assert.Equal(StoredVoucherStatus.Redeemed, step.After.Status);
        Assert.Equal(reserved.Version + 1, step.After.Version);
        Assert.Equal(RedemptionEventType.Redeemed, step.Event?.Type);
    }

    [Fact]
    public void Redeeming_in_one_step_a_reserved_order_for_another_amount_is_IDEMPOTENCY_KEY_REUSED()
    {
        var reserved = Reserved(Issued(), "order-1");

        Refused.With(Refusal.IdempotencyKeyReused, () => VoucherRedemption.Redeem(reserved, _events, NoodleBar, "order-1", 3100, Now));
    }

    // Holds that lapse

    [Fact]
    public void A_hold_of_60_seconds_reads_as_RESERVED_until_it_lapses_then_as_ISSUED()
    {
        var reserved = Reserved(Issued(), "order-1", hold: 60);

        Assert.Equal(VoucherStatus.Reserved, VoucherRedemption.StatusAt(reserved, Now.AddSeconds(59)));
        Assert.Equal(VoucherStatus.Issued, VoucherRedemption.StatusAt(reserved, Now.AddSeconds(60)));
        Assert.Equal(VoucherStatus.Issued, VoucherRedemption.StatusAt(reserved, Now.AddHours(1)));
    }

    [Fact]
    public void Once_a_hold_lapses_another_order_can_reserve_the_voucher()
    {
        var reserved = Reserved(Issued(), "order-1", hold: 60);

        var step = VoucherRedemption.Reserve(reserved, _events, TeaHouse, "order-2", 5000, Hold, Now.AddSeconds(61));

        Assert.Equal(StoredVoucherStatus.Reserved, step.After.Status);
        Assert.Equal(("tea-house", "order-2", 5000L), (step.After.MerchantId, step.After.OrderId, step.After.OrderAmountCents));
        Assert.Equal(reserved.Version + 1, step.After.Version);
    }

    [Fact]
    public void Confirming_a_lapsed_hold_is_refused_with_RESERVATION_NOT_FOUND()
    {
        var reserved = Reserved(Issued(), "order-1", hold: 60);

        Refused.With(Refusal.ReservationNotFound, () => VoucherRedemption.Confirm(reserved, _events, NoodleBar, "order-1", Now.AddSeconds(60)));
        Refused.With(Refusal.ReservationNotFound, () => VoucherRedemption.Confirm(reserved, _events, NoodleBar, "order-1", Now.AddSeconds(61)));
    }

    [Fact]
    public void Confirming_a_lapsed_hold_after_another_order_took_the_voucher_is_refused_with_RESERVATION_NOT_FOUND()
    {
        var reserved = Reserved(Issued(), "order-1", hold: 60);
        var taken = Reserved(reserved, "order-2", at: Now.AddSeconds(90), merchant: TeaHouse);

        Refused.With(Refusal.ReservationNotFound, () => VoucherRedemption.Confirm(taken, _events, NoodleBar, "order-1", Now.AddSeconds(100)));
    }

    [Fact]
    public void Confirming_a_hold_a_second_before_it_lapses_redeems()
    {
        var reserved = Reserved(Issued(), "order-1", hold: 60);

        Assert.Equal(StoredVoucherStatus.Redeemed, VoucherRedemption.Confirm(reserved, _events, NoodleBar, "order-1", Now.AddSeconds(59)).After.Status);
    }

    [Fact]
    public void Cancelling_a_lapsed_hold_changes_nothing()
    {
        var reserved = Reserved(Issued(), "order-1", hold: 60);

        AssertNoChange(reserved, VoucherRedemption.Cancel(reserved, _events, NoodleBar, "order-1", Now.AddSeconds(61)));
    }

    [Fact]
    public void A_live_hold_is_honoured_even_if_the_voucher_expires_before_the_confirm()
    {
        var reserved = Reserved(Issued(), "order-1", at: ValidUntil.AddSeconds(-10));

        var step = VoucherRedemption.Confirm(reserved, _events, NoodleBar, "order-1", ValidUntil.AddSeconds(5));

        Assert.Equal(StoredVoucherStatus.Redeemed, step.After.Status);
    }

    [Fact]
    public void Retrying_a_reserve_after_the_voucher_expired_under_its_live_hold_replays_the_hold()
    {
        // The hold is honoured by Confirm (above); a retry of the same reserve must return the
        // first result too, not VOUCHER_EXPIRED.
        var reserved = Reserved(Issued(), "order-1", at: ValidUntil.AddSeconds(-10));

        AssertNoChange(reserved, VoucherRedemption.Reserve(reserved, _events, NoodleBar, "order-1", 3000, Hold, ValidUntil.AddSeconds(5)));
    }

    // Replays

    [Fact]
    public void Repeating_a_reserve_with_the_same_order_and_amount_changes_nothing()
    {
        var reserved = Reserved(Issued(), "order-1");

        AssertNoChange(reserved, VoucherRedemption.Reserve(reserved, _events, NoodleBar, "order-1", 3000, Hold, Now.AddSeconds(5)));
    }

    [Fact]
    public void Repeating_a_reserve_after_its_confirm_changes_nothing()
    {
        var redeemed = Store(VoucherRedemption.Confirm(Reserved(Issued(), "order-1"), _events, NoodleBar, "order-1", Now));

        AssertNoChange(redeemed, VoucherRedemption.Reserve(redeemed, _events, NoodleBar, "order-1", 3000, Hold, Now.AddSeconds(5)));
    }

    [Fact]
    public void Repeating_a_reserve_with_a_different_amount_is_refused_with_IDEMPOTENCY_KEY_REUSED()
    {
        var reserved = Reserved(Issued(), "order-1");

        Refused.With(Refusal.IdempotencyKeyReused, () => VoucherRedemption.Reserve(reserved, _events, NoodleBar, "order-1", 3001, Hold, Now.AddSeconds(5)));
    }

    [Fact]
    public void Repeating_a_confirm_changes_nothing()
    {
        var redeemed = Store(VoucherRedemption.Confirm(Reserved(Issued(), "order-1"), _events, NoodleBar, "order-1", Now));

        AssertNoChange(redeemed, VoucherRedemption.Confirm(redeemed, _events, NoodleBar, "order-1", Now.AddMinutes(10)));
    }

    [Fact]
    public void Repeating_a_one_step_redeem_with_the_same_order_and_amount_changes_nothing()
    {
        var redeemed = Redeemed(Issued(), "order-1");

        AssertNoChange(redeemed, VoucherRedemption.Redeem(redeemed, _events, NoodleBar, "order-1", 3000, Now.AddMinutes(10)));
    }

    [Fact]
    public void Repeating_a_one_step_redeem_with_a_different_amount_is_refused_with_IDEMPOTENCY_KEY_REUSED()
    {
        // API.md: "The same key with different parameters is rejected (IDEMPOTENCY_KEY_REUSED)".
        var redeemed = Redeemed(Issued(), "order-1");

        Refused.With(Refusal.IdempotencyKeyReused, () => VoucherRedemption.Redeem(redeemed, _events, NoodleBar, "order-1", 3500, Now.AddMinutes(10)));
    }

    [Fact]
    public void Repeating_a_cancel_changes_nothing()
    {
        var cancelled = Store(VoucherRedemption.Cancel(Reserved(Issued(), "order-1"), _events, NoodleBar, "order-1", Now));

        AssertNoChange(cancelled, VoucherRedemption.Cancel(cancelled, _events, NoodleBar, "order-1", Now.AddSeconds(5)));
    }

    [Fact]
    public void An_order_redeemed_and_refunded_cannot_be_confirmed_again_without_redeeming_the_voucher()
    {
        // The POS reuses the order id after a refund. Whatever the answer, a confirm that reports
        // success (the grain then answers with the old receipt) must leave the voucher REDEEMED;
        // otherwise the customer gets the discount and keeps a usable voucher.
        var refunded = Store(VoucherRedemption.Refund(Redeemed(Issued(), "order-1"), _events, NoodleBar, "order-1", "refund-1", RefundWindowDays, Now.AddHours(1)));

        RedemptionStep? confirmed = null;
        var refusal = Record.Exception(() =>
        {
            var reserved = Reserved(refunded, "order-1", at: Now.AddHours(2));
            confirmed = VoucherRedemption.Confirm(reserved, _events, NoodleBar, "order-1", Now.AddHours(2).AddSeconds(10));
        });

        if (refusal is null)
        {
            Assert.Equal(StoredVoucherStatus.Redeemed, confirmed!.After.Status);
        }
        else
        {
            Assert.IsType<CampaignsException>(refusal);
        }
    }

    // Refusals of reserve and redeem

    [Fact]
    public void A_voucher_held_for_another_order_is_refused_with_VOUCHER_RESERVED()
    {
        var reserved = Reserved(Issued(), "order-1");

        Refused.With(Refusal.VoucherReserved, () => VoucherRedemption.Reserve(reserved, _events, NoodleBar, "order-2", 3000, Hold, Now.AddSeconds(5)));
        Refused.With(Refusal.VoucherReserved, () => VoucherRedemption.Redeem(reserved, _events, NoodleBar, "order-2", 3000, Now.AddSeconds(5)));
        Refused.With(Refusal.VoucherReserved, () => VoucherRedemption.Reserve(reserved, _events, TeaHouse, "order-1", 3000, Hold, Now.AddSeconds(5)));
    }

    [Fact]
    public void A_voucher_redeemed_by_another_order_is_refused_with_VOUCHER_ALREADY_REDEEMED()
    {
        var redeemed = Redeemed(Issued(), "order-1");

        Refused.With(Refusal.VoucherAlreadyRedeemed, () => VoucherRedemption.Reserve(redeemed, _events, NoodleBar, "order-2", 3000, Hold, Now.AddSeconds(5)));
        Refused.With(Refusal.VoucherAlreadyRedeemed, () => VoucherRedemption.Redeem(redeemed, _events, TeaHouse, "order-2", 3000, Now.AddSeconds(5)));
    }

    [Fact]
    public void A_voucher_at_its_valid_until_is_refused_with_VOUCHER_EXPIRED()
    {
        var v = Issued();

        Assert.Equal(VoucherStatus.Expired, VoucherRedemption.StatusAt(v, ValidUntil));
        Refused.With(Refusal.VoucherExpired, () => VoucherRedemption.Reserve(v, _events, NoodleBar, "order-1", 3000, Hold, ValidUntil));
        Refused.With(Refusal.VoucherExpired, () => VoucherRedemption.Redeem(v, _events, NoodleBar, "order-1", 3000, ValidUntil.AddDays(1)));
    }

    [Fact]
    public void A_voucher_a_second_before_its_valid_until_is_redeemable() =>
        Assert.Equal(StoredVoucherStatus.Redeemed, Redeemed(Issued(), "order-1", at: ValidUntil.AddSeconds(-1)).Status);

    [Fact]
    public void A_voucher_before_its_valid_from_is_refused_with_VOUCHER_NOT_YET_VALID()
    {
        var v = Issued();

        Refused.With(Refusal.VoucherNotYetValid, () => VoucherRedemption.Reserve(v, _events, NoodleBar, "order-1", 3000, Hold, ValidFrom.AddSeconds(-1)));
        Refused.With(Refusal.VoucherNotYetValid, () => VoucherRedemption.Redeem(v, _events, NoodleBar, "order-1", 3000, ValidFrom.AddSeconds(-1)));
        Assert.Equal(StoredVoucherStatus.Redeemed, Redeemed(v, "order-1", at: ValidFrom).Status);
    }

    [Fact]
    public void A_merchant_not_enrolled_in_the_campaign_is_refused_with_MERCHANT_NOT_ENROLLED()
    {
        var outsider = Merchant("outsider", "huangpu", enrolled: false);

        Refused.With(Refusal.MerchantNotEnrolled, () => VoucherRedemption.Reserve(Issued(), _events, outsider, "order-1", 3000, Hold, Now));
        Refused.With(Refusal.MerchantNotEnrolled, () => VoucherRedemption.Redeem(Issued(), _events, outsider, "order-1", 3000, Now));
    }

    [Fact]
    public void A_voucher_for_xuhui_at_a_huangpu_merchant_is_refused_with_MERCHANT_OUT_OF_DISTRICT()
    {
        var v = Issued(district: "xuhui");

        Refused.With(Refusal.MerchantOutOfDistrict, () => VoucherRedemption.Reserve(v, _events, NoodleBar, "order-1", 3000, Hold, Now));
        Refused.With(Refusal.MerchantOutOfDistrict, () => VoucherRedemption.Redeem(v, _events, NoodleBar, "order-1", 3000, Now));
    }

    [Fact]
    public void A_voucher_for_huangpu_at_a_huangpu_merchant_is_redeemable() =>
        Assert.Equal(StoredVoucherStatus.Redeemed, Redeemed(Issued(district: "huangpu"), "order-1").Status);

    [Fact]
    public void A_voucher_for_any_district_is_redeemable_anywhere() =>
        Assert.Equal(StoredVoucherStatus.Redeemed, Redeemed(Issued(), "order-1", merchant: Merchant("far-away", "chongming")).Status);

    [Fact]
    public void An_order_below_the_min_spend_is_refused_with_MIN_SPEND_NOT_MET()
    {
        Refused.With(Refusal.MinSpendNotMet, () => VoucherRedemption.Reserve(Issued(), _events, NoodleBar, "order-1", 1999, Hold, Now));
        Refused.With(Refusal.MinSpendNotMet, () => VoucherRedemption.Redeem(Issued(), _events, NoodleBar, "order-1", 1999, Now));
    }

    [Fact]
    public void Confirming_a_hold_at_another_merchant_or_for_another_order_is_refused_with_RESERVATION_NOT_FOUND()
    {
        var reserved = Reserved(Issued(), "order-1");

        Refused.With(Refusal.ReservationNotFound, () => VoucherRedemption.Confirm(reserved, _events, TeaHouse, "order-1", Now));
        Refused.With(Refusal.ReservationNotFound, () => VoucherRedemption.Confirm(reserved, _events, NoodleBar, "order-2", Now));
        Refused.With(Refusal.ReservationNotFound, () => VoucherRedemption.Confirm(Issued(), _events, NoodleBar, "order-1", Now));
    }

    [Fact]
    public void Cancelling_another_orders_hold_is_refused_with_RESERVATION_NOT_FOUND()
    {
        var reserved = Reserved(Issued(), "order-1");

        Refused.With(Refusal.ReservationNotFound, () => VoucherRedemption.Cancel(reserved, _events, NoodleBar, "order-2", Now));
        Refused.With(Refusal.ReservationNotFound, () => VoucherRedemption.Cancel(reserved, _events, TeaHouse, "order-1", Now));
    }

    [Fact]
    public void Cancelling_a_redeemed_order_is_refused_with_VOUCHER_ALREADY_REDEEMED()
    {
        var redeemed = Redeemed(Issued(), "order-1");

        Refused.With(Refusal.VoucherAlreadyRedeemed, () => VoucherRedemption.Cancel(redeemed, _events, NoodleBar, "order-1", Now));
    }

    // Refunds

    [Fact]
    public void A_refund_a_second_inside_the_7_day_window_makes_the_voucher_ISSUED_again_and_reverses_the_500_discount()
    {
        var redeemed = Redeemed(Issued(), "order-1");
        var at = Now.AddDays(RefundWindowDays).AddSeconds(-1);

        var step = VoucherRedemption.Refund(redeemed, _events, NoodleBar, "order-1", "refund-1", RefundWindowDays, at);

        Assert.Equal(StoredVoucherStatus.Issued, step.After.Status);
        Assert.Equal(redeemed.Version + 1, step.After.Version);
        Assert.Null(step.After.OrderId);
        Assert.Null(step.After.MerchantId);
        Assert.Null(step.After.RedeemedAt);
        Assert.Equal(0, step.After.DiscountCents);
        Assert.Equal(VoucherStatus.Issued, VoucherRedemption.StatusAt(step.After, at));
        var e = Assert.IsType<RedemptionEventRecord>(step.Event);
        Assert.Equal((RedemptionEventType.Refunded, "refund-1", "order-1", "noodle-bar", 3000L, -500L, at),
            (e.Type, e.RefundId, e.OrderId, e.MerchantId, e.OrderAmountCents, e.DiscountCents, e.OccurredAt));
    }

    [Fact]
    public void A_refunded_voucher_can_be_redeemed_by_a_new_order()
    {
        var refunded = Store(VoucherRedemption.Refund(Redeemed(Issued(), "order-1"), _events, NoodleBar, "order-1", "refund-1", RefundWindowDays, Now.AddDays(1)));

        var again = Redeemed(refunded, "order-2", 4000, Now.AddDays(2), TeaHouse);

        Assert.Equal((StoredVoucherStatus.Redeemed, "order-2", 4L), (again.Status, again.OrderId, again.Version));
    }

    [Fact]
    public void A_refund_at_the_end_of_the_window_is_refused_with_REFUND_WINDOW_CLOSED()
    {
        var redeemed = Redeemed(Issued(), "order-1");

        Refused.With(Refusal.RefundWindowClosed,
            () => VoucherRedemption.Refund(redeemed, _events, NoodleBar, "order-1", "refund-1", RefundWindowDays, Now.AddDays(RefundWindowDays)));
        Refused.With(Refusal.RefundWindowClosed,
            () => VoucherRedemption.Refund(redeemed, _events, NoodleBar, "order-1", "refund-1", RefundWindowDays, Now.AddDays(30)));
    }

    [Fact]
    public void A_campaign_without_a_refund_window_refuses_every_refund_with_REFUND_WINDOW_CLOSED()
    {
        var redeemed = Redeemed(Issued(), "order-1");

        Refused.With(Refusal.RefundWindowClosed, () => VoucherRedemption.Refund(redeemed, _events, NoodleBar, "order-1", "refund-1", 0, Now));
    }

    [Fact]
    public void Refunding_a_voucher_not_redeemed_by_that_order_at_that_merchant_is_refused_with_VOUCHER_NOT_REDEEMED()
    {
        // Reserved first: once order-1 has redeemed the voucher, its key may not reserve it again.
        var reserved = Reserved(Issued(), "order-1");
        var redeemed = Redeemed(Issued(), "order-1");

        Refused.With(Refusal.VoucherNotRedeemed, () => VoucherRedemption.Refund(redeemed, _events, NoodleBar, "order-2", "refund-1", RefundWindowDays, Now));
        Refused.With(Refusal.VoucherNotRedeemed, () => VoucherRedemption.Refund(redeemed, _events, TeaHouse, "order-1", "refund-1", RefundWindowDays, Now));
        Refused.With(Refusal.VoucherNotRedeemed, () => VoucherRedemption.Refund(reserved, _events, NoodleBar, "order-1", "refund-1", RefundWindowDays, Now));
        Refused.With(Refusal.VoucherNotRedeemed, () => VoucherRedemption.Refund(Issued(), [], NoodleBar, "order-1", "refund-1", RefundWindowDays, Now));
    }

    [Fact]
    public void Repeating_a_refund_with_the_same_refund_id_changes_nothing()
    {
        var refunded = Store(VoucherRedemption.Refund(Redeemed(Issued(), "order-1"), _events, NoodleBar, "order-1", "refund-1", RefundWindowDays, Now.AddDays(1)));

        AssertNoChange(refunded, VoucherRedemption.Refund(refunded, _events, NoodleBar, "order-1", "refund-1", RefundWindowDays, Now.AddDays(2)));
        // Even after the window has closed, the replay returns the first result.
        AssertNoChange(refunded, VoucherRedemption.Refund(refunded, _events, NoodleBar, "order-1", "refund-1", RefundWindowDays, Now.AddDays(60)));
    }

    [Fact]
    public void A_refund_id_reused_for_another_order_is_refused_with_IDEMPOTENCY_KEY_REUSED()
    {
        var refunded = Store(VoucherRedemption.Refund(Redeemed(Issued(), "order-1"), _events, NoodleBar, "order-1", "refund-1", RefundWindowDays, Now.AddDays(1)));
        var redeemedAgain = Redeemed(refunded, "order-2", 3000, Now.AddDays(2));

        Refused.With(Refusal.IdempotencyKeyReused,
            () => VoucherRedemption.Refund(redeemedAgain, _events, NoodleBar, "order-2", "refund-1", RefundWindowDays, Now.AddDays(3)));
    }

    // Versions: every transition bumps the version by exactly one.

    [Fact]
    public void Every_transition_of_a_busy_voucher_bumps_its_version_by_exactly_one()
    {
        var v = Issued();
        var versions = new List<long> { v.Version };
        var t = Now;

        v = Reserved(v, "order-1", at: t); versions.Add(v.Version);
        v = Store(VoucherRedemption.Cancel(v, _events, NoodleBar, "order-1", t = t.AddMinutes(1))); versions.Add(v.Version);
        v = Reserved(v, "order-2", hold: 60, at: t = t.AddMinutes(1)); versions.Add(v.Version);
        v = Reserved(v, "order-3", at: t = t.AddMinutes(5), merchant: TeaHouse); versions.Add(v.Version);
        v = Store(VoucherRedemption.Confirm(v, _events, TeaHouse, "order-3", t = t.AddMinutes(1))); versions.Add(v.Version);
        v = Store(VoucherRedemption.Refund(v, _events, TeaHouse, "order-3", "refund-3", RefundWindowDays, t = t.AddDays(1))); versions.Add(v.Version);
        v = Redeemed(v, "order-4", at: t.AddDays(1)); versions.Add(v.Version);

        Assert.Equal(new long[] { 1, 2, 3, 4, 5, 6, 7, 8 }, versions);
        Assert.Equal(7, _events.Count);
        Assert.Equal(StoredVoucherStatus.Redeemed, v.Status);
    }

    // Bad input

    [Theory]
    [InlineData("", 3000, Hold, "order_id")]
    [InlineData(" order-1", 3000, Hold, "order_id")]
    [InlineData("order-1", 0, Hold, "order_amount_cents")]
    [InlineData("order-1", -100, Hold, "order_amount_cents")]
    [InlineData("order-1", 1_000_000_001, Hold, "order_amount_cents")]
    [InlineData("order-1", 3000, 0, "hold_seconds")]
    [InlineData("order-1", 3000, -1, "hold_seconds")]
    [InlineData("order-1", 3000, 3601, "hold_seconds")]
    public void A_reserve_with_bad_input_is_refused_naming_the_field(string orderId, long amount, int hold, string field) =>
        Refused.InvalidField(field, () => VoucherRedemption.Reserve(Issued(), _events, NoodleBar, orderId, amount, hold, Now));

    [Theory]
    [InlineData(1)]
    [InlineData(3600)]
    public void A_hold_of_1_to_3600_seconds_is_accepted(int hold) =>
        Assert.Equal(Now.AddSeconds(hold), Reserved(Issued(), "order-1", hold: hold).ReservedUntil);

    [Theory]
    [InlineData("", 3000, "order_id")]
    [InlineData("order-1", 0, "order_amount_cents")]
    public void A_redeem_with_bad_input_is_refused_naming_the_field(string orderId, long amount, string field) =>
        Refused.InvalidField(field, () => VoucherRedemption.Redeem(Issued(), _events, NoodleBar, orderId, amount, Now));

    [Fact]
    public void A_confirm_cancel_or_refund_without_an_order_id_is_refused_naming_order_id()
    {
        var redeemed = Redeemed(Issued(), "order-1");

        Refused.InvalidField("order_id", () => VoucherRedemption.Confirm(redeemed, _events, NoodleBar, "", Now));
        Refused.InvalidField("order_id", () => VoucherRedemption.Cancel(redeemed, _events, NoodleBar, "", Now));
        Refused.InvalidField("order_id", () => VoucherRedemption.Refund(redeemed, _events, NoodleBar, "", "refund-1", RefundWindowDays, Now));
    }

    [Fact]
    public void A_refund_without_a_refund_id_is_refused_naming_refund_id() =>
        Refused.InvalidField("refund_id", () => VoucherRedemption.Refund(Redeemed(Issued(), "order-1"), _events, NoodleBar, "order-1", "", RefundWindowDays, Now));
}
