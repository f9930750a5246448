using Campaigns.Grains.Access;
using Campaigns.Grains.Campaigns;
using Campaigns.Grains.Common;
using Campaigns.Grains.Ledger;
using Campaigns.Grains.Merchants;
using Campaigns.Grains.Redemption;
using Google.Protobuf.WellKnownTypes;
using Proto = Campaigns.Proto;

namespace Campaigns.Silo.Api;

/// <summary>Between the wire contract and the domain: one direction per method, no rules.</summary>
public static class ProtoMapping
{
    public static Timestamp? ToProto(this DateTimeOffset? instant) => instant is { } value ? Timestamp.FromDateTimeOffset(value) : null;

    public static Timestamp ToProto(this DateTimeOffset instant) => Timestamp.FromDateTimeOffset(instant);

    /// <summary>A timestamp field, or null when unset; an out-of-range value is INVALID_ARGUMENT naming the field.</summary>
    public static DateTimeOffset? FromProto(this Timestamp? timestamp, string field)
    {
        if (timestamp is null)
        {
            return null;
        }

        try
        {
            return timestamp.ToDateTimeOffset();
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException)
        {
            throw CampaignsException.Invalid(field, "is not a valid timestamp (0001-01-01 to 9999-12-31, nanos 0-999999999)");
        }
    }

    public static CampaignDefinition ToDefinition(this Proto.CreateCampaignRequest r, string campaignId, string organiserId) => new()
    {
        CampaignId = campaignId,
        Name = r.Name,
        OrganiserId = organiserId,
        Terms = new VoucherTerms(r.Kind.FromProto(), r.FaceValueCents, r.MinSpendCents, r.PercentOff, r.Fold, r.MaxDiscountCents),
        TotalStock = r.TotalStock,
        BudgetCents = r.BudgetCents,
        // Presence, not zero, says "use the default": an explicit 0 is validated as 0.
        PerUserLimit = r.HasPerUserLimit ? r.PerUserLimit : 1,
        PerUserDailyLimit = r.PerUserDailyLimit,
        PerDeviceLimit = r.PerDeviceLimit,
        StartsAt = r.StartsAt.FromProto("starts_at") ?? default,
        EndsAt = r.EndsAt.FromProto("ends_at") ?? default,
        VoucherValidDays = r.VoucherValidDays,
        VoucherValidUntil = r.VoucherValidUntil.FromProto("voucher_valid_until"),
        VoucherValidFrom = r.VoucherValidFrom.FromProto("voucher_valid_from"),
        RefundWindowDays = r.HasRefundWindowDays ? r.RefundWindowDays : 7,
        Districts = [.. r.Districts],
        ChannelQuotas = new Dictionary<string, long>(r.ChannelQuotas),
        ShardCount = CampaignDefinition.ShardsFor(r.ExpectedPeakClaimsPerSecond),
        RequestId = r.RequestId,
        PartnerCapPerMinute = r.PartnerCapPerMinute,
        PartnerCapMinutes = r.PartnerCapMinutes,
    };

    public static Proto.Campaign ToProto(this CampaignSnapshot c)
    {
        var d = c.Definition;
        var campaign = new Proto.Campaign
        {
            CampaignId = d.CampaignId,
            Name = d.Name,
            OrganiserId = d.OrganiserId,
            Kind = d.Terms.Kind.ToProto(),
            FaceValueCents = d.Terms.FaceValueCents,
            MinSpendCents = d.Terms.MinSpendCents,
            PercentOff = d.Terms.PercentOff,
            Fold = d.Terms.Fold,
            MaxDiscountCents = d.Terms.MaxDiscountCents,
            TotalStock = c.TotalStock,
            BudgetCents = c.BudgetCents,
            PerUserLimit = d.PerUserLimit,
            PerUserDailyLimit = d.PerUserDailyLimit,
            PerDeviceLimit = d.PerDeviceLimit,
            StartsAt = d.StartsAt.ToProto(),
            EndsAt = d.EndsAt.ToProto(),
            VoucherValidDays = d.VoucherValidDays,
            VoucherValidUntil = d.VoucherValidUntil.ToProto(),
            VoucherValidFrom = d.VoucherValidFrom.ToProto(),
            RefundWindowDays = d.RefundWindowDays,
            Districts = { d.Districts },
            ChannelQuotas = { new Dictionary<string, long>(d.ChannelQuotas) },
            Status = c.Status.ToProto(),
            CreatedAt = c.CreatedAt.ToProto(),
            UpdatedAt = c.UpdatedAt.ToProto(),
            ShardCount = d.ShardCount,
            PartnerCapPerMinute = d.PartnerCapPerMinute,
            PartnerCapMinutes = d.PartnerCapMinutes,
        };
        return campaign;
    }

    public static Proto.Voucher ToProto(this VoucherRecord v, VoucherStatus status)
    {
        // A hold that lapsed left its order on the row until the next write; the holder sees
        // the voucher as it is: free, with no order attached.
        var lapsedHold = v.Status == StoredVoucherStatus.Reserved && status != VoucherStatus.Reserved;
        return lapsedHold ? Map(v with { MerchantId = null, OrderId = null, OrderAmountCents = 0, DiscountCents = 0 }, status) : Map(v, status);
    }

