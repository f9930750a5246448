using Campaigns.Grains.Campaigns;
using Campaigns.Grains.Common;
using Campaigns.Grains.Issuance;
using Orleans.Core.Internal;

namespace Campaigns.Tests.Cluster;

[Collection(ClusterCollection.Name)]
public sealed class IssuanceTests(ClusterFixture fixture)
{
    private const string Channel = "partner-a";

    [Fact]
    public async Task Flash_drop_with_more_users_than_stock_issues_exactly_the_stock()
    {
        var campaign = await fixture.StartCampaignAsync(d => d with { TotalStock = 500, ShardCount = 4 });
        var id = campaign.GetPrimaryKeyString();
        // 3,000 users; every claim sent twice (a partner's retry after a timeout), all at once.
        var claims = Enumerable.Range(0, 3_000).Select(u => new IssueClaim(Channel, $"user-{u}", $"req-{u}", "")).ToList();
        var outcomes = await Task.WhenAll(claims.Concat(claims).Select(c => IssueAsync(id, 4, c)));

        var issued = outcomes.Where(o => o.Voucher is not null).ToList();
        var codes = issued.Select(o => o.Voucher!.Code).Distinct().ToList();
        Assert.Equal(500, codes.Count);
        Assert.All(outcomes.Where(o => o.Voucher is null), o => Assert.Equal(Refusal.SoldOut, o.Refusal));
        // Every request id maps to at most one voucher, and both copies of a claim agree.
        foreach (var pair in issued.GroupBy(o => o.RequestId))
        {
            Assert.Single(pair.Select(o => o.Voucher!.Code).Distinct());
        }

        var totals = await fixture.Store.Ledger.GetCampaignTotalsAsync(id, fixture.Clock.GetUtcNow());
        Assert.Equal(500, totals.Issued);
        var leases = await fixture.Store.Ledger.LoadLeasesAsync(id);
        Assert.Equal(500, leases.Sum(l => l.Issued));
        Assert.True(leases.Sum(l => l.Granted) <= 500);
    }

    [Fact]
    public async Task Festival_drop_of_5000_vouchers_to_50000_users_with_taps_and_retries_issues_exactly_5000()
    {
        var campaign = await fixture.StartCampaignAsync(d => d with { TotalStock = 5_000, ShardCount = 8, PerUserLimit = 1 });
        var id = campaign.GetPrimaryKeyString();
        // 50,000 users; one in five taps "claim" twice (a second request id) and every claim is
        // also retried with its own request id, as a partner does after a timeout.
        var claims = Enumerable.Range(0, 50_000)
            .SelectMany(u => u % 5 == 0
                ? new[] { new IssueClaim(Channel, $"fan-{u}", $"tap1-{u}", ""), new IssueClaim(Channel, $"fan-{u}", $"tap2-{u}", "") }
                : [new IssueClaim(Channel, $"fan-{u}", $"tap1-{u}", "")])
            .ToList();
        var random = new Random(5_000);
        var arrivals = claims.Concat(claims).OrderBy(_ => random.Next()).ToList();

        // Sent as partners' gateways do: many concurrent calls, each a handful of claims for one shard.
        var outcomes = new List<IssueOutcome>(arrivals.Count);
        foreach (var wave in arrivals.Chunk(4_000))
        {
            var calls = wave.GroupBy(c => ShardRouting.ShardFor(c.UserId, 8))
                .SelectMany(shard => shard.Chunk(20).Select(chunk =>
                    fixture.Grains.GetGrain<IVoucherPoolGrain>(ShardRouting.PoolKey(id, shard.Key)).IssueAsync(chunk)));
            foreach (var answered in await Task.WhenAll(calls))
            {
                outcomes.AddRange(answered);
            }
        }

        var acknowledged = outcomes.Where(o => o.Voucher is not null).ToList();
        Assert.Equal(5_000, acknowledged.Select(o => o.Voucher!.Code).Distinct().Count());
        Assert.All(acknowledged.GroupBy(o => o.RequestId), request => Assert.Single(request.Select(o => o.Voucher!.Code).Distinct()));
        Assert.All(acknowledged.GroupBy(o => o.Voucher!.UserId), user => Assert.Single(user.Select(o => o.Voucher!.Code).Distinct()));
        Assert.All(outcomes.Where(o => o.Voucher is null), o => Assert.Contains(o.Refusal, new Refusal?[] { Refusal.SoldOut, Refusal.UserLimitReached }));

        var ledger = fixture.Store.Ledger;
        var totals = await ledger.GetCampaignTotalsAsync(id, fixture.Clock.GetUtcNow());
        Assert.Equal(5_000, totals.Issued);
        Assert.Equal(5_000 * 2_000L, totals.IssuedLiabilityCents);
        var stored = await fixture.LedgerVouchersAsync(id, 8);

        // Every acknowledged voucher is in the ledger, under the request that got it.
        Assert.Equal(
            acknowledged.Select(o => (o.RequestId, o.Voucher!.Code)).ToHashSet(),
            stored.Select(v => (v.RequestId, v.Code)).ToHashSet());
    }

