using System.Collections.Concurrent;
using System.Diagnostics;
using Campaigns.Grains.Common;
using Campaigns.Grains.Ledger;

namespace Campaigns.Grains.Issuance;

/// <summary>
/// The issuing shards activated in this silo, by campaign and shard. The silo's own API hands
/// claims for them straight to the activation (<see cref="LocalShard"/>) instead of sending an
/// Orleans message; a shard activated in another silo is called as a grain.
/// </summary>
public sealed class LocalShards
{
    private readonly ConcurrentDictionary<(string CampaignId, int Shard), LocalShard> _shards = new();

    /// <summary>The shard's activation in this silo, if it has one that takes calls.</summary>
    public LocalShard? Find(string campaignId, int shard) => _shards.GetValueOrDefault((campaignId, shard));

    /// <summary>Lists a shard's activation for this silo's calls, until it closes (<see cref="LocalShard.Close"/> takes it off the list).</summary>
    internal LocalShard Open(
        string campaignId, int shard, IGrainContext activation, IVoucherPoolGrain grain, Action<TimeSpan> delayDeactivation,
        Func<IssueClaim, IssueOutcome?>? refuseOutsideTurn = null)
    {
        LocalShard local = null!;
        local = new LocalShard(activation, grain, delayDeactivation, refuseOutsideTurn) { Unlist = () => Remove(campaignId, shard, local), CampaignId = campaignId, Shard = shard };
        Add(campaignId, shard, local);
        return local;
    }

    internal void Add(string campaignId, int shard, LocalShard local) => _shards[(campaignId, shard)] = local;

    /// <summary>Only while it is still this activation's entry: a newer one may have replaced it.</summary>
    internal void Remove(string campaignId, int shard, LocalShard local) =>
        _shards.TryRemove(new KeyValuePair<(string, int), LocalShard>((campaignId, shard), local));
}

/// <summary>
/// A shard's activation as its own silo reaches it. Each call is queued on the activation as a
/// turn of its own, so it interleaves with the grain's other turns exactly as a call to the
/// reentrant grain would, without a message, a response callback or copies of its arguments.
/// <para>
/// Orleans does not count these calls as requests: while they arrive, the shard keeps itself
/// from idle collection, and when it deactivates it answers those it has taken before it goes.
/// A call that reaches it after it closed is answered null, and the caller sends it as a grain
/// call instead (to the activation that follows).
/// </para>
/// <para>
/// A claim the shard's sold-out verdict answers (<see cref="SoldOutVerdicts"/>) is refused on
/// the caller's thread with no turn at all, while the keep-alive is fresh: in a flash crowd most
/// claims are refused, and each would otherwise take a turn of its own.
/// </para>
/// </summary>
public sealed class LocalShard
{
    /// <summary>How long one call keeps an idle shard from collection, and how often that is renewed.</summary>
    private static readonly TimeSpan KeepAlive = TimeSpan.FromMinutes(2);
    private const long RenewEveryMilliseconds = 30_000;

    // Trace spans in place of the grain call's own.
    private const string ClaimSpan = nameof(IVoucherPoolGrain) + "/" + nameof(IVoucherPoolGrain.ClaimAsync) + " (in this silo)";
    private const string IssueSpan = nameof(IVoucherPoolGrain) + "/" + nameof(IVoucherPoolGrain.IssueAsync) + " (in this silo)";
    private const string WalletSpan = nameof(IVoucherPoolGrain) + "/" + nameof(IVoucherPoolGrain.ListUserVouchersAsync) + " (in this silo)";

    private readonly IGrainContext _activation;
    private readonly IVoucherPoolGrain _grain;
    private readonly Action<TimeSpan> _delayDeactivation;
    private readonly Func<IssueClaim, IssueOutcome?>? _refuseOutsideTurn;

    // Written only in the activation's turns; read on callers' threads too.
    private long _keptAliveAt = -RenewEveryMilliseconds;
    private bool _closed;

    // Read and written only in the activation's turns.
    private int _running;
    private TaskCompletionSource? _drained;

    /// <param name="activation">The shard's activation, whose turns run every call.</param>
    /// <param name="shard">The grain instance itself (not a reference to it).</param>
    /// <param name="delayDeactivation">The grain's <c>DelayDeactivation</c>.</param>
    /// <param name="refuseOutsideTurn">The shard's sold-out verdict for a claim, safe on any thread; null when the claim needs a turn.</param>
    public LocalShard(
        IGrainContext activation, IVoucherPoolGrain shard, Action<TimeSpan> delayDeactivation, Func<IssueClaim, IssueOutcome?>? refuseOutsideTurn = null)
    {
        _activation = activation;
        _grain = shard;
        _delayDeactivation = delayDeactivation;
        _refuseOutsideTurn = refuseOutsideTurn;
    }

