using Campaigns.Grains.Ledger;

namespace Campaigns.Grains.Events;

/// <summary>How far a shard's rows have been read for one subscription: issued up to a seq, expiries up to another.</summary>
[GenerateSerializer, Immutable]
public readonly record struct ShardCursor(
    [property: Id(0)] long Issued,
    [property: Id(1)] long Expired);

/// <summary>
/// A subscription's place in each of the ledger's orders: per shard (keyed by the shard's first
/// packed row key), the redemption events' position and the campaign events' position. Kept in
/// the dispatching grain's state, written after each delivered batch: a crash repeats at most
/// that batch (same ids), never skips one.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record FeedCursor
{
    [Id(0)] public required IReadOnlyDictionary<long, ShardCursor> Shards { get; init; }
    [Id(1)] public required FeedPosition Redemptions { get; init; }
    [Id(2)] public required FeedPosition CampaignEvents { get; init; }

    public static long ShardId(int campaignNumber, int shard) => VoucherKey.ShardRange(campaignNumber, shard).First;

    /// <summary>Whether both name the same places (the shards compared entry by entry).</summary>
    public bool SameAs(FeedCursor other) =>
        Redemptions == other.Redemptions && CampaignEvents == other.CampaignEvents && Shards.Count == other.Shards.Count
        && Shards.All(s => other.Shards.TryGetValue(s.Key, out var at) && at == s.Value);

    /// <summary>A shard not in the cursor is read from its start: it was first activated after the subscription began.</summary>
    public ShardCursor Of(int campaignNumber, int shard) => Shards.GetValueOrDefault(ShardId(campaignNumber, shard));
}
