namespace Campaigns.Grains.Events;

/// <summary>
/// The per-voucher order of callbacks: a voucher's later events wait for its earlier ones. Issued
/// events are read from each shard in issue order; a redemption event of a voucher whose row the
/// shard cursor has not passed yet waits (its issued event has not been delivered); an expiry
/// waits for the issue, and for the redemption events to be read to their end (a voucher is
/// redeemed or refunded only while valid, so those events precede its expiry).
/// </summary>
public static class CallbackOrder
{
    /// <summary>Whether a redemption event of the voucher at <paramref name="seq"/> of a shard may go now.</summary>
    public static bool RedemptionMayGo(ShardCursor shard, long seq) => seq <= shard.Issued;

    /// <summary>Whether the shard's voucher at <paramref name="seq"/>, valid until <paramref name="validUntil"/>, may be told expired now.</summary>
    public static bool ExpiryMayGo(ShardCursor shard, long seq, DateTimeOffset validUntil, DateTimeOffset now, bool redemptionsRead) =>
        redemptionsRead && seq <= shard.Issued && validUntil <= now;
}
