using Campaigns.Grains.Ledger;

namespace Campaigns.Grains.Issuance;

/// <summary>
/// A shard's stock, per pool: units leased to it and not yet promised to any claim (free), and
/// units promised to claims whose writes have not been answered yet (promised). A unit leaves
/// free when a claim takes it, and leaves promised when the claim's write is answered. What the
/// shard keeps of a lease when it gives the rest back is its promised units. Not thread-safe:
/// the grain's turns use it one at a time (only <see cref="Freed"/> may be read from any thread).
/// </summary>
public sealed class ShardStock
{
    private readonly Dictionary<string, long> _free = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _promised = new(StringComparer.Ordinal);
    private long _freed;

    /// <summary>
    /// How many times units may have become free (a grant, a unit given back by a refused claim,
    /// more units learnt from the ledger); readable from any thread. A sold-out verdict holds only while it is unchanged.
    /// </summary>
    public long Freed => Volatile.Read(ref _freed);

    public long Free(string pool) => _free.GetValueOrDefault(pool);

    public long Promised(string pool) => _promised.GetValueOrDefault(pool);

    /// <summary>Promises one free unit from the first of <paramref name="pools"/> that has one; null if none has.</summary>
    public string? Promise(IEnumerable<string> pools)
    {
        foreach (var pool in pools)
        {
            if (_free.GetValueOrDefault(pool) > 0)
            {
                _free[pool]--;
                _promised[pool] = _promised.GetValueOrDefault(pool) + 1;
                return pool;
            }
        }

        return null;
    }

    /// <summary>A claim that took a unit is refused before its write: the unit is free again.</summary>
    public void Unpromise(string pool)
    {
        _promised[pool] = _promised.GetValueOrDefault(pool) - 1;
        _free[pool] = _free.GetValueOrDefault(pool) + 1;
        NoteFreed();
    }

    /// <summary>A claim's write was answered: its unit is no longer promised (it is issued, or the shard gives way).</summary>
    public void Settle(string pool) => _promised[pool] = _promised.GetValueOrDefault(pool) - 1;

    /// <summary>A grant arrived: its units are free.</summary>
    public void Grant(string pool, long units)
    {
        _free[pool] = _free.GetValueOrDefault(pool) + units;
        NoteFreed();
    }

    /// <summary>Takes every free unit of a pool out of the books, to give back; returns how many there were.</summary>
    public long TakeFree(string pool)
    {
        var free = _free.GetValueOrDefault(pool);
        _free[pool] = 0;
        return free;
    }

    /// <summary>
    /// What of a lease no claim holds, by the ledger's counts. Read with no batch in flight (at
    /// activation, or between batches), so the ledger's issued and the claims promised since do
    /// not overlap.
    /// </summary>
    public long Unspent(StockLeaseRecord lease) => Math.Max(0, lease.Granted - lease.Issued - Promised(lease.Pool));

    /// <summary>Takes the ledger's word for a lease's free units; returns what this shard believed before, when it differed.</summary>
    public long? Relearn(StockLeaseRecord lease)
    {
        var believed = Free(lease.Pool);
        var unspent = Unspent(lease);
        _free[lease.Pool] = unspent;
        if (unspent > believed)
        {
            NoteFreed();
        }

        return unspent == believed ? null : believed;
    }

    // One writer (the grain's turns); the write is published for readers on other threads.
    private void NoteFreed() => Volatile.Write(ref _freed, _freed + 1);
}
