using System.Reflection;
using Campaigns.Grains.Campaigns;
using Campaigns.Grains.Common;
using Campaigns.Grains.Issuance;
using Campaigns.Grains.Ledger;

namespace Campaigns.Tests.Rules;

/// <summary>
/// <see cref="LocalShard"/> on a stand-in activation (one turn at a time, on an exclusive
/// scheduler) and a stand-in shard whose answers the test gives: calls run as turns, a closed
/// shard sends callers elsewhere, closing waits for the calls it took, and the shard keeps
/// itself from idle collection while calls come.
/// </summary>
public sealed class LocalShardTests
{
    /// <summary>How long a test waits for something that should happen at once, so a fault fails it instead of hanging it.</summary>
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task A_call_runs_as_a_turn_of_the_activation_and_gets_the_shard_s_answer()
    {
        var (local, shard, _) = Make();
        var answer = local.ClaimAsync(Claim("user-1"));
        var taken = await shard.Taken.Reader.ReadAsync().AsTask().WaitAsync(Bound);

        Assert.True(taken.InTurn);
        Assert.False(answer.IsCompleted);
        shard.Answer(taken, "user-1");
        Assert.Equal("user-1", (await answer.WaitAsync(Bound))!.RequestId);
    }

    [Fact]
    public async Task A_wallet_is_read_in_a_turn_of_the_activation()
    {
        var (local, shard, _) = Make();
        var wallet = await local.ListUserVouchersAsync("user-1").WaitAsync(Bound);

        Assert.Empty(wallet!);
        Assert.Equal([true], shard.WalletReadsInTurn);
    }

    [Fact]
    public async Task A_closed_shard_answers_null_without_asking_the_grain()
    {
        var (local, shard, activation) = Make();
        await activation.RunAsync(local.Close);

        Assert.Null(await local.ClaimAsync(Claim("user-1")).WaitAsync(Bound));
        Assert.Null(await local.IssueAsync([Claim("user-2")]).WaitAsync(Bound));
        Assert.Null(await local.ListUserVouchersAsync("user-3").WaitAsync(Bound));
        Assert.Equal(0, shard.Calls);
    }

    [Fact]
    public async Task Closing_waits_for_the_calls_already_taken()
    {
        var (local, shard, activation) = Make();
        var first = local.ClaimAsync(Claim("user-1"));
        var second = local.IssueAsync([Claim("user-2")]);
        var takenFirst = await shard.Taken.Reader.ReadAsync().AsTask().WaitAsync(Bound);
        var takenSecond = await shard.Taken.Reader.ReadAsync().AsTask().WaitAsync(Bound);

        var closing = await activation.RunAsync(() => local.CloseAsync(CancellationToken.None));
        var late = local.ClaimAsync(Claim("user-3"));
        Assert.Null(await late.WaitAsync(Bound));
        shard.Answer(takenFirst, "user-1");
        await first.WaitAsync(Bound);
        await Task.Delay(50);
        Assert.False(closing.IsCompleted);

        shard.Answer(takenSecond, "user-2");
        await closing.WaitAsync(Bound);
        Assert.Equal("user-2", Assert.Single((await second.WaitAsync(Bound))!).RequestId);
        Assert.Equal(2, shard.Calls);
    }