    private static Proto.Voucher Map(VoucherRecord v, VoucherStatus status) => new()
    {
        Code = v.Code,
        CampaignId = v.CampaignId,
        UserId = v.UserId,
        Channel = v.Channel,
        Status = (Proto.VoucherStatus)(int)status,
        Kind = v.Terms.Kind.ToProto(),
        FaceValueCents = v.Terms.FaceValueCents,
        MinSpendCents = v.Terms.MinSpendCents,
        PercentOff = v.Terms.PercentOff,
        Fold = v.Terms.Fold,
        MaxDiscountCents = v.Terms.MaxDiscountCents,
        ValidFrom = v.ValidFrom.ToProto(),
        ValidUntil = v.ValidUntil.ToProto(),
        IssuedAt = v.IssuedAt.ToProto(),
        MerchantId = v.MerchantId ?? "",
        OrderId = v.OrderId ?? "",
        RedeemedAt = v.RedeemedAt.ToProto(),
        DiscountCents = v.DiscountCents,
        District = v.District,
        ReservedUntil = status == VoucherStatus.Reserved ? v.ReservedUntil.ToProto() : null,
    };

    public static Proto.Voucher ToProto(this VoucherView view) => view.Record.ToProto(view.Status);

    public static Proto.Reservation ToProto(this ReservationReceipt r) => new()
    {
        Code = r.Code,
        CampaignId = r.CampaignId,
        MerchantId = r.MerchantId,
        OrderId = r.OrderId,
        OrderAmountCents = r.OrderAmountCents,
        DiscountCents = r.DiscountCents,
        PayableCents = r.PayableCents,
        ExpiresAt = r.ExpiresAt.ToProto(),
    };

    public static Proto.Redemption ToProto(this RedemptionReceipt r) => new()
    {
        Code = r.Code,
        CampaignId = r.CampaignId,
        MerchantId = r.MerchantId,
        OrderId = r.OrderId,
        OrderAmountCents = r.OrderAmountCents,
        DiscountCents = r.DiscountCents,
        PayableCents = r.PayableCents,
        RedeemedAt = r.RedeemedAt.ToProto(),
        Replayed = r.Replayed,
    };

    public static Proto.Merchant ToProto(this MerchantProfile m) => new()
    {
        MerchantId = m.MerchantId,
        Name = m.Name,
        District = m.District,
        Category = m.Category,
        CampaignIds = { m.Enrollments.Keys.Order(StringComparer.Ordinal) },
        RegisteredAt = m.RegisteredAt.ToProto(),
    };

    public static Proto.Enrollment ToProto(this Enrollment e) => new()
    {
        CampaignId = e.CampaignId,
        MerchantId = e.MerchantId,
        District = e.District,
        EnrolledAt = e.EnrolledAt.ToProto(),
    };

    public static Proto.ApiKey ToProto(this ApiKeyRecord k, string secret = "") => new()
    {
        KeyId = k.KeyId,
        Secret = secret,
        Role = k.Role.ToProto(),
        PrincipalId = k.PrincipalId,
        Description = k.Description,
        CreatedAt = k.CreatedAt.ToProto(),
        Revoked = k.RevokedAt is not null,
        RevokedAt = k.RevokedAt.ToProto(),
        RotatedAt = k.RotatedAt.ToProto(),
        CreatedBy = k.CreatedBy,
    };

    public static Proto.RedemptionEvent ToProto(this RedemptionEventRecord e) => new()
    {
        Sequence = e.Sequence,
        EventType = e.Type == RedemptionEventType.Refunded ? "REFUNDED" : "REDEEMED",
        Code = e.Code,
        CampaignId = e.CampaignId,
        MerchantId = e.MerchantId,
        OrderId = e.OrderId,
        RefundId = e.RefundId ?? "",
        OrderAmountCents = e.OrderAmountCents,
        DiscountCents = e.DiscountCents,
        OccurredAt = e.OccurredAt.ToProto(),
        Type = e.Type == RedemptionEventType.Refunded ? Proto.RedemptionEventType.Refunded : Proto.RedemptionEventType.Redeemed,
    };

    public static Proto.Settlement ToProto(this SettlementTotals s, string merchantId, string campaignId) => new()
    {
        MerchantId = merchantId,
        CampaignId = campaignId,
        Redemptions = s.Redemptions,
        Refunds = s.Refunds,
        DiscountCents = s.DiscountCents,
        OrderTotalCents = s.OrderTotalCents,
        NetSubsidyCents = s.NetSubsidyCents,
        RefundedDiscountCents = s.RefundedDiscountCents,
        RefundedOrderTotalCents = s.RefundedOrderTotalCents,
    };

    public static Proto.DiscountKind ToProto(this DiscountKind kind) => (Proto.DiscountKind)(int)kind;

    public static DiscountKind FromProto(this Proto.DiscountKind kind) => kind switch
    {
        Proto.DiscountKind.AmountOff or Proto.DiscountKind.PercentOff or Proto.DiscountKind.FoldPrice => (DiscountKind)(int)kind,
        _ => throw CampaignsException.Invalid("kind", "must be AMOUNT_OFF, PERCENT_OFF or FOLD_PRICE"),
    };

    public static Proto.CampaignStatus ToProto(this CampaignStatus status) => (Proto.CampaignStatus)(int)status;

    public static Proto.Role ToProto(this Role role) => (Proto.Role)(int)role;

    public static Role FromProto(this Proto.Role role) => role switch
    {
        Proto.Role.Organiser or Proto.Role.Partner or Proto.Role.Merchant or Proto.Role.Admin => (Role)(int)role,
        _ => throw CampaignsException.Invalid("role", "must be ORGANISER, PARTNER, MERCHANT or ADMIN"),
    };
}
