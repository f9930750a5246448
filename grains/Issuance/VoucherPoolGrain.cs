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
/// <item>committed and pending, per user and request id (<see cref="ShardBooks"/>): claims admitted
/// but not yet durable count against limits and idempotency at once, so a concurrent repeat waits
/// for the first instead of issuing twice;</item>
/// <item>free: leased units not yet promised to any claim (<see cref="ShardStock"/>). A unit leaves free when
/// a claim is admitted and comes back only if that claim's write did not insert it.</item>
/// <item>promised: units claims have taken whose writes have not yet been answered
/// (<see cref="ShardStock"/>): what the shard keeps of its lease when it gives the rest back.</item>
/// </list>
/// Under a limit per device, a claim naming a device also holds a slot of its device's bucket
/// (<see cref="IDeviceClaimsGrain"/>) from before it takes stock until its write is answered.
/// This activation is the only writer of its users: it takes a new epoch for the shard before it
/// reads its rows, and every write checks that epoch, so an older or duplicate activation can
/// write nothing. Invariant, with the ledger's lease guard: issued ≤ granted for every lease, and
/// no user past a limit, even across crashes and duplicate activations.
/// </summary>
[Reentrant]
public sealed class VoucherPoolGrain(
    ILedger ledger,
    VoucherCodes codes,
    LocalShards localShards,
    [FromKeyedServices(CampaignClock.Key)] TimeProvider clock,
    ILogger<VoucherPoolGrain> logger) : Grain, IVoucherPoolGrain
{
    /// <summary>How long a shard trusts "nothing left" before asking its campaign again.</summary>
    private static readonly TimeSpan ExhaustionMemory = TimeSpan.FromSeconds(1);

    private readonly ShardBooks _books = new();
    private readonly Dictionary<(string Channel, string UserId, string RequestId), PendingClaim> _pending = [];
    private readonly ShardStock _stock = new();
    private readonly Dictionary<string, Task<Refusal?>> _leaseRequests = [];
    private readonly Dictionary<string, int> _waitingForStock = [];
    private readonly Dictionary<string, (Refusal Reason, DateTimeOffset Until)> _exhausted = [];
    private readonly SoldOutVerdicts _verdicts = new();
    private readonly Dictionary<int, DeviceRound> _deviceRounds = [];
    private readonly IssueRate _rate = new();
    private readonly BatchSizes _batches = new();
    private List<PendingClaim> _queue = [];
    private List<(string Pool, TaskCompletionSource<long> Answer)> _surrenders = [];
    private bool _committing;
    private bool _relearn;
    private bool _broken;
    private string _campaignId = "";
    private int _shard;
    private int _campaignNumber;
    private long _epoch;
    private long _nextSeq;
    private CampaignSnapshot? _campaign;
    private StockCapacity? _capacity;
    private PartnerDropCap? _dropCap;
    private LocalShard? _local;

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
        _dropCap = PartnerDropCap.For(_campaign.Definition, _shard);

        // The epoch first: any write of an earlier activation is then either in the rows read
        // below or refused by the ledger.
        (_epoch, _campaignNumber) = await ledger.ActivateShardAsync(_campaignId, _shard);

        // Rebuild memory from the commit point: the shard's own rows, in issue order, and its leases.
        var rebuilding = System.Diagnostics.Stopwatch.StartNew();
        var issues = await ledger.LoadShardIssuesAsync(_campaignNumber, _shard);
        var read = rebuilding.Elapsed;
        _books.Expect(issues.Count);
        foreach (var issue in issues)
        {
            _books.Remember(issue);
            _dropCap?.Remember(issue.Channel, issue.IssuedAt);
        }

        _nextSeq = _books.LastSeq + 1;
        if (_books.Issued > 0)
        {
            logger.LogInformation("Shard {Campaign}/{Shard} rebuilt its books from {Vouchers} vouchers in {Milliseconds:0} ms ({ReadMilliseconds:0} ms reading them)",
                _campaignId, _shard, _books.Issued, rebuilding.Elapsed.TotalMilliseconds, read.TotalMilliseconds);
        }

        foreach (var lease in await ledger.LoadLeasesAsync(_campaignId))
        {
            if (lease.Shard == _shard)
            {
                _stock.Relearn(lease);
            }
        }

        // Ready: this silo's API may now hand claims to this activation without a message.
        _local = localShards.Open(_campaignId, _shard, GrainContext, this, DelayDeactivation, RefuseOutsideTurn);
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken) =>
        _local?.CloseAsync(cancellationToken) ?? Task.CompletedTask;

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
        Volatile.Write(ref _campaign, campaign);
        _capacity = campaign.Capacity;
        // Status or stock changed: what was exhausted may not be any more.
        _exhausted.Clear();
        _verdicts.Withdraw();
        return Task.CompletedTask;
    }

    /// <summary>
    /// On any thread, for this silo's API: the refusal a claim gets from the shard's sold-out
    /// verdict (<see cref="SoldOutVerdicts"/>), without a turn; null when the claim needs one.
    /// Only a claim the turn would refuse the same way is answered: a valid claim, on a campaign
    /// issuing and without a drop cap, from a user not blocked who holds nothing here and has no
    /// claim in flight here (so no replay, no limit, no claim to join).
    /// </summary>
    private IssueOutcome? RefuseOutsideTurn(IssueClaim claim)
    {
        if (Volatile.Read(ref _campaign) is not { } campaign || Volatile.Read(ref _broken) || _dropCap is not null)
        {
            return null;
        }

        var now = clock.GetUtcNow();
        return _verdicts.For(claim.Channel, now, campaign, _stock.Freed) is { } refusal
            && ClosedTo(claim, campaign, now) is null
            && Invalid(claim, campaign.Definition) is null
            && !_books.Knows(claim.UserId)
                ? IssueOutcome.Refused(claim.RequestId, refusal, Explain(refusal))
                : null;
    }

    /// <summary>In the turn that refused a claim for want of stock: says so for the API to answer alike (<see cref="RefuseOutsideTurn"/>).</summary>
    private void NoteSoldOut(string channel, Refusal refusal)
    {
        if (_dropCap is null && _campaign is { } campaign && _exhausted.TryGetValue(channel, out var exhausted)
            && exhausted.Reason == refusal && KnownExhausted(channel) == refusal)
        {
            _verdicts.Note(channel, exhausted.Reason, exhausted.Until, campaign, _stock.Freed);
        }
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

    public async Task<IReadOnlyList<VoucherRecord>> ListUserVouchersAsync(string userId) =>
        _campaign is null ? [] : await ledger.GetVouchersAsync(_books.KeysOf(userId, _campaignNumber, _shard));

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
            var units = GrantOnItsWay ? _stock.Free(pool) : long.MaxValue;
            if (_broken || units <= 0)
            {
                answer.SetResult(0);
                continue;
            }

            // Every free unit, even when the ledger takes fewer: then this memory was ahead of the
            // ledger, and the rest were never this shard's to spend.
            _stock.TakeFree(pool);
            try
            {
                answer.SetResult(await ledger.ReturnLeaseAsync(_campaignId, _shard, _epoch, pool, units, _stock.Promised(pool)));
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
        if (_books.IssuedFor(claim.Channel, claim.UserId, claim.RequestId) is { } issued)
        {
            return await ReplayAsync(claim, issued);
        }

        if (_pending.TryGetValue((claim.Channel, claim.UserId, claim.RequestId), out var inFlight))
        {
            // As for a replay, the device a retry names does not matter: the first claim's holds.
            if (inFlight.Claim.District != claim.District)
            {
                return KeyReused(claim);
            }

            var first = await inFlight.Completion.Task;
            return first.Voucher is null ? first : first with { Replayed = true };
        }

        var now = clock.GetUtcNow();
        if (ClosedTo(claim, campaign, now) is { } closed)
        {
            return closed;
        }

        // Limits before stock: taking stock first and giving it back is how flash sales leak.
        var day = BusinessCalendar.DayOf(now);
        var definition = campaign.Definition;
        if (_books.LimitRefusal(claim.UserId, day, definition.PerUserLimit, definition.PerUserDailyLimit) is { } limit)
        {
            return IssueOutcome.Refused(claim.RequestId, limit.Reason, limit.Message);
        }

        // A sold-out campaign answers from memory before any device bucket is asked.
        var limitsDevice = definition.PerDeviceLimit > 0 && claim.DeviceId.Length > 0;
        if (limitsDevice && KnownExhausted(claim.Channel) is { } soldOut)
        {
            return IssueOutcome.Refused(claim.RequestId, soldOut, Explain(soldOut));
        }

        int? dropMinute = null;
        if (_dropCap is { } dropCap && !dropCap.TryAdmit(claim.Channel, now, out dropMinute))
        {
            return DropCapReached(claim, dropCap, now);
        }

        var pending = new PendingClaim(claim, day) { DropMinute = dropMinute };
        Admit(pending);
        if (limitsDevice && await ReserveDeviceAsync(pending, definition) is { } deviceRefused)
        {
            return Unwritten(pending, deviceRefused);
        }

        var (pool, noStock) = await TakeStockAsync(claim.Channel);
        if (noStock is { } refusal)
        {
            NoteSoldOut(claim.Channel, refusal);
            return Unwritten(pending, IssueOutcome.Refused(claim.RequestId, refusal, Explain(refusal)));
        }

        var issuedAt = clock.LedgerNow();
        if (_dropCap is { } cap && !MoveToMinuteOf(pending, cap, issuedAt))
        {
            _stock.Unpromise(pool!);
            return Unwritten(pending, DropCapReached(claim, cap, issuedAt));
        }

        var key = new VoucherKey(_campaignNumber, _shard, _nextSeq++);
        pending.Record = new VoucherRecord
        {
            Code = codes.CodeFor(key),
            CampaignId = _campaignId,
            CampaignNumber = _campaignNumber,
            Shard = _shard,
            Seq = key.Seq,
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
            DeviceId = pending.DeviceBucket is null ? null : claim.DeviceId,
            DeviceBucket = pending.DeviceBucket ?? 0,
        };
        _queue.Add(pending);
        StartCommitting();
        return await pending.Completion.Task;
    }

    /// <summary>
    /// Asks the claim's device bucket for a slot; the claims of one turn (a batch) that share a
    /// bucket go in one call. A refusal to answer with, or null once the claim holds a slot.
    /// </summary>
    private async Task<IssueOutcome?> ReserveDeviceAsync(PendingClaim pending, CampaignDefinition definition)
    {
        var claim = pending.Claim;
        var bucket = DeviceRouting.BucketFor(claim.DeviceId, definition.ShardCount);
        if (!_deviceRounds.TryGetValue(bucket, out var round))
        {
            _deviceRounds[bucket] = round = new DeviceRound();
            round.Answer = AskDeviceBucketAsync(bucket, round, definition.PerDeviceLimit);
        }

        var index = round.Claims.Count;
        round.Claims.Add(new DeviceClaim(claim.Channel, claim.UserId, claim.RequestId, claim.DeviceId));
        try
        {
            if (!(await round.Answer)[index])
            {
                return IssueOutcome.Refused(claim.RequestId, Refusal.DeviceLimitReached,
                    $"this device already received the {definition.PerDeviceLimit} voucher(s) allowed per device");
            }
        }
        catch (Exception ex)
        {
            // Its slot may have been taken and the answer lost: a retry of the claim reuses it.
            logger.LogWarning(ex, "Shard {Campaign}/{Shard}: device bucket {Bucket} did not answer", _campaignId, _shard, bucket);
            return Unavailable(claim);
        }

        pending.DeviceBucket = bucket;
        return null;
    }

    private async Task<IReadOnlyList<bool>> AskDeviceBucketAsync(int bucket, DeviceRound round, int limit)
    {
        await Task.Yield(); // let this turn's other claims for the bucket join the call
        _deviceRounds.Remove(bucket);
        return await DeviceBucket(bucket).ReserveAsync(limit, round.Claims);
    }

    /// <summary>
    /// Tells the device buckets how claims holding a slot ended, without holding up their answers:
    /// a written voucher counts as the device's, a slot given up is free again. Not told (the
    /// bucket's call failed), a bucket keeps counting the claim in flight until it restarts.
    /// </summary>
    private void SettleDevices(IEnumerable<PendingClaim> claims, bool written)
    {
        if (_campaign?.Definition.PerDeviceLimit is not > 0)
        {
            return;
        }

        foreach (var bucket in claims.Where(p => p.DeviceBucket is not null).GroupBy(p => p.DeviceBucket!.Value))
        {
            _ = SettleAsync(bucket.Key, [.. bucket.Select(p => new DeviceSettlement(
                p.Claim.Channel, p.Claim.UserId, p.Claim.RequestId, p.Claim.DeviceId, _shard, written ? p.Record!.Seq : 0))]);
        }
    }

    private async Task SettleAsync(int bucket, IReadOnlyList<DeviceSettlement> settled)
    {
        try
        {
            await DeviceBucket(bucket).SettleAsync(settled);
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "Shard {Campaign}/{Shard}: device bucket {Bucket} did not hear how {Claims} claim(s) ended; it counts them in flight until it restarts",
                _campaignId, _shard, bucket, settled.Count);
        }
    }

    private IDeviceClaimsGrain DeviceBucket(int bucket) => GrainFactory.GetGrain<IDeviceClaimsGrain>(ShardRouting.PoolKey(_campaignId, bucket));

    /// <summary>Takes one unit for a claim on <paramref name="channel"/>, leasing more when needed.</summary>
    private async Task<(string? Pool, Refusal? Refusal)> TakeStockAsync(string channel)
    {
        while (true)
        {
            if (_stock.Promise(_capacity!.PoolsFor(channel)) is { } pool)
            {
                return (pool, null);
            }

            // Fast rejection: sold out is answered from memory, without storage or the campaign.
            if (KnownExhausted(channel) is { } exhausted)
            {
                return (null, exhausted);
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

    /// <summary>Why <paramref name="channel"/> was refused stock within the last second, if it was and the shard has none free for it since.</summary>
    private Refusal? KnownExhausted(string channel)
    {
        if (!_exhausted.TryGetValue(channel, out var exhausted) || exhausted.Until <= clock.GetUtcNow())
        {
            return null;
        }

        var pools = _capacity!.PoolsFor(channel);
        for (var i = 0; i < pools.Count; i++)
        {
            if (_stock.Free(pools[i]) > 0)
            {
                return null;
            }
        }

        return exhausted.Reason;
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
                _stock.Grant(grant.Pool, grant.Amount);
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
            if (_stock.Relearn(lease) is { } believed)
            {
                logger.LogWarning("Shard {Campaign}/{Shard}: pool '{Pool}' holds {Free} free units in the ledger, not {Believed}; relearned",
                    _campaignId, _shard, lease.Pool, _stock.Free(lease.Pool), believed);
            }
        }
    }

    /// <summary>
    /// While a lease request of this shard is out, its grant may already be in the ledger and not
    /// yet counted here: what the ledger leases to the shard is then more than the shard may take.
    /// </summary>
    private bool GrantOnItsWay => _leaseRequests.Count > 0;

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

                SettleDevices(_queue, written: false);
                _queue = [];
            }
        }
    }

    private async Task CommitAsync(List<PendingClaim> batch)
    {
        try
        {
            using var commit = CampaignsTelemetry.StartIssueCommit(_campaignId, _shard, batch.Count);
            await ledger.CommitIssueBatchAsync(new IssueBatch(_campaignId, _campaignNumber, _shard, _epoch, batch.ConvertAll(p => p.Record!)));
        }
        catch (Exception ex)
        {
            // The write failed, its outcome is unknown, or a newer activation holds the shard:
            // memory may be behind or ahead of the ledger. Answer UNAVAILABLE (a retry with the
            // same request id returns the voucher if it was in fact written) and rebuild from the
            // ledger in a fresh activation.
            Break(ex, ex is LedgerFencedException ? "a newer activation holds the shard" : $"batch of {batch.Count} not committed");
            foreach (var pending in batch)
            {
                Release(pending);
                pending.Completion.TrySetResult(Unavailable(pending.Claim));
            }

            // Refused by a guard, nothing was written. Otherwise the vouchers may be in the ledger:
            // their device slots stay taken, and a retry of the claim reuses its own.
            if (ex is LedgerFencedException or LedgerConflictException)
            {
                SettleDevices(batch, written: false);
            }

            return;
        }

        foreach (var pending in batch)
        {
            // Remembered before released: the user is never unknown to ShardBooks.Knows in between.
            _books.Remember(pending.Record!);
            Release(pending);
            _stock.Settle(pending.Record!.Pool);
            _dropCap?.Remember(pending.Record.Channel, pending.Record.IssuedAt);
            _rate.Add(pending.Record.IssuedAt);
            pending.Completion.SetResult(IssueOutcome.Issued(pending.Claim.RequestId, pending.Record, replayed: false));
        }

        SettleDevices(batch, written: true);

        _batches.Record(batch.Count, clock.GetUtcNow(), logger, _campaignId, _shard);
    }

    /// <summary>
    /// A write failed or its outcome is unknown, so memory may be behind or ahead of the ledger:
    /// this activation takes no more claims and gives way to a fresh one, rebuilt from the ledger.
    /// What is still queued is answered by the commit loop, which stops now.
    /// </summary>
    private void Break(Exception ex, string what)
    {
        logger.LogError(ex, "Shard {Campaign}/{Shard}: {What}; deactivating", _campaignId, _shard, what);
        Volatile.Write(ref _broken, true);
        // This silo's claims go as grain calls from now on: answered here until the deactivation, then by a fresh activation.
        _local?.Close();

        DeactivateOnIdle();
    }

    private async Task<IssueOutcome> ReplayAsync(IssueClaim claim, IssuedRequest issued)
    {
        if (issued.District != claim.District)
        {
            return KeyReused(claim);
        }

        // The voucher may have moved on since (reserved, redeemed): answer with what it is now.
        var current = await ledger.GetVoucherAsync(new VoucherKey(_campaignNumber, _shard, issued.Seq));
        return current is null ? Unavailable(claim) : IssueOutcome.Issued(claim.RequestId, current, replayed: true);
    }

    private void Admit(PendingClaim pending)
    {
        _pending[(pending.Claim.Channel, pending.Claim.UserId, pending.Claim.RequestId)] = pending;
        _books.Admit(pending.Claim.UserId, pending.Day);
    }

    private void Release(PendingClaim pending)
    {
        if (_pending.Remove((pending.Claim.Channel, pending.Claim.UserId, pending.Claim.RequestId)))
        {
            _books.Release(pending.Claim.UserId, pending.Day);
            _dropCap?.Release(pending.Claim.Channel, pending.DropMinute);
        }
    }

    /// <summary>Answers an admitted claim that will not be written: its user's, minute's and device's places are given up.</summary>
    private IssueOutcome Unwritten(PendingClaim pending, IssueOutcome refused)
    {
        Release(pending);
        SettleDevices([pending], written: false);
        pending.Completion.SetResult(refused);
        return refused;
    }

    /// <summary>A claim that waited for stock into the next minute counts there, as its voucher's issue time will on a rebuild.</summary>
    private static bool MoveToMinuteOf(PendingClaim pending, PartnerDropCap cap, DateTimeOffset issuedAt)
    {
        var minute = pending.DropMinute;
        var moved = cap.Move(pending.Claim.Channel, ref minute, issuedAt);
        pending.DropMinute = minute;
        return moved;
    }

    private static IssueOutcome DropCapReached(IssueClaim claim, PartnerDropCap cap, DateTimeOffset now)
    {
        var (retryAfter, message) = cap.Refusal(claim.Channel, now);
        return IssueOutcome.Refused(claim.RequestId, Refusal.PartnerDropCapReached, message, retryAfter);
    }

    /// <summary>The campaign's own refusal of the claim now: not issuing (draft, paused, outside its window), or its user blocked.</summary>
    private static IssueOutcome? ClosedTo(IssueClaim claim, CampaignSnapshot campaign, DateTimeOffset now) =>
        campaign.IssuanceRefusal(now) is { } closed ? IssueOutcome.Refused(claim.RequestId, closed, Explain(closed))
        : campaign.BlockedUsers.Contains(claim.UserId)
            ? IssueOutcome.Refused(claim.RequestId, Refusal.UserBlocked, $"user '{claim.UserId}' is blocked in this campaign by its organiser")
            : null;

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

            if (claim.DeviceId.Length > 0)
            {
                Identifiers.RequireKey("device_id", claim.DeviceId);
            }

            return null;
        }
        catch (CampaignsException ex)
        {
            return IssueOutcome.Refused(claim.RequestId, ex.Code, ex.Message);
        }
    }

    private static IssueOutcome KeyReused(IssueClaim claim) => IssueOutcome.Refused(claim.RequestId, Refusal.IdempotencyKeyReused,
        $"request_id '{claim.RequestId}' was already used for this user with a different district");

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

    private sealed class PendingClaim(IssueClaim claim, DateOnly day)
    {
        public IssueClaim Claim { get; } = claim;
        public DateOnly Day { get; } = day;
        /// <summary>The capped minute the claim holds a place in, if any.</summary>
        public int? DropMinute { get; set; }
        public VoucherRecord? Record { get; set; }
        /// <summary>The bucket in which the claim holds a slot of its device; null when it holds none.</summary>
        public int? DeviceBucket { get; set; }
        public TaskCompletionSource<IssueOutcome> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>The claims of one turn that share a device bucket, and the one call that asks it for all of them.</summary>
    private sealed class DeviceRound
    {
        public List<DeviceClaim> Claims { get; } = [];
        public Task<IReadOnlyList<bool>> Answer { get; set; } = null!;
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
