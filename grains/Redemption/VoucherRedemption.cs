using Campaigns.Grains.Common;
using Campaigns.Grains.Ledger;
using Campaigns.Grains.Merchants;

namespace Campaigns.Grains.Redemption;

/// <summary>A voucher's status as its holder sees it, with lapsed holds and expiry applied.</summary>
public enum VoucherStatus
{
    Issued = 1,
    Reserved = 2,
    Redeemed = 3,
    Expired = 4,
}

/// <summary>
/// What one redemption call does to a voucher: the next ledger row and the event to append, or
/// neither when the call repeats an earlier one (the idempotent replay).
/// </summary>
public sealed record RedemptionStep(VoucherRecord After, RedemptionEventRecord? Event)
{
    public bool Changes => Event is not null;
}

/// <summary>
/// The voucher state machine: ISSUED → RESERVED(order, until) → REDEEMED; RESERVED → ISSUED on
/// cancel or when the hold lapses (lazily, here: a lapsed hold simply reads as ISSUED);
/// REDEEMED → ISSUED on refund within the window; EXPIRED past valid_until. Pure: it decides,
/// the grain writes (conditionally on the version it decided from).
/// </summary>
public static class VoucherRedemption
{
    public const int DefaultHoldSeconds = 300;
    public const int MaxHoldSeconds = 3600;

    /// <summary>A single order larger than this (¥10 million) is a typing error, not a sale.</summary>
    public const long MaxOrderAmountCents = 1_000_000_000;

    public static VoucherStatus StatusAt(VoucherRecord v, DateTimeOffset now) => v.Status switch
    {
        StoredVoucherStatus.Redeemed => VoucherStatus.Redeemed,
        _ when now >= v.ValidUntil => VoucherStatus.Expired,
        StoredVoucherStatus.Reserved when v.ReservedUntil > now => VoucherStatus.Reserved,
        _ => VoucherStatus.Issued,
    };

    public static RedemptionStep Reserve(VoucherRecord v, IReadOnlyList<RedemptionEventRecord> events, MerchantProfile merchant, string orderId, long orderAmountCents, int holdSeconds, DateTimeOffset now)
    {
        Identifiers.RequireKey("order_id", orderId);
        RequireAmount(orderAmountCents);
        if (holdSeconds is < 1 or > MaxHoldSeconds)
        {
            throw CampaignsException.Invalid("hold_seconds", $"must be 1-{MaxHoldSeconds} (default {DefaultHoldSeconds})");
        }

        if (HeldOrRedeemedBy(v, merchant.MerchantId, orderId, now))
        {
            return v.OrderAmountCents == orderAmountCents ? new RedemptionStep(v, null) : throw AmountChanged(orderId);
        }

        if (RefundedEvent(events, orderId) is { } refund)
        {
            // The order redeemed this voucher before and was refunded: its key is spent.
            throw Refunded(refund);
        }

        RequireSpendable(v, StatusAt(v, now), merchant, now);
        var discount = v.Terms.DiscountFor(orderAmountCents);
        var next = v with
        {
            Status = StoredVoucherStatus.Reserved,
            Version = v.Version + 1,
            MerchantId = merchant.MerchantId,
            OrderId = orderId,
            OrderAmountCents = orderAmountCents,
            DiscountCents = discount,
            ReservedUntil = now.AddSeconds(holdSeconds),
            RedeemedAt = null,
        };
        return new RedemptionStep(next, Event(RedemptionEventType.Reserved, next, merchant, now));
    }

    public static RedemptionStep Confirm(VoucherRecord v, IReadOnlyList<RedemptionEventRecord> events, MerchantProfile merchant, string orderId, DateTimeOffset now)
    {
        Identifiers.RequireKey("order_id", orderId);
        if (RedeemedEvent(events, orderId) is { } done)
        {
            return done.MerchantId != merchant.MerchantId ? throw NoReservation(orderId)
                : RefundedEvent(events, orderId) is { } refund ? throw Refunded(refund)
                : new RedemptionStep(v, null);
        }

        if (v.Status != StoredVoucherStatus.Reserved || v.OrderId != orderId || v.MerchantId != merchant.MerchantId)
        {
            throw NoReservation(orderId);
        }

        if (v.ReservedUntil <= now)
        {
            throw new CampaignsException(Refusal.ReservationNotFound,
                $"the hold for order '{orderId}' lapsed at {v.ReservedUntil:O}; reserve again");
        }

        // A live hold is a promise made while the voucher was valid: it is honoured even if the
        // voucher's validity ends between reserve and confirm.
        var next = v with
        {
            Status = StoredVoucherStatus.Redeemed,
            Version = v.Version + 1,
            ReservedUntil = null,
            RedeemedAt = now,
        };
        return new RedemptionStep(next, Event(RedemptionEventType.Redeemed, next, merchant, now));
    }

