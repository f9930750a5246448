using Campaigns.Grains.Ledger;

namespace Campaigns.Grains.Redemption;

/// <summary>A voucher with the status its holder sees now.</summary>
[GenerateSerializer, Immutable]
public sealed record VoucherView(
    [property: Id(0)] VoucherRecord Record,
    [property: Id(1)] VoucherStatus Status);

/// <summary>A hold on a voucher for one order, with the discount quoted.</summary>
[GenerateSerializer, Immutable]
public sealed record ReservationReceipt(
    [property: Id(0)] string Code,
    [property: Id(1)] string CampaignId,
    [property: Id(2)] string MerchantId,
    [property: Id(3)] string OrderId,
    [property: Id(4)] long OrderAmountCents,
    [property: Id(5)] long DiscountCents,
    [property: Id(6)] DateTimeOffset ExpiresAt)
{
    public long PayableCents => OrderAmountCents - DiscountCents;
}

/// <summary>A redemption: what the customer paid and the subsidy the merchant is owed.</summary>
[GenerateSerializer, Immutable]
public sealed record RedemptionReceipt(
    [property: Id(0)] string Code,
    [property: Id(1)] string CampaignId,
    [property: Id(2)] string MerchantId,
    [property: Id(3)] string OrderId,
    [property: Id(4)] long OrderAmountCents,
    [property: Id(5)] long DiscountCents,
    [property: Id(6)] DateTimeOffset RedeemedAt)
{
    public long PayableCents => OrderAmountCents - DiscountCents;

    /// <summary>The call repeated an earlier redemption of the order rather than redeeming now.</summary>
    [Id(7)]
    public bool Replayed { get; init; }

    public static RedemptionReceipt From(RedemptionEventRecord e) =>
        new(e.Code, e.CampaignId, e.MerchantId, e.OrderId, e.OrderAmountCents, e.DiscountCents, e.OccurredAt);
}
