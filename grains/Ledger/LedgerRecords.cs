using Campaigns.Grains.Campaigns;

namespace Campaigns.Grains.Ledger;

/// <summary>A voucher's stored state in the ledger. EXPIRED and lapsed holds are derived at read time.</summary>
public enum StoredVoucherStatus
{
    Issued = 1,
    Reserved = 2,
    Redeemed = 3,
}

/// <summary>One row of the ledger's voucher table: the source of truth for a voucher.</summary>
[GenerateSerializer, Immutable]
public sealed record VoucherRecord
{
    [Id(0)] public required string Code { get; init; }
    [Id(1)] public required string CampaignId { get; init; }
    [Id(2)] public required int Shard { get; init; }
    [Id(3)] public required string UserId { get; init; }
    [Id(4)] public required string Channel { get; init; }
    [Id(5)] public required string RequestId { get; init; }
    /// <summary>The district the voucher was issued for; "" = any of the campaign's districts.</summary>
    [Id(6)] public required string District { get; init; }
    [Id(7)] public required StoredVoucherStatus Status { get; init; }
    /// <summary>Bumped by every transition; transitions are conditional on it.</summary>
    [Id(8)] public required long Version { get; init; }
    [Id(9)] public required VoucherTerms Terms { get; init; }
    [Id(10)] public required DateTimeOffset ValidFrom { get; init; }
    [Id(11)] public required DateTimeOffset ValidUntil { get; init; }
    [Id(12)] public required DateTimeOffset IssuedAt { get; init; }
    /// <summary>The stock pool the voucher was drawn from: "" = shared, else a channel's quota.</summary>
    [Id(13)] public required string Pool { get; init; }
    [Id(14)] public string? MerchantId { get; init; }
    [Id(15)] public string? OrderId { get; init; }
    [Id(16)] public long OrderAmountCents { get; init; }
    [Id(17)] public long DiscountCents { get; init; }
    [Id(18)] public DateTimeOffset? ReservedUntil { get; init; }
    [Id(19)] public DateTimeOffset? RedeemedAt { get; init; }
    /// <summary>The issuance day (Asia/Shanghai) the per-user daily limit counts against.</summary>
    [Id(20)] public required DateOnly IssuedDay { get; init; }
    /// <summary>The campaign's number in the directory: the first part of the row key.</summary>
    [Id(21)] public required int CampaignNumber { get; init; }
    /// <summary>The voucher's place in its shard's issue order, from 1.</summary>
    [Id(22)] public required long Seq { get; init; }
    /// <summary>The claim's device, kept only when its campaign limits claims per device; null otherwise.</summary>
    [Id(23)] public string? DeviceId { get; init; }
    /// <summary>The device's bucket (<c>DeviceRouting</c>); 0 without a device.</summary>
    [Id(24)] public int DeviceBucket { get; init; }

    public VoucherKey Key => new(CampaignNumber, Shard, Seq);
}

public enum RedemptionEventType
{
    Reserved = 1,
    Cancelled = 2,
    Redeemed = 3,
    Refunded = 4,
}

/// <summary>One redemption event. Unique keys: (code, order id) for Redeemed, (code, refund id) for Refunded.</summary>
[GenerateSerializer, Immutable]
public sealed record RedemptionEventRecord
{
    /// <summary>Ledger sequence; 0 until stored.</summary>
    [Id(0)] public long Sequence { get; init; }
    [Id(1)] public required RedemptionEventType Type { get; init; }
    [Id(2)] public required string Code { get; init; }
    [Id(3)] public required string CampaignId { get; init; }
    [Id(4)] public required string MerchantId { get; init; }
    [Id(5)] public required string OrderId { get; init; }
    [Id(6)] public string? RefundId { get; init; }
    [Id(7)] public required long OrderAmountCents { get; init; }
    /// <summary>Positive for Redeemed (and the quote of Reserved), negative for Refunded, 0 for Cancelled.</summary>
    [Id(8)] public required long DiscountCents { get; init; }
    [Id(9)] public required DateTimeOffset OccurredAt { get; init; }
    /// <summary>The redeeming merchant's district (for stats by district).</summary>
    [Id(10)] public required string MerchantDistrict { get; init; }
}

/// <summary>A shard's grant of stock from one pool, and how much of it the shard has issued.</summary>
[GenerateSerializer, Immutable]
public sealed record StockLeaseRecord(
    [property: Id(0)] int Shard,
    [property: Id(1)] string Pool,
    [property: Id(2)] long Granted,
    [property: Id(3)] long Issued);

