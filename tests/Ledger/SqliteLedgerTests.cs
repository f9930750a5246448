using Campaigns.Grains.Campaigns;
using Campaigns.Grains.Ledger;
using Campaigns.Storage.Sqlite;
using Microsoft.Data.Sqlite;

namespace Campaigns.Tests.Ledger;

public sealed class SqliteLedgerTests : IAsyncLifetime
{
    private const string Campaign = "festival-2026";
    private const string Channel = "partner-a";

    // Whole milliseconds: the ledger stores Unix milliseconds, so round trips compare equal.
    private static readonly DateTimeOffset Now = new(2026, 11, 11, 2, 0, 0, TimeSpan.Zero);

    private static readonly VoucherTerms FiftyOffTwoHundred = new(DiscountKind.AmountOff, 5_000, 20_000, 0, 0, 0);

    private readonly TemporaryDatabase _database = new();
    private readonly SqliteLedger _ledger;
    private readonly long[] _seqs = new long[VoucherKey.MaxShard + 1];
    private readonly Dictionary<int, long> _epochs = [];
    private int _number;
    private long _campaignEpoch;

    // Set: WAL flushes go through. Reset: they wait, as a slow disk would make them.
    private readonly ManualResetEventSlim _flushesFlow = new(initialState: true);
    private readonly ManualResetEventSlim _flushWaiting = new();
    private volatile bool _flushesFail;

    public SqliteLedgerTests() => _ledger = new SqliteLedger(_database.ConnectionString, wal =>
    {
        if (!_flushesFlow.IsSet)
        {
            _flushWaiting.Set();
            _flushesFlow.Wait();
        }

        if (_flushesFail)
        {
            throw new IOException("disk gone");
        }

        wal.Flush(flushToDisk: true);
    });

    public async Task InitializeAsync()
    {
        await _ledger.EnsureSchemaAsync();
        _number = await _ledger.RegisterCampaignAsync(Campaign, Now);
        _campaignEpoch = await _ledger.ActivateCampaignAsync(Campaign);
    }

    public Task DisposeAsync()
    {
        _flushesFlow.Set();
        _ledger.Dispose();
        _database.Dispose();
        return Task.CompletedTask;
    }

    // ---- schema ----

    [Fact]
    public async Task Schema_creation_is_idempotent()
    {
        await Grant(shard: 0, amount: 5);
        await Commit(0, Voucher("u1", "r1"));

        await _ledger.EnsureSchemaAsync();
        await new SqliteLedger(_database.ConnectionString).EnsureSchemaAsync();

        Assert.Equal((long)SqliteLedgerSchema.Migrations.Count, _database.Scalar("SELECT COUNT(*) FROM schema_version"));
        Assert.Equal(1L, _database.Scalar("SELECT COUNT(*) FROM vouchers"));
        Assert.Equal("wal", _database.Scalar("PRAGMA journal_mode"));
    }

    // ---- issuance ----

    [Fact]
    public async Task Batch_appends_its_vouchers_in_key_order_and_spends_the_lease()
    {
        await Grant(shard: 2, amount: 10);
        var first = Voucher("u1", "r1", shard: 2);
        var second = Voucher("u2", "r2", shard: 2) with { District = "pudong" };

        await Commit(2, first, second);

        Assert.Equal([first, second], await _ledger.LoadShardVouchersAsync(_number, 2));
        Assert.Equal(
            [new ShardIssue(first.Seq, "u1", Channel, "r1", "", first.IssuedDay), new ShardIssue(second.Seq, "u2", Channel, "r2", "pudong", second.IssuedDay)],
            await _ledger.LoadShardIssuesAsync(_number, 2));
        Assert.Empty(await _ledger.LoadShardVouchersAsync(_number, 1));
        Assert.Equal([new StockLeaseRecord(2, "", 10, 2)], await _ledger.LoadLeasesAsync(Campaign));
        Assert.Equal(second, await _ledger.GetVoucherAsync(second.Key));
        Assert.Equal(5_000L, _database.Scalar("SELECT liability_cents FROM vouchers WHERE request_id = 'r1'"));
        Assert.Equal(second.Key.Packed, _database.Scalar("SELECT row_key FROM vouchers WHERE request_id = 'r2'"));
    }

    [Fact]
    public async Task The_vouchers_table_has_no_index_but_its_key()
    {
        // Every other index would put a write at a random place into each claim.
        Assert.Equal(0L, _database.Scalar("SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'vouchers'"));
    }