    [Fact]
    public async Task Parallel_claims_of_one_user_issue_only_the_per_user_limit()
    {
        var campaign = await fixture.StartCampaignAsync(d => d with { PerUserLimit = 2 });
        var id = campaign.GetPrimaryKeyString();
        var outcomes = await Task.WhenAll(Enumerable.Range(0, 50)
            .Select(i => IssueAsync(id, 4, new IssueClaim(Channel, "alice", $"tap-{i}", ""))));

        Assert.Equal(2, outcomes.Count(o => o.Voucher is not null));
        Assert.Equal(48, outcomes.Count(o => o.Refusal == Refusal.UserLimitReached));
    }

    [Fact]
    public async Task Repeats_of_one_request_id_all_return_the_first_voucher()
    {
        var campaign = await fixture.StartCampaignAsync();
        var id = campaign.GetPrimaryKeyString();
        var claim = new IssueClaim(Channel, "bob", "tap-1", "");
        var outcomes = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => IssueAsync(id, 4, claim)));

        Assert.Single(outcomes.Select(o => o.Voucher!.Code).Distinct());
        Assert.Equal(19, outcomes.Count(o => o.Replayed));

        var later = await IssueAsync(id, 4, claim);
        Assert.True(later.Replayed);
        Assert.Equal(outcomes[0].Voucher!.Code, later.Voucher!.Code);

        var reused = await IssueAsync(id, 4, claim with { District = "xuhui" });
        Assert.Equal(Refusal.IdempotencyKeyReused, reused.Refusal);

        // The key is the request id for its user: another user's claim with it is that user's own.
        var mallorys = await IssueAsync(id, 4, claim with { UserId = "mallory" });
        Assert.False(mallorys.Replayed);
        Assert.NotEqual(later.Voucher.Code, mallorys.Voucher!.Code);
    }

    [Fact]
    public async Task A_duplicate_activation_of_a_shard_issues_nothing_twice()
    {
        // Orleans can run two activations of one shard while a silo fails. Here the second is forced:
        // it takes the shard's next epoch in the ledger and reads the shard's rows, while the first
        // still runs.
        var campaign = await fixture.StartCampaignAsync(d => d with { ShardCount = 1 });
        var id = campaign.GetPrimaryKeyString();
        var alices = (await IssueAsync(id, 1, new IssueClaim(Channel, "alice", "claim-a", ""))).Voucher!;
        var ledger = fixture.Store.Ledger;
        var second = await ledger.ActivateShardAsync(id, 0);
        var seen = await ledger.LoadShardVouchersAsync(second.CampaignNumber, 0);

        // Bob's claim reaches the first activation: its write is fenced off, nothing is issued.
        var stale = await IssueAsync(id, 1, new IssueClaim(Channel, "bob", "claim-b", ""));
        Assert.Equal(Refusal.Unavailable, stale.Refusal);
        Assert.Equal([alices.Code], (await fixture.LedgerVouchersAsync(id, 1)).Select(v => v.Code));

        // The second activation issues bob's claim as its books (what it read) allow: the next seq.
        var key = new Grains.Ledger.VoucherKey(second.CampaignNumber, 0, seen[^1].Seq + 1);
        var bobs = alices with { Code = fixture.Store.Codes.CodeFor(key), Seq = key.Seq, UserId = "bob", RequestId = "claim-b" };
        await ledger.CommitIssueBatchAsync(new Grains.Ledger.IssueBatch(id, second.CampaignNumber, 0, second.Epoch, [bobs]));

        // Bob's partner retries: the retry reaches a fresh activation, rebuilt from the ledger, and
        // gets bob's one voucher back.
        IssueOutcome retried;
        var attempts = 0;
        do
        {
            retried = await IssueAsync(id, 1, new IssueClaim(Channel, "bob", "claim-b", ""));
        }
        while (retried.Refusal == Refusal.Unavailable && ++attempts < 50 && await Task.Delay(100).ContinueWith(_ => true));

        Assert.True(retried.Replayed);
        Assert.Equal(bobs.Code, retried.Voucher!.Code);
        Assert.Equal(Refusal.UserLimitReached, (await IssueAsync(id, 1, new IssueClaim(Channel, "bob", "claim-b2", ""))).Refusal);
        Assert.Equal(["alice", "bob"], (await fixture.LedgerVouchersAsync(id, 1)).Select(v => v.UserId));
    }

    [Fact]
    public async Task Stock_leased_to_idle_shards_is_reclaimed_so_the_drop_sells_out_exactly()
    {
        var (id, perShard) = await DropWithEveryShardLeasedAsync();

        var outcomes = await ClaimThroughShardZeroAsync(id, perShard);

        Assert.Equal(36, outcomes.Count(o => o.Voucher is not null));
        Assert.Equal(Refusal.SoldOut, outcomes[^1].Refusal);
        var totals = await fixture.Store.Ledger.GetCampaignTotalsAsync(id, fixture.Clock.GetUtcNow());
        Assert.Equal(40, totals.Issued);
    }

    [Fact]
    public async Task Stock_a_shard_surrendered_after_the_campaign_stopped_waiting_is_not_stranded()
    {
        var (id, perShard) = await DropWithEveryShardLeasedAsync();
        // Shard 1 gives back its unspent units, but the campaign is not there for the answer: it
        // asked, waited its 2 s and went on (the shard was activating, or its queue was long).
        var late = await fixture.Grains.GetGrain<IVoucherPoolGrain>(ShardRouting.PoolKey(id, 1)).SurrenderAsync(StockCapacity.SharedPool);
        Assert.True(late > 0);

        var outcomes = await ClaimThroughShardZeroAsync(id, perShard);

        Assert.Equal(36, outcomes.Count(o => o.Voucher is not null));
        var totals = await fixture.Store.Ledger.GetCampaignTotalsAsync(id, fixture.Clock.GetUtcNow());
        Assert.Equal(40, totals.Issued);
        var leases = await fixture.Store.Ledger.LoadLeasesAsync(id);
        Assert.All(leases, lease => Assert.Equal(lease.Issued, lease.Granted));
    }

    [Fact]
    public async Task A_shard_whose_memory_is_behind_the_ledger_gives_back_only_what_the_ledger_holds_and_no_stock_is_lost()
    {
        var (id, perShard) = await DropWithEveryShardLeasedAsync();
        // Another activation of shard 1 takes over and gives its unspent units back behind the live one's back.
        var ledger = fixture.Store.Ledger;
        var other = await ledger.ActivateShardAsync(id, 1);
        Assert.True(await ledger.ReturnLeaseAsync(id, 1, other.Epoch, StockCapacity.SharedPool, units: 100, keep: 0) > 0);

        var shard = fixture.Grains.GetGrain<IVoucherPoolGrain>(ShardRouting.PoolKey(id, 1));
        Assert.Equal(0, await shard.SurrenderAsync(StockCapacity.SharedPool));
        var lease = (await ledger.LoadLeasesAsync(id)).Single(l => l.Shard == 1);
        Assert.Equal(lease.Issued, lease.Granted);

        var outcomes = await ClaimThroughShardZeroAsync(id, perShard);

        Assert.Equal(36, outcomes.Count(o => o.Voucher is not null));
        Assert.Equal(40, (await ledger.GetCampaignTotalsAsync(id, fixture.Clock.GetUtcNow())).Issued);
        var next = await IssueAsync(id, 4, new IssueClaim(Channel, perShard[1][1], "late-" + perShard[1][1], ""));
        Assert.Equal(Refusal.SoldOut, next.Refusal);
    }

    [Fact]
    public async Task Stock_granted_to_a_shard_that_never_heard_the_answer_is_not_stranded()
    {
        var (id, perShard) = await DropWithEveryShardLeasedAsync();
        // The campaign grants shard 1 more stock, but the answer never reaches the shard (its call
        // timed out while the campaign was busy): the ledger leases the units to a shard that does
        // not know it holds them.
        var campaign = fixture.Grains.GetGrain<ICampaignGrain>(id);
        var lost = await campaign.RequestStockAsync(1, Channel, 16);
        Assert.True(lost.Amount > 0);

        var outcomes = await ClaimThroughShardZeroAsync(id, perShard);

        Assert.Equal(36, outcomes.Count(o => o.Voucher is not null));
        Assert.Equal(40, (await fixture.Store.Ledger.GetCampaignTotalsAsync(id, fixture.Clock.GetUtcNow())).Issued);
    }

    [Fact]
    public async Task A_shard_told_sold_out_finds_the_stock_it_was_granted_without_hearing_of_it()
    {
        var (id, perShard) = await DropWithEveryShardLeasedAsync();
        // A grant to shard 0 whose answer was lost. Shard 0 is also the one that runs dry and asks
        // again, so no other shard's reclaim asks it for those units: it must find them itself.
        var campaign = fixture.Grains.GetGrain<ICampaignGrain>(id);
        Assert.True((await campaign.RequestStockAsync(0, Channel, 16)).Amount > 0);

        var outcomes = await ClaimThroughShardZeroAsync(id, perShard);

        Assert.Equal(36, outcomes.Count(o => o.Voucher is not null));
        Assert.Equal(40, (await fixture.Store.Ledger.GetCampaignTotalsAsync(id, fixture.Clock.GetUtcNow())).Issued);
    }

    [Fact]
    public async Task Budget_tighter_than_stock_stops_issuing_at_the_budget()
    {
        // Each voucher is worth 20.00; a 140.00 budget pays for 7 of the 10.
        var campaign = await fixture.StartCampaignAsync(d => d with { TotalStock = 10, BudgetCents = 14_000 });
        var id = campaign.GetPrimaryKeyString();
        var outcomes = await IssueManyAsync(id, 30);

        Assert.Equal(7, outcomes.Count(o => o.Voucher is not null));
        Assert.All(outcomes.Where(o => o.Voucher is null), o => Assert.Equal(Refusal.BudgetExhausted, o.Refusal));
        var totals = await fixture.Store.Ledger.GetCampaignTotalsAsync(id, fixture.Clock.GetUtcNow());
        Assert.Equal(14_000, totals.IssuedLiabilityCents);
    }

    [Fact]
    public async Task Channel_quota_is_reserved_for_its_channel_and_others_share_the_rest()
    {
        var campaign = await fixture.StartCampaignAsync(d => d with
        {
            TotalStock = 10,
            ChannelQuotas = new Dictionary<string, long> { ["meituan"] = 4 },
        });
        var id = campaign.GetPrimaryKeyString();

        var others = await IssueManyAsync(id, 10, channel: "jd");
        Assert.Equal(6, others.Count(o => o.Voucher is not null));
        Assert.All(others.Where(o => o.Voucher is null), o => Assert.Equal(Refusal.ChannelQuotaExhausted, o.Refusal));

        var reserved = await IssueManyAsync(id, 10, channel: "meituan");
        Assert.Equal(4, reserved.Count(o => o.Voucher is not null));
        Assert.All(reserved.Where(o => o.Voucher is null), o => Assert.Equal(Refusal.SoldOut, o.Refusal));
    }

    [Fact]
    public async Task Stock_added_mid_drop_is_claimable_at_once()
    {
        var campaign = await fixture.StartCampaignAsync(d => d with { TotalStock = 5 });
        var id = campaign.GetPrimaryKeyString();
        Assert.Equal(5, (await IssueManyAsync(id, 8, prefix: "wave1")).Count(o => o.Voucher is not null));

        await campaign.AddStockAsync("top-up-1", 3, 0);
        await campaign.AddStockAsync("top-up-1", 3, 0); // a retried top-up adds nothing
        var second = await IssueManyAsync(id, 8, prefix: "wave2");
        Assert.Equal(3, second.Count(o => o.Voucher is not null));
        Assert.Equal(8, (await campaign.GetAsync()).TotalStock);
    }

    [Fact]
    public async Task Daily_limit_resets_at_midnight_in_China()
    {
        var campaign = await fixture.StartCampaignAsync(d => d with { PerUserLimit = 3, PerUserDailyLimit = 1 });
        var id = campaign.GetPrimaryKeyString();
        Assert.NotNull((await IssueAsync(id, 4, new IssueClaim(Channel, "carol", "day1-a", ""))).Voucher);
        Assert.Equal(Refusal.UserDailyLimitReached, (await IssueAsync(id, 4, new IssueClaim(Channel, "carol", "day1-b", ""))).Refusal);

        // The fixture's clock is shared and only moves forward: on to the next midnight in Shanghai.
        var nextMidnight = new DateTimeOffset(BusinessCalendar.DayOf(fixture.Clock.GetUtcNow()).AddDays(1).ToDateTime(TimeOnly.MinValue), BusinessCalendar.Offset);
        fixture.Clock.SetUtcNow(nextMidnight.ToUniversalTime());
        Assert.NotNull((await IssueAsync(id, 4, new IssueClaim(Channel, "carol", "day2-a", ""))).Voucher);
        Assert.Equal(Refusal.UserDailyLimitReached, (await IssueAsync(id, 4, new IssueClaim(Channel, "carol", "day2-b", ""))).Refusal);
    }

    [Fact]
    public async Task Paused_campaign_refuses_claims_until_resumed()
    {
        var campaign = await fixture.StartCampaignAsync();
        var id = campaign.GetPrimaryKeyString();
        await campaign.PauseAsync();
        Assert.Equal(Refusal.CampaignNotActive, (await IssueAsync(id, 4, new IssueClaim(Channel, "dan", "p-1", ""))).Refusal);
        await campaign.ResumeAsync();
        Assert.NotNull((await IssueAsync(id, 4, new IssueClaim(Channel, "dan", "p-1", ""))).Voucher);
        await campaign.EndAsync();
        Assert.Equal(Refusal.CampaignEnded, (await IssueAsync(id, 4, new IssueClaim(Channel, "erin", "p-2", ""))).Refusal);
    }

    [Fact]
    public async Task Shards_and_campaign_deactivated_mid_drop_keep_every_invariant()
    {
        var campaign = await fixture.StartCampaignAsync(d => d with { TotalStock = 300, ShardCount = 4 });
        var id = campaign.GetPrimaryKeyString();
        var claims = Enumerable.Range(0, 1_500).Select(u => new IssueClaim(Channel, $"u{u}", $"r{u}", "")).ToList();

        var drop = Task.WhenAll(claims.Select(c => IssueAsync(id, 4, c)));
        for (var round = 0; round < 5 && !drop.IsCompleted; round++)
        {
            await Task.Delay(5);
            foreach (var shard in Enumerable.Range(0, 4))
            {
                await fixture.Grains.GetGrain<IVoucherPoolGrain>(ShardRouting.PoolKey(id, shard))
                    .Cast<IGrainManagementExtension>().DeactivateOnIdle();
            }

            await campaign.Cast<IGrainManagementExtension>().DeactivateOnIdle();
        }

        var first = await drop;
        // Retry whatever was refused as transient, with the same request ids, as a partner would.
        var retried = await Task.WhenAll(claims.Select(c => IssueAsync(id, 4, c)));

        var acknowledged = first.Concat(retried).Where(o => o.Voucher is not null).ToList();
        foreach (var pair in acknowledged.GroupBy(o => o.RequestId))
        {
            Assert.Single(pair.Select(o => o.Voucher!.Code).Distinct());
        }

        var totals = await fixture.Store.Ledger.GetCampaignTotalsAsync(id, fixture.Clock.GetUtcNow());
        Assert.Equal(300, totals.Issued);
        Assert.Equal(300, acknowledged.Select(o => o.Voucher!.Code).Distinct().Count());
        foreach (var code in acknowledged.Select(o => o.Voucher!.Code).Distinct())
        {
            Assert.NotNull(await fixture.LedgerVoucherAsync(code));
        }
    }

    private Task<IssueOutcome[]> IssueManyAsync(string campaignId, int users, string channel = Channel, string prefix = "u") =>
        Task.WhenAll(Enumerable.Range(0, users).Select(u =>
            IssueAsync(campaignId, 4, new IssueClaim(channel, $"{prefix}-{channel}-{u}", $"{prefix}-{channel}-{u}", ""))));

    private Task<IssueOutcome> IssueAsync(string campaignId, int shards, IssueClaim claim) => fixture.IssueAsync(campaignId, shards, claim);

    /// <summary>A 40-voucher drop on 4 shards, each woken by one claim so that each holds a lease.</summary>
    private async Task<(string Id, List<string>[] UsersByShard)> DropWithEveryShardLeasedAsync()
    {
        var campaign = await fixture.StartCampaignAsync(d => d with { TotalStock = 40, ShardCount = 4 });
        var id = campaign.GetPrimaryKeyString();
        var perShard = ClusterFixture.UsersByShard(4, 200);
        foreach (var users in perShard)
        {
            Assert.NotNull((await IssueAsync(id, 4, new IssueClaim(Channel, users[0], "first-" + users[0], ""))).Voucher);
        }

        return (id, perShard);
    }

    /// <summary>All further demand, to shard 0 only: its other users claim one after another.</summary>
    private async Task<List<IssueOutcome>> ClaimThroughShardZeroAsync(string id, List<string>[] perShard)
    {
        var outcomes = new List<IssueOutcome>();
        foreach (var user in perShard[0].Skip(1))
        {
            outcomes.Add(await IssueAsync(id, 4, new IssueClaim(Channel, user, "r-" + user, "")));
        }

        return outcomes;
    }
}
