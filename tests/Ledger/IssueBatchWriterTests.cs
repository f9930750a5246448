using Campaigns.Grains.Ledger;
using Campaigns.Storage.Postgres;

namespace Campaigns.Tests.Ledger;

/// <summary>The PostgreSQL ledger's group commit across shards, on a stand-in for the server.</summary>
public sealed class IssueBatchWriterTests
{
    private static IssueBatch Batch(string campaign, int shard) => new(campaign, 1, shard, Epoch: 1, []);

    [Fact]
    public async Task Batches_that_wait_while_the_writers_are_busy_go_together_in_one_lock_order()
    {
        var held = new TaskCompletionSource();
        var groups = new List<IReadOnlyList<(string, int)>>();
        await using var writer = new IssueBatchWriter(async batches =>
        {
            lock (groups)
            {
                groups.Add([.. batches.Select(b => (b.CampaignId, b.Shard))]);
            }

            await held.Task;
            return [.. batches.Select(_ => (Exception?)null)];
        });

        // Every writer takes a batch and waits on the server; the rest queue meanwhile.
        List<Task> first = [], waiting = [];
        try
        {
            for (var i = 0; i < IssueBatchWriter.Writers; i++)
            {
                first.Add(writer.CommitAsync(Batch("a", 100 + i)));
                await WaitUntil(() => groups.Count == first.Count);
            }

            waiting = [.. new[] { Batch("b", 3), Batch("a", 7), Batch("b", 1), Batch("a", 2) }.Select(writer.CommitAsync)];
        }
        finally
        {
            held.SetResult();
        }

        await Task.WhenAll(first.Concat(waiting));

        Assert.Equal(IssueBatchWriter.Writers + 1, groups.Count);
        Assert.Equal([("a", 2), ("a", 7), ("b", 1), ("b", 3)], groups[^1]);
    }

    [Fact]
    public async Task Each_batch_of_a_group_gets_its_own_refusal()
    {
        await using var writer = new IssueBatchWriter(batches => Task.FromResult<IReadOnlyList<Exception?>>(
        [
            .. batches.Select(b => b.Shard switch
            {
                1 => new LedgerFencedException("shard 1 is fenced"),
                2 => (Exception?)new LedgerConflictException("shard 2 is past its lease"),
                _ => null,
            }),
        ]));

        var commits = Enumerable.Range(0, 4).Select(shard => writer.CommitAsync(Batch("a", shard))).ToList();

        await commits[0];
        await Assert.ThrowsAsync<LedgerFencedException>(() => commits[1]);
        await Assert.ThrowsAsync<LedgerConflictException>(() => commits[2]);
        await commits[3];
    }

    [Fact]
    public async Task A_group_that_fails_as_a_whole_fails_each_of_its_batches_and_the_writer_goes_on()
    {
        var failing = true;
        await using var writer = new IssueBatchWriter(batches => Volatile.Read(ref failing)
            ? throw new LedgerUnavailableException("the server went away")
            : Task.FromResult<IReadOnlyList<Exception?>>([.. batches.Select(_ => (Exception?)null)]));

        var commits = Enumerable.Range(0, 3).Select(shard => writer.CommitAsync(Batch("a", shard))).ToList();
        foreach (var commit in commits)
        {
            await Assert.ThrowsAsync<LedgerUnavailableException>(() => commit);
        }

        Volatile.Write(ref failing, false);
        await writer.CommitAsync(Batch("a", 0));
    }

    [Fact]
    public async Task A_disposed_writer_finishes_what_it_took_and_takes_no_more()
    {
        var writer = new IssueBatchWriter(batches => Task.FromResult<IReadOnlyList<Exception?>>([.. batches.Select(_ => (Exception?)null)]));
        var taken = writer.CommitAsync(Batch("a", 0));

        await writer.DisposeAsync();

        await taken;
        Assert.Throws<ObjectDisposedException>(() => { _ = writer.CommitAsync(Batch("a", 1)); });
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        for (var waited = 0; !condition(); waited += 5)
        {
            Assert.True(waited < 10_000, "a writer never took its batch");
            await Task.Delay(5);
        }
    }
}
