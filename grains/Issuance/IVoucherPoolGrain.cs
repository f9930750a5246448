using Campaigns.Grains.Campaigns;
using Campaigns.Grains.Common;
using Campaigns.Grains.Ledger;

namespace Campaigns.Grains.Issuance;

/// <summary>A partner's claim of one voucher for one user; <paramref name="DeviceId"/> "" = none.</summary>
[GenerateSerializer, Immutable]
public sealed record IssueClaim(
    [property: Id(0)] string Channel,
    [property: Id(1)] string UserId,
    [property: Id(2)] string RequestId,
    [property: Id(3)] string District,
    [property: Id(4)] string DeviceId = "");

/// <summary>The answer to one claim: a voucher (first time or replayed) or a refusal.</summary>
[GenerateSerializer, Immutable]
public sealed record IssueOutcome(
    [property: Id(0)] string RequestId,
    [property: Id(1)] VoucherRecord? Voucher,
    [property: Id(2)] bool Replayed,
    [property: Id(3)] Refusal? Refusal,
    [property: Id(4)] string? Message,
    [property: Id(5)] TimeSpan? RetryAfter = null)
{
    public static IssueOutcome Issued(string requestId, VoucherRecord voucher, bool replayed) => new(requestId, voucher, replayed, null, null);

    public static IssueOutcome Refused(string requestId, Refusal refusal, string message, TimeSpan? retryAfter = null) =>
        new(requestId, null, false, refusal, message, retryAfter);
}

/// <summary>
/// One shard of a campaign's issuing, keyed "campaignId/shard". Every claim of one user lands
/// on one shard (<see cref="ShardRouting"/>), so per-user limits and idempotency are decided
/// here, in memory, before any stock is taken. Claims that arrive while a write is in flight
/// are committed together as the next batch, and each is answered only once its batch is durable.
/// </summary>
public interface IVoucherPoolGrain : IGrainWithStringKey
{
    /// <summary>Issues or refuses each claim; claims are independent of one another.</summary>
    Task<IReadOnlyList<IssueOutcome>> IssueAsync(IReadOnlyList<IssueClaim> claims);

    /// <summary>Issues or refuses one claim: <see cref="IssueAsync"/> for a single claim, with nothing to copy.</summary>
    Task<IssueOutcome> ClaimAsync(IssueClaim claim);

    /// <summary>The campaign tells its shards about a change of status or stock.</summary>
    Task RefreshAsync(CampaignSnapshot campaign);

    /// <summary>Gives back the unspent part of this shard's lease from a pool, in the ledger before answering; returns how much.</summary>
    Task<long> SurrenderAsync(string pool);

    /// <summary>A user's vouchers from this shard (the user's only shard of this campaign), newest first; claims not yet written are not among them.</summary>
    Task<IReadOnlyList<VoucherRecord>> ListUserVouchersAsync(string userId);
}

/// <summary>Which shard a user's claims go to.</summary>
public static class ShardRouting
{
    public static string PoolKey(string campaignId, int shard) => $"{campaignId}/{shard}";

    public static (string CampaignId, int Shard) ParsePoolKey(string key)
    {
        var slash = key.LastIndexOf('/');
        return (key[..slash], int.Parse(key[(slash + 1)..], System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>A stable hash of the user id (XxHash32 of its UTF-8), the same on every silo and run.</summary>
    /// <remarks>Every claim is routed before its user id is checked, so any length may come here;
    /// ids that fit (all valid ones do) are encoded on the stack.</remarks>
    public static int ShardFor(string userId, int shardCount)
    {
        const int OnStack = 512;
        var most = System.Text.Encoding.UTF8.GetMaxByteCount(userId.Length);
        var utf8 = most <= OnStack ? stackalloc byte[OnStack] : new byte[most];
        var length = System.Text.Encoding.UTF8.GetBytes(userId, utf8);
        return (int)(System.IO.Hashing.XxHash32.HashToUInt32(utf8[..length]) % (uint)shardCount);
    }
}