    public static RedemptionStep Cancel(VoucherRecord v, IReadOnlyList<RedemptionEventRecord> events, MerchantProfile merchant, string orderId, DateTimeOffset now)
    {
        Identifiers.RequireKey("order_id", orderId);
        var ours = v.OrderId == orderId && v.MerchantId == merchant.MerchantId;
        if (v.Status == StoredVoucherStatus.Redeemed && ours)
        {
            throw new CampaignsException(Refusal.VoucherAlreadyRedeemed,
                $"order '{orderId}' already redeemed this voucher; refund it instead of cancelling");
        }

        if (v.Status == StoredVoucherStatus.Reserved && ours)
        {
            if (v.ReservedUntil <= now)
            {
                return new RedemptionStep(v, null); // the hold already lapsed: nothing left to cancel
            }

            var next = Cleared(v) with { Version = v.Version + 1 };
            return new RedemptionStep(next, Event(RedemptionEventType.Cancelled, v, merchant, now) with { DiscountCents = 0 });
        }

        var cancelledBefore = events.Any(e => e.Type == RedemptionEventType.Cancelled && e.OrderId == orderId && e.MerchantId == merchant.MerchantId);
        return cancelledBefore ? new RedemptionStep(v, null) : throw NoReservation(orderId);
    }

    public static RedemptionStep Redeem(VoucherRecord v, IReadOnlyList<RedemptionEventRecord> events, MerchantProfile merchant, string orderId, long orderAmountCents, DateTimeOffset now)
    {
        Identifiers.RequireKey("order_id", orderId);
        RequireAmount(orderAmountCents);
        if (RedeemedEvent(events, orderId) is { } done)
        {
            // Same merchant: a retry (same amount) or a changed request, unless the order was
            // refunded since: its old receipt must not pass for a discount granted now. Another
            // merchant reusing the order id on a spent voucher is told what matters to it: the
            // voucher is used.
            return done.MerchantId == merchant.MerchantId
                ? RefundedEvent(events, orderId) is { } refund ? throw Refunded(refund)
                : done.OrderAmountCents == orderAmountCents ? new RedemptionStep(v, null) : throw AmountChanged(orderId)
                : v.Status == StoredVoucherStatus.Redeemed ? throw AlreadyRedeemed() : throw AmountChanged(orderId);
        }

        if (HeldOrRedeemedBy(v, merchant.MerchantId, orderId, now))
        {
            // The till reserved first and now redeems in one step: that is a confirm.
            return v.OrderAmountCents == orderAmountCents ? Confirm(v, events, merchant, orderId, now) : throw AmountChanged(orderId);
        }

        RequireSpendable(v, StatusAt(v, now), merchant, now);
        var discount = v.Terms.DiscountFor(orderAmountCents);
        var next = v with
        {
            Status = StoredVoucherStatus.Redeemed,
            Version = v.Version + 1,
            MerchantId = merchant.MerchantId,
            OrderId = orderId,
            OrderAmountCents = orderAmountCents,
            DiscountCents = discount,
            ReservedUntil = null,
            RedeemedAt = now,
        };
        return new RedemptionStep(next, Event(RedemptionEventType.Redeemed, next, merchant, now));
    }

    public static RedemptionStep Refund(VoucherRecord v, IReadOnlyList<RedemptionEventRecord> events, MerchantProfile merchant, string orderId, string refundId, int refundWindowDays, DateTimeOffset now)
    {
        Identifiers.RequireKey("order_id", orderId);
        Identifiers.RequireKey("refund_id", refundId);
        if (events.FirstOrDefault(e => e.Type == RedemptionEventType.Refunded && e.RefundId == refundId) is { } earlier)
        {
            return earlier.OrderId == orderId && earlier.MerchantId == merchant.MerchantId
                ? new RedemptionStep(v, null)
                : throw new CampaignsException(Refusal.IdempotencyKeyReused, $"refund_id '{refundId}' was already used for order '{earlier.OrderId}'");
        }

        if (RefundedEvent(events, orderId) is { } done && done.MerchantId == merchant.MerchantId)
        {
            throw Refunded(done);
        }

        if (v.Status != StoredVoucherStatus.Redeemed || v.OrderId != orderId || v.MerchantId != merchant.MerchantId)
        {
            throw new CampaignsException(Refusal.VoucherNotRedeemed, $"the voucher is not redeemed by order '{orderId}' at this merchant");
        }

        var windowEnd = v.RedeemedAt!.Value.AddDays(refundWindowDays);
        if (now >= windowEnd)
        {
            throw new CampaignsException(Refusal.RefundWindowClosed,
                $"the refund window ({refundWindowDays} days) closed at {windowEnd:O}");
        }

        // The subsidy is reversed in full. The voucher is ISSUED again; past valid_until it reads
        // as EXPIRED, which is right: the customer's voucher had run out anyway.
        var next = Cleared(v) with { Version = v.Version + 1 };
        var refunded = Event(RedemptionEventType.Refunded, v, merchant, now) with
        {
            RefundId = refundId,
            DiscountCents = -v.DiscountCents,
        };
        return new RedemptionStep(next, refunded);
    }

