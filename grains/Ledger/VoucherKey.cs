namespace Campaigns.Grains.Ledger;

/// <summary>
/// Where a voucher's row lives: its campaign's number (from the campaign directory), its shard,
/// and its place in that shard's issue order. Rows are keyed by it, so a shard's commit appends
/// at the end of its own range instead of writing into indexes at random places, and a voucher
/// code carries it, so redemption reads the row by key without a code index.
/// </summary>
[GenerateSerializer, Immutable]
public readonly record struct VoucherKey(
    [property: Id(0)] int CampaignNumber,
    [property: Id(1)] int Shard,
    [property: Id(2)] long Seq)
{
    public const int MaxCampaignNumber = (1 << CampaignBits) - 1;
    public const int MaxShard = (1 << ShardBits) - 1;
    public const long MaxSeq = (1L << SeqBits) - 1;

    // 24 + 7 + 32 = 63 bits: the key packs into one positive 64-bit integer, in key order.
    private const int CampaignBits = 24;
    private const int ShardBits = 7;
    /// <summary>Bits of the seq, the low part of the packed key: <c>packed &gt;&gt; SeqBits</c> is the (campaign, shard) it belongs to.</summary>
    public const int SeqBits = 32;

    /// <summary>Where the campaign's number starts in the packed key: <c>number &lt;&lt; CampaignShift</c> is its range's floor.</summary>
    public const int CampaignShift = ShardBits + SeqBits;

    /// <summary>The key as one positive integer that sorts as the key does (campaign, shard, seq).</summary>
    public long Packed => IsValid
        ? ((long)CampaignNumber << CampaignShift) | ((long)Shard << SeqBits) | Seq
        : throw new InvalidOperationException($"{this} is outside the key's ranges");

    public bool IsValid => CampaignNumber is > 0 and <= MaxCampaignNumber && Shard is >= 0 and <= MaxShard && Seq is > 0 and <= MaxSeq;

    public static VoucherKey Unpack(long packed) => new(
        (int)(packed >> CampaignShift),
        (int)((packed >> SeqBits) & MaxShard),
        packed & MaxSeq);

    /// <summary>The packed keys of one shard's range: [first, last].</summary>
    public static (long First, long Last) ShardRange(int campaignNumber, int shard) =>
        (new VoucherKey(campaignNumber, shard, 1).Packed, new VoucherKey(campaignNumber, shard, MaxSeq).Packed);

    /// <summary>The packed keys of one campaign's range: [first, last].</summary>
    public static (long First, long Last) CampaignRange(int campaignNumber) =>
        (new VoucherKey(campaignNumber, 0, 1).Packed, new VoucherKey(campaignNumber, MaxShard, MaxSeq).Packed);

    public override string ToString() => $"{CampaignNumber}/{Shard}/{Seq}";
}
