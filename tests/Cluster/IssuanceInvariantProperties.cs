using Campaigns.Grains.Campaigns;
using Campaigns.Grains.Common;
using Campaigns.Grains.Issuance;
using CsCheck;

namespace Campaigns.Tests.Cluster;

/// <summary>
/// Random drops: concurrent waves of claims (with repeats of earlier request ids), stock top-ups,
/// pauses, shards giving their leases back unasked (as a surrender answered after the campaign
/// stopped waiting would) and grants whose answers never reach their shard, in random order and
/// random concurrency. After each, the money invariants hold,
/// and a final rush of fresh users takes the campaign to exactly its capacity.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class IssuanceInvariantProperties(ClusterFixture fixture)
{
    private const string Quota = "reserved-channel";
    private const string Shared = "any-channel";

    private abstract record Step;

    private sealed record Claim(int User, int Request, bool ReservedChannel) : Step;

    private sealed record TopUp(int Stock, int Request) : Step;

    private sealed record Pause : Step;

    private sealed record Surrender(int Shard, bool ReservedPool) : Step;

    private sealed record LostGrant(int Shard, bool ReservedChannel, int Units) : Step;

    private sealed record Resume : Step;

    private sealed record Drop(int Stock, int Quota, int PerUserLimit, int Shards, int BudgetVouchers, IReadOnlyList<Step[]> Waves);

    private static readonly Gen<Step> Steps = Gen.Frequency(
        (20, Gen.Select(Gen.Int[0, 25], Gen.Int[0, 3], Gen.Bool, (u, r, c) => (Step)new Claim(u, r, c))),
        (2, Gen.Select(Gen.Int[1, 8], Gen.Int[0, 2], (s, r) => (Step)new TopUp(s, r))),
        (1, Gen.Const((Step)new Pause())),
        (2, Gen.Select(Gen.Int[0, 3], Gen.Bool, (shard, reserved) => (Step)new Surrender(shard, reserved))),
        (1, Gen.Select(Gen.Int[0, 3], Gen.Bool, Gen.Int[1, 8], (shard, reserved, units) => (Step)new LostGrant(shard, reserved, units))),
        (1, Gen.Const((Step)new Resume())));

    private static readonly Gen<Drop> Drops =
        from stock in Gen.Int[3, 30]
        from quota in Gen.Int[0, 3]
        from limit in Gen.Int[1, 3]
        from shards in Gen.Int[1, 4]
        from budget in Gen.Int[0, 40]
        from waves in Steps.Array[1, 12].Array[2, 8]
        select new Drop(stock, Math.Min(quota, stock), limit, shards, budget, waves);

    [Fact]
    public Task Random_drops_never_oversell_double_issue_or_pass_a_user_limit_and_end_exactly_at_capacity() =>
        Drops.SampleAsync(RunAsync, iter: 40, threads: 1);

    private async Task RunAsync(Drop drop)
    {
        var campaign = await fixture.StartCampaignAsync(d => d with
        {
            TotalStock = drop.Stock,
            PerUserLimit = drop.PerUserLimit,
            ShardCount = drop.Shards,
            // 0 = no budget; otherwise a budget for that many vouchers of 20.00.
            BudgetCents = drop.BudgetVouchers == 0 ? 0 : drop.BudgetVouchers * 2_000L,
            ChannelQuotas = drop.Quota == 0 ? new Dictionary<string, long>() : new Dictionary<string, long> { [Quota] = drop.Quota },
        });
        var id = campaign.GetPrimaryKeyString();
        var acknowledged = new List<(string Key, string Code)>();

        foreach (var wave in drop.Waves)
        {
            // One wave runs all at once: its interleaving is up to the scheduler.
            await Task.WhenAll(wave.Select(async step =>
            {
                switch (step)
                {
                    case Claim c:
                        var channel = c.ReservedChannel ? Quota : Shared;
                        var outcome = await IssueAsync(id, drop.Shards, new IssueClaim(channel, $"user-{c.User}", $"req-{c.User}-{c.Request}", ""));
                        if (outcome.Voucher is { } voucher)
                        {
                            lock (acknowledged)
                            {
                                acknowledged.Add(($"{channel}/{outcome.RequestId}", voucher.Code));
                            }
                        }

                        break;
                    case TopUp t:
                        // A repeated top-up id carries the same amount: a retry, which adds nothing.
                        await Swallow(() => campaign.AddStockAsync($"top-{t.Request}-{t.Stock}", t.Stock, 0));
                        break;
                    case Pause:
                        await Swallow(campaign.PauseAsync);
                        break;
                    case Surrender g:
                        var shard = fixture.Grains.GetGrain<IVoucherPoolGrain>(ShardRouting.PoolKey(id, g.Shard % drop.Shards));
                        await shard.SurrenderAsync(g.ReservedPool ? Quota : StockCapacity.SharedPool);
                        break;
                    case LostGrant l:
                        // The campaign grants and writes the lease; nobody tells the shard.
                        await Swallow(() => campaign.RequestStockAsync(l.Shard % drop.Shards, l.ReservedChannel ? Quota : Shared, l.Units));
                        break;
                    case Resume:
                        await Swallow(campaign.ResumeAsync);
                        break;
                }
            }));
        }

        await CheckInvariantsAsync(id, drop, acknowledged);

        // The rush: fresh users until nothing is left. Leases stranded on quiet shards must be
        // reclaimed, so the campaign ends with exactly its capacity issued.
        await Swallow(campaign.ResumeAsync);
        var capacity = (await campaign.GetAsync()).Capacity.Capacity;
        for (var rush = 0; rush < capacity * 3 + 20; rush++)
        {
            // Claims keep coming over time: a shard trusts "nothing left" for a second only, then
            // asks its campaign again, which takes back what idle shards hold. With the clock
            // standing still, a shard told "sold out" once would refuse from memory to the end.
            fixture.Clock.Advance(TimeSpan.FromMilliseconds(1_100));
            var channel = rush % 2 == 0 ? Quota : Shared;
            var outcome = await IssueAsync(id, drop.Shards, new IssueClaim(channel, $"rush-{rush}", $"rush-{rush}", ""));
            if (outcome.Voucher is { } voucher)
            {
                acknowledged.Add(($"{channel}/{outcome.RequestId}", voucher.Code));
            }
        }

        await CheckInvariantsAsync(id, drop, acknowledged);
        var totals = await fixture.Store.Ledger.GetCampaignTotalsAsync(id, fixture.Clock.GetUtcNow());
        Assert.Equal(capacity, totals.Issued);
    }

    private async Task CheckInvariantsAsync(string id, Drop drop, List<(string Key, string Code)> acknowledged)
    {
        var campaign = await fixture.Grains.GetGrain<ICampaignGrain>(id).GetAsync();
        var ledger = fixture.Store.Ledger;
        var totals = await ledger.GetCampaignTotalsAsync(id, fixture.Clock.GetUtcNow());
        var leases = await ledger.LoadLeasesAsync(id);

        // Σ issued ≤ Σ granted ≤ capacity, per pool and in all.
        Assert.True(totals.Issued <= campaign.Capacity.Capacity, $"issued {totals.Issued} > capacity {campaign.Capacity.Capacity}");
        Assert.Equal(totals.Issued, leases.Sum(l => l.Issued));
        Assert.True(leases.Sum(l => l.Granted) <= campaign.Capacity.Capacity);
        foreach (var pool in leases.GroupBy(l => l.Pool))
        {
            Assert.True(pool.Sum(l => l.Issued) <= pool.Sum(l => l.Granted));
            Assert.True(pool.Sum(l => l.Granted) <= campaign.Capacity.PoolCapacity(pool.Key));
        }

        // One voucher per request id, whoever asked and however often; every answer is in the ledger.
        foreach (var request in acknowledged.GroupBy(a => a.Key))
        {
            Assert.Single(request.Select(a => a.Code).Distinct());
        }

        var vouchers = await fixture.LedgerVouchersAsync(id, drop.Shards);

        Assert.Equal(totals.Issued, vouchers.Count);
        Assert.Subset(vouchers.Select(v => v.Code).ToHashSet(), acknowledged.Select(a => a.Code).ToHashSet());
        Assert.All(vouchers.GroupBy(v => v.UserId), user => Assert.True(user.Count() <= drop.PerUserLimit));
    }

    private async Task<IssueOutcome> IssueAsync(string campaignId, int shards, IssueClaim claim)
    {
        var pool = fixture.Grains.GetGrain<IVoucherPoolGrain>(ShardRouting.PoolKey(campaignId, ShardRouting.ShardFor(claim.UserId, shards)));
        return (await pool.IssueAsync([claim]))[0];
    }

    /// <summary>Lifecycle and top-up calls the random plan makes at the wrong moment are refused; that is fine.</summary>
    private static async Task Swallow(Func<Task> action)
    {
        try
        {
            await action();
        }
        catch (CampaignsException ex) when (ex.Code is Refusal.InvalidTransition or Refusal.CampaignEnded)
        {
        }
    }
}