    /// <summary>The receipt of an order's redemption, from its ledger event.</summary>
    public static RedemptionEventRecord? RedeemedEvent(IReadOnlyList<RedemptionEventRecord> events, string orderId) =>
        events.FirstOrDefault(e => e.Type == RedemptionEventType.Redeemed && e.OrderId == orderId);

    /// <summary>The refund of an order's redemption, if it was refunded: an order id redeems a voucher once.</summary>
    private static RedemptionEventRecord? RefundedEvent(IReadOnlyList<RedemptionEventRecord> events, string orderId) =>
        events.FirstOrDefault(e => e.Type == RedemptionEventType.Refunded && e.OrderId == orderId);

    /// <summary>
    /// The order holds a live reservation of the voucher or has redeemed it. Judged on the stored
    /// state, not on expiry: a live hold is honoured even once the voucher's validity has ended.
    /// </summary>
    private static bool HeldOrRedeemedBy(VoucherRecord v, string merchantId, string orderId, DateTimeOffset now) =>
        v.OrderId == orderId && v.MerchantId == merchantId
        && (v.Status == StoredVoucherStatus.Redeemed || (v.Status == StoredVoucherStatus.Reserved && v.ReservedUntil > now));

    private static void RequireSpendable(VoucherRecord v, VoucherStatus status, MerchantProfile merchant, DateTimeOffset now)
    {
        switch (status)
        {
            case VoucherStatus.Redeemed:
                throw AlreadyRedeemed();
            case VoucherStatus.Reserved:
                throw new CampaignsException(Refusal.VoucherReserved, $"the voucher is held for another order until {v.ReservedUntil:O}");
            case VoucherStatus.Expired:
                throw new CampaignsException(Refusal.VoucherExpired, $"the voucher expired at {v.ValidUntil:O}");
        }

        if (now < v.ValidFrom)
        {
            throw new CampaignsException(Refusal.VoucherNotYetValid, $"the voucher is valid from {v.ValidFrom:O}");
        }

        if (!merchant.IsEnrolledIn(v.CampaignId))
        {
            throw new CampaignsException(Refusal.MerchantNotEnrolled, $"merchant '{merchant.MerchantId}' is not enrolled in campaign '{v.CampaignId}'");
        }

        if (v.District.Length > 0 && v.District != merchant.District)
        {
            throw new CampaignsException(Refusal.MerchantOutOfDistrict,
                $"the voucher is for district '{v.District}'; merchant '{merchant.MerchantId}' is in '{merchant.District}'");
        }
    }

    private static VoucherRecord Cleared(VoucherRecord v) => v with
    {
        Status = StoredVoucherStatus.Issued,
        MerchantId = null,
        OrderId = null,
        OrderAmountCents = 0,
        DiscountCents = 0,
        ReservedUntil = null,
        RedeemedAt = null,
    };

    private static RedemptionEventRecord Event(RedemptionEventType type, VoucherRecord v, MerchantProfile merchant, DateTimeOffset now) => new()
    {
        Type = type,
        Code = v.Code,
        CampaignId = v.CampaignId,
        MerchantId = merchant.MerchantId,
        MerchantDistrict = merchant.District,
        OrderId = v.OrderId!,
        OrderAmountCents = v.OrderAmountCents,
        DiscountCents = v.DiscountCents,
        OccurredAt = now,
    };

    private static void RequireAmount(long orderAmountCents)
    {
        if (orderAmountCents is <= 0 or > MaxOrderAmountCents)
        {
            throw CampaignsException.Invalid("order_amount_cents", $"must be 1-{MaxOrderAmountCents}");
        }
    }

    private static CampaignsException Refunded(RedemptionEventRecord refund) =>
        new(Refusal.OrderRefunded,
            $"order '{refund.OrderId}' was already refunded (refund '{refund.RefundId}' at {refund.OccurredAt:O}); its discount no longer stands, ring up a new order id to use the voucher again");

    private static CampaignsException AlreadyRedeemed() =>
        new(Refusal.VoucherAlreadyRedeemed, "the voucher has already been redeemed");

    private static CampaignsException NoReservation(string orderId) =>
        new(Refusal.ReservationNotFound, $"no live reservation of this voucher for order '{orderId}' at this merchant");

    private static CampaignsException AmountChanged(string orderId) =>
        new(Refusal.IdempotencyKeyReused, $"order '{orderId}' was already used with this voucher for a different amount or merchant");
}
