namespace Campaigns.Grains.Campaigns;

/// <summary>
/// How much stock each pool may lease out. A channel with a quota has a pool of its own; every
/// channel shares the rest (pool <see cref="SharedPool"/>). The budget turns into a stock cap
/// because every voucher of a campaign carries the same liability.
/// Invariant: the pools' capacities add up to at most <see cref="Capacity"/>.
/// </summary>
public sealed record StockCapacity(long TotalStock, long BudgetCents, long LiabilityCents, IReadOnlyDictionary<string, long> ChannelQuotas)
{
    public const string SharedPool = "";

    /// <summary>Vouchers that may be issued in all: the stock, or fewer if the budget runs out first.</summary>
    public long Capacity => BudgetBinds ? BudgetCents / LiabilityCents : TotalStock;

    /// <summary>True when the budget, not the stock, is what runs out.</summary>
    public bool BudgetBinds => BudgetCents > 0 && LiabilityCents > 0 && BudgetCents / LiabilityCents < TotalStock;

    /// <summary>
    /// A pool's capacity. When the budget is tighter than the reserved quotas, quotas are honoured
    /// in channel-id order until the capacity is used up, so the total never passes it.
    /// </summary>
    public long PoolCapacity(string pool)
    {
        var left = Capacity;
        foreach (var (channel, quota) in ChannelQuotas.OrderBy(q => q.Key, StringComparer.Ordinal))
        {
            var granted = Math.Min(quota, left);
            if (channel == pool)
            {
                return granted;
            }

            left -= granted;
        }

        return pool == SharedPool ? left : 0;
    }

    /// <summary>The pools a channel draws from, its own quota first.</summary>
    public IReadOnlyList<string> PoolsFor(string channel) =>
        ChannelQuotas.ContainsKey(channel) ? [channel, SharedPool] : [SharedPool];

    public IEnumerable<string> AllPools => ChannelQuotas.Keys.Append(SharedPool);
}
