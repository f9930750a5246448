using Campaigns.Storage.Postgres;

namespace Campaigns.Tests.Ledger;

/// <summary>The PostgreSQL ledger's group commit (issue batches, voucher transitions), on a stand-in for the server.</summary>
public sealed class GroupCommitTests
{
    private const int Writers = 2;

    private static GroupCommit<string, string> Writer(Func<IReadOnlyList<string>, Task<IReadOnlyList<string>>> commit, int groupWeight = 100, int writers = Writers) =>
        new(commit, writers, item => item.Length, groupWeight, StringComparer.Ordinal);

    [Fact]
    public async Task Two_groups_are_in_flight_at_once_and_what_waits_meanwhile_goes_together_in_one_lock_order()
    {
        var held = new TaskCompletionSource();
        var groups = new List<IReadOnlyList<string>>();
        await using var writer = Recording(groups, held.Task);

        // Every writer takes an item and waits on the server; the rest queue meanwhile.
        List<Task<string>> first = [], waiting = [];
        try
        {
            for (var i = 0; i < Writers; i++)
            {
                first.Add(writer.CommitAsync($"first-{i}"));
                await WaitUntil(() => Count(groups) == first.Count);
            }

            waiting = [.. new[] { "d", "b", "c", "a" }.Select(writer.CommitAsync)];
        }
        finally
        {
            held.SetResult();
        }

        // Each caller gets its own answer; the waiting items went in groups (how they split
        // between the two writers is timing), each group in lock order.
        Assert.Equal(["D", "B", "C", "A"], await Task.WhenAll(waiting));
        await Task.WhenAll(first);
        var later = groups.Skip(Writers).ToList();
        Assert.Equal(["a", "b", "c", "d"], later.SelectMany(g => g).Order(StringComparer.Ordinal));
        Assert.All(later, g => Assert.Equal(g.Order(StringComparer.Ordinal), g));
        Assert.True(later.Count < 4, "the items that waited went one by one");
    }

    [Fact]
    public async Task A_group_stops_taking_items_at_its_weight()
    {
        // One writer, so that which items wait together does not depend on two readers' timing.
        var held = new TaskCompletionSource();
        var groups = new List<IReadOnlyList<string>>();
        await using var writer = Recording(groups, held.Task, groupWeight: 6, writers: 1);

        List<Task<string>> all = [];
        try
        {
            all.Add(writer.CommitAsync("held"));
            await WaitUntil(() => Count(groups) == 1);
            all.AddRange(new[] { "aaa", "bbb", "ccc", "dd", "e" }.Select(writer.CommitAsync));
        }
        finally
        {
            held.SetResult();
        }

        await Task.WhenAll(all);
        Assert.Equal([["held"], ["aaa", "bbb"], ["ccc", "dd", "e"]], groups.Select(g => g.ToArray()));
    }

    [Fact]
    public async Task A_group_that_fails_as_a_whole_fails_each_of_its_items_and_the_writer_goes_on()
    {
        var failing = true;
        await using var writer = Writer(items => Volatile.Read(ref failing)
            ? throw new InvalidOperationException("the server went away")
            : Task.FromResult<IReadOnlyList<string>>([.. items]));

        var commits = Enumerable.Range(0, 3).Select(i => writer.CommitAsync($"item-{i}")).ToList();
        foreach (var commit in commits)
        {
            await Assert.ThrowsAsync<InvalidOperationException>(() => commit);
        }

        Volatile.Write(ref failing, false);
        Assert.Equal("item-0", await writer.CommitAsync("item-0"));
    }

    [Fact]
    public async Task A_disposed_writer_finishes_what_it_took_and_takes_no_more()
    {
        var writer = Writer(items => Task.FromResult<IReadOnlyList<string>>([.. items]));
        var taken = writer.CommitAsync("taken");

        await writer.DisposeAsync();

        Assert.Equal("taken", await taken);
        Assert.Throws<ObjectDisposedException>(() => { _ = writer.CommitAsync("late"); });
    }

    /// <summary>A writer that notes each group it commits, holds it until <paramref name="held"/> completes, then answers each item in capitals.</summary>
    private static GroupCommit<string, string> Recording(List<IReadOnlyList<string>> groups, Task held, int groupWeight = 100, int writers = Writers) =>
        Writer(async items =>
        {
            lock (groups)
            {
                groups.Add([.. items]);
            }

            await held;
            return [.. items.Select(i => i.ToUpperInvariant())];
        }, groupWeight, writers);

    private static int Count(List<IReadOnlyList<string>> groups)
    {
        lock (groups)
        {
            return groups.Count;
        }
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        for (var waited = 0; !condition(); waited += 5)
        {
            Assert.True(waited < 10_000, "a writer never took its item");
            await Task.Delay(5);
        }
    }
}
