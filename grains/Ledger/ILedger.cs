namespace Campaigns.Grains.Ledger;

/// <summary>
/// The voucher ledger: the source of truth for vouchers, redemption events and stock leases. One
/// implementation per backend, each passing the same contract tests. Every write is one
/// transaction. Each call says what isolation it relies on: READ COMMITTED is enough for every
/// one of them, because the races that matter are settled by conditional single statements and
/// by fencing (an epoch row that every write of a shard or campaign updates first).
/// A store that cannot be reached throws <see cref="LedgerUnavailableException"/>.
/// </summary>
public interface ILedger : IIssuingLedger, ILeaseLedger, IRedemptionLedger, IReportingLedger, ICampaignDirectory, IEventSource
{
    /// <summary>Creates or migrates the ledger's tables.</summary>
    Task EnsureSchemaAsync(CancellationToken cancellationToken = default);
}

/// <summary>What a shard needs to issue: its fence, its own key range, and the batch commit.</summary>
public interface IIssuingLedger
{
    /// <summary>
    /// Takes the next epoch of the shard (one conditional increment), so every earlier activation's
    /// commits and lease returns are refused from now on, and gives the campaign's number. Call it
    /// before reading the shard's vouchers: a commit of an earlier activation is then either in
    /// that read or refused.
    /// </summary>
    Task<ShardActivation> ActivateShardAsync(string campaignId, int shard);

    /// <summary>A shard's vouchers in issue order (its key range, read in order), whole.</summary>
    Task<IReadOnlyList<VoucherRecord>> LoadShardVouchersAsync(int campaignNumber, int shard);

    /// <summary>What a shard rebuilds its books from: who claimed each of its vouchers, and how, in issue order.</summary>
    Task<IReadOnlyList<ShardIssue>> LoadShardIssuesAsync(int campaignNumber, int shard);

    /// <summary>
    /// Appends a shard's batch in one transaction: checks the batch's epoch first, in a way that
    /// holds off a newer activation until this commits (a conditional update that locks the epoch
    /// row; or a read, where the store has a single writer), inserts the
    /// vouchers at their keys and adds them to their leases' issued counts. Throws
    /// <see cref="LedgerFencedException"/> when a newer activation holds the shard, and
    /// <see cref="LedgerConflictException"/> when a lease would issue past its grant; nothing is
    /// written then. Idempotency and per-user limits are the shard's: it is the only writer of its users.
    /// </summary>
    Task CommitIssueBatchAsync(IssueBatch batch);

    /// <summary>
    /// What a device bucket rebuilds its counts from: for each device of the bucket and each shard,
    /// how many of the campaign's vouchers carry it and the last seq among them, read in one
    /// statement (one snapshot). Vouchers without a device are not counted.
    /// </summary>
    Task<IReadOnlyList<DeviceClaimCount>> LoadDeviceClaimsAsync(int campaignNumber, int bucket);
}

/// <summary>Stock leases: the campaign grants them, shards spend them and give back what they do not need.</summary>
public interface ILeaseLedger
{
    /// <summary>Takes the next epoch of the campaign: an earlier activation's grants are refused from now on.</summary>
    Task<long> ActivateCampaignAsync(string campaignId);

    /// <summary>All leases of a campaign (every shard and pool).</summary>
    Task<IReadOnlyList<StockLeaseRecord>> LoadLeasesAsync(string campaignId);

    /// <summary>
    /// Adds <paramref name="amount"/> to a shard's grant from a pool unless the pool's total grant
    /// would pass <paramref name="poolCapacity"/>: the check and the addition are one conditional
    /// update of the pool's total, so two grants racing for the last units cannot both pass it.
    /// Returns false, writing nothing, when it would pass. Throws <see cref="LedgerFencedException"/>
    /// when <paramref name="campaignEpoch"/> is no longer the campaign's.
    /// </summary>
    Task<bool> GrantLeaseAsync(string campaignId, long campaignEpoch, int shard, string pool, long amount, long poolCapacity);

    /// <summary>
    /// Takes up to <paramref name="units"/> back from a shard's grant from a pool, never leaving it
    /// below what the shard has issued plus <paramref name="keep"/> (units promised to claims not
    /// yet written). Returns how many came back. Fenced by the shard's epoch: the shard's epoch row
    /// is updated first, so its commits cannot run between the read and the cut.
    /// </summary>
    Task<long> ReturnLeaseAsync(string campaignId, int shard, long shardEpoch, string pool, long units, long keep);
}

/// <summary>A voucher's row and its redemption events: read by key, moved by conditional writes.</summary>
public interface IRedemptionLedger
{
    /// <summary>The key of a voucher issued before keyed rows, by its code; null if there is none.</summary>
    Task<VoucherKey?> FindLegacyCodeAsync(string code);

    Task<VoucherRecord?> GetVoucherAsync(VoucherKey key);

