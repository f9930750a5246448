using System.Threading.Channels;

namespace Campaigns.Storage.Postgres;

/// <summary>
/// Group commit: writes that callers hand in one at a time reach the server together. A few
/// groups are in flight at once, so the server is never idle while the next group gathers, and
/// whatever waits meanwhile goes as the next group: one round trip, one transaction and one WAL
/// flush for all of it (the SQLite ledger's writer does the same in its own process). Each item
/// gets its own answer; a group that fails as a whole fails each of its items.
/// </summary>
/// <typeparam name="TItem">One caller's write.</typeparam>
/// <typeparam name="TResult">Its answer.</typeparam>
internal sealed class GroupCommit<TItem, TResult> : IAsyncDisposable
{
    private readonly Channel<Waiting> _waiting = Channel.CreateUnbounded<Waiting>();
    private readonly Func<IReadOnlyList<TItem>, Task<IReadOnlyList<TResult>>> _commit;
    private readonly Func<TItem, int> _weight;
    private readonly int _groupWeight;
    private readonly IComparer<TItem> _order;
    private readonly Task[] _writers;

    /// <param name="commit">Commits a group in one transaction and answers per item, in order.</param>
    /// <param name="writers">Groups in flight at once.</param>
    /// <param name="weight">What an item counts against <paramref name="groupWeight"/> (e.g. its rows).</param>
    /// <param name="groupWeight">A group stops taking items once it weighs this much.</param>
    /// <param name="order">The order items take their locks in, the same in every group, so two groups never wait on each other in a circle.</param>
    public GroupCommit(Func<IReadOnlyList<TItem>, Task<IReadOnlyList<TResult>>> commit, int writers, Func<TItem, int> weight, int groupWeight, IComparer<TItem> order)
    {
        (_commit, _weight, _groupWeight, _order) = (commit, weight, groupWeight, order);
        _writers = [.. Enumerable.Range(0, writers).Select(_ => Task.Run(WriteAsync))];
    }

    /// <summary>The item's answer once its group is committed; what failed the group, if it failed.</summary>
    public Task<TResult> CommitAsync(TItem item)
    {
        var waiting = new Waiting(item);
        return _waiting.Writer.TryWrite(waiting) ? waiting.Done.Task : throw new ObjectDisposedException(GetType().Name);
    }

    private async Task WriteAsync()
    {
        var group = new List<Waiting>();
        while (await _waiting.Reader.WaitToReadAsync())
        {
            group.Clear();
            var weight = 0;
            while (weight < _groupWeight && _waiting.Reader.TryRead(out var next))
            {
                group.Add(next);
                weight += _weight(next.Item);
            }

            if (group.Count == 0)
            {
                continue;
            }

            group.Sort((a, b) => _order.Compare(a.Item, b.Item));
            try
            {
                var results = await _commit([.. group.Select(w => w.Item)]);
                for (var i = 0; i < group.Count; i++)
                {
                    group[i].Done.TrySetResult(results[i]);
                }
            }
            catch (Exception ex)
            {
                foreach (var waiting in group)
                {
                    waiting.Done.TrySetException(ex);
                }
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _waiting.Writer.TryComplete();
        await Task.WhenAll(_writers);
    }

    private sealed class Waiting(TItem item)
    {
        public TItem Item { get; } = item;

        public TaskCompletionSource<TResult> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
