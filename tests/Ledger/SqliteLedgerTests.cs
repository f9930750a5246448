using Campaigns.Grains.Campaigns;
using Campaigns.Grains.Ledger;
using Campaigns.Grains.Ledger.Sqlite;
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
    private int _codes;

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

    public Task InitializeAsync() => _ledger.EnsureSchemaAsync();

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

    [Fact]
    public async Task Moving_to_schema_3_keeps_counting_the_limits_from_vouchers_issued_before_it()
    {
        using var database = new TemporaryDatabase();
        database.Scalar(SqliteLedgerSchema.VersionTable);
        foreach (var (version, sql) in SqliteLedgerSchema.Migrations.Where(m => m.Version <= 2))
        {
            database.Scalar(sql);
            database.Scalar($"INSERT INTO schema_version (version, applied_at) VALUES ({version}, 0);");
        }

        var ledger = new SqliteLedger(database.ConnectionString);
        try
        {
            // Issued by a build on schema 2 (its count tables are still there, and left behind).
            await ledger.GrantLeaseAsync(Campaign, 0, "", 10, poolCapacity: 100);
            await ledger.CommitIssueBatchAsync(new IssueBatch(Campaign, 0, [Voucher("u1", "r1")], 1, 1));

            await ledger.EnsureSchemaAsync();

            Assert.Equal(0L, database.Scalar("SELECT COUNT(*) FROM sqlite_schema WHERE name IN ('user_claims', 'user_daily_claims')"));
            Assert.Equal("user_id,campaign_id,issued_day",
                database.Scalar("SELECT group_concat(name) FROM (SELECT name FROM pragma_index_info('ix_vouchers_user') ORDER BY seqno)"));
            await Assert.ThrowsAsync<LedgerConflictException>(() =>
                ledger.CommitIssueBatchAsync(new IssueBatch(Campaign, 0, [Voucher("u1", "r2")], 1, 0)));
            await Assert.ThrowsAsync<LedgerConflictException>(() =>
                ledger.CommitIssueBatchAsync(new IssueBatch(Campaign, 0, [Voucher("u1", "r3")], 0, 1)));
            Assert.Empty((await ledger.CommitIssueBatchAsync(new IssueBatch(Campaign, 0, [Voucher("u2", "r4")], 1, 1))).ConflictingRequestIds);
        }
        finally
        {
            ledger.Dispose();
        }
    }

    // ---- issuance ----

    [Fact]
    public async Task Batch_issues_its_vouchers_counts_their_users_and_spends_the_lease()
    {
        await Grant(shard: 2, amount: 10);
        var first = Voucher("u1", "r1", shard: 2);
        var second = Voucher("u2", "r2", shard: 2) with { District = "pudong" };

        var result = await Commit(2, first, second);

        Assert.Empty(result.ConflictingRequestIds);
        Assert.Equal([first, second], (await _ledger.LoadShardVouchersAsync(Campaign, 2)).OrderBy(v => v.RequestId));
        Assert.Equal(second, await _ledger.FindByRequestAsync(Campaign, Channel, "r2"));
        Assert.Null(await _ledger.FindByRequestAsync(Campaign, "partner-b", "r2"));
        Assert.Equal([new StockLeaseRecord(2, "", 10, 2)], await _ledger.LoadLeasesAsync(Campaign));
        Assert.Equal(1L, _database.Scalar("SELECT COUNT(*) FROM vouchers WHERE user_id = 'u1'"));
        Assert.Equal(5_000L, _database.Scalar("SELECT liability_cents FROM vouchers WHERE request_id = 'r1'"));
    }

    [Fact]
    public async Task Batch_with_a_request_id_already_taken_inserts_the_others_and_reports_it()
    {
        await Grant(shard: 0, amount: 10);
        await Commit(0, Voucher("u1", "r1"));

        // r1 again (another activation's copy of the claim) beside a fresh claim.
        var result = await Commit(0, Voucher("u1", "r1"), Voucher("u2", "r2"));

        Assert.Equal(["r1"], result.ConflictingRequestIds);
        Assert.Equal(2L, _database.Scalar("SELECT COUNT(*) FROM vouchers"));
        Assert.Equal(1L, _database.Scalar("SELECT COUNT(*) FROM vouchers WHERE user_id = 'u1'"));
        Assert.Equal(2, Assert.Single(await _ledger.LoadLeasesAsync(Campaign)).Issued);
    }

    [Fact]
    public async Task Same_request_id_on_another_channel_is_another_voucher()
    {
        await Grant(shard: 0, amount: 10);

        var result = await Commit(0, Voucher("u1", "r1"), Voucher("u1", "r1") with { Channel = "partner-b" });

        Assert.Empty(result.ConflictingRequestIds);
        Assert.Equal(2L, _database.Scalar("SELECT COUNT(*) FROM vouchers"));
    }

    [Fact]
    public async Task Batch_that_would_pass_the_user_limit_writes_nothing()
    {
        await Grant(shard: 0, amount: 10);
        await CommitLimited(0, perUserLimit: 2, perUserDailyLimit: 0, Voucher("u1", "r1"));

        await Assert.ThrowsAsync<LedgerConflictException>(() =>
            CommitLimited(0, perUserLimit: 2, perUserDailyLimit: 0, Voucher("u2", "r2"), Voucher("u1", "r3"), Voucher("u1", "r4")));

        Assert.Equal(1L, _database.Scalar("SELECT COUNT(*) FROM vouchers"));
        Assert.Equal(1L, _database.Scalar("SELECT COUNT(*) FROM vouchers WHERE user_id = 'u1'"));
        Assert.Equal(0L, _database.Scalar("SELECT COUNT(*) FROM vouchers WHERE user_id = 'u2'"));
        Assert.Equal(1, Assert.Single(await _ledger.LoadLeasesAsync(Campaign)).Issued);
    }

    [Fact]
    public async Task Batch_that_would_pass_the_daily_limit_writes_nothing_but_the_next_day_counts_afresh()
    {
        await Grant(shard: 0, amount: 10);
        var today = new DateOnly(2026, 11, 11);
        await CommitLimited(0, perUserLimit: 0, perUserDailyLimit: 1, Voucher("u1", "r1") with { IssuedDay = today });

        await Assert.ThrowsAsync<LedgerConflictException>(() =>
            CommitLimited(0, perUserLimit: 0, perUserDailyLimit: 1, Voucher("u1", "r2") with { IssuedDay = today }));
        var tomorrow = await CommitLimited(0, perUserLimit: 0, perUserDailyLimit: 1, Voucher("u1", "r3") with { IssuedDay = today.AddDays(1) });

        Assert.Empty(tomorrow.ConflictingRequestIds);
        Assert.Equal(["r1", "r3"], (await _ledger.LoadShardVouchersAsync(Campaign, 0)).Select(v => v.RequestId).Order());
        Assert.Equal(20261111L, _database.Scalar("SELECT MIN(issued_day) FROM vouchers"));
        Assert.Equal(20261112L, _database.Scalar("SELECT MAX(issued_day) FROM vouchers"));
    }

    [Fact]
    public async Task A_batch_across_midnight_is_held_to_each_day_s_limit_and_the_refusal_names_the_user()
    {
        await Grant(shard: 0, amount: 10);
        var today = new DateOnly(2026, 11, 11);

        var both = await CommitLimited(0, perUserLimit: 0, perUserDailyLimit: 1,
            Voucher("u1", "r1") with { IssuedDay = today }, Voucher("u1", "r2") with { IssuedDay = today.AddDays(1) });
        var refused = await Assert.ThrowsAsync<LedgerConflictException>(() => CommitLimited(0, perUserLimit: 0, perUserDailyLimit: 1,
            Voucher("u2", "r3") with { IssuedDay = today }, Voucher("u1", "r4") with { IssuedDay = today.AddDays(1) }));

        Assert.Empty(both.ConflictingRequestIds);
        Assert.Contains("user u1", refused.Message);
        Assert.Contains("2026-11-12", refused.Message);
        Assert.Equal(["r1", "r2"], (await _ledger.LoadShardVouchersAsync(Campaign, 0)).Select(v => v.RequestId).Order());
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
    public async Task Hostile_text_is_stored_as_data()
    {
        await Grant(shard: 0, amount: 5);
        var voucher = Voucher("u1'); DROP TABLE vouchers; --", "r1\" OR 1=1") with { District = "浦东新区" };

        await Commit(0, voucher);

        Assert.Equal(voucher, await _ledger.GetVoucherAsync(voucher.Code));
        Assert.Equal([voucher], await _ledger.ListUserVouchersAsync(voucher.UserId, null, null));
    }

    // ---- leases ----

    [Fact]
    public async Task Lease_grant_past_pool_capacity_is_refused()
    {
        Assert.True(await _ledger.GrantLeaseAsync(Campaign, 0, "", 60, poolCapacity: 100));
        Assert.True(await _ledger.GrantLeaseAsync(Campaign, 1, "", 40, poolCapacity: 100));

        Assert.False(await _ledger.GrantLeaseAsync(Campaign, 0, "", 1, poolCapacity: 100));
        Assert.False(await _ledger.GrantLeaseAsync(Campaign, 2, "", 1, poolCapacity: 100));
        Assert.True(await _ledger.GrantLeaseAsync(Campaign, 2, Channel, 1, poolCapacity: 1));

        Assert.Equal(
            [new StockLeaseRecord(0, "", 60, 0), new StockLeaseRecord(1, "", 40, 0), new StockLeaseRecord(2, Channel, 1, 0)],
            await _ledger.LoadLeasesAsync(Campaign));
    }

    [Fact]
    public async Task Returning_a_lease_never_takes_back_what_is_issued_or_promised()
    {
        await Grant(shard: 0, amount: 10);
        await Commit(0, Voucher("u1", "r1"), Voucher("u2", "r2"), Voucher("u3", "r3"));

        // 3 issued and 2 promised to claims not yet written: 5 can come back, asked for 4 or 9.
        Assert.Equal(4, await _ledger.ReturnLeaseAsync(Campaign, 0, "", units: 4, keep: 2));
        Assert.Equal(new StockLeaseRecord(0, "", 6, 3), Assert.Single(await _ledger.LoadLeasesAsync(Campaign)));
        Assert.Equal(1, await _ledger.ReturnLeaseAsync(Campaign, 0, "", units: 9, keep: 2));
        Assert.Equal(new StockLeaseRecord(0, "", 5, 3), Assert.Single(await _ledger.LoadLeasesAsync(Campaign)));

        // Nothing more to give, asked to keep more than is left, or no lease at all: nothing moves.
        Assert.Equal(0, await _ledger.ReturnLeaseAsync(Campaign, 0, "", units: 5, keep: 2));
        Assert.Equal(0, await _ledger.ReturnLeaseAsync(Campaign, 0, "", units: 5, keep: 7));
        Assert.Equal(0, await _ledger.ReturnLeaseAsync(Campaign, 5, "", units: 5, keep: 0));
        Assert.Equal(new StockLeaseRecord(0, "", 5, 3), Assert.Single(await _ledger.LoadLeasesAsync(Campaign)));

        Assert.Equal(2, await _ledger.ReturnLeaseAsync(Campaign, 0, "", units: 5, keep: 0));
        Assert.Equal(new StockLeaseRecord(0, "", 3, 3), Assert.Single(await _ledger.LoadLeasesAsync(Campaign)));
        Assert.True(await _ledger.GrantLeaseAsync(Campaign, 1, "", 97, poolCapacity: 100));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => _ledger.ReturnLeaseAsync(Campaign, 0, "", units: 1, keep: -1));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => _ledger.ReturnLeaseAsync(Campaign, 0, "", units: -1, keep: 0));
    }

    [Fact]
    public async Task Racing_lease_grants_never_pass_the_pool()
    {
        var grants = await Task.WhenAll(Enumerable.Range(0, 32).Select(shard =>
            Task.Run(() => _ledger.GrantLeaseAsync(Campaign, shard % 8, "", 10, poolCapacity: 100))));

        Assert.Equal(10, grants.Count(g => g));
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

        // Each shard finally resends its first batch, as a commit retried after an unknown outcome would.
        await Task.WhenAll(Enumerable.Range(0, Shards).Select(shard => Task.Run(async () =>
        {
            for (var batch = 0; batch <= Batches; batch++)
            {
                var number = batch % Batches;
                var vouchers = Enumerable.Range(0, PerBatch)
                    .Select(i => Voucher($"u{shard}-{number}-{i}", $"r{shard}-{number}-{i}", shard) with { Code = $"V{shard}-{number}-{i}" })
                    .ToList();
                var result = await CommitLimited(shard, perUserLimit: 1, perUserDailyLimit: 0, [.. vouchers]);
                Assert.Equal(batch == Batches ? PerBatch : 0, result.ConflictingRequestIds.Count);
            }
        })));

        Assert.Equal((long)Shards * Batches * PerBatch, _database.Scalar("SELECT COUNT(*) FROM vouchers"));
        Assert.Equal((long)Shards * Batches * PerBatch, _database.Scalar("SELECT COUNT(DISTINCT user_id) FROM vouchers"));
        Assert.All(await _ledger.LoadLeasesAsync(Campaign), lease => Assert.Equal(Batches * PerBatch, lease.Issued));
        Assert.Equal(Shards * Batches * PerBatch, (await _ledger.GetCampaignTotalsAsync(Campaign, Now)).Issued);
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

    [Fact]
    public async Task Two_ledgers_on_one_file_racing_the_same_claims_issue_each_once()
    {
        // Two silos' ledgers (separate write gates): SQLite's own lock and the unique key decide.
        var other = new SqliteLedger(_database.ConnectionString);
        await Grant(shard: 0, amount: 1_000);
        var claims = Enumerable.Range(0, 200).Select(i => ($"u{i}", $"r{i}")).ToList();

        var results = await Task.WhenAll(new[] { _ledger, other }.Select((ledger, copy) => Task.Run(async () =>
        {
            var taken = 0;
            foreach (var chunk in claims.Chunk(20))
            {
                var batch = chunk.Select(c => Voucher(c.Item1, c.Item2) with { Code = $"V{copy}-{c.Item2}" }).ToList();
                taken += (await ledger.CommitIssueBatchAsync(new IssueBatch(Campaign, 0, batch, 1, 0))).ConflictingRequestIds.Count;
            }

            return taken;
        })));

        Assert.Equal(200, results.Sum());
        Assert.Equal(200L, _database.Scalar("SELECT COUNT(*) FROM vouchers"));
        Assert.Equal(200, Assert.Single(await _ledger.LoadLeasesAsync(Campaign)).Issued);
    }

    // ---- redemption ----

    [Fact]
    public async Task Transition_records_the_redemption_and_its_event()
    {
        var voucher = await Issued("u1", "r1");

        var redeemed = await Redeem(voucher, "m1", "o1", 30_000, 5_000);

        Assert.Equal(redeemed, await _ledger.GetVoucherAsync(voucher.Code));
        var recorded = Assert.Single((await _ledger.GetVoucherWithEventsAsync(voucher.Code)).Events);
        Assert.True(recorded.Sequence > 0);
        Assert.Equal((RedemptionEventType.Redeemed, "o1", 5_000L, "xuhui"), (recorded.Type, recorded.OrderId, recorded.DiscountCents, recorded.MerchantDistrict));
    }

    [Fact]
    public async Task A_redemption_committed_but_not_yet_on_disk_is_neither_answered_nor_shown_to_readers()
    {
        var (voucher, bystander, step, redemption) = await RedemptionAwaitingItsFlush();
        var read = _ledger.GetVoucherWithEventsAsync(voucher.Code);
        var totals = _ledger.GetCampaignTotalsAsync(Campaign, Now);
        await Task.Delay(50);

        Assert.False(redemption.IsCompleted);
        Assert.False(read.IsCompleted);
        Assert.False(totals.IsCompleted);
        Assert.Equal(bystander, await _ledger.GetVoucherAsync(bystander.Code).WaitAsync(TimeSpan.FromSeconds(10))); // untouched: no wait

        _flushesFlow.Set();
        Assert.True(await redemption.WaitAsync(TimeSpan.FromSeconds(10)));
        await read.WaitAsync(TimeSpan.FromSeconds(10));
        await totals.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(step.Next, await _ledger.GetVoucherAsync(voucher.Code));
    }

    [Fact]
    public async Task A_ledger_whose_WAL_flush_failed_reports_its_fault_and_takes_no_more_writes()
    {
        await Grant(shard: 0, amount: 10);
        using var failing = new SqliteLedger(_database.ConnectionString, _ => throw new IOException("disk gone"));
        Assert.Null(failing.Fault);

        await Assert.ThrowsAsync<IOException>(() => failing.CommitIssueBatchAsync(new IssueBatch(Campaign, 0, [Voucher("u1", "r1")], 0, 0)));

        Assert.Contains("disk gone", failing.Fault);
        await Assert.ThrowsAsync<IOException>(() => failing.GrantLeaseAsync(Campaign, 1, "", 5, 1_000_000));
        Assert.Null(_ledger.Fault);
        Assert.Equal(10, Assert.Single(await _ledger.LoadLeasesAsync(Campaign)).Granted);
    }

    [Fact]
    public async Task Once_a_WAL_flush_failed_no_read_shows_what_the_disk_may_not_have()
    {
        var (voucher, bystander, _, redemption) = await RedemptionAwaitingItsFlush();
        var read = _ledger.GetVoucherWithEventsAsync(voucher.Code);
        var totals = _ledger.GetCampaignTotalsAsync(Campaign, Now);

        _flushesFail = true;
        _flushesFlow.Set();

        await Assert.ThrowsAsync<IOException>(() => redemption.WaitAsync(TimeSpan.FromSeconds(10)));
        await Assert.ThrowsAsync<IOException>(() => read.WaitAsync(TimeSpan.FromSeconds(10)));
        await Assert.ThrowsAsync<IOException>(() => totals.WaitAsync(TimeSpan.FromSeconds(10)));
        // Later reads too, even of a voucher the failed commit did not touch: the ledger has stopped.
        var later = await Assert.ThrowsAsync<IOException>(() => _ledger.GetVoucherAsync(bystander.Code));
        Assert.Contains("restarts", later.Message);
        await Assert.ThrowsAsync<IOException>(() => _ledger.ListUserVouchersAsync("u2", Campaign, null));
        await Assert.ThrowsAsync<IOException>(async () =>
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

        Assert.Equal("o1", (await _ledger.GetVoucherAsync(voucher.Code))!.OrderId);
        Assert.Single((await _ledger.GetVoucherWithEventsAsync(voucher.Code)).Events);
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

        Assert.Equal(refunded, await _ledger.GetVoucherAsync(voucher.Code));
        Assert.Equal(2, (await _ledger.GetVoucherWithEventsAsync(voucher.Code)).Events.Count);
    }

    [Fact]
    public async Task Second_refund_with_one_refund_id_is_refused_by_the_unique_key()
    {
        var voucher = await Issued("u1", "r1");
        var refunded = await Refund(await Redeem(voucher, "m1", "o1", 30_000, 5_000), "rf1");
        var redeemedAgain = await Redeem(refunded, "m1", "o2", 30_000, 5_000);

        var again = RefundStep(redeemedAgain, "rf1");
        Assert.False(await _ledger.TryTransitionAsync(again.Next, redeemedAgain.Version, again.Event));

        Assert.Equal(redeemedAgain, await _ledger.GetVoucherAsync(voucher.Code));
    }

    [Fact]
    public async Task Transition_must_write_the_next_version()
    {
        var voucher = await Issued("u1", "r1");
        var step = RedeemStep(voucher, "m1", "o1", 30_000, 5_000);

        await Assert.ThrowsAsync<ArgumentException>(() => _ledger.TryTransitionAsync(step.Next with { Version = 7 }, voucher.Version, step.Event));

        Assert.Equal(voucher, await _ledger.GetVoucherAsync(voucher.Code));
    }

    [Fact]
    public async Task Wallet_lists_newest_first_and_filters_by_campaign_and_channel()
    {
        await Grant(shard: 0, amount: 10);
        var older = Voucher("u1", "r1") with { IssuedAt = Now.AddMinutes(-5) };
        var newer = Voucher("u1", "r2") with { Channel = "partner-b" };
        await Commit(0, older, newer, Voucher("u2", "r3"));

        Assert.Equal([newer, older], await _ledger.ListUserVouchersAsync("u1", null, null));
        Assert.Equal([older], await _ledger.ListUserVouchersAsync("u1", Campaign, Channel));
        Assert.Empty(await _ledger.ListUserVouchersAsync("u1", "another-campaign", null));
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

        Assert.Equal(["winter", "b-autumn"], first);
        Assert.Equal(["a-autumn", "spring"], second);
        Assert.Empty(third);
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

    private Task<bool> Grant(int shard, long amount, string pool = "") =>
        _ledger.GrantLeaseAsync(Campaign, shard, pool, amount, poolCapacity: 1_000_000);

    private Task<IssueBatchResult> Commit(int shard, params VoucherRecord[] vouchers) => CommitLimited(shard, 0, 0, vouchers);

    private Task<IssueBatchResult> CommitLimited(int shard, int perUserLimit, int perUserDailyLimit, params VoucherRecord[] vouchers) =>
        _ledger.CommitIssueBatchAsync(new IssueBatch(Campaign, shard, vouchers, perUserLimit, perUserDailyLimit));

    private async Task<VoucherRecord> Issued(string user, string requestId, string district = "", string channel = Channel)
    {
        if ((await _ledger.LoadLeasesAsync(Campaign)).Count == 0)
        {
            await Grant(shard: 0, amount: 100);
        }

        var voucher = Voucher(user, requestId) with { District = district, Channel = channel };
        Assert.Empty((await Commit(0, voucher)).ConflictingRequestIds);
        return voucher;
    }

    private VoucherRecord Voucher(string user, string requestId, int shard = 0) => new()
    {
        Code = $"V{Interlocked.Increment(ref _codes):D6}",
        CampaignId = Campaign,
        Shard = shard,
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