    [Fact]
    public async Task Batch_past_its_lease_writes_nothing()
    {
        await Grant(shard: 0, amount: 2);

        await Assert.ThrowsAsync<LedgerConflictException>(() =>
            Commit(0, Voucher("u1", "r1"), Voucher("u2", "r2"), Voucher("u3", "r3")));

        Assert.Equal(0L, _database.Scalar("SELECT COUNT(*) FROM vouchers"));
        Assert.Equal(new StockLeaseRecord(0, "", 2, 0), Assert.Single(await _ledger.LoadLeasesAsync(Campaign)));
    }

    [Fact]
    public async Task Batch_charges_each_pool_its_own_lease()
    {
        await Grant(shard: 0, amount: 5);
        await Grant(shard: 0, amount: 1, pool: Channel);

        await Commit(0, Voucher("u1", "r1") with { Pool = Channel }, Voucher("u2", "r2"));
        await Assert.ThrowsAsync<LedgerConflictException>(() => Commit(0, Voucher("u3", "r3") with { Pool = Channel }));
        await Assert.ThrowsAsync<LedgerConflictException>(() => Commit(0, Voucher("u4", "r4") with { Pool = "partner-without-lease" }));

        Assert.Equal(
            [new StockLeaseRecord(0, "", 5, 1), new StockLeaseRecord(0, Channel, 1, 1)],
            await _ledger.LoadLeasesAsync(Campaign));
    }

    [Fact]
    public async Task A_voucher_of_another_shard_is_refused_before_anything_is_written()
    {
        await Grant(shard: 0, amount: 5);

        await Assert.ThrowsAsync<ArgumentException>(() => Commit(0, Voucher("u1", "r1"), Voucher("u2", "r2", shard: 1)));

        Assert.Equal(0L, _database.Scalar("SELECT COUNT(*) FROM vouchers"));
    }

    [Fact]
    public async Task Hostile_text_is_stored_as_data()
    {
        await Grant(shard: 0, amount: 5);
        var voucher = Voucher("u1'); DROP TABLE vouchers; --", "r1\" OR 1=1") with { District = "浦东新区" };

        await Commit(0, voucher);

        Assert.Equal(voucher, await _ledger.GetVoucherAsync(voucher.Key));
        Assert.Equal([voucher], await _ledger.GetVouchersAsync([voucher.Key]));
    }

    [Fact]
    public async Task Vouchers_are_read_by_key_in_the_order_asked_and_unknown_keys_are_left_out()
    {
        await Grant(shard: 0, amount: 5);
        var (a, b) = (Voucher("u1", "r1"), Voucher("u2", "r2"));
        await Commit(0, a, b);

        Assert.Equal([b, a], await _ledger.GetVouchersAsync([b.Key, new VoucherKey(_number, 0, 999), a.Key]));
        Assert.Null(await _ledger.GetVoucherAsync(new VoucherKey(_number, 3, 1)));
    }

    // ---- fencing ----

    [Fact]
    public async Task A_shard_s_next_activation_fences_off_the_one_before_it()
    {
        await Grant(shard: 0, amount: 10);
        var stale = await _ledger.ActivateShardAsync(Campaign, 0);
        await _ledger.CommitIssueBatchAsync(Batch(0, stale.Epoch, Voucher("u1", "r1")));

        var live = await _ledger.ActivateShardAsync(Campaign, 0);

        Assert.Equal(stale.Epoch + 1, live.Epoch);
        Assert.Equal(_number, live.CampaignNumber);
        await Assert.ThrowsAsync<LedgerFencedException>(() => _ledger.CommitIssueBatchAsync(Batch(0, stale.Epoch, Voucher("u2", "r2"))));
        await Assert.ThrowsAsync<LedgerFencedException>(() => _ledger.ReturnLeaseAsync(Campaign, 0, stale.Epoch, "", units: 5, keep: 0));
        await _ledger.CommitIssueBatchAsync(Batch(0, live.Epoch, Voucher("u3", "r3")));
        Assert.Equal(["r1", "r3"], (await _ledger.LoadShardVouchersAsync(_number, 0)).Select(v => v.RequestId));
        Assert.Equal(new StockLeaseRecord(0, "", 10, 2), Assert.Single(await _ledger.LoadLeasesAsync(Campaign)));
    }

