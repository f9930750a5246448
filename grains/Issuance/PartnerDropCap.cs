using Campaigns.Grains.Campaigns;
using Campaigns.Grains.Common;

namespace Campaigns.Grains.Issuance;

/// <summary>
/// A shard's part of a campaign's drop cap: in each of the first minutes after the campaign
/// starts (whole minutes counted from <c>starts_at</c>), each partner (channel) may be issued at
/// most its share of the cap on this shard, counting the shard's written vouchers and its claims
/// in flight. A partner's users hash evenly over the shards, so the shares, which add up to
/// exactly the cap, hold the partner to the cap without a hop to a common counter; a partner
/// whose users hash unevenly is refused slightly before the cap. Rebuilt on activation from the
/// shard's rows, like <see cref="ShardBooks"/>. Not thread-safe: the grain's turns use it one at a time.
/// </summary>
public sealed class PartnerDropCap
{
    // Written vouchers plus claims in flight, per channel and capped minute.
    private readonly Dictionary<(string Channel, int Minute), long> _taken = [];

    // Minutes start at the ledger's precision, so a voucher's stored (truncated) issue time
    // falls in the minute its claim was counted in.
    private readonly DateTimeOffset _startsAt;

    public PartnerDropCap(long perMinute, int minutes, DateTimeOffset startsAt, long share)
    {
        PerMinute = perMinute;
        Minutes = minutes;
        Share = share;
        _startsAt = startsAt.ToLedgerPrecision();
    }

    /// <summary>The campaign's cap per partner per minute, on all shards together.</summary>
    public long PerMinute { get; }

    /// <summary>How many minutes after the start are capped.</summary>
    public int Minutes { get; }

    /// <summary>What this shard may issue one partner in one capped minute.</summary>
    public long Share { get; }

    /// <summary>Shard <paramref name="shard"/>'s part of a campaign's cap; null when the campaign has none.</summary>
    public static PartnerDropCap? For(CampaignDefinition definition, int shard) =>
        definition.PartnerCapPerMinute > 0
            ? new PartnerDropCap(definition.PartnerCapPerMinute, definition.PartnerCapMinutes, definition.StartsAt,
                ShareOf(definition.PartnerCapPerMinute, definition.ShardCount, shard))
            : null;

    /// <summary>
    /// The cap split over the shards: the whole part each, and one more for the first
    /// <c>cap % shards</c> shards, so the shares add up to the cap exactly (ceil(cap / shards) each
    /// would let a partner reach up to shards - 1 more).
    /// </summary>
    public static long ShareOf(long perMinute, int shardCount, int shard) =>
        perMinute / shardCount + (shard < perMinute % shardCount ? 1 : 0);

    /// <summary>The capped minute <paramref name="at"/> falls in (0 = the first); null before the start or once the cap is over.</summary>
    public int? MinuteOf(DateTimeOffset at)
    {
        if (at < _startsAt)
        {
            return null;
        }

        var minute = (at - _startsAt).Ticks / TimeSpan.TicksPerMinute;
        return minute < Minutes ? (int)minute : null;
    }

    /// <summary>
    /// Takes a place for one claim of <paramref name="channel"/> at <paramref name="at"/>, in the
    /// minute it falls in (<paramref name="minute"/>; null, and nothing counted, when that is not
    /// capped). False when the channel's share of that minute is taken.
    /// </summary>
    public bool TryAdmit(string channel, DateTimeOffset at, out int? minute)
    {
        minute = MinuteOf(at);
        if (minute is not { } m)
        {
            return true;
        }

        var taken = _taken.GetValueOrDefault((channel, m));
        if (taken >= Share)
        {
            minute = null;
            return false;
        }

        _taken[(channel, m)] = taken + 1;
        return true;
    }

    /// <summary>
    /// A claim admitted at one instant and stamped later (it waited for stock) counts in the minute
    /// of its stamp: moves its place there. False, with its place given up, when that minute's share is taken.
    /// </summary>
    public bool Move(string channel, ref int? minute, DateTimeOffset issuedAt)
    {
        if (MinuteOf(issuedAt) == minute)
        {
            return true;
        }

        Release(channel, minute);
        return TryAdmit(channel, issuedAt, out minute);
    }

    /// <summary>A claim answered: its place is given up (call once per admitted claim, with the minute it holds).</summary>
    public void Release(string channel, int? minute)
    {
        if (minute is { } m && _taken.TryGetValue((channel, m), out var taken))
        {
            _taken[(channel, m)] = taken - 1;
        }
    }

    /// <summary>A voucher written (or read back on activation): it counts in the minute of its issue time.</summary>
    public void Remember(string channel, DateTimeOffset issuedAt)
    {
        if (MinuteOf(issuedAt) is { } m)
        {
            _taken[(channel, m)] = _taken.GetValueOrDefault((channel, m)) + 1;
        }
    }

    /// <summary>Why a claim at <paramref name="now"/> was refused, and how long until the next minute may issue.</summary>
    public (TimeSpan RetryAfter, string Message) Refusal(string channel, DateTimeOffset now)
    {
        var next = _startsAt.AddMinutes((MinuteOf(now) ?? 0) + 1);
        return (next - now, $"partner '{channel}' reached the drop cap of {PerMinute} vouchers a minute; retry at {next:O}");
    }
}