    /// <summary>Vouchers by key, in the order asked; keys with no row are left out.</summary>
    Task<IReadOnlyList<VoucherRecord>> GetVouchersAsync(IReadOnlyList<VoucherKey> keys);

    /// <summary>The voucher and its redemption events (oldest first) in one read.</summary>
    Task<(VoucherRecord? Voucher, IReadOnlyList<RedemptionEventRecord> Events)> GetVoucherWithEventsAsync(VoucherKey key);

    /// <summary>
    /// Replaces the voucher's row with <paramref name="next"/> (version must be
    /// <paramref name="expectedVersion"/> + 1) and appends <paramref name="redemptionEvent"/>, in one
    /// transaction, only if the stored version is still <paramref name="expectedVersion"/> and the
    /// event's unique key is free. Returns false, writing nothing, otherwise. One conditional
    /// update: correct under READ COMMITTED.
    /// </summary>
    Task<bool> TryTransitionAsync(VoucherRecord next, long expectedVersion, RedemptionEventRecord redemptionEvent);
}

/// <summary>Figures for stats, settlement and export: SQL over the ledger, off the issuing path.</summary>
public interface IReportingLedger
{
    /// <summary>One campaign's figures at <paramref name="asOf"/>, from one snapshot.</summary>
    Task<CampaignTotals> GetCampaignTotalsAsync(string campaignId, DateTimeOffset asOf);

    Task<SettlementTotals> GetSettlementAsync(string merchantId, string? campaignId);

    /// <summary>Redeemed and Refunded events of a campaign whose sequence is above <paramref name="afterSequence"/>, in sequence order.</summary>
    IAsyncEnumerable<RedemptionEventRecord> ExportRedemptionEventsAsync(string campaignId, long afterSequence = 0, CancellationToken cancellationToken = default);
}

/// <summary>The list of campaigns, their numbers, and the deployment's secrets.</summary>
public interface ICampaignDirectory
{
    /// <summary>Records a campaign (idempotent) and returns its number, which keys its vouchers' rows.</summary>
    Task<int> RegisterCampaignAsync(string campaignId, DateTimeOffset createdAt);

    /// <summary>A campaign's number, if it is in the directory.</summary>
    Task<int?> FindCampaignNumberAsync(string campaignId);

    /// <summary>Campaign ids, newest first, after the one named by <paramref name="after"/> (exclusive; null = from the start).</summary>
    Task<IReadOnlyList<string>> ListCampaignIdsAsync(string? after, int limit);

    /// <summary>Returns the stored secret of that name, storing <paramref name="candidate"/> first if there is none.</summary>
    Task<byte[]> GetOrCreateSecretAsync(string name, byte[] candidate);
}

/// <summary>
/// What event callbacks read: the ledger's own orders, tailed from a cursor, so the issuing path
/// writes nothing more for them. Voucher rows are tailed per shard in issue order (one shard
/// commits one batch at a time, so its rows become visible in seq order); redemption and campaign
/// events by <see cref="FeedPosition"/>. Every read hands over only what is durable.
/// </summary>
public interface IEventSource
{
    /// <summary>Every shard that has been activated, of every campaign, with the seq of its last durable voucher.</summary>
    Task<IReadOnlyList<ShardOfCampaign>> ListShardsAsync();

    /// <summary>Up to <paramref name="limit"/> vouchers of one shard after <paramref name="afterSeq"/>, in issue order, as they are now.</summary>
    Task<IReadOnlyList<VoucherRecord>> ReadShardVouchersAfterAsync(int campaignNumber, int shard, long afterSeq, int limit);

    /// <summary>Up to <paramref name="limit"/> Redeemed and Refunded events after <paramref name="after"/>, in position order.</summary>
    Task<IReadOnlyList<FeedRedemption>> ReadRedemptionsAfterAsync(FeedPosition after, int limit);

    /// <summary>Where the redemption order ends now: a cursor there sees only events committed later.</summary>
    Task<FeedPosition> RedemptionsHeadAsync();

    /// <summary>Appends a campaign event unless its (campaign, type, occurrence) is stored already; true if it was new.</summary>
    Task<bool> AppendCampaignEventAsync(CampaignEventRecord campaignEvent);

    /// <summary>Up to <paramref name="limit"/> campaign events after <paramref name="after"/>, in position order.</summary>
    Task<IReadOnlyList<FeedCampaignEvent>> ReadCampaignEventsAfterAsync(FeedPosition after, int limit);

    /// <summary>Where the campaign events' order ends now.</summary>
    Task<FeedPosition> CampaignEventsHeadAsync();
}

/// <summary>How a backend's writer is doing, for health checks and the activity log: not part of the domain contract.</summary>
public interface ILedgerDiagnostics
{
    /// <summary>Why the ledger takes no more writes and answers no more reads, if it has stopped (an operator restarts the silo); null while it is well.</summary>
    string? Fault { get; }

    /// <summary>What the ledger's writer has done since the last call; each call starts a new window.</summary>
    LedgerActivity TakeActivity();
}
