namespace Campaigns.Storage.Sqlite;

/// <summary>
/// Writes under way, by key (a voucher's packed row key): each is registered before it is queued and ended
/// once it is answered. <see cref="Answered"/> gives what to wait for before a read of that key
/// may be handed on: nothing when no write of it is under way.
/// </summary>
internal sealed class WritesInFlight
{
    private readonly Lock _lock = new();
    private readonly Dictionary<long, Entry> _entries = [];

    public void Begin(long key)
    {
        lock (_lock)
        {
            if (!_entries.TryGetValue(key, out var entry))
            {
                _entries[key] = entry = new Entry();
            }

            entry.Writes++;
        }
    }

    public void End(long key)
    {
        TaskCompletionSource? done = null;
        lock (_lock)
        {
            var entry = _entries[key];
            if (--entry.Writes == 0)
            {
                _entries.Remove(key);
                done = entry.Done;
            }
        }

        done?.SetResult();
    }

    /// <summary>Completes when every write of <paramref name="key"/> under way now has been answered; null if there are none.</summary>
    public Task? Answered(long key)
    {
        lock (_lock)
        {
            return _entries.TryGetValue(key, out var entry) ? entry.Done.Task : null;
        }
    }

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _entries.Count;
            }
        }
    }

    private sealed class Entry
    {
        public int Writes;

        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
