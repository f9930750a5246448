using Campaigns.Grains.Ledger;
using Campaigns.Grains.Redemption;

namespace Campaigns.Grains.Events;

/// <summary>
/// One event as a subscription receives it. <see cref="Id"/> is made from the event's place in
/// the ledger (see <see cref="CallbackEventIds"/>), so a delivery repeated after a crash, a retry
/// or a redelivery carries the same id: receivers deduplicate on it.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record CallbackEvent
{
    [Id(0)] public required string Id { get; init; }
    [Id(1)] public required CallbackEventType Type { get; init; }
    /// <summary>When it happened (the issue, the redemption, the expiry…).</summary>
    [Id(2)] public required DateTimeOffset CreatedAt { get; init; }
    [Id(3)] public required string CampaignId { get; init; }
    /// <summary>The voucher as the event left it; null for a campaign event.</summary>
    [Id(4)] public VoucherRecord? Voucher { get; init; }
    /// <summary>The voucher's status as the event left it.</summary>
    [Id(5)] public VoucherStatus VoucherStatus { get; init; }

    /// <summary>Events with the same key are delivered one after another, in order: a voucher's, or a campaign's.</summary>
    public string OrderingKey => Voucher is { } v ? "v" + v.Key.Packed : "c" + CampaignId;
}

/// <summary>Event ids from ledger positions: the same event always has the same id.</summary>
public static class CallbackEventIds
{
    public static string Issued(VoucherKey key) => $"evt_vi_{key.Packed}";

    public static string Expired(VoucherKey key) => $"evt_vx_{key.Packed}";

    /// <summary>A redemption event's ledger sequence is unique on every backend.</summary>
    public static string Redemption(long sequence) => $"evt_vr_{sequence}";

    public static string Campaign(long sequence) => $"evt_ce_{sequence}";
}
