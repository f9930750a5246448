using System.Threading.Channels;
using Campaigns.Grains.Ledger;

namespace Campaigns.Storage.Postgres;

/// <summary>
/// Group commit across a silo's shards for small batches (single claims). Each shard keeps one
/// batch outstanding; here the batches that wait meanwhile, from every shard of the silo, go to
/// the server together, as one transaction with one WAL flush (<c>commit_issue_batches</c>, migration 7), instead of one
/// transaction per shard. A few groups are in flight at a time, so the server is never idle
/// while the next group gathers. Each batch is still refused on its own (fenced, past its lease,
/// a key written before); a group that fails as a whole fails each of its batches.
/// </summary>
internal sealed class IssueBatchWriter : IAsyncDisposable
{
    /// <summary>Groups in flight at once.</summary>
    public const int Writers = 2;

    /// <summary>A group stops taking batches once it holds this many vouchers.</summary>
    public const int GroupVouchers = 1_000;

    /// <summary>
    /// Batches this large (an IssueVouchers call's share) are worth a transaction of their own and
    /// commit side by side, rather than queueing behind the groups in flight.
    /// </summary>
    public const int GroupedBelow = 64;

    private readonly Channel<Waiting> _waiting = Channel.CreateUnbounded<Waiting>(new() { SingleReader = false });
    private readonly Func<IReadOnlyList<IssueBatch>, Task<IReadOnlyList<Exception?>>> _commit;
    private readonly Task[] _writers;

    /// <param name="commit">Commits a group in one transaction and answers, per batch in order, null or why it was refused.</param>
    public IssueBatchWriter(Func<IReadOnlyList<IssueBatch>, Task<IReadOnlyList<Exception?>>> commit)
    {
        _commit = commit;
        _writers = [.. Enumerable.Range(0, Writers).Select(_ => Task.Run(WriteAsync))];
    }

    /// <summary>Completes once the batch is durable; throws what refused it.</summary>
    public Task CommitAsync(IssueBatch batch)
    {
        var waiting = new Waiting(batch);
        return _waiting.Writer.TryWrite(waiting) ? waiting.Done.Task : throw new ObjectDisposedException(nameof(IssueBatchWriter));
    }

    private async Task WriteAsync()
    {
        var group = new List<Waiting>();
        while (await _waiting.Reader.WaitToReadAsync())
        {
            group.Clear();
            var vouchers = 0;
            while (vouchers < GroupVouchers && _waiting.Reader.TryRead(out var next))
            {
                group.Add(next);
                vouchers += next.Batch.Vouchers.Count;
            }

            if (group.Count == 0)
            {
                continue;
            }

            // One lock order for every transaction: two groups never wait on each other in a circle.
            group.Sort((a, b) => (string.CompareOrdinal(a.Batch.CampaignId, b.Batch.CampaignId), a.Batch.Shard.CompareTo(b.Batch.Shard)) switch
            {
                (0, var byShard) => byShard,
                (var byCampaign, _) => byCampaign,
            });
            try
            {
                var refusals = await _commit([.. group.Select(w => w.Batch)]);
                for (var i = 0; i < group.Count; i++)
                {
                    if (refusals[i] is { } refused)
                    {
                        group[i].Done.TrySetException(refused);
                    }
                    else
                    {
                        group[i].Done.TrySetResult();
                    }
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

    private sealed class Waiting(IssueBatch batch)
    {
        public IssueBatch Batch { get; } = batch;

        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