    /// <summary>
    /// <see cref="IVoucherPoolGrain.ClaimAsync"/> in a turn of the activation, or at once from its
    /// sold-out verdict while its keep-alive is fresh (a turn renews it); null once it has closed.
    /// </summary>
    public Task<IssueOutcome?> ClaimAsync(IssueClaim claim) =>
        KeptAlive && !Volatile.Read(ref _closed) && _refuseOutsideTurn?.Invoke(claim) is { } refused
            ? Task.FromResult<IssueOutcome?>(refused)
            : InTurnAsync(claim, static (shard, claim) => shard.ClaimAsync(claim), ClaimSpan);

    /// <summary>Renewed within the last renewal period: a claim answered without a turn leaves the shard alive for the rest of <see cref="KeepAlive"/>.</summary>
    private bool KeptAlive => Environment.TickCount64 - Volatile.Read(ref _keptAliveAt) < RenewEveryMilliseconds;

    /// <summary><see cref="IVoucherPoolGrain.IssueAsync"/> in a turn of the activation; null once it has closed.</summary>
    public Task<IReadOnlyList<IssueOutcome>?> IssueAsync(IReadOnlyList<IssueClaim> claims) =>
        InTurnAsync(claims, static (shard, claims) => shard.IssueAsync(claims), IssueSpan);

    /// <summary><see cref="IVoucherPoolGrain.ListUserVouchersAsync"/> in a turn of the activation; null once it has closed.</summary>
    public Task<IReadOnlyList<VoucherRecord>?> ListUserVouchersAsync(string userId) =>
        InTurnAsync(userId, static (shard, userId) => shard.ListUserVouchersAsync(userId), WalletSpan);

    /// <summary>
    /// In a turn of the activation, as it deactivates: later calls go to the grain instead, and
    /// this returns once the calls already taken have been answered (or <paramref name="cancellationToken"/> fires).
    /// </summary>
    public async Task CloseAsync(CancellationToken cancellationToken)
    {
        Close();
        if (_running == 0)
        {
            return;
        }

        // Set as the last call ends, in its turn: the deactivation goes on in a turn of its own.
        _drained ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        try
        {
            await _drained.Task.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // Orleans' deactivation timeout: the calls still running are answered when their turns end.
        }
    }

    /// <summary>Takes it off its silo's list when it closes.</summary>
    internal Action? Unlist { get; init; }

    /// <summary>Whose shard it is, for its spans.</summary>
    internal string CampaignId { get; init; } = "";

    /// <inheritdoc cref="CampaignId"/>
    internal int Shard { get; init; }

    /// <summary>In a turn of the activation: off its silo's list, and later calls go to the grain instead.</summary>
    public void Close()
    {
        if (!_closed)
        {
            Volatile.Write(ref _closed, true);
            Unlist?.Invoke();
        }
    }

    private Task<TResult?> InTurnAsync<TArgument, TResult>(TArgument argument, Func<IVoucherPoolGrain, TArgument, Task<TResult>> call, string spanName)
        where TResult : class
    {
        // Answered off the activation's turn, so the caller's continuation never runs inside it.
        var answer = new TaskCompletionSource<TResult?>(TaskCreationOptions.RunContinuationsAsynchronously);
        // Created here, the task carries the caller's execution context (its trace and log scope) into the turn.
        _activation.Scheduler.QueueTask(new Task(() => _ = RunAsync(argument, call, spanName, answer)));
        return answer.Task;
    }

    private async Task RunAsync<TArgument, TResult>(
        TArgument argument, Func<IVoucherPoolGrain, TArgument, Task<TResult>> call, string spanName, TaskCompletionSource<TResult?> answer)
        where TResult : class
    {
        if (_closed)
        {
            answer.SetResult(null);
            return;
        }

        _running++;
        // Whatever throws here reaches the caller: a call left unanswered would hang until its deadline.
        try
        {
            RenewKeepAlive();
            // Tagged as it starts, so a listener sees whose shard it is from the first; nothing is built when nobody listens.
            using var span = CampaignsTelemetry.Source.HasListeners()
                ? CampaignsTelemetry.Source.StartActivity(spanName, ActivityKind.Internal, default(ActivityContext), [new("campaign.id", CampaignId), new("campaign.shard", Shard)])
                : null;
            answer.SetResult(await call(_grain, argument));
        }
        catch (Exception ex)
        {
            answer.TrySetException(ex);
        }
        finally
        {
            if (--_running == 0)
            {
                _drained?.TrySetResult();
            }
        }
    }

    private void RenewKeepAlive()
    {
        var now = Environment.TickCount64;
        if (now - _keptAliveAt >= RenewEveryMilliseconds)
        {
            Volatile.Write(ref _keptAliveAt, now);
            _delayDeactivation(KeepAlive);
        }
    }
}