    [Fact]
    public async Task Closing_stops_waiting_when_the_deactivation_runs_out_of_time()
    {
        var (local, shard, activation) = Make();
        _ = local.ClaimAsync(Claim("user-1"));
        await shard.Taken.Reader.ReadAsync().AsTask().WaitAsync(Bound);
        using var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));

        var closing = await activation.RunAsync(() => local.CloseAsync(timeout.Token));
        await closing.WaitAsync(Bound);
    }

    [Fact]
    public async Task A_failed_call_fails_its_caller()
    {
        var (local, shard, _) = Make();
        var answer = local.ClaimAsync(Claim("user-1"));
        var taken = await shard.Taken.Reader.ReadAsync().AsTask().WaitAsync(Bound);
        taken.Completion.SetException(new InvalidOperationException("ledger gone"));

        Assert.Equal("ledger gone", (await Assert.ThrowsAsync<InvalidOperationException>(() => answer)).Message);
    }

    [Fact]
    public async Task A_keep_alive_that_fails_fails_the_call_instead_of_leaving_it_unanswered()
    {
        var (local, shard, _) = Make(_ => throw new InvalidOperationException("deactivating"));

        var failed = await Assert.ThrowsAsync<InvalidOperationException>(() => local.ClaimAsync(Claim("user-1")).WaitAsync(Bound));
        Assert.Equal("deactivating", failed.Message);
        Assert.Equal(0, shard.Calls);
    }

    [Fact]
    public async Task Calls_keep_the_shard_from_idle_collection_renewing_at_most_every_30_seconds()
    {
        var delays = new List<TimeSpan>();
        var (local, shard, _) = Make(delays.Add);
        for (var i = 0; i < 3; i++)
        {
            var answer = local.ClaimAsync(Claim($"user-{i}"));
            shard.Answer(await shard.Taken.Reader.ReadAsync().AsTask().WaitAsync(Bound), $"user-{i}");
            await answer.WaitAsync(Bound);
        }

        Assert.Equal([TimeSpan.FromMinutes(2)], delays);
    }

    [Fact]
    public async Task A_shard_opened_in_a_silo_is_listed_until_it_closes()
    {
        var shards = new LocalShards();
        var activation = new StandInActivation();
        var local = shards.Open("campaign", 3, activation.Context, new StandInShard(activation), _ => { });
        Assert.Same(local, shards.Find("campaign", 3));

        await activation.RunAsync(local.Close);
        Assert.Null(shards.Find("campaign", 3));
    }

    [Fact]
    public void A_shard_leaves_the_silo_s_list_only_as_its_own_entry()
    {
        var shards = new LocalShards();
        var (older, _, _) = Make();
        var (newer, _, _) = Make();
        shards.Add("campaign", 2, older);
        shards.Add("campaign", 2, newer);

        shards.Remove("campaign", 2, older);
        Assert.Same(newer, shards.Find("campaign", 2));
        Assert.Null(shards.Find("campaign", 1));

        shards.Remove("campaign", 2, newer);
        Assert.Null(shards.Find("campaign", 2));
    }

    [Fact]
    public async Task A_claim_the_sold_out_verdict_answers_takes_no_turn_once_the_shard_is_kept_alive()
    {
        var asked = new List<string>();
        var (local, shard, _) = Make(refuseOutsideTurn: claim =>
        {
            asked.Add(claim.UserId);
            return claim.UserId.StartsWith("late", StringComparison.Ordinal) ? IssueOutcome.Refused(claim.RequestId, Refusal.SoldOut, "sold out") : null;
        });

        // The first call renews the keep-alive in a turn; until then nothing is answered outside one.
        var first = local.ClaimAsync(Claim("late-0"));
        shard.Answer(await shard.Taken.Reader.ReadAsync().AsTask().WaitAsync(Bound), "late-0");
        await first.WaitAsync(Bound);

        var refused = await local.ClaimAsync(Claim("late-1")).WaitAsync(Bound);
        Assert.Equal(Refusal.SoldOut, refused!.Refusal);
        Assert.Equal(1, shard.Calls);

        // A claim the verdict does not answer goes to a turn as before.
        var known = local.ClaimAsync(Claim("known-2"));
        shard.Answer(await shard.Taken.Reader.ReadAsync().AsTask().WaitAsync(Bound), "known-2");
        Assert.Equal("known-2", (await known.WaitAsync(Bound))!.RequestId);
        Assert.Equal(["late-1", "known-2"], asked);
    }

    [Fact]
    public async Task A_closed_shard_s_verdict_answers_nothing()
    {
        var (local, shard, activation) = Make(refuseOutsideTurn: claim => IssueOutcome.Refused(claim.RequestId, Refusal.SoldOut, "sold out"));
        var first = local.ClaimAsync(Claim("user-0"));
        shard.Answer(await shard.Taken.Reader.ReadAsync().AsTask().WaitAsync(Bound), "user-0");
        await first.WaitAsync(Bound);
        await activation.RunAsync(local.Close);

        Assert.Null(await local.ClaimAsync(Claim("user-1")).WaitAsync(Bound));
    }

    private static IssueClaim Claim(string user) => new("partner", user, user, "");

    private static (LocalShard Local, StandInShard Shard, StandInActivation Activation) Make(
        Action<TimeSpan>? delayDeactivation = null, Func<IssueClaim, IssueOutcome?>? refuseOutsideTurn = null)
    {
        var activation = new StandInActivation();
        var shard = new StandInShard(activation);
        return (new LocalShard(activation.Context, shard, delayDeactivation ?? (_ => { }), refuseOutsideTurn), shard, activation);
    }

    /// <summary>An activation's turns: one at a time, and the only thing the shard reads of its context.</summary>
    private sealed class StandInActivation : IWorkItemScheduler
    {
        private readonly TaskScheduler _turns = new ConcurrentExclusiveSchedulerPair().ExclusiveScheduler;

        public StandInActivation()
        {
            Context = DispatchProxy.Create<IGrainContext, ContextProxy>();
            ((ContextProxy)(object)Context).Scheduler = this;
        }

        public IGrainContext Context { get; }

        public bool InTurn => TaskScheduler.Current == _turns;

        public void QueueAction(Action action) => Task.Factory.StartNew(action, CancellationToken.None, TaskCreationOptions.None, _turns);

        public void QueueAction(Action<object> action, object state) => Task.Factory.StartNew(s => action(s!), state, CancellationToken.None, TaskCreationOptions.None, _turns);

        public void QueueTask(Task task) => task.Start(_turns);

        /// <summary>Runs <paramref name="work"/> in a turn and gives back what it returned.</summary>
        public Task<T> RunAsync<T>(Func<T> work) => Task.Factory.StartNew(work, CancellationToken.None, TaskCreationOptions.None, _turns);

        public Task RunAsync(Action work) => Task.Factory.StartNew(work, CancellationToken.None, TaskCreationOptions.None, _turns);
    }

    public class ContextProxy : DispatchProxy
    {
        public IWorkItemScheduler Scheduler { get; set; } = null!;

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args) =>
            targetMethod!.Name == "get_Scheduler" ? Scheduler : throw new NotSupportedException(targetMethod.Name);
    }

    /// <summary>A shard whose calls wait for the test to answer them.</summary>
    private sealed class StandInShard(StandInActivation activation) : IVoucherPoolGrain
    {
        public System.Threading.Channels.Channel<Taken> Taken { get; } = System.Threading.Channels.Channel.CreateUnbounded<Taken>();

        public int Calls;

        public async Task<IssueOutcome> ClaimAsync(IssueClaim claim) => (await IssueAsync([claim]))[0];

        public Task<IReadOnlyList<IssueOutcome>> IssueAsync(IReadOnlyList<IssueClaim> claims)
        {
            Calls++;
            var taken = new Taken(activation.InTurn, new TaskCompletionSource<IReadOnlyList<IssueOutcome>>());
            Taken.Writer.TryWrite(taken);
            return taken.Completion.Task;
        }

        public void Answer(Taken taken, string requestId) =>
            taken.Completion.SetResult([IssueOutcome.Refused(requestId, Refusal.SoldOut, "sold out")]);

        public Task RefreshAsync(CampaignSnapshot campaign) => throw new NotSupportedException();

        public Task<long> SurrenderAsync(string pool) => throw new NotSupportedException();

        public List<bool> WalletReadsInTurn { get; } = [];

        public Task<IReadOnlyList<VoucherRecord>> ListUserVouchersAsync(string userId)
        {
            Calls++;
            WalletReadsInTurn.Add(activation.InTurn);
            return Task.FromResult<IReadOnlyList<VoucherRecord>>([]);
        }
    }

    private sealed record Taken(bool InTurn, TaskCompletionSource<IReadOnlyList<IssueOutcome>> Completion);
}
