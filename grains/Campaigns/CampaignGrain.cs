using Campaigns.Grains.Common;
using Campaigns.Grains.Issuance;
using Campaigns.Grains.Ledger;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Campaigns.Grains.Campaigns;

/// <summary>
/// Owns a campaign's definition and status (grain state) and hands out its stock as leases
/// (ledger rows). Reentrant so that shards asking for stock and shards surrendering it can
/// interleave; every change of state or leases runs under one gate, one at a time.
/// </summary>
[Reentrant]
public sealed class CampaignGrain(
    [PersistentState("campaign", StorageNames.Grains)] IPersistentState<CampaignState> state,
    ILedger ledger,
    [FromKeyedServices(CampaignClock.Key)] TimeProvider clock,
    ILogger<CampaignGrain> logger) : Grain, ICampaignGrain
{
    private static readonly TimeSpan SurrenderTimeout = TimeSpan.FromSeconds(2);

    private readonly SemaphoreSlim _gate = new(1, 1);

    // Leases as the ledger holds them: granted units per (shard, pool). Rebuilt on activation.
    private readonly CampaignLeases _leases = new();

    // This activation's fence: a grant made under an older epoch is refused by the ledger.
    private long _epoch;

    // Campaign events this activation has stored (the ledger stores each once anyway).
    private bool _toldEnded;
    private string? _toldSoldOut;

    private string CampaignId => this.GetPrimaryKeyString();

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (state.State.Definition is not null)
        {
            // The epoch before the read: an earlier activation's grant is either read or refused.
            _epoch = await ledger.ActivateCampaignAsync(CampaignId);
            await ReloadLeasesAsync();
        }
    }

    public async Task<CampaignSnapshot> CreateAsync(CampaignDefinition definition)
    {
        await _gate.WaitAsync();
        try
        {
            if (state.State.Definition is { } existing)
            {
                return existing.SameAs(definition)
                    ? Snapshot()
                    : throw new CampaignsException(Refusal.CampaignExists,
                        $"campaign '{CampaignId}' already exists with a different definition");
            }

            if (definition.CampaignId != CampaignId)
            {
                throw CampaignsException.Invalid("campaign_id", "does not match the grain");
            }

            definition.Validate();
            var now = clock.GetUtcNow();
            // Listed first: a directory entry without a campaign is skipped when listing, while a
            // campaign missing from the directory would be invisible.
            await ledger.RegisterCampaignAsync(CampaignId, now);
            _epoch = await ledger.ActivateCampaignAsync(CampaignId);
            await WriteAsync(new CampaignState
            {
                Definition = definition,
                Status = CampaignStatus.Draft,
                CreatedAt = now,
                UpdatedAt = now,
                TotalStock = definition.TotalStock,
                BudgetCents = definition.BudgetCents,
            });
            logger.LogInformation("Campaign {CampaignId} created: {Stock} vouchers, {Shards} shards",
                CampaignId, definition.TotalStock, definition.ShardCount);
            return Snapshot();
        }
        finally
        {
            _gate.Release();
        }
    }

    public Task<CampaignSnapshot> GetAsync() => Task.FromResult(Snapshot());

    public Task<CampaignSnapshot?> FindAsync() =>
        Task.FromResult(state.State.Definition is null ? null : Snapshot());

    public Task<CampaignSnapshot> StartAsync() => ChangeStatusAsync(CampaignAction.Start);

    public Task<CampaignSnapshot> PauseAsync() => ChangeStatusAsync(CampaignAction.Pause);

    public Task<CampaignSnapshot> ResumeAsync() => ChangeStatusAsync(CampaignAction.Resume);

    public Task<CampaignSnapshot> EndAsync() => ChangeStatusAsync(CampaignAction.End);

    private async Task<CampaignSnapshot> ChangeStatusAsync(CampaignAction action)
    {
        await _gate.WaitAsync();
        try
        {
            var current = Snapshot();
            if (CampaignLifecycle.AlreadyDone(current.Status, action))
            {
                // A repeat of an end whose event was not stored (the ledger failed after the state write) stores it now.
                await TellEndedAsync(current.Status);
                return current;
            }

            CampaignLifecycle.RequireWindowOpen(action, current.Definition.EndsAt, clock.GetUtcNow());
            var next = CampaignLifecycle.Apply(current.Status, action);
            await WriteAsync(state.State with { Status = next, UpdatedAt = clock.GetUtcNow() });
            logger.LogInformation("Campaign {CampaignId}: {From} -> {To}", CampaignId, current.Status, next);
            await TellEndedAsync(next);
        }
        finally
        {
            _gate.Release();
        }

        var snapshot = Snapshot();
        await TellShardsAsync(snapshot);
        return snapshot;
    }

    public async Task<CampaignSnapshot> SetBlockedAsync(IReadOnlyList<string> userIds, bool blocked)
    {
        await _gate.WaitAsync();
        try
        {
            Snapshot();
            var next = BlockedUserList.Change(state.State.BlockedUsers, userIds, blocked);
            if (!next.SequenceEqual(state.State.BlockedUsers))
            {
                await WriteAsync(state.State with { BlockedUsers = next, UpdatedAt = clock.GetUtcNow() });
                logger.LogInformation("Campaign {CampaignId}: {Count} user(s) {Change}; {Blocked} blocked", CampaignId, userIds.Count,
                    blocked ? "blocked" : "unblocked", next.Count);
            }
        }
        finally
        {
            _gate.Release();
        }

        var snapshot = Snapshot();
        await TellShardsAsync(snapshot);
        return snapshot;
    }

    public async Task CountRefusedClaimsAsync(IReadOnlyDictionary<string, long> byReason)
    {
        await _gate.WaitAsync();
        try
        {
            if (state.State.Definition is null || !byReason.Any(r => r.Value > 0 && RefusedClaims.Counts(r.Key)))
            {
                return;
            }

            // Not a change of the campaign itself: UpdatedAt stays the definition's.
            await WriteAsync(state.State with { RefusedClaims = RefusedClaims.Add(state.State.RefusedClaims, byReason) });
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task<CampaignSnapshot> AddStockAsync(string requestId, long additionalStock, long additionalBudgetCents)
    {
        Identifiers.RequireKey("request_id", requestId);
        if (additionalStock < 0 || additionalBudgetCents < 0)
        {
            throw CampaignsException.Invalid(additionalStock < 0 ? "additional_stock" : "additional_budget_cents", "must not be negative");
        }

        if (additionalStock == 0 && additionalBudgetCents == 0)
        {
            throw CampaignsException.Invalid("additional_stock", "or additional_budget_cents must be positive");
        }

        await _gate.WaitAsync();
        try
        {
            var current = Snapshot();
            if (state.State.TopUps.TryGetValue(requestId, out var earlier))
            {
                return earlier.AdditionalStock == additionalStock && earlier.AdditionalBudgetCents == additionalBudgetCents
                    ? current
                    : throw new CampaignsException(Refusal.IdempotencyKeyReused,
                        $"request_id '{requestId}' already added {earlier.AdditionalStock} vouchers and {MoneyText.Of(earlier.AdditionalBudgetCents)}");
            }

            if (current.Status == CampaignStatus.Ended)
            {
                throw new CampaignsException(Refusal.CampaignEnded, "an ended campaign takes no more stock");
            }

            // Compared without adding first: a huge top-up must be refused, not wrap around.
            if (additionalStock > CampaignDefinition.MaxStock - current.TotalStock)
            {
                throw CampaignsException.Invalid("additional_stock", $"would take the stock past {CampaignDefinition.MaxStock}");
            }

            if (additionalBudgetCents > CampaignDefinition.MaxBudgetCents - current.BudgetCents)
            {
                throw CampaignsException.Invalid("additional_budget_cents", $"would take the budget past {CampaignDefinition.MaxBudgetCents}");
            }

            if (current.BudgetCents == 0 && additionalBudgetCents > 0)
            {
                throw CampaignsException.Invalid("additional_budget_cents", "the campaign has no budget cap to raise");
            }

            var now = clock.GetUtcNow();
            await WriteAsync(state.State with
            {
                TotalStock = current.TotalStock + additionalStock,
                BudgetCents = current.BudgetCents + additionalBudgetCents,
                UpdatedAt = now,
                TopUps = new Dictionary<string, StockTopUp>(state.State.TopUps)
                {
                    [requestId] = new(additionalStock, additionalBudgetCents, now),
                },
            });
        }
        finally
        {
            _gate.Release();
        }

        var snapshot = Snapshot();
        await TellShardsAsync(snapshot);
        return snapshot;
    }

    public async Task<StockGrant> RequestStockAsync(int shard, string channel, long wanted)
    {
        await _gate.WaitAsync();
        try
        {
            var campaign = Snapshot();
            if (campaign.IssuanceRefusal(clock.GetUtcNow()) is { } refusal)
            {
                // A window that closed by the clock is told when a claim first meets it.
                await TellEndedAsync(campaign.Status);
                return new StockGrant(StockCapacity.SharedPool, 0, refusal);
            }

            var capacity = campaign.Capacity;
            foreach (var pool in capacity.PoolsFor(channel))
            {
                var poolCapacity = capacity.PoolCapacity(pool);
                var free = _leases.Unleased(capacity, pool);
                if (free <= 0)
                {
                    await ReclaimIdleLeasesAsync(pool, shard);
                    free = _leases.Unleased(capacity, pool);
                }

                var amount = LeaseSizing.Grant(wanted, free, campaign.Definition.ShardCount);
                if (amount == 0)
                {
                    continue;
                }

                bool granted;
                try
                {
                    granted = await ledger.GrantLeaseAsync(CampaignId, _epoch, shard, pool, amount, poolCapacity);
                }
                catch (LedgerFencedException)
                {
                    // Another activation of this campaign took over: give way to it.
                    logger.LogWarning("Campaign {CampaignId}: a newer activation holds the campaign; deactivating", CampaignId);
                    DeactivateOnIdle();
                    throw new CampaignsException(Refusal.Unavailable, "the campaign moved; retry");
                }

                if (!granted)
                {
                    // The ledger knows grants we do not: another activation granted them. Relearn.
                    await ReloadLeasesAsync();
                    throw new CampaignsException(Refusal.Unavailable, "stock leases changed under this activation; retry");
                }

                _leases.Granted(shard, pool, amount);
                CampaignsTelemetry.LeaseGranted(CampaignId, amount);
                return new StockGrant(pool, amount, null);
            }

            var exhausted = _leases.ExhaustionReason(capacity, channel);
            if (exhausted is Refusal.SoldOut or Refusal.BudgetExhausted)
            {
                await TellSoldOutAsync(capacity);
            }

            return new StockGrant(StockCapacity.SharedPool, 0, exhausted);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Asks the other shards holding leases from <paramref name="pool"/> to give back what they
    /// have not spent, then reads the leases back from the ledger. Without this a shard whose
    /// users went quiet would strand stock while other shards' users are told it is sold out.
    /// <para>
    /// Each shard takes its units back in the ledger itself before answering, so the ledger, not
    /// the answers, says what came back: a shard that answers after this gave up on it (or whose
    /// answer is lost) has still returned its units, and this read, or the next one, finds them.
    /// </para>
    /// </summary>
    private async Task ReclaimIdleLeasesAsync(string pool, int requestingShard)
    {
        var holders = _leases.HoldersOf(pool, except: requestingShard);
        // All at once: this runs under the gate, so asking one shard after another made every
        // other lease request wait for the sum of their answers, or of their timeouts.
        await Task.WhenAll(holders.Select(shard => SurrenderFromAsync(shard, pool)));
        await ReloadLeasesAsync();
    }

    /// <summary>Asks one shard to give back its unspent lease from <paramref name="pool"/>, waiting for it a bounded time.</summary>
    private async Task SurrenderFromAsync(int shard, string pool)
    {
        try
        {
            // Bounded: a shard that is deactivating waits for its own pending claims, which may
            // be waiting on this very grant. Skipping it breaks that cycle; whatever it gives
            // back later is in the ledger for the next reclaim to find.
            await GrainFactory.GetGrain<IVoucherPoolGrain>(ShardRouting.PoolKey(CampaignId, shard))
                .SurrenderAsync(pool).WaitAsync(SurrenderTimeout);
        }
        catch (Exception ex) when (ex is TimeoutException or OrleansException)
        {
            logger.LogWarning("Campaign {CampaignId}: shard {Shard} did not answer a surrender request in time", CampaignId, shard);
        }
    }

    /// <summary>
    /// Stores campaign.ended for event callbacks, once (the ledger keeps one per campaign). Not on
    /// any claim's path: an end, or a claim after the window.
    /// </summary>
    private async Task TellEndedAsync(CampaignStatus status)
    {
        if (status != CampaignStatus.Ended || _toldEnded)
        {
            return;
        }

        await ledger.AppendCampaignEventAsync(new CampaignEventRecord
        {
            CampaignId = CampaignId, Type = CampaignEventType.Ended, Occurrence = "ended", OccurredAt = clock.GetUtcNow(),
        });
        _toldEnded = true;
    }

    /// <summary>
    /// Stores campaign.sold_out once every voucher the stock (or budget) allows is issued: asked
    /// when a shard finds nothing left to lease, so never on a claim that got a voucher. One
    /// occurrence per stock and budget: sold out again after a top-up is told again.
    /// </summary>
    private async Task TellSoldOutAsync(StockCapacity capacity)
    {
        var occurrence = $"stock-{state.State.TotalStock}-budget-{state.State.BudgetCents}";
        if (_toldSoldOut == occurrence)
        {
            return;
        }

        var leases = await ledger.LoadLeasesAsync(CampaignId);
        _leases.Reload(leases);
        if (leases.Count == 0 || capacity.AllPools.Any(pool => _leases.Unleased(capacity, pool) > 0) || leases.Any(l => l.Issued < l.Granted))
        {
            return;
        }

        await ledger.AppendCampaignEventAsync(new CampaignEventRecord
        {
            CampaignId = CampaignId, Type = CampaignEventType.SoldOut, Occurrence = occurrence, OccurredAt = clock.GetUtcNow(),
        });
        _toldSoldOut = occurrence;
    }

    private async Task ReloadLeasesAsync()
    {
        _leases.Reload(await ledger.LoadLeasesAsync(CampaignId));
    }

    private async Task TellShardsAsync(CampaignSnapshot snapshot)
    {
        // Best effort: a shard that misses this learns the campaign's state when it next activates
        // or asks for stock; the ledger guards keep the money right either way.
        var calls = Enumerable.Range(0, snapshot.Definition.ShardCount)
            .Select(shard => GrainFactory.GetGrain<IVoucherPoolGrain>(ShardRouting.PoolKey(CampaignId, shard)).RefreshAsync(snapshot));
        try
        {
            await Task.WhenAll(calls);
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "Campaign {CampaignId}: not every shard heard of the change", CampaignId);
        }
    }

    private CampaignSnapshot Snapshot()
    {
        var s = state.State;
        if (s.Definition is null)
        {
            throw new CampaignsException(Refusal.CampaignNotFound, $"no campaign '{CampaignId}'");
        }

        var status = CampaignLifecycle.StatusAt(s.Status, s.Definition.EndsAt, clock.GetUtcNow());
        return new CampaignSnapshot(s.Definition, status, s.CreatedAt, s.UpdatedAt, s.TotalStock, s.BudgetCents)
        {
            BlockedUsers = s.BlockedUsers.ToHashSet(StringComparer.Ordinal),
            RefusedClaims = s.RefusedClaims,
        };
    }

    private Task WriteAsync(CampaignState next) => state.ReplaceAsync(next, ex =>
    {
        logger.LogError(ex, "Campaign {CampaignId}: state write failed", CampaignId);
        DeactivateOnIdle();
    });
}
