namespace Campaigns.Grains.Campaigns;

/// <summary>
/// How big a stock lease is. Big enough that a busy shard asks rarely (each grant is a ledger
/// write), small enough that no shard sits on stock others could sell: a grant never exceeds a
/// fair share of what is left, so chunks shrink as the drop nears its end.
/// </summary>
public static class LeaseSizing
{
    public const long MinimumWant = 16;

    /// <summary>What a shard asks for: what is waiting now, or a second of its recent demand.</summary>
    public static long Want(long waitingClaims, long issuedLastSecond) =>
        Math.Max(MinimumWant, Math.Max(waitingClaims, issuedLastSecond));

    /// <summary>What the campaign grants from a pool with <paramref name="free"/> units unleased.</summary>
    public static long Grant(long wanted, long free, int shardCount)
    {
        if (free <= 0)
        {
            return 0;
        }

        var fairShare = Math.Max(1, free / (2L * Math.Max(1, shardCount)));
        return Math.Min(free, Math.Max(1, Math.Min(wanted, fairShare)));
    }
}
