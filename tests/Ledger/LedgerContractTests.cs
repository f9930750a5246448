using Campaigns.Grains.Access;
using Campaigns.Grains.Events;
using Campaigns.Grains.Ledger;

namespace Campaigns.Tests.Ledger;

/// <summary>
/// The ledger contract, as every backend must keep it: asserted through the contract only, so the
/// same tests run on SQLite and on PostgreSQL. The races are the ones READ COMMITTED must survive.
/// </summary>
public abstract class LedgerContractTests : LedgerScenario
{
    // ---- schema ----

    [Fact]
    public async Task Schema_creation_is_idempotent_and_keeps_what_is_written()
    {
        await Grant(shard: 0, amount: 5);
        var voucher = Voucher("u1", "r1");
        await Commit(0, voucher);

        await Ledger.EnsureSchemaAsync();
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Another().EnsureSchemaAsync()));

        Assert.Equal([voucher], await Ledger.LoadShardVouchersAsync(Number, 0));
        Assert.Equal(Number, await Another().FindCampaignNumberAsync(Campaign));
    }

    // ---- issuance ----

    [Fact]
    public async Task Batch_appends_its_vouchers_in_key_order_and_spends_the_lease()
    {
        await Grant(shard: 2, amount: 10);
        var first = Voucher("u1", "r1", shard: 2);
        var second = Voucher("u2", "r2", shard: 2) with { District = "pudong" };

        await Commit(2, first, second);

        Assert.Equal([first, second], await Ledger.LoadShardVouchersAsync(Number, 2));
        Assert.Equal(
            [new ShardIssue(first.Seq, "u1", Channel, "r1", "", first.IssuedDay, first.IssuedAt), new ShardIssue(second.Seq, "u2", Channel, "r2", "pudong", second.IssuedDay, second.IssuedAt)],
            await Ledger.LoadShardIssuesAsync(Number, 2));
        Assert.Empty(await Ledger.LoadShardVouchersAsync(Number, 1));
        Assert.Equal([new StockLeaseRecord(2, "", 10, 2)], await Ledger.LoadLeasesAsync(Campaign));
        Assert.Equal(second, await Ledger.GetVoucherAsync(second.Key));
        Assert.Equal(10_000L, (await Ledger.GetCampaignTotalsAsync(Campaign, Now)).IssuedLiabilityCents);
    }

    [Fact]
    public async Task Batch_past_its_lease_writes_nothing()
    {
        await Grant(shard: 0, amount: 2);

        await Assert.ThrowsAsync<LedgerConflictException>(() =>
            Commit(0, Voucher("u1", "r1"), Voucher("u2", "r2"), Voucher("u3", "r3")));

        Assert.Empty(await Ledger.LoadShardVouchersAsync(Number, 0));
        Assert.Equal(new StockLeaseRecord(0, "", 2, 0), Assert.Single(await Ledger.LoadLeasesAsync(Campaign)));
    }

    [Fact]
    public async Task A_batch_whose_voucher_key_is_taken_is_a_conflict_and_writes_nothing()
    {
        // Only a shard whose books are behind the ledger would reuse a seq: it must reload, not crash.
        await Grant(shard: 0, amount: 10);
        var first = Voucher("u1", "r1");
        await Commit(0, first);

        await Assert.ThrowsAsync<LedgerConflictException>(() =>
            Commit(0, Voucher("u2", "r2"), first with { UserId = "u3", RequestId = "r3" }));

        Assert.Equal([first], await Ledger.LoadShardVouchersAsync(Number, 0));
        Assert.Equal(new StockLeaseRecord(0, "", 10, 1), Assert.Single(await Ledger.LoadLeasesAsync(Campaign)));
    }

    [Fact]
    public async Task Batch_charges_each_pool_its_own_lease()
    {
        await Grant(shard: 0, amount: 5);
        await Grant(shard: 0, amount: 1, pool: Channel);

        await Commit(0, Voucher("u1", "r1") with { Pool = Channel }, Voucher("u2", "r2"));
        await Assert.ThrowsAsync<LedgerConflictException>(() => Commit(0, Voucher("u3", "r3") with { Pool = Channel }));
        await Assert.ThrowsAsync<LedgerConflictException>(() => Commit(0, Voucher("u4", "r4") with { Pool = "partner-without-lease" }));
        // One pool short refuses the whole batch: the pool that had room is not charged either.
        await Assert.ThrowsAsync<LedgerConflictException>(() => Commit(0, Voucher("u5", "r5"), Voucher("u6", "r6") with { Pool = Channel }));

        Assert.Equal(
            [new StockLeaseRecord(0, "", 5, 1), new StockLeaseRecord(0, Channel, 1, 1)],
            await Ledger.LoadLeasesAsync(Campaign));
    }

    [Fact]
    public async Task A_batch_of_hundreds_as_a_batch_claim_commits_keeps_every_guard()
    {
        await Grant(shard: 1, amount: 250);
        await Grant(shard: 1, amount: 50, pool: Channel);
        VoucherRecord[] Vouchers(int count, string prefix) =>
            [.. Enumerable.Range(0, count).Select(i => Voucher($"{prefix}-u{i}", $"{prefix}-r{i}", shard: 1) with { District = i % 3 == 0 ? "pudong" : "" })];

        var batch = Vouchers(200, "a").Select((v, i) => i < 40 ? v with { Pool = Channel } : v).ToArray();
        batch[7] = batch[7] with { UserId = "O'Brien\"; DROP TABLE vouchers;--", RequestId = "请求-7" };
        await Commit(1, batch);

        Assert.Equal(batch, await Ledger.LoadShardVouchersAsync(Number, 1));
        Assert.Equal([new StockLeaseRecord(1, "", 250, 160), new StockLeaseRecord(1, Channel, 50, 40)], await Ledger.LoadLeasesAsync(Campaign));

        // Past the lease, under a stale epoch, or reusing a key: refused whole.
        await Assert.ThrowsAsync<LedgerConflictException>(() => Commit(1, Vouchers(100, "b")));
        await Assert.ThrowsAsync<LedgerConflictException>(() => Commit(1, [.. Vouchers(79, "c"), batch[0] with { UserId = "someone-else" }]));
        var stale = Epoch(1);
        await Ledger.ActivateShardAsync(Campaign, 1);
        await Assert.ThrowsAsync<LedgerFencedException>(() => Ledger.CommitIssueBatchAsync(Batch(1, stale, Vouchers(80, "d"))));

        Assert.Equal(200, (await Ledger.LoadShardVouchersAsync(Number, 1)).Count);
        Assert.Equal([new StockLeaseRecord(1, "", 250, 160), new StockLeaseRecord(1, Channel, 50, 40)], await Ledger.LoadLeasesAsync(Campaign));
    }

    [Fact]
    public async Task A_voucher_of_another_shard_is_refused_before_anything_is_written()
    {
        await Grant(shard: 0, amount: 5);

        await Assert.ThrowsAsync<ArgumentException>(() => Commit(0, Voucher("u1", "r1"), Voucher("u2", "r2", shard: 1)));

        Assert.Empty(await Ledger.LoadShardVouchersAsync(Number, 0));
        Assert.Empty(await Ledger.LoadShardVouchersAsync(Number, 1));
    }

    [Fact]
    public async Task Hostile_text_is_stored_as_data()
    {
        await Grant(shard: 0, amount: 5);
        var voucher = Voucher("u1'); DROP TABLE vouchers; --", "r1\" OR 1=1") with { District = "浦东新区" };

        await Commit(0, voucher);

        Assert.Equal(voucher, await Ledger.GetVoucherAsync(voucher.Key));
        Assert.Equal([voucher], await Ledger.GetVouchersAsync([voucher.Key]));
    }

    [Fact]
    public async Task Vouchers_are_read_by_key_in_the_order_asked_and_unknown_keys_are_left_out()
    {
        await Grant(shard: 0, amount: 5);
        var (a, b) = (Voucher("u1", "r1"), Voucher("u2", "r2"));
        await Commit(0, a, b);

        Assert.Equal([b, a], await Ledger.GetVouchersAsync([b.Key, new VoucherKey(Number, 0, 999), a.Key]));
        Assert.Null(await Ledger.GetVoucherAsync(new VoucherKey(Number, 3, 1)));
    }

    // ---- fencing ----

    [Fact]
    public async Task A_shard_s_next_activation_fences_off_the_one_before_it()
    {
        await Grant(shard: 0, amount: 10);
        var stale = await Ledger.ActivateShardAsync(Campaign, 0);
        await Ledger.CommitIssueBatchAsync(Batch(0, stale.Epoch, Voucher("u1", "r1")));

        var live = await Ledger.ActivateShardAsync(Campaign, 0);

        Assert.Equal(stale.Epoch + 1, live.Epoch);
        Assert.Equal(Number, live.CampaignNumber);
        await Assert.ThrowsAsync<LedgerFencedException>(() => Ledger.CommitIssueBatchAsync(Batch(0, stale.Epoch, Voucher("u2", "r2"))));
        await Assert.ThrowsAsync<LedgerFencedException>(() => Ledger.ReturnLeaseAsync(Campaign, 0, stale.Epoch, "", units: 5, keep: 0));
        await Ledger.CommitIssueBatchAsync(Batch(0, live.Epoch, Voucher("u3", "r3")));
        Assert.Equal(["r1", "r3"], (await Ledger.LoadShardVouchersAsync(Number, 0)).Select(v => v.RequestId));
        Assert.Equal(new StockLeaseRecord(0, "", 10, 2), Assert.Single(await Ledger.LoadLeasesAsync(Campaign)));
    }

    [Fact]
    public async Task Two_activations_of_one_shard_racing_leave_only_what_the_live_one_can_see()
    {
        // Orleans can briefly run two activations of a grain while a silo fails. The old one keeps
        // committing while the new one activates: each of its commits lands before the new epoch
        // (and is in the new one's read) or is refused.
        await Grant(shard: 0, amount: 10_000);
        var old = await Ledger.ActivateShardAsync(Campaign, 0);
        var landed = new System.Collections.Concurrent.ConcurrentBag<string>();
        var refused = 0;
        var committing = Task.Run(async () =>
        {
            for (var i = 0; i < 300; i++)
            {
                var voucher = Voucher($"u{i}", $"r{i}");
                try
                {
                    await Ledger.CommitIssueBatchAsync(Batch(0, old.Epoch, voucher));
                    landed.Add(voucher.RequestId);
                }
                catch (LedgerFencedException)
                {
                    Interlocked.Increment(ref refused);
                }
            }
        });

        await Task.Delay(20);
        var live = await Ledger.ActivateShardAsync(Campaign, 0);
        var seen = (await Ledger.LoadShardVouchersAsync(Number, 0)).Select(v => v.RequestId).ToHashSet();
        await committing;

        Assert.Equal(seen.Order(), landed.Order());
        Assert.Equal(300, landed.Count + refused);
        Assert.Equal(landed.Count, Assert.Single(await Ledger.LoadLeasesAsync(Campaign)).Issued);
        Assert.True(live.Epoch > old.Epoch);
    }

    [Fact]
    public async Task Two_ledgers_on_one_store_respect_one_another_s_fences()
    {
        // Two silos' ledgers on one store: the epoch decides, whichever silo asks.
        var other = Another();
        await Grant(shard: 0, amount: 100);
        var first = await Ledger.ActivateShardAsync(Campaign, 0);
        var second = await other.ActivateShardAsync(Campaign, 0);

        await Assert.ThrowsAsync<LedgerFencedException>(() => Ledger.CommitIssueBatchAsync(Batch(0, first.Epoch, Voucher("u1", "r1"))));
        await other.CommitIssueBatchAsync(Batch(0, second.Epoch, Voucher("u2", "r2")));

        Assert.Equal(["r2"], (await Ledger.LoadShardVouchersAsync(Number, 0)).Select(v => v.RequestId));
    }

    [Fact]
    public async Task Activations_of_one_shard_racing_each_other_s_commits_let_no_stale_commit_land_unseen()
    {
        // Several activations of one shard (on two silos' ledgers) each commit while the others
        // activate. A batch that lands under an epoch is in the read of every later activation,
        // an activation once fenced stays fenced, and the last one is never fenced.
        await Grant(shard: 0, amount: 100_000);
        var ledgers = new[] { Ledger, Another() };
        var landed = new System.Collections.Concurrent.ConcurrentBag<(long Epoch, string RequestId)>();
        var reads = new System.Collections.Concurrent.ConcurrentDictionary<long, HashSet<string>>();
        var fencedAfterLanding = 0;
        await Task.WhenAll(Enumerable.Range(0, 6).Select(activation => Task.Run(async () =>
        {
            var ledger = ledgers[activation % 2];
            var live = await ledger.ActivateShardAsync(Campaign, 0);
            reads[live.Epoch] = [.. (await ledger.LoadShardVouchersAsync(Number, 0)).Select(v => v.RequestId)];
            var fenced = false;
            for (var i = 0; i < 40; i++)
            {
                var voucher = Voucher($"u{activation}-{i}", $"r{activation}-{i}");
                try
                {
                    await ledger.CommitIssueBatchAsync(Batch(0, live.Epoch, voucher));
                    landed.Add((live.Epoch, voucher.RequestId));
                    Interlocked.Add(ref fencedAfterLanding, fenced ? 1 : 0);
                }
                catch (LedgerFencedException)
                {
                    fenced = true;
                }
            }
        })));

        Assert.Equal(0, fencedAfterLanding);
        Assert.Equal(6, reads.Count); // six epochs, none taken twice
        foreach (var (epoch, requestId) in landed)
        {
            Assert.All(reads.Where(r => r.Key > epoch), later => Assert.Contains(requestId, later.Value));
        }

        Assert.Equal(40, landed.Count(l => l.Epoch == reads.Keys.Max()));
        var stored = (await Ledger.LoadShardVouchersAsync(Number, 0)).Select(v => v.RequestId).Order();
        Assert.Equal(landed.Select(l => l.RequestId).Order(), stored);
        Assert.Equal(landed.Count, Assert.Single(await Ledger.LoadLeasesAsync(Campaign)).Issued);
    }

    [Fact]
    public async Task A_campaign_s_next_activation_fences_off_the_grants_of_the_one_before_it()
    {
        var stale = CampaignEpoch;
        var live = await Ledger.ActivateCampaignAsync(Campaign);

        await Assert.ThrowsAsync<LedgerFencedException>(() => Ledger.GrantLeaseAsync(Campaign, stale, 0, "", 5, poolCapacity: 100));
        Assert.True(await Ledger.GrantLeaseAsync(Campaign, live, 0, "", 5, poolCapacity: 100));

        Assert.Equal(new StockLeaseRecord(0, "", 5, 0), Assert.Single(await Ledger.LoadLeasesAsync(Campaign)));
    }

    // ---- devices ----

    [Fact]
    public async Task A_device_bucket_reads_back_each_device_s_vouchers_per_shard_and_not_those_without_a_device()
    {
        await Grant(shard: 0, amount: 10);
        await Grant(shard: 3, amount: 10);
        VoucherRecord OnDevice(string user, string device, int bucket, int shard = 0) =>
            Voucher(user, "r-" + user, shard) with { DeviceId = device, DeviceBucket = bucket };
        var first = OnDevice("u1", "phone-a", bucket: 1);
        var noDevice = Voucher("u2", "r-u2") with { DeviceBucket = 1 }; // a bucket without a device is never written
        var second = OnDevice("u3", "phone-a", bucket: 1);
        var other = OnDevice("u4", "phone-b", bucket: 2);
        await Commit(0, first, noDevice, second, other);
        var elsewhere = OnDevice("u5", "phone-a", bucket: 1, shard: 3);
        await Commit(3, elsewhere);

        Assert.Equal(
            [new DeviceClaimCount("phone-a", 0, 2, second.Seq), new DeviceClaimCount("phone-a", 3, 1, elsewhere.Seq)],
            (await Ledger.LoadDeviceClaimsAsync(Number, 1)).OrderBy(c => c.Shard));
        Assert.Equal([new DeviceClaimCount("phone-b", 0, 1, other.Seq)], await Ledger.LoadDeviceClaimsAsync(Number, 2));
        Assert.Empty(await Ledger.LoadDeviceClaimsAsync(Number, 0));
        Assert.Equal([first, noDevice with { DeviceBucket = 0 }, second, other], await Ledger.LoadShardVouchersAsync(Number, 0));
        Assert.Equal(elsewhere, await Ledger.GetVoucherAsync(elsewhere.Key));
    }

    [Fact]
    public async Task A_device_bucket_of_a_campaign_without_device_vouchers_is_empty()
    {
        await Issued("u1", "r1");

        Assert.Empty(await Ledger.LoadDeviceClaimsAsync(Number, 0));
    }

    // ---- leases ----

    [Fact]
    public async Task Lease_grant_past_pool_capacity_is_refused()
    {
        Assert.True(await Ledger.GrantLeaseAsync(Campaign, CampaignEpoch, 0, "", 60, poolCapacity: 100));
        Assert.True(await Ledger.GrantLeaseAsync(Campaign, CampaignEpoch, 1, "", 40, poolCapacity: 100));

        Assert.False(await Ledger.GrantLeaseAsync(Campaign, CampaignEpoch, 0, "", 1, poolCapacity: 100));
        Assert.False(await Ledger.GrantLeaseAsync(Campaign, CampaignEpoch, 2, "", 1, poolCapacity: 100));
        Assert.True(await Ledger.GrantLeaseAsync(Campaign, CampaignEpoch, 2, Channel, 1, poolCapacity: 1));

        Assert.Equal(
            [new StockLeaseRecord(0, "", 60, 0), new StockLeaseRecord(1, "", 40, 0), new StockLeaseRecord(2, Channel, 1, 0)],
            await Ledger.LoadLeasesAsync(Campaign));
    }

    [Fact]
    public async Task Returning_a_lease_never_takes_back_what_is_issued_or_promised()
    {
        await Grant(shard: 0, amount: 10);
        await Commit(0, Voucher("u1", "r1"), Voucher("u2", "r2"), Voucher("u3", "r3"));
        var epoch = Epoch(0);

        // 3 issued and 2 promised to claims not yet written: 5 can come back, asked for 4 or 9.
        Assert.Equal(4, await Ledger.ReturnLeaseAsync(Campaign, 0, epoch, "", units: 4, keep: 2));
        Assert.Equal(new StockLeaseRecord(0, "", 6, 3), Assert.Single(await Ledger.LoadLeasesAsync(Campaign)));
        Assert.Equal(1, await Ledger.ReturnLeaseAsync(Campaign, 0, epoch, "", units: 9, keep: 2));
        Assert.Equal(new StockLeaseRecord(0, "", 5, 3), Assert.Single(await Ledger.LoadLeasesAsync(Campaign)));

        // Nothing more to give, asked to keep more than is left, or no lease at all: nothing moves.
        Assert.Equal(0, await Ledger.ReturnLeaseAsync(Campaign, 0, epoch, "", units: 5, keep: 2));
        Assert.Equal(0, await Ledger.ReturnLeaseAsync(Campaign, 0, epoch, "", units: 5, keep: 7));
        Assert.Equal(0, await Ledger.ReturnLeaseAsync(Campaign, 5, Epoch(5), "", units: 5, keep: 0));
        Assert.Equal(new StockLeaseRecord(0, "", 5, 3), Assert.Single(await Ledger.LoadLeasesAsync(Campaign)));

        // What comes back is the pool's again: it can be granted to another shard.
        Assert.Equal(2, await Ledger.ReturnLeaseAsync(Campaign, 0, epoch, "", units: 5, keep: 0));
        Assert.Equal(new StockLeaseRecord(0, "", 3, 3), Assert.Single(await Ledger.LoadLeasesAsync(Campaign)));
        Assert.True(await Ledger.GrantLeaseAsync(Campaign, CampaignEpoch, 1, "", 997, poolCapacity: 1_000));
        Assert.False(await Ledger.GrantLeaseAsync(Campaign, CampaignEpoch, 1, "", 1, poolCapacity: 1_000));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Ledger.ReturnLeaseAsync(Campaign, 0, epoch, "", units: 1, keep: -1));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Ledger.ReturnLeaseAsync(Campaign, 0, epoch, "", units: -1, keep: 0));
    }

    [Fact]
    public async Task Racing_lease_grants_never_pass_the_pool()
    {
        var grants = await Task.WhenAll(Enumerable.Range(0, 32).Select(shard =>
            Task.Run(() => Ledger.GrantLeaseAsync(Campaign, CampaignEpoch, shard % 8, "", 10, poolCapacity: 100))));

        Assert.Equal(10, grants.Count(g => g));
        Assert.Equal(100, (await Ledger.LoadLeasesAsync(Campaign)).Sum(l => l.Granted));
    }

    [Fact]
    public async Task Racing_grants_for_the_last_units_and_returns_keep_the_pool_exact()
    {
        await Grant(shard: 0, amount: 50);
        var epoch = Epoch(0);
        var returns = Task.WhenAll(Enumerable.Range(0, 10).Select(_ => Task.Run(() => Ledger.ReturnLeaseAsync(Campaign, 0, epoch, "", 5, keep: 0))));
        var grants = Task.WhenAll(Enumerable.Range(0, 40).Select(i => Task.Run(() => Ledger.GrantLeaseAsync(Campaign, CampaignEpoch, 1 + (i % 4), "", 5, poolCapacity: 100))));

        var returned = (await returns).Sum();
        var granted = (await grants).Count(g => g) * 5;

        Assert.Equal(50, returned);
        var leases = await Ledger.LoadLeasesAsync(Campaign);
        Assert.Equal(50 - returned + granted, leases.Sum(l => l.Granted));
        Assert.True(leases.Sum(l => l.Granted) <= 100);

        // Every unit given back can be granted again, and not one more.
        while (await Ledger.GrantLeaseAsync(Campaign, CampaignEpoch, 7, "", 1, poolCapacity: 100))
        {
        }

        Assert.Equal(100, (await Ledger.LoadLeasesAsync(Campaign)).Sum(l => l.Granted));
    }

    [Fact]
    public async Task Grants_racing_for_the_last_units_of_a_nearly_spent_pool_get_them_once()
    {
        Assert.True(await Ledger.GrantLeaseAsync(Campaign, CampaignEpoch, 0, "", 97, poolCapacity: 100));

        var ledgers = new[] { Ledger, Another() };
        var grants = await Task.WhenAll(Enumerable.Range(1, 16).Select(shard =>
            Task.Run(() => ledgers[shard % 2].GrantLeaseAsync(Campaign, CampaignEpoch, shard, "", 2, poolCapacity: 100))));

        Assert.Equal(1, grants.Count(g => g));
        Assert.True(await Ledger.GrantLeaseAsync(Campaign, CampaignEpoch, 0, "", 1, poolCapacity: 100));
        Assert.Equal(100, (await Ledger.LoadLeasesAsync(Campaign)).Sum(l => l.Granted));
    }

    [Fact]
    public async Task Returns_racing_their_shard_s_commits_never_take_back_what_is_issued()
    {
        await Grant(shard: 0, amount: 100);
        var epoch = Epoch(0);
        var issued = 0;
        var commits = Task.Run(async () =>
        {
            for (var batch = 0; batch < 20; batch++)
            {
                try
                {
                    await Commit(0, [.. Enumerable.Range(0, 5).Select(i => Voucher($"u{batch}-{i}", $"r{batch}-{i}"))]);
                    issued += 5;
                }
                catch (LedgerConflictException)
                {
                    // The lease was cut below what this batch needed: nothing of it is written.
                }
            }
        });
        var other = Another();
        var returns = Task.WhenAll(Enumerable.Range(0, 20).Select(_ =>
            Task.Run(() => other.ReturnLeaseAsync(Campaign, 0, epoch, "", units: 3, keep: 0))));

        await commits;
        var returned = (await returns).Sum();

        var lease = Assert.Single(await Ledger.LoadLeasesAsync(Campaign));
        Assert.Equal((100 - returned, (long)issued), (lease.Granted, lease.Issued));
        Assert.Equal(issued, (await Ledger.LoadShardVouchersAsync(Number, 0)).Count);

        // The pool's total moved with the lease: what came back can be granted again, and no more.
        Assert.True(await Ledger.GrantLeaseAsync(Campaign, CampaignEpoch, 1, "", returned + 1, poolCapacity: 101));
        Assert.False(await Ledger.GrantLeaseAsync(Campaign, CampaignEpoch, 1, "", 1, poolCapacity: 101));
    }

    // ---- concurrency ----

    [Fact]
    public async Task Shards_committing_at_once_are_refused_each_for_its_own_fault_and_the_others_land()
    {
        // A backend may commit the batches that wait together in one transaction (PostgreSQL does):
        // a fenced shard, one past its lease and one reusing a key refuse their own batch only.
        for (var shard = 0; shard < 6; shard++)
        {
            await Grant(shard, amount: shard == 2 ? 3 : 100);
        }

        var reused = Voucher("u-first", "r-first", shard: 3);
        await Commit(3, reused);
        var stale = Epoch(1);
        await Ledger.ActivateShardAsync(Campaign, 1);

        for (var round = 0; round < 5; round++)
        {
            var batches = Enumerable.Range(0, 6).Select(shard => Enumerable.Range(0, 4).Select(i => Voucher($"u{round}-{shard}-{i}", $"r{round}-{shard}-{i}", shard)).ToArray()).ToArray();
            batches[3][2] = reused with { UserId = $"u{round}-reuse" };
            var commits = Enumerable.Range(0, 6).Select(shard => shard == 1
                ? Ledger.CommitIssueBatchAsync(Batch(1, stale, batches[1]))
                : Commit(shard, batches[shard])).ToArray();
            await Assert.ThrowsAnyAsync<Exception>(() => Task.WhenAll(commits));

            Assert.IsType<LedgerFencedException>(commits[1].Exception!.InnerException);
            Assert.IsType<LedgerConflictException>(commits[2].Exception!.InnerException);
            Assert.IsType<LedgerConflictException>(commits[3].Exception!.InnerException);
            Assert.All(new[] { 0, 4, 5 }, shard => Assert.True(commits[shard].IsCompletedSuccessfully));
        }

        foreach (var shard in new[] { 0, 4, 5 })
        {
            Assert.Equal(20, (await Ledger.LoadShardVouchersAsync(Number, shard)).Count);
        }

        Assert.Empty(await Ledger.LoadShardVouchersAsync(Number, 1));
        Assert.Empty(await Ledger.LoadShardVouchersAsync(Number, 2));
        Assert.Equal([reused], await Ledger.LoadShardVouchersAsync(Number, 3));
        Assert.Equal([20L, 0L, 0L, 1L, 20L, 20L], (await Ledger.LoadLeasesAsync(Campaign)).OrderBy(l => l.Shard).Select(l => l.Issued));
    }

    [Fact]
    public async Task Concurrent_batches_from_several_shards_keep_counts_right()
    {
        const int Shards = 8, Batches = 10, PerBatch = 50;
        for (var shard = 0; shard < Shards; shard++)
        {
            await Grant(shard, Batches * PerBatch);
        }

        var vouchers = Enumerable.Range(0, Shards).Select(shard => Enumerable.Range(0, Batches)
            .Select(batch => Enumerable.Range(0, PerBatch).Select(i => Voucher($"u{shard}-{batch}-{i}", $"r{shard}-{batch}-{i}", shard)).ToArray())
            .ToList()).ToList();
        await Task.WhenAll(Enumerable.Range(0, Shards).Select(shard => Task.Run(async () =>
        {
            foreach (var batch in vouchers[shard])
            {
                await Commit(shard, batch);
            }
        })));

        Assert.All(await Ledger.LoadLeasesAsync(Campaign), lease => Assert.Equal(Batches * PerBatch, lease.Issued));
        Assert.Equal(Shards * Batches * PerBatch, (await Ledger.GetCampaignTotalsAsync(Campaign, Now)).Issued);
        for (var shard = 0; shard < Shards; shard++)
        {
            Assert.Equal(vouchers[shard].SelectMany(b => b), await Ledger.LoadShardVouchersAsync(Number, shard));
        }
    }

    // ---- redemption ----

    [Fact]
    public async Task Transition_records_the_redemption_and_its_event()
    {
        var voucher = await Issued("u1", "r1");

        var redeemed = await Redeem(voucher, "m1", "o1", 30_000, 5_000);

        Assert.Equal(redeemed, await Ledger.GetVoucherAsync(voucher.Key));
        var recorded = Assert.Single((await Ledger.GetVoucherWithEventsAsync(voucher.Key)).Events);
        Assert.True(recorded.Sequence > 0);
        Assert.Equal((RedemptionEventType.Redeemed, "o1", 5_000L, "xuhui"), (recorded.Type, recorded.OrderId, recorded.DiscountCents, recorded.MerchantDistrict));
    }

    [Fact]
    public async Task Transition_with_a_stale_version_writes_nothing()
    {
        var voucher = await Issued("u1", "r1");
        await Redeem(voucher, "m1", "o1", 30_000, 5_000);

        // A duplicate activation still holding version 1 tries to spend it on another order.
        var stale = RedeemStep(voucher, "m2", "o2", 40_000, 5_000);
        Assert.False(await Ledger.TryTransitionAsync(stale.Next, voucher.Version, stale.Event));

        Assert.Equal("o1", (await Ledger.GetVoucherAsync(voucher.Key))!.OrderId);
        Assert.Single((await Ledger.GetVoucherWithEventsAsync(voucher.Key)).Events);
    }

    [Fact]
    public async Task Transitions_made_at_once_are_each_answered_on_their_own()
    {
        // A backend may commit the transitions that wait together in one transaction (PostgreSQL
        // does): a stale version or a taken order key fails its own transition only.
        await Grant(shard: 0, amount: 100);
        var vouchers = Enumerable.Range(0, 30).Select(i => Voucher($"u{i}", $"r{i}")).ToArray();
        await Commit(0, vouchers);
        var refunded = await Refund(await Redeem(vouchers[0], "m1", "o-taken", 30_000, 5_000), "rf1");
        var moved = await Redeem(vouchers[1], "m1", "o1", 30_000, 5_000);

        var attempts = vouchers.Select((v, i) => i switch
        {
            0 => (RedeemStep(refunded, "m1", "o-taken", 30_000, 5_000), refunded.Version, Moves: false), // the order key is taken
            1 => (RedeemStep(v, "m2", "o-stale", 30_000, 5_000), v.Version, Moves: false), // version 1 is stale
            _ => (RedeemStep(v, "m1", $"o{i}", 30_000, 5_000), v.Version, Moves: true),
        }).ToList();
        var answers = await Task.WhenAll(attempts.Select(a => Ledger.TryTransitionAsync(a.Item1.Next, a.Version, a.Item1.Event)));

        Assert.Equal(attempts.Select(a => a.Moves), answers);
        Assert.Equal(refunded, await Ledger.GetVoucherAsync(vouchers[0].Key));
        Assert.Equal(moved, await Ledger.GetVoucherAsync(vouchers[1].Key));
        foreach (var (attempt, i) in attempts.Select((a, i) => (a, i)).Skip(2))
        {
            Assert.Equal(attempt.Item1.Next, await Ledger.GetVoucherAsync(vouchers[i].Key));
            Assert.Equal($"o{i}", Assert.Single((await Ledger.GetVoucherWithEventsAsync(vouchers[i].Key)).Events).OrderId);
        }
    }

    [Fact]
    public async Task Second_redemption_of_one_order_is_refused_by_the_unique_key()
    {
        var voucher = await Issued("u1", "r1");
        var redeemed = await Redeem(voucher, "m1", "o1", 30_000, 5_000);
        var refunded = await Refund(redeemed, "rf1");

        // The version matches, so only the (code, order id) key stands in the way.
        var again = RedeemStep(refunded, "m1", "o1", 30_000, 5_000);
        Assert.False(await Ledger.TryTransitionAsync(again.Next, refunded.Version, again.Event));

        Assert.Equal(refunded, await Ledger.GetVoucherAsync(voucher.Key));
        Assert.Equal(2, (await Ledger.GetVoucherWithEventsAsync(voucher.Key)).Events.Count);
    }

    [Fact]
    public async Task Second_refund_with_one_refund_id_is_refused_by_the_unique_key()
    {
        var voucher = await Issued("u1", "r1");
        var refunded = await Refund(await Redeem(voucher, "m1", "o1", 30_000, 5_000), "rf1");
        var redeemedAgain = await Redeem(refunded, "m1", "o2", 30_000, 5_000);

        var again = RefundStep(redeemedAgain, "rf1");
        Assert.False(await Ledger.TryTransitionAsync(again.Next, redeemedAgain.Version, again.Event));

        Assert.Equal(redeemedAgain, await Ledger.GetVoucherAsync(voucher.Key));
    }

    [Fact]
    public async Task Transition_must_write_the_next_version()
    {
        var voucher = await Issued("u1", "r1");
        var step = RedeemStep(voucher, "m1", "o1", 30_000, 5_000);

        await Assert.ThrowsAsync<ArgumentException>(() => Ledger.TryTransitionAsync(step.Next with { Version = 7 }, voucher.Version, step.Event));

        Assert.Equal(voucher, await Ledger.GetVoucherAsync(voucher.Key));
    }

    // ---- reporting ----

    [Fact]
    public async Task Settlement_sums_redemptions_and_refunds()
    {
        var first = await Redeem(await Issued("u1", "r1"), "m1", "o1", 30_000, 5_000);
        await Redeem(await Issued("u2", "r2"), "m1", "o2", 25_000, 5_000);
        await Redeem(await Issued("u3", "r3"), "m2", "o3", 99_000, 5_000);
        await Refund(first, "rf1");

        var settlement = await Ledger.GetSettlementAsync("m1", null);

        Assert.Equal(new SettlementTotals(2, 1, 10_000, 55_000, 5_000, 30_000), settlement);
        Assert.Equal(5_000, settlement.NetSubsidyCents);
        Assert.Equal(settlement, await Ledger.GetSettlementAsync("m1", Campaign));
        Assert.Equal(new SettlementTotals(0, 0, 0, 0, 0, 0), await Ledger.GetSettlementAsync("m1", "another-campaign"));
    }

    [Fact]
    public async Task Totals_count_expired_and_lapsed_holds()
    {
        await Grant(shard: 0, amount: 10);
        var validUntil = Now.AddDays(7);
        var afterExpiry = validUntil.AddMinutes(1);

        var held = await Issued("u1", "r1");
        await Reserve(held, Now.AddMinutes(5));
        var lapsed = await Issued("u2", "r2");
        await Reserve(lapsed, Now.AddMinutes(-1));
        await Redeem(await Issued("u3", "r3"), "m1", "o3", 30_000, 5_000);
        await Issued("u4", "r4");

        var now = await Ledger.GetCampaignTotalsAsync(Campaign, Now);
        var later = await Ledger.GetCampaignTotalsAsync(Campaign, afterExpiry);

        Assert.Equal((4L, 1L, 1L, 0L), (now.Issued, now.Reserved, now.Redeemed, now.Expired));
        // Past valid_until every voucher not redeemed is expired, whether issued, held or lapsed.
        Assert.Equal((4L, 0L, 1L, 3L), (later.Issued, later.Reserved, later.Redeemed, later.Expired));
    }

    [Fact]
    public async Task Totals_are_net_of_refunds_and_split_by_channel_and_district()
    {
        await Grant(shard: 0, amount: 10);
        var a = await Issued("u1", "r1", district: "xuhui");
        var b = await Issued("u2", "r2", channel: "partner-b");
        await Issued("u3", "r3", district: "xuhui");

        await Refund(await Redeem(a, "m1", "o1", 30_000, 5_000, merchantDistrict: "xuhui"), "rf1");
        await Redeem(b, "m2", "o2", 40_000, 5_000, merchantDistrict: "pudong");

        var totals = await Ledger.GetCampaignTotalsAsync(Campaign, Now);

        Assert.Equal((3L, 15_000L, 1L, 1L), (totals.Issued, totals.IssuedLiabilityCents, totals.Redeemed, totals.Refunded));
        Assert.Equal((5_000L, 40_000L), (totals.RedeemedDiscountCents, totals.RedeemedOrderTotalCents));
        Assert.Equal((2L, 0L), totals.ByChannel[Channel]);
        Assert.Equal((1L, 1L), totals.ByChannel["partner-b"]);
        Assert.Equal((2L, 0L, 0L), totals.ByDistrict["xuhui"]);
        Assert.Equal((1L, 0L, 0L), totals.ByDistrict[""]);
        Assert.Equal((0L, 1L, 5_000L), totals.ByDistrict["pudong"]);
    }

    [Fact]
    public async Task Totals_of_an_unknown_campaign_are_zero()
    {
        var totals = await Ledger.GetCampaignTotalsAsync("nobody", Now);

        Assert.Equal(0, totals.Issued);
        Assert.Empty(totals.ByChannel);
        Assert.Empty(totals.ByDistrict);
    }

    [Fact]
    public async Task Export_streams_redemptions_and_refunds_in_sequence_order()
    {
        var held = await Reserve(await Issued("u1", "r1"), Now.AddMinutes(5));
        var redeemed = await Redeem(held, "m1", "o1", 30_000, 5_000);
        await Redeem(await Issued("u2", "r2"), "m1", "o2", 30_000, 5_000);
        await Refund(redeemed, "rf1");

        var exported = new List<RedemptionEventRecord>();
        await foreach (var e in Ledger.ExportRedemptionEventsAsync(Campaign))
        {
            exported.Add(e);
        }

        Assert.Equal(
            [(RedemptionEventType.Redeemed, "o1"), (RedemptionEventType.Redeemed, "o2"), (RedemptionEventType.Refunded, "o1")],
            exported.Select(e => (e.Type, e.OrderId)));
        Assert.Equal(exported.Select(e => e.Sequence).Order(), exported.Select(e => e.Sequence));
        Assert.Equal("rf1", exported[2].RefundId);
    }

    // ---- event source ----

    [Fact]
    public async Task A_shard_is_tailed_in_issue_order_from_a_cursor_and_listed_with_its_last_seq()
    {
        await Grant(shard: 1, amount: 10);
        var (a, b, c) = (Voucher("u1", "r1", shard: 1), Voucher("u2", "r2", shard: 1), Voucher("u3", "r3", shard: 1));
        await Commit(1, a, b);
        _ = Epoch(0);

        Assert.Equal(
            [new ShardOfCampaign(Campaign, Number, 0, 0), new ShardOfCampaign(Campaign, Number, 1, b.Seq)],
            await Ledger.ListShardsAsync());
        Assert.Equal([a], await Ledger.ReadShardVouchersAfterAsync(Number, 1, afterSeq: 0, limit: 1));
        Assert.Equal([b], await Ledger.ReadShardVouchersAfterAsync(Number, 1, afterSeq: a.Seq, limit: 10));

        await Commit(1, c);

        Assert.Equal([c], await Ledger.ReadShardVouchersAfterAsync(Number, 1, afterSeq: b.Seq, limit: 10));
        Assert.Empty(await Ledger.ReadShardVouchersAfterAsync(Number, 1, afterSeq: c.Seq, limit: 10));
        Assert.Empty(await Ledger.ReadShardVouchersAfterAsync(Number, 0, afterSeq: 0, limit: 10));
    }

    [Fact]
    public async Task Redemptions_are_tailed_in_commit_order_with_their_voucher_keys_and_holds_left_out()
    {
        var (first, second) = (await Issued("u1", "r1"), await Issued("u2", "r2"));
        var start = await Ledger.RedemptionsHeadAsync();
        var held = await Reserve(first, Now.AddMinutes(5));
        var redeemed = await Redeem(second, "m1", "o1", 30_000, 5_000);
        await Refund(redeemed, "refund-1");

        var all = await SettledAsync(() => Ledger.ReadRedemptionsAfterAsync(start, limit: 10), read => read.Count >= 2);

        Assert.Equal([(second.Key, RedemptionEventType.Redeemed), (second.Key, RedemptionEventType.Refunded)], all.Select(r => (r.Voucher, r.Event.Type)));
        Assert.True(all[0].Position < all[1].Position);
        Assert.Equal("refund-1", all[1].Event.RefundId);
        Assert.Equal([all[1]], await SettledAsync(() => Ledger.ReadRedemptionsAfterAsync(all[0].Position, limit: 10), read => read.Count >= 1));
        Assert.Equal([all[0]], await Ledger.ReadRedemptionsAfterAsync(start, limit: 1));

        var head = await Ledger.RedemptionsHeadAsync();
        Assert.Empty(await Ledger.ReadRedemptionsAfterAsync(head, limit: 10));
        await Redeem(held, "m1", "o2", 30_000, 5_000);
        var later = Assert.Single(await SettledAsync(() => Ledger.ReadRedemptionsAfterAsync(head, limit: 10), read => read.Count >= 1));
        Assert.Equal((first.Key, "o2"), (later.Voucher, later.Event.OrderId));
        Assert.True(later.Position > all[1].Position);
    }

    [Fact]
    public async Task A_campaign_event_is_stored_once_per_occurrence_and_tailed_in_order()
    {
        var start = await Ledger.CampaignEventsHeadAsync();
        var soldOut = new CampaignEventRecord { CampaignId = Campaign, Type = CampaignEventType.SoldOut, Occurrence = "stock-100", OccurredAt = Now };
        var ended = new CampaignEventRecord { CampaignId = Campaign, Type = CampaignEventType.Ended, Occurrence = "ended", OccurredAt = Now.AddHours(1) };

        Assert.True(await Ledger.AppendCampaignEventAsync(soldOut));
        Assert.False(await Ledger.AppendCampaignEventAsync(soldOut with { OccurredAt = Now.AddMinutes(1) }));
        Assert.True(await Ledger.AppendCampaignEventAsync(ended));

        var events = await SettledAsync(() => Ledger.ReadCampaignEventsAfterAsync(start, limit: 10), read => read.Count >= 2);
        Assert.Equal([soldOut, ended], events.Select(e => e.Event with { Sequence = 0 }));
        Assert.Equal([events[1]], await Ledger.ReadCampaignEventsAfterAsync(events[0].Position, limit: 10));
        Assert.Equal(events[1].Position, await Ledger.CampaignEventsHeadAsync());
        Assert.Empty(await Ledger.ReadCampaignEventsAfterAsync(events[1].Position, limit: 10));
    }

    /// <summary>
    /// <paramref name="read"/> again until <paramref name="complete"/> holds (at most 15 s). A backend
    /// may hold events back until every transaction older than them has ended (PostgreSQL's feed
    /// reads below the server-wide oldest running transaction, which other tests' databases on the
    /// same server move too); the contract is that they then appear, in order.
    /// </summary>
    private static async Task<T> SettledAsync<T>(Func<Task<T>> read, Func<T, bool> complete)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            var result = await read();
            if (complete(result) || DateTime.UtcNow > deadline)
            {
                return result;
            }

            await Task.Delay(50);
        }
    }

    // ---- the event feed of callbacks, over the event source ----

    private static SubscriptionRecord Subscription(string channel = "", string campaign = "", params CallbackEventType[] types) => new()
    {
        SubscriptionId = "sub_test",
        OwnerRole = Role.Organiser,
        OwnerId = "bureau",
        Url = "https://receiver.example/",
        EventTypes = types.Length > 0 ? types : Enum.GetValues<CallbackEventType>(),
        CampaignId = campaign,
        Channel = channel,
        Secret = "whsec_x",
        CreatedAt = Now,
        Generation = 1,
    };

    [Fact]
    public async Task A_new_feed_starts_at_the_ledger_s_end_and_reads_only_what_comes_after()
    {
        await Issued("u-before", "r-before");
        var feed = new EventFeed(Ledger);
        var cursor = await feed.HeadAsync();

        var after = await Issued("u-after", "r-after");
        var batch = await feed.NextAsync(Subscription(), cursor, Now, limit: 10);

        Assert.Equal([CallbackEventIds.Issued(after.Key)], batch.Events.Select(e => e.Id));
        Assert.True(batch.CaughtUp);
        Assert.Empty((await feed.NextAsync(Subscription(), batch.Next, Now, limit: 10)).Events);
    }

    [Fact]
    public async Task A_voucher_s_redemption_waits_until_its_issue_is_delivered_and_keeps_its_id()
    {
        var feed = new EventFeed(Ledger);
        var cursor = await feed.HeadAsync();
        var first = await Issued("u1", "r1");
        var second = await Issued("u2", "r2");
        await Redeem(second, "m1", "o1", 30_000, 5_000);

        // One row a read: the redemption of the second voucher must not pass its issue.
        var one = await feed.NextAsync(Subscription(), cursor, Now, limit: 1);
        Assert.Equal([CallbackEventIds.Issued(first.Key)], one.Events.Select(e => e.Id));
        Assert.False(one.CaughtUp);

        var two = await SettledAsync(() => feed.NextAsync(Subscription(), one.Next, Now, limit: 1), read => read.Events.Count >= 2);
        Assert.Equal([CallbackEventType.VoucherIssued, CallbackEventType.VoucherRedeemed], two.Events.Select(e => e.Type));
        Assert.All(two.Events, e => Assert.Equal(second.Code, e.Voucher!.Code));
        Assert.Equal("o1", two.Events[1].Voucher!.OrderId);

        // Read again from the same cursor (a crash before it was written), the same events have the same ids.
        Assert.Equal(two.Events.Select(e => e.Id), (await feed.NextAsync(Subscription(), one.Next, Now, limit: 1)).Events.Select(e => e.Id));
    }

    [Fact]
    public async Task Other_channels_campaigns_and_types_move_the_cursor_without_events()
    {
        var feed = new EventFeed(Ledger);
        var cursor = await feed.HeadAsync();
        var other = await Issued("u1", "r1", channel: "partner-b");
        await Redeem(other, "m1", "o1", 30_000, 5_000);
        var own = await Issued("u2", "r2");

        var partner = await feed.NextAsync(Subscription(channel: Channel), cursor, Now, limit: 10);
        var elsewhere = await feed.NextAsync(Subscription(campaign: "another-campaign"), cursor, Now, limit: 10);
        var redemptionsOnly = await SettledAsync(() => feed.NextAsync(Subscription(types: CallbackEventType.VoucherRedeemed), cursor, Now, limit: 10), read => read.Events.Count >= 1);

        Assert.Equal([CallbackEventIds.Issued(own.Key)], partner.Events.Select(e => e.Id));
        Assert.Empty(elsewhere.Events);
        Assert.Equal([other.Code], redemptionsOnly.Events.Select(e => e.Voucher!.Code));
        Assert.Empty((await feed.NextAsync(Subscription(channel: Channel), partner.Next, Now, limit: 10)).Events);
        Assert.Empty((await feed.NextAsync(Subscription(types: CallbackEventType.VoucherRedeemed), redemptionsOnly.Next, Now, limit: 10)).Events);
    }

    [Fact]
    public async Task A_voucher_expires_once_past_its_validity_unless_it_was_redeemed()
    {
        var feed = new EventFeed(Ledger);
        var cursor = await feed.HeadAsync();
        var spent = await Issued("u1", "r1");
        var unspent = await Issued("u2", "r2");
        await Redeem(spent, "m1", "o1", 30_000, 5_000);
        var subscription = Subscription(types: CallbackEventType.VoucherExpired);

        var before = await feed.NextAsync(subscription, cursor, unspent.ValidUntil.AddTicks(-1), limit: 10);
        var after = await feed.NextAsync(subscription, before.Next, unspent.ValidUntil, limit: 10);

        Assert.Empty(before.Events);
        var expired = Assert.Single(after.Events);
        Assert.Equal((CallbackEventIds.Expired(unspent.Key), unspent.ValidUntil), (expired.Id, expired.CreatedAt));
        Assert.Empty((await feed.NextAsync(subscription, after.Next, unspent.ValidUntil.AddDays(1), limit: 10)).Events);
    }

    [Fact]
    public async Task A_voucher_issued_before_the_subscription_is_told_when_it_expires_after_but_not_one_expired_before()
    {
        await Grant(shard: 0, amount: 10);
        var expiredBefore = Voucher("u1", "r1") with { ValidUntil = Now.AddDays(1) };
        var expiresAfter = Voucher("u2", "r2") with { ValidUntil = Now.AddDays(3) };
        await Commit(0, expiredBefore, expiresAfter);
        var feed = new EventFeed(Ledger);
        var subscription = Subscription(types: CallbackEventType.VoucherExpired) with { CreatedAt = Now.AddDays(2) };
        var cursor = await feed.HeadAsync();

        var batch = await feed.NextAsync(subscription, cursor, Now.AddDays(4), limit: 10);

        Assert.Equal([CallbackEventIds.Expired(expiresAfter.Key)], batch.Events.Select(e => e.Id));
        Assert.Empty((await feed.NextAsync(subscription, batch.Next, Now.AddDays(5), limit: 10)).Events);
    }

    [Fact]
    public async Task Export_after_a_sequence_streams_only_the_later_events_of_the_campaign()
    {
        var first = await Redeem(await Issued("u1", "r1"), "m1", "o1", 30_000, 5_000);
        await Redeem(await Issued("u2", "r2"), "m1", "o2", 30_000, 5_000);
        await Refund(first, "rf1");
        var all = await ExportAsync(0);

        var resumed = await ExportAsync(all[0].Sequence);

        Assert.Equal(all.Skip(1).Select(e => (e.Sequence, e.Type, e.OrderId)), resumed.Select(e => (e.Sequence, e.Type, e.OrderId)));
        Assert.Empty(await ExportAsync(all[^1].Sequence));
        Assert.Empty(await ExportAsync(long.MaxValue));
        Assert.Equal(all.Select(e => e.Sequence), (await ExportAsync(-1)).Select(e => e.Sequence));
    }

    private async Task<List<RedemptionEventRecord>> ExportAsync(long afterSequence)
    {
        var exported = new List<RedemptionEventRecord>();
        await foreach (var e in Ledger.ExportRedemptionEventsAsync(Campaign, afterSequence))
        {
            exported.Add(e);
        }

        return exported;
    }

    // ---- directory and secrets ----

    [Fact]
    public async Task Campaigns_list_newest_first_in_pages()
    {
        await Ledger.RegisterCampaignAsync("spring", Now.AddDays(-30));
        await Ledger.RegisterCampaignAsync("b-autumn", Now);
        await Ledger.RegisterCampaignAsync("a-autumn", Now);
        await Ledger.RegisterCampaignAsync("winter", Now.AddDays(30));
        await Ledger.RegisterCampaignAsync("spring", Now.AddDays(99)); // a repeat changes nothing

        var first = await Ledger.ListCampaignIdsAsync(null, 2);
        var second = await Ledger.ListCampaignIdsAsync(first[^1], 2);
        var third = await Ledger.ListCampaignIdsAsync(second[^1], 2);

        // The test's own campaign, festival-2026, was registered at Now too.
        Assert.Equal(["winter", "festival-2026"], first);
        Assert.Equal(["b-autumn", "a-autumn"], second);
        Assert.Equal(["spring"], third);
        Assert.Empty(await Ledger.ListCampaignIdsAsync("never-registered", 2));
    }

    [Fact]
    public async Task First_stored_secret_wins()
    {
        var first = await Ledger.GetOrCreateSecretAsync("voucher-code-key", [1, 2, 3]);
        var second = await Another().GetOrCreateSecretAsync("voucher-code-key", [9, 9, 9]);

        Assert.Equal([1, 2, 3], first);
        Assert.Equal([1, 2, 3], second);
    }
}
