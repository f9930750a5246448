using System.Runtime.InteropServices;
using Campaigns.Grains.Campaigns;
using Campaigns.Grains.Common;
using Campaigns.Grains.Ledger;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Campaigns.Grains.Issuance;

/// <summary>
/// One shard of a campaign's issuing. Reentrant: claims keep arriving while a batch is being
/// written, and are committed together as the next batch (group commit: one ledger transaction
/// for many vouchers, exactly one write outstanding). Every await is a point where others move,
/// so the bookkeeping is explicit:
/// <list type="bullet">
/// <item>committed: what the ledger holds for this shard (<see cref="_issued"/>, user counts);</item>
/// <item>pending: claims admitted but not yet durable — they count against limits and idempotency
/// at once, so a concurrent repeat waits for the first instead of issuing twice;</item>
/// <item>free: leased units not yet promised to any claim. A unit leaves <see cref="_free"/> when
/// a claim is admitted and comes back only if that claim's write did not insert it.</item>
/// <item>promised: units claims have taken whose writes have not yet been answered
/// (<see cref="_promised"/>): what the shard keeps of its lease when it gives the rest back.</item>
/// </list>
/// Invariant kept with the ledger's guards: issued ≤ granted for every lease, and no user past
/// a limit, even across crashes and duplicate activations.
/// </summary>
[Reentrant]
public sealed class VoucherPoolGrain(
    ILedger ledger,
    VoucherCodes codes,
    [FromKeyedServices(CampaignClock.Key)] TimeProvider clock,
    ILogger<VoucherPoolGrain> logger) : Grain, IVoucherPoolGrain
{
    /// <summary>How long a shard trusts "nothing left" before asking its campaign again.</summary>
    private static readonly TimeSpan ExhaustionMemory = TimeSpan.FromSeconds(1);

    private readonly Dictionary<(string Channel, string RequestId), IssuedRequest> _issued = [];
    private readonly Dictionary<string, int> _userIssued = [];
    private readonly Dictionary<(string User, DateOnly Day), int> _userDayIssued = [];
    private readonly Dictionary<(string Channel, string RequestId), PendingClaim> _pending = [];
    private readonly Dictionary<string, int> _userPending = [];
    private readonly Dictionary<(string User, DateOnly Day), int> _userDayPending = [];
    private readonly Dictionary<string, long> _free = [];
    private readonly Dictionary<string, long> _promised = [];
    private readonly Dictionary<string, Task<Refusal?>> _leaseRequests = [];
    private readonly Dictionary<string, int> _waitingForStock = [];
    private readonly Dictionary<string, (Refusal Reason, DateTimeOffset Until)> _exhausted = [];
    private readonly IssueRate _rate = new();
    private readonly BatchSizes _batches = new();
    private List<PendingClaim> _queue = [];
    private List<(string Pool, TaskCompletionSource<long> Answer)> _surrenders = [];
    private bool _committing;
    private bool _relearn;
    private bool _broken;
    private string _campaignId = "";
    private int _shard;
    private CampaignSnapshot? _campaign;
    private StockCapacity? _capacity;

    private ICampaignGrain Campaign => GrainFactory.GetGrain<ICampaignGrain>(_campaignId);

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        (_campaignId, _shard) = ShardRouting.ParsePoolKey(this.GetPrimaryKeyString());
        _campaign = await Campaign.FindAsync();
        if (_campaign is null)
        {
            return;
        }

        _capacity = _campaign.Capacity;

        // Rebuild memory from the commit point: the ledger's vouchers and leases for this shard.
        foreach (var voucher in await ledger.LoadShardVouchersAsync(_campaignId, _shard))
        {
            Remember(voucher);
        }

        foreach (var lease in await ledger.LoadLeasesAsync(_campaignId))
        {
            if (lease.Shard == _shard)
            {
                _free[lease.Pool] = Unspent(lease);
            }
        }
    }

    public async Task<IReadOnlyList<IssueOutcome>> IssueAsync(IReadOnlyList<IssueClaim> claims)
    {
        // All claims of one call are admitted in this turn, so they share one batch.
        var outcomes = new Task<IssueOutcome>[claims.Count];
        for (var i = 0; i < claims.Count; i++)
        {
            outcomes[i] = IssueOneAsync(claims[i]);
        }

        return await Task.WhenAll(outcomes);
    }

    public Task<IssueOutcome> ClaimAsync(IssueClaim claim) => IssueOneAsync(claim);

    public Task RefreshAsync(CampaignSnapshot campaign)
    {
        _campaign = campaign;
        _capacity = campaign.Capacity;
        // Status or stock changed: what was exhausted may not be any more.
        _exhausted.Clear();
        return Task.CompletedTask;
    }

    public Task<long> SurrenderAsync(string pool)
    {
        if (_broken)
        {
            return Task.FromResult(0L);
        }

        // Given back between two batches, by the commit loop: with no write in flight, what the
        // ledger counts as issued and what this shard has promised since do not overlap.
        var surrender = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        _surrenders.Add((pool, surrender));
        StartCommitting();
        return surrender.Task;
    }

    /// <summary>
    /// Gives back, in the ledger and before answering, the units of this shard's lease from a pool
    /// that no claim has taken: the campaign stops waiting after a while, and units this shard no
    /// longer counts as its own must not stay leased to it.
    /// <para>
    /// With no lease request of its own on the way, everything the ledger leases to this shard
    /// beyond what it has promised is given back, so a grant whose answer never arrived (the
    /// request timed out while the campaign was busy) comes back too. With one on the way, its
    /// grant may already be in the ledger and not yet counted here: then only the units this
    /// shard knows of go back.
    /// </para>
    /// </summary>
    private async Task GiveBackAsync(List<(string Pool, TaskCompletionSource<long> Answer)> surrenders)
    {
        foreach (var (pool, answer) in surrenders)
        {
            var free = _free.GetValueOrDefault(pool);
            var units = GrantOnItsWay ? free : long.MaxValue;
            if (_broken || units <= 0)
            {
                answer.SetResult(0);
                continue;
            }

            // Every free unit, even when the ledger takes fewer: then this memory was ahead of the
            // ledger, and the rest were never this shard's to spend.
            _free[pool] = 0;
            try
            {
                answer.SetResult(await ledger.ReturnLeaseAsync(_campaignId, _shard, pool, units, _promised.GetValueOrDefault(pool)));
            }
            catch (Exception ex)
            {
                // Given back or not, nobody can say: as after a failed batch, rebuild from the ledger.
                Break(ex, $"giving back the unspent lease from pool '{pool}' failed");
                answer.SetResult(0);
            }
        }
    }

    private async Task<IssueOutcome> IssueOneAsync(IssueClaim claim)
    {
        if (_campaign is not { } campaign)
        {
            return IssueOutcome.Refused(claim.RequestId, Refusal.CampaignNotFound, $"no campaign '{_campaignId}'");
        }

        if (_broken)
        {
            return Unavailable(claim);
        }

        if (Invalid(claim, campaign.Definition) is { } invalid)
        {
            return invalid;
        }

        // Idempotency first: a retry after a timeout must get its voucher even once sold out.
        var key = (claim.Channel, claim.RequestId);
        if (_issued.TryGetValue(key, out var issued))
        {
            return await ReplayAsync(claim, issued);
        }

        if (_pending.TryGetValue(key, out var inFlight))
        {
            if (inFlight.Claim != claim)
            {
                return KeyReused(claim);
            }

            var first = await inFlight.Completion.Task;
            return first.Voucher is null ? first : first with { Replayed = true };
        }

        var now = clock.GetUtcNow();
        if (campaign.IssuanceRefusal(now) is { } closed)
        {
            return IssueOutcome.Refused(claim.RequestId, closed, Explain(closed));
        }

        // Limits before stock: taking stock first and giving it back is how flash sales leak.
        var day = BusinessCalendar.DayOf(now);
        var definition = campaign.Definition;
        if (_userIssued.GetValueOrDefault(claim.UserId) + _userPending.GetValueOrDefault(claim.UserId) >= definition.PerUserLimit)
        {
            return IssueOutcome.Refused(claim.RequestId, Refusal.UserLimitReached,
                $"user '{claim.UserId}' already holds the {definition.PerUserLimit} voucher(s) allowed per user");
        }

        if (definition.PerUserDailyLimit > 0
            && _userDayIssued.GetValueOrDefault((claim.UserId, day)) + _userDayPending.GetValueOrDefault((claim.UserId, day)) >= definition.PerUserDailyLimit)
        {
            return IssueOutcome.Refused(claim.RequestId, Refusal.UserDailyLimitReached,
                $"user '{claim.UserId}' already received the {definition.PerUserDailyLimit} voucher(s) allowed per day");
        }

        var pending = new PendingClaim(claim, day);
        Admit(pending);
        var (pool, noStock) = await TakeStockAsync(claim.Channel);
        if (noStock is { } refusal)
        {
            Release(pending);
            var refused = IssueOutcome.Refused(claim.RequestId, refusal, Explain(refusal));
            pending.Completion.SetResult(refused);
            return refused;
        }

        var issuedAt = clock.LedgerNow();
        pending.Record = new VoucherRecord
        {
            Code = codes.NewCode(),
            CampaignId = _campaignId,
            Shard = _shard,
            UserId = claim.UserId,
            Channel = claim.Channel,
            RequestId = claim.RequestId,
            District = claim.District,
            Status = StoredVoucherStatus.Issued,
            Version = 1,
            Terms = definition.Terms,
            ValidFrom = definition.VoucherValidityStart(issuedAt).ToLedgerPrecision(),
            ValidUntil = definition.VoucherValidityEnd(issuedAt).ToLedgerPrecision(),
            IssuedAt = issuedAt,
            Pool = pool!,
            IssuedDay = day,
        };
        _queue.Add(pending);
        StartCommitting();
        return await pending.Completion.Task;
    }

    /// <summary>Takes one unit for a claim on <paramref name="channel"/>, leasing more when needed.</summary>
    private async Task<(string? Pool, Refusal? Refusal)> TakeStockAsync(string channel)
    {
        while (true)
        {
            foreach (var pool in _capacity!.PoolsFor(channel))
            {
                if (_free.GetValueOrDefault(pool) > 0)
                {
                    _free[pool]--;
                    _promised[pool] = _promised.GetValueOrDefault(pool) + 1;
                    return (pool, null);
                }
            }

            // Fast rejection: sold out is answered from memory, without storage or the campaign.
            if (_exhausted.TryGetValue(channel, out var exhausted) && exhausted.Until > clock.GetUtcNow())
            {
                return (null, exhausted.Reason);
            }

            // One lease request per channel at a time; everyone short of stock waits for it.
            if (!_leaseRequests.TryGetValue(channel, out var request))
            {
                request = RequestLeaseAsync(channel);
                _leaseRequests[channel] = request;
            }

            _waitingForStock[channel] = _waitingForStock.GetValueOrDefault(channel) + 1;
            try
            {
                if (await request is { } refusal)
                {
                    return (null, refusal);
                }
            }
            finally
            {
                _waitingForStock[channel]--;
            }
        }
    }

    private async Task<Refusal?> RequestLeaseAsync(string channel)
    {
        await Task.Yield(); // let this turn's other claims register as waiting: they size the request
        try
        {
            var wanted = LeaseSizing.Want(_waitingForStock.GetValueOrDefault(channel), _rate.LastSecond(clock.GetUtcNow()));
            var grant = await Campaign.RequestStockAsync(_shard, channel, wanted);
            if (grant.Amount > 0)
            {
                _free[grant.Pool] = _free.GetValueOrDefault(grant.Pool) + grant.Amount;
                _exhausted.Remove(channel);
                return null;
            }

            var refusal = grant.Refusal ?? Refusal.SoldOut;
            _exhausted[channel] = (refusal, clock.GetUtcNow() + ExhaustionMemory);
            RelearnLeases();
            return refusal;
        }
        catch (CampaignsException ex)
        {
            RelearnLeases();
            return ex.Code;
        }
        catch (Exception ex)
        {
            // Timed out, perhaps: the campaign may still grant it, and its answer is lost.
            logger.LogWarning(ex, "Shard {Campaign}/{Shard}: stock lease request failed", _campaignId, _shard);
            RelearnLeases();
            return Refusal.Unavailable;
        }
        finally
        {
            _leaseRequests.Remove(channel);
        }
    }

    /// <summary>
    /// After a lease request that brought nothing, reads this shard's leases back from the ledger
    /// (between two batches), in case it holds units it never heard of: a grant whose answer was
    /// lost when an earlier request timed out. Without this the shard would answer "sold out"
    /// over stock the ledger leases to it.
    /// </summary>
    private void RelearnLeases()
    {
        _relearn = true;
        StartCommitting();
    }

    private async Task RelearnLeasesAsync()
    {
        // Counted from the ledger and again when its answer arrives, a grant on its way would be
        // spent twice (the ledger would refuse the second). So only with none, before the read and after it.
        if (GrantOnItsWay || _broken)
        {
            return;
        }

        IReadOnlyList<StockLeaseRecord> leases;
        try
        {
            leases = await ledger.LoadLeasesAsync(_campaignId);
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "Shard {Campaign}/{Shard}: could not read its leases back", _campaignId, _shard);
            return;
        }

        if (GrantOnItsWay)
        {
            return;
        }

        foreach (var lease in leases.Where(l => l.Shard == _shard))
        {
            var free = Unspent(lease);
            if (free != _free.GetValueOrDefault(lease.Pool))
            {
                logger.LogWarning("Shard {Campaign}/{Shard}: pool '{Pool}' holds {Free} free units in the ledger, not {Believed}; relearned",
                    _campaignId, _shard, lease.Pool, free, _free.GetValueOrDefault(lease.Pool));
                _free[lease.Pool] = free;
            }
        }
    }

    /// <summary>
    /// While a lease request of this shard is out, its grant may already be in the ledger and not
    /// yet counted here: what the ledger leases to the shard is then more than the shard may take.
    /// </summary>
    private bool GrantOnItsWay => _leaseRequests.Count > 0;

    /// <summary>
    /// What of a lease no claim holds, by the ledger's counts. Read with no batch in flight (at
    /// activation, or between batches), so the ledger's issued and the claims promised since do
    /// not overlap.
    /// </summary>
    private long Unspent(StockLeaseRecord lease) =>
        Math.Max(0, lease.Granted - lease.Issued - _promised.GetValueOrDefault(lease.Pool));

    private void StartCommitting()
    {
        if (!_committing)
        {
            _committing = true;
            _ = CommitLoopAsync();
        }
    }

    private async Task CommitLoopAsync()
    {
        try
        {
            // Yield first so that every claim admitted in the current turn joins the first batch.
            await Task.Yield();
            while ((_queue.Count > 0 || _surrenders.Count > 0 || _relearn) && !_broken)
            {
                if (_relearn)
                {
                    _relearn = false;
                    await RelearnLeasesAsync();
                    continue;
                }

                if (_surrenders.Count > 0)
                {
                    var surrenders = _surrenders;
                    _surrenders = [];
                    await GiveBackAsync(surrenders);
                    continue;
                }

                var batch = _queue;
                _queue = [];
                await CommitAsync(batch);
            }
        }
        finally
        {
            _committing = false;
            if (_broken)
            {
                foreach (var (_, answer) in _surrenders)
                {
                    answer.TrySetResult(0);
                }

                _surrenders = [];
                // Every claim queued on a broken shard ends here, including those that were
                // waiting for stock when a batch failed and queued later (each enqueue starts a
                // loop): unanswered, they (and the shard's deactivation) would hang.
                foreach (var pending in _queue)
                {
                    Release(pending);
                    pending.Completion.TrySetResult(Unavailable(pending.Claim));
                }

                _queue = [];
            }
        }
    }

    private async Task CommitAsync(List<PendingClaim> batch)
    {
        IssueBatchResult result;
        try
        {
            using var commit = CampaignsTelemetry.StartIssueCommit(_campaignId, _shard, batch.Count);
            var definition = _campaign!.Definition;
            result = await ledger.CommitIssueBatchAsync(new IssueBatch(
                _campaignId, _shard, batch.ConvertAll(p => p.Record!), definition.PerUserLimit, definition.PerUserDailyLimit));
        }
        catch (Exception ex)
        {
            // The write failed or its outcome is unknown: memory may be behind or ahead of the
            // ledger. Answer UNAVAILABLE (a retry with the same request id returns the voucher if
            // it was in fact written) and rebuild from the ledger in a fresh activation.
            Break(ex, $"batch of {batch.Count} not committed");
            foreach (var pending in batch)
            {
                Release(pending);
                pending.Completion.TrySetResult(Unavailable(pending.Claim));
            }

            return;
        }

        List<PendingClaim>? conflicts = null;
        var committed = 0;
        foreach (var pending in batch)
        {
            Release(pending);
            _promised[pending.Record!.Pool]--;
            if (result.ConflictingRequestIds.Contains(pending.Claim.RequestId))
            {
                // Not inserted: the unit was not spent.
                _free[pending.Record!.Pool] = _free.GetValueOrDefault(pending.Record.Pool) + 1;
                (conflicts ??= []).Add(pending);
                continue;
            }

            Remember(pending.Record!);
            _rate.Add(pending.Record!.IssuedAt);
            committed++;
            pending.Completion.SetResult(IssueOutcome.Issued(pending.Claim.RequestId, pending.Record, replayed: false));
        }

        _batches.Record(committed, clock.GetUtcNow(), logger, _campaignId, _shard);
        foreach (var pending in conflicts ?? [])
        {
            pending.Completion.SetResult(await ResolveConflictAsync(pending.Claim));
        }
    }

    /// <summary>
    /// A write failed or its outcome is unknown, so memory may be behind or ahead of the ledger:
    /// this activation takes no more claims and gives way to a fresh one, rebuilt from the ledger.
    /// What is still queued is answered by the commit loop, which stops now.
    /// </summary>
    private void Break(Exception ex, string what)
    {
        logger.LogError(ex, "Shard {Campaign}/{Shard}: {What}; deactivating", _campaignId, _shard, what);
        _broken = true;
        DeactivateOnIdle();
    }

    /// <summary>
    /// The ledger already had this channel's request id: a claim for another user on another
    /// shard, or (after a duplicate activation) this very claim. Only the ledger can tell.
    /// </summary>
    private async Task<IssueOutcome> ResolveConflictAsync(IssueClaim claim)
    {
        try
        {
            var existing = await ledger.FindByRequestAsync(_campaignId, claim.Channel, claim.RequestId);
            if (existing is not null && existing.UserId == claim.UserId && existing.District == claim.District)
            {
                // Another activation issued it: our memory missed it, so rebuild.
                DeactivateOnIdle();
                return IssueOutcome.Issued(claim.RequestId, existing, replayed: true);
            }
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "Shard {Campaign}/{Shard}: could not read request {RequestId}", _campaignId, _shard, claim.RequestId);
            return Unavailable(claim);
        }

        return KeyReused(claim);
    }

    private async Task<IssueOutcome> ReplayAsync(IssueClaim claim, IssuedRequest issued)
    {
        if (issued.UserId != claim.UserId || issued.District != claim.District)
        {
            return KeyReused(claim);
        }

        // The voucher may have moved on since (reserved, redeemed): answer with what it is now.
        var current = await ledger.GetVoucherAsync(issued.Code);
        return current is null ? Unavailable(claim) : IssueOutcome.Issued(claim.RequestId, current, replayed: true);
    }

    private void Remember(VoucherRecord voucher)
    {
        _issued[(voucher.Channel, voucher.RequestId)] = new IssuedRequest(voucher.UserId, voucher.District, voucher.Code);
        _userIssued[voucher.UserId] = _userIssued.GetValueOrDefault(voucher.UserId) + 1;
        _userDayIssued[(voucher.UserId, voucher.IssuedDay)] = _userDayIssued.GetValueOrDefault((voucher.UserId, voucher.IssuedDay)) + 1;
    }

    private void Admit(PendingClaim pending)
    {
        _pending[(pending.Claim.Channel, pending.Claim.RequestId)] = pending;
        _userPending[pending.Claim.UserId] = _userPending.GetValueOrDefault(pending.Claim.UserId) + 1;
        _userDayPending[(pending.Claim.UserId, pending.Day)] = _userDayPending.GetValueOrDefault((pending.Claim.UserId, pending.Day)) + 1;
    }

    private void Release(PendingClaim pending)
    {
        if (!_pending.Remove((pending.Claim.Channel, pending.Claim.RequestId)))
        {
            return;
        }

        // Counts back at zero go: these hold claims in flight, not every user the shard has seen.
        Decrement(_userPending, pending.Claim.UserId);
        Decrement(_userDayPending, (pending.Claim.UserId, pending.Day));
    }

    private static void Decrement<TKey>(Dictionary<TKey, int> counts, TKey key)
        where TKey : notnull
    {
        if (--CollectionsMarshal.GetValueRefOrNullRef(counts, key) == 0)
        {
            counts.Remove(key);
        }
    }

    private static IssueOutcome? Invalid(IssueClaim claim, CampaignDefinition definition)
    {
        try
        {
            Identifiers.RequireKey("user_id", claim.UserId);
            Identifiers.RequireKey("request_id", claim.RequestId);
            if (claim.District.Length > 0 && definition.Districts.Count > 0 && !definition.Districts.Contains(claim.District))
            {
                throw CampaignsException.Invalid("district", $"'{claim.District}' is not one of the campaign's districts ({string.Join(", ", definition.Districts)})");
            }

            if (claim.District.Length > 64)
            {
                throw CampaignsException.Invalid("district", "must be at most 64 characters");
            }

            return null;
        }
        catch (CampaignsException ex)
        {
            return IssueOutcome.Refused(claim.RequestId, ex.Code, ex.Message);
        }
    }

    private static IssueOutcome KeyReused(IssueClaim claim) => IssueOutcome.Refused(claim.RequestId, Refusal.IdempotencyKeyReused,
        $"request_id '{claim.RequestId}' was already used for a different user or district");

    private static IssueOutcome Unavailable(IssueClaim claim) => IssueOutcome.Refused(claim.RequestId, Refusal.Unavailable,
        "issuing is briefly unavailable; retry with the same request_id");

    private static string Explain(Refusal refusal) => refusal switch
    {
        Refusal.SoldOut => "the campaign is sold out",
        Refusal.BudgetExhausted => "the campaign's budget is used up",
        Refusal.ChannelQuotaExhausted => "this channel's quota and the shared stock are used up",
        Refusal.CampaignNotActive => "the campaign is not issuing (draft or paused)",
        Refusal.CampaignNotStarted => "the campaign has not started yet",
        Refusal.CampaignEnded => "the campaign has ended",
        Refusal.Unavailable => "issuing is briefly unavailable; retry with the same request_id",
        _ => refusal.Reason(),
    };

    private sealed record IssuedRequest(string UserId, string District, string Code);

    private sealed class PendingClaim(IssueClaim claim, DateOnly day)
    {
        public IssueClaim Claim { get; } = claim;
        public DateOnly Day { get; } = day;
        public VoucherRecord? Record { get; set; }
        public TaskCompletionSource<IssueOutcome> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>
    /// Group-commit batch sizes, logged every 10 s while a shard issues: what an operator watching
    /// a drop (and the load report) reads. Measured on the 2-core machine with the embedded SQLite
    /// store and partner-like random ids (loadtests/reports/latest.md, 2026-12-03): single
    /// IssueVoucher calls from 64 callers over 8 shards commit in batches of 3.6-3.7 on average
    /// (largest 12-20) per shard, 145-180 commits a second each; at half that rate, open loop,
    /// batches of 1.4-1.7 (largest 27-40). IssueVouchers of 1,000 items from 4 callers commit
    /// 190-250 per shard on average (largest ~500-560). The writer thread joins every shard's
    /// batch waiting at the time into one transaction.
    /// </summary>
    private sealed class BatchSizes
    {
        private static readonly TimeSpan Every = TimeSpan.FromSeconds(10);
        private DateTimeOffset _since;
        private long _batches;
        private long _vouchers;
        private int _largest;

        public void Record(int vouchers, DateTimeOffset now, ILogger logger, string campaignId, int shard)
        {
            if (_batches == 0)
            {
                _since = now;
            }

            _batches++;
            _vouchers += vouchers;
            _largest = Math.Max(_largest, vouchers);
            if (now - _since >= Every)
            {
                logger.LogInformation("Shard {Campaign}/{Shard} committed {Vouchers} vouchers in {Batches} batches (mean {Mean:0.0}, largest {Largest}) over {Seconds:0} s",
                    campaignId, shard, _vouchers, _batches, (double)_vouchers / _batches, _largest, (now - _since).TotalSeconds);
                _batches = _vouchers = _largest = 0;
            }
        }
    }

    /// <summary>Vouchers issued in the current and the previous second, to size lease requests.</summary>
    private sealed class IssueRate
    {
        private long _second;
        private long _current;
        private long _previous;

        public void Add(DateTimeOffset at)
        {
            Roll(at);
            _current++;
        }

        public long LastSecond(DateTimeOffset now)
        {
            Roll(now);
            return Math.Max(_current, _previous);
        }

        private void Roll(DateTimeOffset at)
        {
            var second = at.ToUnixTimeSeconds();
            if (second != _second)
            {
                _previous = second == _second + 1 ? _current : 0;
                _current = 0;
                _second = second;
            }
        }
    }
}
