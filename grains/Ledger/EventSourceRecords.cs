namespace Campaigns.Grains.Ledger;

/// <summary>
/// A place in one of the ledger's event orders (redemption events, campaign events), as the
/// backend commits them: events are read after a position and come back in position order, and
/// an event committed later never gets a position before one already read. SQLite has one writer,
/// so its positions are the events' sequences (<see cref="Transaction"/> 0). On PostgreSQL a
/// sequence number is taken before its transaction commits, so sequence order alone could pass
/// over an event still being written; there positions lead with the writing transaction's id, and
/// a read returns only events of transactions older than every one still running.
/// </summary>
[GenerateSerializer, Immutable]
public readonly record struct FeedPosition(
    [property: Id(0)] long Transaction,
    [property: Id(1)] long Sequence) : IComparable<FeedPosition>
{
    public static readonly FeedPosition Start = new(0, 0);

    public int CompareTo(FeedPosition other) =>
        Transaction != other.Transaction ? Transaction.CompareTo(other.Transaction) : Sequence.CompareTo(other.Sequence);

    public static bool operator <(FeedPosition left, FeedPosition right) => left.CompareTo(right) < 0;

    public static bool operator >(FeedPosition left, FeedPosition right) => left.CompareTo(right) > 0;

    public static bool operator <=(FeedPosition left, FeedPosition right) => left.CompareTo(right) <= 0;

    public static bool operator >=(FeedPosition left, FeedPosition right) => left.CompareTo(right) >= 0;
}

/// <summary>A shard that has been activated at least once, and the seq of its last voucher (0 = none yet).</summary>
[GenerateSerializer, Immutable]
public readonly record struct ShardOfCampaign(
    [property: Id(0)] string CampaignId,
    [property: Id(1)] int CampaignNumber,
    [property: Id(2)] int Shard,
    [property: Id(3)] long LastSeq);

/// <summary>A redemption event as the event order gives it: its position, and the key of its voucher's row.</summary>
[GenerateSerializer, Immutable]
public sealed record FeedRedemption(
    [property: Id(0)] FeedPosition Position,
    [property: Id(1)] VoucherKey Voucher,
    [property: Id(2)] RedemptionEventRecord Event);

public enum CampaignEventType
{
    SoldOut = 1,
    Ended = 2,
}

/// <summary>
/// Something that happened to a campaign as a whole, appended by its grain. <see cref="Occurrence"/>
/// tells one occurrence from another (a campaign sells out again after a top-up): appending the
/// same (campaign, type, occurrence) twice stores it once.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record CampaignEventRecord
{
    /// <summary>Ledger sequence; 0 until stored.</summary>
    [Id(0)] public long Sequence { get; init; }
    [Id(1)] public required string CampaignId { get; init; }
    [Id(2)] public required CampaignEventType Type { get; init; }
    [Id(3)] public required string Occurrence { get; init; }
    [Id(4)] public required DateTimeOffset OccurredAt { get; init; }
}

/// <summary>A campaign event as the event order gives it.</summary>
[GenerateSerializer, Immutable]
public sealed record FeedCampaignEvent(
    [property: Id(0)] FeedPosition Position,
    [property: Id(1)] CampaignEventRecord Event);
