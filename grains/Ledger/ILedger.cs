namespace Campaigns.Grains.Ledger;

/// <summary>
/// The voucher ledger: the source of truth for vouchers, redemption events, per-user counts and
/// stock leases. One implementation per backend. Every write is one transaction; guards in the
/// database (unique keys, conditional updates) are the last arbiter when grains race.
/// </summary>
public interface ILedger
{
    /// <summary>Why the ledger takes no more writes and answers no more reads, if it has stopped (an operator restarts the silo); null while it is well.</summary>
    string? Fault { get; }

    /// <summary>What the ledger's writer has done since the last call, for the silo's activity log; each call starts a new window.</summary>
    LedgerActivity TakeActivity();

    /// <summary>Creates or migrates the ledger's tables.</summary>
    Task EnsureSchemaAsync(CancellationToken cancellationToken = default);

    // ---- issuance ----

    /// <summary>
    /// Commits a shard's batch in one transaction: inserts each voucher unless its (campaign,
    /// channel, request id) exists (those are reported, not inserted), adds each inserted voucher
    /// to its user's counts and its pool's lease usage. Throws <see cref="LedgerConflictException"/>
    /// and writes nothing when a user would pass <c>PerUserLimit</c> / <c>PerUserDailyLimit</c>
    /// (0 = none) or a lease's issued would pass its granted.
    /// </summary>
    Task<IssueBatchResult> CommitIssueBatchAsync(IssueBatch batch);

    /// <summary>Every voucher a shard has issued, to rebuild its memory on activation.</summary>
    Task<IReadOnlyList<VoucherRecord>> LoadShardVouchersAsync(string campaignId, int shard);

    /// <summary>The voucher issued for a channel's request id, if any.</summary>
    Task<VoucherRecord?> FindByRequestAsync(string campaignId, string channel, string requestId);

    /// <summary>All leases of a campaign (every shard and pool).</summary>
    Task<IReadOnlyList<StockLeaseRecord>> LoadLeasesAsync(string campaignId);

    /// <summary>
    /// Adds <paramref name="amount"/> to a shard's grant from a pool, unless the pool's total grant
    /// over all shards would pass <paramref name="poolCapacity"/>. Returns false (and writes
    /// nothing) when it would.
    /// </summary>
    Task<bool> GrantLeaseAsync(string campaignId, int shard, string pool, long amount, long poolCapacity);

    /// <summary>
    /// Takes up to <paramref name="units"/> back from a shard's grant from a pool, never leaving it
    /// below what the shard has issued plus <paramref name="keep"/> (units the shard has promised to
    /// claims it has not yet written). Returns how many came back: fewer than asked when the ledger
    /// knows the shard holds fewer than it believed, 0 when it holds none or has no lease.
    /// </summary>
    Task<long> ReturnLeaseAsync(string campaignId, int shard, string pool, long units, long keep);

    // ---- vouchers and redemption ----

    Task<VoucherRecord?> GetVoucherAsync(string code);

    /// <summary>The voucher and its redemption events (oldest first) in one read.</summary>
    Task<(VoucherRecord? Voucher, IReadOnlyList<RedemptionEventRecord> Events)> GetVoucherWithEventsAsync(string code);

    /// <summary>
    /// Replaces the voucher's row with <paramref name="next"/> (version must be
    /// <paramref name="expectedVersion"/> + 1) and appends <paramref name="redemptionEvent"/>, in one
    /// transaction, only if the stored version is still <paramref name="expectedVersion"/> and the
    /// event's unique key is free. Returns false, writing nothing, otherwise.
    /// </summary>
    Task<bool> TryTransitionAsync(VoucherRecord next, long expectedVersion, RedemptionEventRecord redemptionEvent);

    /// <summary>A user's vouchers, newest first, optionally of one campaign and/or one channel.</summary>
    Task<IReadOnlyList<VoucherRecord>> ListUserVouchersAsync(string userId, string? campaignId, string? channel);

    // ---- reporting ----

    Task<CampaignTotals> GetCampaignTotalsAsync(string campaignId, DateTimeOffset asOf);

    Task<SettlementTotals> GetSettlementAsync(string merchantId, string? campaignId);

    /// <summary>Redeemed and Refunded events of a campaign, in sequence order.</summary>
    IAsyncEnumerable<RedemptionEventRecord> ExportRedemptionEventsAsync(string campaignId, CancellationToken cancellationToken = default);

    // ---- directory and secrets ----

    /// <summary>Records a campaign id for listing (idempotent).</summary>
    Task RegisterCampaignAsync(string campaignId, DateTimeOffset createdAt);

    /// <summary>Campaign ids, newest first, after the one named by <paramref name="after"/> (exclusive; null = from the start).</summary>
    Task<IReadOnlyList<string>> ListCampaignIdsAsync(string? after, int limit);

    /// <summary>Returns the stored secret of that name, storing <paramref name="candidate"/> first if there is none.</summary>
    Task<byte[]> GetOrCreateSecretAsync(string name, byte[] candidate);
}