    [Fact]
    public async Task Two_activations_of_one_shard_racing_leave_only_what_the_live_one_can_see()
    {
        // Orleans can briefly run two activations of a grain while a silo fails. The old one keeps
        // committing while the new one activates: each of its commits lands before the new epoch
        // (and is in the new one's read) or is refused.
        await Grant(shard: 0, amount: 10_000);
        var old = await _ledger.ActivateShardAsync(Campaign, 0);
        var landed = new System.Collections.Concurrent.ConcurrentBag<string>();
        var refused = 0;
        var committing = Task.Run(async () =>
        {
            for (var i = 0; i < 300; i++)
            {
                var voucher = Voucher($"u{i}", $"r{i}");
                try
                {
                    await _ledger.CommitIssueBatchAsync(Batch(0, old.Epoch, voucher));
                    landed.Add(voucher.RequestId);
                }
                catch (LedgerFencedException)
                {
                    Interlocked.Increment(ref refused);
                }
            }
        });

        await Task.Delay(20);
        var live = await _ledger.ActivateShardAsync(Campaign, 0);
        var seen = (await _ledger.LoadShardVouchersAsync(_number, 0)).Select(v => v.RequestId).ToHashSet();
        await committing;

        Assert.Equal(seen.Order(), landed.Order());
        Assert.Equal(300, landed.Count + refused);
        Assert.Equal(landed.Count, Assert.Single(await _ledger.LoadLeasesAsync(Campaign)).Issued);
        Assert.True(live.Epoch > old.Epoch);
    }

    [Fact]
    public async Task Two_ledgers_on_one_file_respect_one_another_s_fences()
    {
        // Two silos' ledgers on one file (separate write gates): SQLite's lock orders them, the epoch decides.
        using var other = new SqliteLedger(_database.ConnectionString);
        await Grant(shard: 0, amount: 100);
        var first = await _ledger.ActivateShardAsync(Campaign, 0);
        var second = await other.ActivateShardAsync(Campaign, 0);

        await Assert.ThrowsAsync<LedgerFencedException>(() => _ledger.CommitIssueBatchAsync(Batch(0, first.Epoch, Voucher("u1", "r1"))));
        await other.CommitIssueBatchAsync(Batch(0, second.Epoch, Voucher("u2", "r2")));

        Assert.Equal(["r2"], (await _ledger.LoadShardVouchersAsync(_number, 0)).Select(v => v.RequestId));
    }

    [Fact]
    public async Task A_campaign_s_next_activation_fences_off_the_grants_of_the_one_before_it()
    {
        var stale = _campaignEpoch;
        var live = await _ledger.ActivateCampaignAsync(Campaign);

        await Assert.ThrowsAsync<LedgerFencedException>(() => _ledger.GrantLeaseAsync(Campaign, stale, 0, "", 5, poolCapacity: 100));
        Assert.True(await _ledger.GrantLeaseAsync(Campaign, live, 0, "", 5, poolCapacity: 100));

        Assert.Equal(new StockLeaseRecord(0, "", 5, 0), Assert.Single(await _ledger.LoadLeasesAsync(Campaign)));
    }

    // ---- leases ----

    [Fact]
    public async Task Lease_grant_past_pool_capacity_is_refused()
    {
        Assert.True(await _ledger.GrantLeaseAsync(Campaign, _campaignEpoch, 0, "", 60, poolCapacity: 100));
        Assert.True(await _ledger.GrantLeaseAsync(Campaign, _campaignEpoch, 1, "", 40, poolCapacity: 100));

        Assert.False(await _ledger.GrantLeaseAsync(Campaign, _campaignEpoch, 0, "", 1, poolCapacity: 100));
        Assert.False(await _ledger.GrantLeaseAsync(Campaign, _campaignEpoch, 2, "", 1, poolCapacity: 100));
        Assert.True(await _ledger.GrantLeaseAsync(Campaign, _campaignEpoch, 2, Channel, 1, poolCapacity: 1));

        Assert.Equal(
            [new StockLeaseRecord(0, "", 60, 0), new StockLeaseRecord(1, "", 40, 0), new StockLeaseRecord(2, Channel, 1, 0)],
            await _ledger.LoadLeasesAsync(Campaign));
    }

