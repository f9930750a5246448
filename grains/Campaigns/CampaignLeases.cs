using Campaigns.Grains.Common;
using Campaigns.Grains.Ledger;

namespace Campaigns.Grains.Campaigns;

/// <summary>
/// The campaign's view of its stock leases: units granted per (shard, pool), as the ledger holds
/// them. The campaign grain reloads it from the ledger on activation and after reclaiming, and
/// records each grant the ledger accepted. Not thread-safe: the grain changes it under its gate.
/// </summary>
public sealed class CampaignLeases
{
    private readonly Dictionary<(int Shard, string Pool), long> _granted = [];

    /// <summary>Takes the ledger's leases as they are now.</summary>
    public void Reload(IEnumerable<StockLeaseRecord> leases)
    {
        _granted.Clear();
        foreach (var lease in leases)
        {
            _granted[(lease.Shard, lease.Pool)] = lease.Granted;
        }
    }

    /// <summary>A grant the ledger accepted.</summary>
    public void Granted(int shard, string pool, long units) =>
        _granted[(shard, pool)] = _granted.GetValueOrDefault((shard, pool)) + units;

    /// <summary>Units of a pool granted over all shards.</summary>
    public long GrantedFrom(string pool) => _granted.Where(g => g.Key.Pool == pool).Sum(g => g.Value);

    /// <summary>Units of a pool no shard holds.</summary>
    public long Unleased(StockCapacity capacity, string pool) => capacity.PoolCapacity(pool) - GrantedFrom(pool);

    /// <summary>The shards other than <paramref name="except"/> holding units of a pool: who to ask to give back.</summary>
    public IReadOnlyList<int> HoldersOf(string pool, int except) =>
        [.. _granted.Where(g => g.Key.Pool == pool && g.Key.Shard != except && g.Value > 0).Select(g => g.Key.Shard)];

    /// <summary>
    /// Why a channel gets nothing when its pools are empty: other pools still have units (its
    /// quota and the shared stock are spent, others' quotas are not), the budget binds, or the
    /// stock is gone.
    /// </summary>
    public Refusal ExhaustionReason(StockCapacity capacity, string channel)
    {
        var elsewhere = capacity.AllPools.Except(capacity.PoolsFor(channel)).Sum(pool => Unleased(capacity, pool));
        return elsewhere > 0 ? Refusal.ChannelQuotaExhausted
            : capacity.BudgetBinds ? Refusal.BudgetExhausted
            : Refusal.SoldOut;
    }
}