/// <summary>
/// Vouchers a shard appends in one transaction, under the epoch its activation took: a batch of
/// an activation that a newer one has fenced off writes nothing.
/// </summary>
public sealed record IssueBatch(
    string CampaignId,
    int CampaignNumber,
    int Shard,
    long Epoch,
    IReadOnlyList<VoucherRecord> Vouchers);

/// <summary>Of one voucher, what its shard's books need: its place, the claim that got it, and when.</summary>
public readonly record struct ShardIssue(long Seq, string UserId, string Channel, string RequestId, string District, DateOnly IssuedDay, DateTimeOffset IssuedAt);

/// <summary>Of one device bucket: a device's vouchers issued by one shard, and the last seq among them.</summary>
public readonly record struct DeviceClaimCount(string DeviceId, int Shard, int Vouchers, long LastSeq)
{
    /// <summary>A device's count in one shard, from the packed key of the shard's last voucher of it.</summary>
    public static DeviceClaimCount Of(string deviceId, int vouchers, long lastRowKey)
    {
        var last = VoucherKey.Unpack(lastRowKey);
        return new(deviceId, last.Shard, vouchers, last.Seq);
    }
}

/// <summary>What a shard's activation took from the ledger: its fence, and its campaign's number.</summary>
public sealed record ShardActivation(long Epoch, int CampaignNumber);

/// <summary>
/// A guard in the ledger refused a write the grain believed valid: its memory is behind the
/// ledger. Nothing was written; the grain must reload.
/// </summary>
/// <remarks>
/// Ledger failures cross silos inside grain calls' answers (a shard on one silo, the API on
/// another), so each carries Orleans' serializer, as <c>CampaignsException</c> does.
/// </remarks>
[GenerateSerializer]
public sealed class LedgerConflictException(string message) : Exception(message);

/// <summary>
/// A newer activation of the same shard or campaign took the epoch this write was made under:
/// nothing was written. The writer is stale and must give way; its callers retry and reach the live one.
/// </summary>
[GenerateSerializer]
public sealed class LedgerFencedException(string message) : Exception(message);

/// <summary>The store could not be reached or did not answer: the write may or may not have happened; retrying is safe.</summary>
[GenerateSerializer]
public sealed class LedgerUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Figures for campaign stats, computed from the ledger at <c>asOf</c>.</summary>
public sealed record CampaignTotals
{
    public long Issued { get; init; }
    public long IssuedLiabilityCents { get; init; }
    public long Reserved { get; init; }
    public long Redeemed { get; init; }
    public long Refunded { get; init; }
    public long Expired { get; init; }
    public long RedeemedDiscountCents { get; init; }
    public long RedeemedOrderTotalCents { get; init; }
    public IReadOnlyDictionary<string, (long Issued, long Redeemed)> ByChannel { get; init; } = new Dictionary<string, (long, long)>();
    public IReadOnlyDictionary<string, (long Issued, long Redeemed, long RedeemedDiscountCents)> ByDistrict { get; init; } = new Dictionary<string, (long, long, long)>();
}

/// <summary>A merchant's subsidy, from the redemption events.</summary>
public sealed record SettlementTotals(
    long Redemptions,
    long Refunds,
    long DiscountCents,
    long OrderTotalCents,
    long RefundedDiscountCents,
    long RefundedOrderTotalCents)
{
    public static readonly SettlementTotals None = new(0, 0, 0, 0, 0, 0);

    public long NetSubsidyCents => DiscountCents - RefundedDiscountCents;

    public SettlementTotals Plus(SettlementTotals other) => new(
        Redemptions + other.Redemptions, Refunds + other.Refunds, DiscountCents + other.DiscountCents,
        OrderTotalCents + other.OrderTotalCents, RefundedDiscountCents + other.RefundedDiscountCents,
        RefundedOrderTotalCents + other.RefundedOrderTotalCents);
}

/// <summary>
/// A window of the ledger writer's work: transactions committed, the slowest commit and the
/// slowest flush of the log to disk (the first signs of a stalling disk), how often the log
/// started over, and how many bytes were appended to it (counted at each checkpoint).
/// </summary>
public sealed record LedgerActivity(long Commits, TimeSpan SlowestCommit, TimeSpan SlowestFlush, long LogRestarts, long LogBytes = 0);