    [Fact]
    public async Task Returning_a_lease_never_takes_back_what_is_issued_or_promised()
    {
        await Grant(shard: 0, amount: 10);
        await Commit(0, Voucher("u1", "r1"), Voucher("u2", "r2"), Voucher("u3", "r3"));
        var epoch = Epoch(0);

        // 3 issued and 2 promised to claims not yet written: 5 can come back, asked for 4 or 9.
        Assert.Equal(4, await _ledger.ReturnLeaseAsync(Campaign, 0, epoch, "", units: 4, keep: 2));
        Assert.Equal(new StockLeaseRecord(0, "", 6, 3), Assert.Single(await _ledger.LoadLeasesAsync(Campaign)));
        Assert.Equal(1, await _ledger.ReturnLeaseAsync(Campaign, 0, epoch, "", units: 9, keep: 2));
        Assert.Equal(new StockLeaseRecord(0, "", 5, 3), Assert.Single(await _ledger.LoadLeasesAsync(Campaign)));

        // Nothing more to give, asked to keep more than is left, or no lease at all: nothing moves.
        Assert.Equal(0, await _ledger.ReturnLeaseAsync(Campaign, 0, epoch, "", units: 5, keep: 2));
        Assert.Equal(0, await _ledger.ReturnLeaseAsync(Campaign, 0, epoch, "", units: 5, keep: 7));
        Assert.Equal(0, await _ledger.ReturnLeaseAsync(Campaign, 5, Epoch(5), "", units: 5, keep: 0));
        Assert.Equal(new StockLeaseRecord(0, "", 5, 3), Assert.Single(await _ledger.LoadLeasesAsync(Campaign)));

        // What comes back is the pool's again: it can be granted to another shard.
        Assert.Equal(2, await _ledger.ReturnLeaseAsync(Campaign, 0, epoch, "", units: 5, keep: 0));
        Assert.Equal(new StockLeaseRecord(0, "", 3, 3), Assert.Single(await _ledger.LoadLeasesAsync(Campaign)));
        Assert.True(await _ledger.GrantLeaseAsync(Campaign, _campaignEpoch, 1, "", 997, poolCapacity: 1_000));
        Assert.False(await _ledger.GrantLeaseAsync(Campaign, _campaignEpoch, 1, "", 1, poolCapacity: 1_000));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => _ledger.ReturnLeaseAsync(Campaign, 0, epoch, "", units: 1, keep: -1));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => _ledger.ReturnLeaseAsync(Campaign, 0, epoch, "", units: -1, keep: 0));
    }

    [Fact]
    public async Task Racing_lease_grants_never_pass_the_pool()
    {
        var grants = await Task.WhenAll(Enumerable.Range(0, 32).Select(shard =>
            Task.Run(() => _ledger.GrantLeaseAsync(Campaign, _campaignEpoch, shard % 8, "", 10, poolCapacity: 100))));

        Assert.Equal(10, grants.Count(g => g));
        Assert.Equal(100, (await _ledger.LoadLeasesAsync(Campaign)).Sum(l => l.Granted));
    }

    [Fact]
    public async Task Racing_grants_for_the_last_units_and_returns_keep_the_pool_exact()
    {
        await Grant(shard: 0, amount: 50);
        var epoch = Epoch(0);
        var returns = Task.WhenAll(Enumerable.Range(0, 10).Select(_ => Task.Run(() => _ledger.ReturnLeaseAsync(Campaign, 0, epoch, "", 5, keep: 0))));
        var grants = Task.WhenAll(Enumerable.Range(0, 40).Select(i => Task.Run(() => _ledger.GrantLeaseAsync(Campaign, _campaignEpoch, 1 + (i % 4), "", 5, poolCapacity: 100))));

        var returned = (await returns).Sum();
        var granted = (await grants).Count(g => g) * 5;

        Assert.Equal(50, returned);
        var leases = await _ledger.LoadLeasesAsync(Campaign);
        Assert.Equal(50 - returned + granted, leases.Sum(l => l.Granted));
        Assert.True(leases.Sum(l => l.Granted) <= 100);

        // Every unit given back can be granted again, and not one more.
        while (await _ledger.GrantLeaseAsync(Campaign, _campaignEpoch, 7, "", 1, poolCapacity: 100))
        {
        }

        Assert.Equal(100, (await _ledger.LoadLeasesAsync(Campaign)).Sum(l => l.Granted));
    }

    // ---- concurrency ----

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

        Assert.Equal((long)Shards * Batches * PerBatch, _database.Scalar("SELECT COUNT(*) FROM vouchers"));
        Assert.All(await _ledger.LoadLeasesAsync(Campaign), lease => Assert.Equal(Batches * PerBatch, lease.Issued));
        Assert.Equal(Shards * Batches * PerBatch, (await _ledger.GetCampaignTotalsAsync(Campaign, Now)).Issued);
        for (var shard = 0; shard < Shards; shard++)
        {
            Assert.Equal(vouchers[shard].SelectMany(b => b), await _ledger.LoadShardVouchersAsync(_number, shard));
        }
    }

    [Fact]
    public async Task The_writer_copies_committed_pages_into_the_database_file_between_groups()
    {
        // SQLite's own checkpoints are off on the writer's connection; without the writer's,
        // every commit would stay in the WAL and the database file would never grow.
        await Grant(shard: 0, amount: 1_000);
        var file = new FileInfo(new SqliteConnectionStringBuilder(_database.ConnectionString).DataSource);
        var before = file.Length;

        await Commit(0, [.. Enumerable.Range(0, 500).Select(i => Voucher($"u{i}", $"r{i}"))]);
        await Task.Delay(TimeSpan.FromMilliseconds(150));
        await Commit(0, Voucher("u-last", "r-last"));

        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (file.Length <= before && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
            file.Refresh();
        }

        Assert.True(file.Length > before, $"the database file stayed at {before} bytes");
    }

    // ---- redemption ----

    [Fact]
    public async Task Transition_records_the_redemption_and_its_event()
    {
        var voucher = await Issued("u1", "r1");

        var redeemed = await Redeem(voucher, "m1", "o1", 30_000, 5_000);

        Assert.Equal(redeemed, await _ledger.GetVoucherAsync(voucher.Key));
        var recorded = Assert.Single((await _ledger.GetVoucherWithEventsAsync(voucher.Key)).Events);
        Assert.True(recorded.Sequence > 0);
        Assert.Equal((RedemptionEventType.Redeemed, "o1", 5_000L, "xuhui"), (recorded.Type, recorded.OrderId, recorded.DiscountCents, recorded.MerchantDistrict));
    }

    [Fact]
    public async Task A_redemption_committed_but_not_yet_on_disk_is_neither_answered_nor_shown_to_readers()
    {
        var (voucher, bystander, step, redemption) = await RedemptionAwaitingItsFlush();
        var read = _ledger.GetVoucherWithEventsAsync(voucher.Key);
        var totals = _ledger.GetCampaignTotalsAsync(Campaign, Now);
        await Task.Delay(50);

        Assert.False(redemption.IsCompleted);
        Assert.False(read.IsCompleted);
        Assert.False(totals.IsCompleted);
        Assert.Equal(bystander, await _ledger.GetVoucherAsync(bystander.Key).WaitAsync(TimeSpan.FromSeconds(10))); // untouched: no wait

        _flushesFlow.Set();
        Assert.True(await redemption.WaitAsync(TimeSpan.FromSeconds(10)));
        await read.WaitAsync(TimeSpan.FromSeconds(10));
        await totals.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(step.Next, await _ledger.GetVoucherAsync(voucher.Key));
    }

    [Fact]
    public async Task A_ledger_whose_WAL_flush_failed_reports_its_fault_and_takes_no_more_writes()
    {
        await Grant(shard: 0, amount: 10);
        using var failing = new SqliteLedger(_database.ConnectionString, _ => throw new IOException("disk gone"));
        Assert.Null(failing.Fault);

        await Assert.ThrowsAsync<LedgerUnavailableException>(() => failing.ActivateShardAsync(Campaign, 0));

        Assert.Contains("disk gone", failing.Fault);
        await Assert.ThrowsAsync<LedgerUnavailableException>(() => failing.CommitIssueBatchAsync(Batch(0, Epoch(0), Voucher("u1", "r1"))));
        await Assert.ThrowsAsync<LedgerUnavailableException>(() => failing.GrantLeaseAsync(Campaign, _campaignEpoch, 1, "", 5, 1_000_000));
        Assert.Null(_ledger.Fault);
        Assert.Equal(10, Assert.Single(await _ledger.LoadLeasesAsync(Campaign)).Granted);
    }

    [Fact]
    public async Task Once_a_WAL_flush_failed_no_read_shows_what_the_disk_may_not_have()
    {
        var (voucher, bystander, _, redemption) = await RedemptionAwaitingItsFlush();
        var read = _ledger.GetVoucherWithEventsAsync(voucher.Key);
        var totals = _ledger.GetCampaignTotalsAsync(Campaign, Now);

        _flushesFail = true;
        _flushesFlow.Set();

        await Assert.ThrowsAsync<LedgerUnavailableException>(() => redemption.WaitAsync(TimeSpan.FromSeconds(10)));
        await Assert.ThrowsAsync<LedgerUnavailableException>(() => read.WaitAsync(TimeSpan.FromSeconds(10)));
        await Assert.ThrowsAsync<LedgerUnavailableException>(() => totals.WaitAsync(TimeSpan.FromSeconds(10)));
        // Later reads too, even of a voucher the failed commit did not touch: the ledger has stopped.
        var later = await Assert.ThrowsAsync<LedgerUnavailableException>(() => _ledger.GetVoucherAsync(bystander.Key));
        Assert.Contains("restarts", later.Message);
        await Assert.ThrowsAsync<LedgerUnavailableException>(() => _ledger.GetVouchersAsync([bystander.Key]));
        await Assert.ThrowsAsync<LedgerUnavailableException>(async () =>
        {
            await foreach (var _ in _ledger.ExportRedemptionEventsAsync(Campaign))
            {
            }
        });
    }

    [Fact]
    public async Task Transition_with_a_stale_version_writes_nothing()
    {
        var voucher = await Issued("u1", "r1");
        await Redeem(voucher, "m1", "o1", 30_000, 5_000);

        // A duplicate activation still holding version 1 tries to spend it on another order.
        var stale = RedeemStep(voucher, "m2", "o2", 40_000, 5_000);
        Assert.False(await _ledger.TryTransitionAsync(stale.Next, voucher.Version, stale.Event));

        Assert.Equal("o1", (await _ledger.GetVoucherAsync(voucher.Key))!.OrderId);
        Assert.Single((await _ledger.GetVoucherWithEventsAsync(voucher.Key)).Events);
    }

    [Fact]
    public async Task Second_redemption_of_one_order_is_refused_by_the_unique_key()
    {
        var voucher = await Issued("u1", "r1");
        var redeemed = await Redeem(voucher, "m1", "o1", 30_000, 5_000);
        var refunded = await Refund(redeemed, "rf1");

        // The version matches, so only the (code, order id) key stands in the way.
        var again = RedeemStep(refunded, "m1", "o1", 30_000, 5_000);
        Assert.False(await _ledger.TryTransitionAsync(again.Next, refunded.Version, again.Event));

        Assert.Equal(refunded, await _ledger.GetVoucherAsync(voucher.Key));
        Assert.Equal(2, (await _ledger.GetVoucherWithEventsAsync(voucher.Key)).Events.Count);
    }

    [Fact]
    public async Task Second_refund_with_one_refund_id_is_refused_by_the_unique_key()
    {
        var voucher = await Issued("u1", "r1");
        var refunded = await Refund(await Redeem(voucher, "m1", "o1", 30_000, 5_000), "rf1");
        var redeemedAgain = await Redeem(refunded, "m1", "o2", 30_000, 5_000);

        var again = RefundStep(redeemedAgain, "rf1");
        Assert.False(await _ledger.TryTransitionAsync(again.Next, redeemedAgain.Version, again.Event));

        Assert.Equal(redeemedAgain, await _ledger.GetVoucherAsync(voucher.Key));
    }

    [Fact]
    public async Task Transition_must_write_the_next_version()
    {
        var voucher = await Issued("u1", "r1");
        var step = RedeemStep(voucher, "m1", "o1", 30_000, 5_000);

        await Assert.ThrowsAsync<ArgumentException>(() => _ledger.TryTransitionAsync(step.Next with { Version = 7 }, voucher.Version, step.Event));

        Assert.Equal(voucher, await _ledger.GetVoucherAsync(voucher.Key));
    }

    // ---- reporting ----

    [Fact]
    public async Task Settlement_sums_redemptions_and_refunds()
    {
        var first = await Redeem(await Issued("u1", "r1"), "m1", "o1", 30_000, 5_000);
        await Redeem(await Issued("u2", "r2"), "m1", "o2", 25_000, 5_000);
        await Redeem(await Issued("u3", "r3"), "m2", "o3", 99_000, 5_000);
        await Refund(first, "rf1");

        var settlement = await _ledger.GetSettlementAsync("m1", null);

        Assert.Equal(new SettlementTotals(2, 1, 10_000, 55_000, 5_000, 30_000), settlement);
        Assert.Equal(5_000, settlement.NetSubsidyCents);
        Assert.Equal(settlement, await _ledger.GetSettlementAsync("m1", Campaign));
        Assert.Equal(new SettlementTotals(0, 0, 0, 0, 0, 0), await _ledger.GetSettlementAsync("m1", "another-campaign"));
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

        var now = await _ledger.GetCampaignTotalsAsync(Campaign, Now);
        var later = await _ledger.GetCampaignTotalsAsync(Campaign, afterExpiry);

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

        var totals = await _ledger.GetCampaignTotalsAsync(Campaign, Now);

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
        var totals = await _ledger.GetCampaignTotalsAsync("nobody", Now);

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
        await foreach (var e in _ledger.ExportRedemptionEventsAsync(Campaign))
        {
            exported.Add(e);
        }

        Assert.Equal(
            [(RedemptionEventType.Redeemed, "o1"), (RedemptionEventType.Redeemed, "o2"), (RedemptionEventType.Refunded, "o1")],
            exported.Select(e => (e.Type, e.OrderId)));
        Assert.Equal(exported.Select(e => e.Sequence).Order(), exported.Select(e => e.Sequence));
        Assert.Equal("rf1", exported[2].RefundId);
    }

    // ---- directory and secrets ----

    [Fact]
    public async Task Campaigns_list_newest_first_in_pages()
    {
        await _ledger.RegisterCampaignAsync("spring", Now.AddDays(-30));
        await _ledger.RegisterCampaignAsync("b-autumn", Now);
        await _ledger.RegisterCampaignAsync("a-autumn", Now);
        await _ledger.RegisterCampaignAsync("winter", Now.AddDays(30));
        await _ledger.RegisterCampaignAsync("spring", Now.AddDays(99)); // a repeat changes nothing

        var first = await _ledger.ListCampaignIdsAsync(null, 2);
        var second = await _ledger.ListCampaignIdsAsync(first[^1], 2);
        var third = await _ledger.ListCampaignIdsAsync(second[^1], 2);

        // The test's own campaign, festival-2026, was registered at Now too.
        Assert.Equal(["winter", "festival-2026"], first);
        Assert.Equal(["b-autumn", "a-autumn"], second);
        Assert.Equal(["spring"], third);
        Assert.Empty(await _ledger.ListCampaignIdsAsync("never-registered", 2));
    }

    [Fact]
    public async Task First_stored_secret_wins()
    {
        var first = await _ledger.GetOrCreateSecretAsync("voucher-code-key", [1, 2, 3]);
        var second = await new SqliteLedger(_database.ConnectionString).GetOrCreateSecretAsync("voucher-code-key", [9, 9, 9]);

        Assert.Equal([1, 2, 3], first);
        Assert.Equal([1, 2, 3], second);
    }

    // ---- scenario helpers ----

    private long Epoch(int shard)
    {
        lock (_epochs)
        {
            if (!_epochs.TryGetValue(shard, out var epoch))
            {
                _epochs[shard] = epoch = _ledger.ActivateShardAsync(Campaign, shard).GetAwaiter().GetResult().Epoch;
            }

            return epoch;
        }
    }

    private Task<bool> Grant(int shard, long amount, string pool = "") =>
        _ledger.GrantLeaseAsync(Campaign, _campaignEpoch, shard, pool, amount, poolCapacity: 1_000_000);

    private IssueBatch Batch(int shard, long epoch, params VoucherRecord[] vouchers) => new(Campaign, _number, shard, epoch, vouchers);

    private Task Commit(int shard, params VoucherRecord[] vouchers) => _ledger.CommitIssueBatchAsync(Batch(shard, Epoch(shard), vouchers));

    private async Task<VoucherRecord> Issued(string user, string requestId, string district = "", string channel = Channel)
    {
        if ((await _ledger.LoadLeasesAsync(Campaign)).Count == 0)
        {
            await Grant(shard: 0, amount: 100);
        }

        var voucher = Voucher(user, requestId) with { District = district, Channel = channel };
        await Commit(0, voucher);
        return voucher;
    }

    private VoucherRecord Voucher(string user, string requestId, int shard = 0)
    {
        var seq = Interlocked.Increment(ref _seqs[shard]);
        return new()
        {
            Code = $"V{shard}-{seq:D6}",
            CampaignId = Campaign,
            CampaignNumber = _number,
            Shard = shard,
            Seq = seq,
            UserId = user,
            Channel = Channel,
            RequestId = requestId,
            District = "",
            Status = StoredVoucherStatus.Issued,
            Version = 1,
            Terms = FiftyOffTwoHundred,
            ValidFrom = Now,
            ValidUntil = Now.AddDays(7),
            IssuedAt = Now,
            Pool = "",
            IssuedDay = new DateOnly(2026, 11, 11),
        };
    }

    private async Task<VoucherRecord> Reserve(VoucherRecord v, DateTimeOffset until)
    {
        var next = v with { Status = StoredVoucherStatus.Reserved, Version = v.Version + 1, MerchantId = "m1", OrderId = "hold-" + v.Code, OrderAmountCents = 30_000, DiscountCents = 5_000, ReservedUntil = until };
        Assert.True(await _ledger.TryTransitionAsync(next, v.Version, Event(next, RedemptionEventType.Reserved, "xuhui")));
        return next;
    }

    private async Task<VoucherRecord> Redeem(VoucherRecord v, string merchant, string order, long amount, long discount, string merchantDistrict = "xuhui")
    {
        var step = RedeemStep(v, merchant, order, amount, discount, merchantDistrict);
        Assert.True(await _ledger.TryTransitionAsync(step.Next, v.Version, step.Event));
        return step.Next;
    }

    private async Task<VoucherRecord> Refund(VoucherRecord redeemed, string refundId)
    {
        var step = RefundStep(redeemed, refundId);
        Assert.True(await _ledger.TryTransitionAsync(step.Next, redeemed.Version, step.Event));
        return step.Next;
    }

    /// <summary>
    /// Two vouchers issued, and the first one's redemption committed (readers can see it) while
    /// its WAL flush is held: <see cref="_flushesFlow"/> lets it go.
    /// </summary>
    private async Task<(VoucherRecord Voucher, VoucherRecord Bystander, (VoucherRecord Next, RedemptionEventRecord Event) Step, Task<bool> Redemption)> RedemptionAwaitingItsFlush()
    {
        var voucher = await Issued("u1", "r1");
        var bystander = await Issued("u2", "r2");
        _flushesFlow.Reset();

        var step = RedeemStep(voucher, "m1", "o1", 30_000, 5_000);
        var redemption = _ledger.TryTransitionAsync(step.Next, voucher.Version, step.Event);
        Assert.True(_flushWaiting.Wait(TimeSpan.FromSeconds(10)));
        Assert.Equal("REDEEMED", _database.Scalar($"SELECT status FROM vouchers WHERE code = '{voucher.Code}'")); // committed
        return (voucher, bystander, step, redemption);
    }

    private static (VoucherRecord Next, RedemptionEventRecord Event) RedeemStep(
        VoucherRecord v, string merchant, string order, long amount, long discount, string merchantDistrict = "xuhui")
    {
        var next = v with
        {
            Status = StoredVoucherStatus.Redeemed, Version = v.Version + 1, MerchantId = merchant, OrderId = order,
            OrderAmountCents = amount, DiscountCents = discount, ReservedUntil = null, RedeemedAt = Now,
        };
        return (next, Event(next, RedemptionEventType.Redeemed, merchantDistrict));
    }

    private static (VoucherRecord Next, RedemptionEventRecord Event) RefundStep(VoucherRecord redeemed, string refundId)
    {
        var next = redeemed with
        {
            Status = StoredVoucherStatus.Issued, Version = redeemed.Version + 1, MerchantId = null, OrderId = null,
            OrderAmountCents = 0, DiscountCents = 0, RedeemedAt = null,
        };
        var refund = Event(redeemed, RedemptionEventType.Refunded, "xuhui") with { RefundId = refundId, DiscountCents = -redeemed.DiscountCents };
        return (next, refund);
    }

    private static RedemptionEventRecord Event(VoucherRecord v, RedemptionEventType type, string merchantDistrict) => new()
    {
        Type = type,
        Code = v.Code,
        CampaignId = v.CampaignId,
        MerchantId = v.MerchantId!,
        OrderId = v.OrderId!,
        OrderAmountCents = v.OrderAmountCents,
        DiscountCents = v.DiscountCents,
        OccurredAt = Now,
        MerchantDistrict = merchantDistrict,
    };
}

/// <summary>A SQLite file of its own for one test, deleted with its WAL files afterwards.</summary>
public sealed class TemporaryDatabase : IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"campaigns-test-{Guid.NewGuid():N}.db");

    public string ConnectionString => new SqliteConnectionStringBuilder { DataSource = _path }.ToString();

    /// <summary>The first column of the first row, for asserting on what the database holds.</summary>
    public object? Scalar(string sql)
    {
        using var connection = new SqliteConnection(ConnectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    public void Dispose()
    {
        using (var connection = new SqliteConnection(ConnectionString))
        {
            SqliteConnection.ClearPool(connection);
        }

        foreach (var file in new[] { _path, _path + "-wal", _path + "-shm" })
        {
            File.Delete(file);
        }
    }
}
