using Campaigns.Grains.Ledger;
using Campaigns.Storage.Sqlite;
using Microsoft.Data.Sqlite;

namespace Campaigns.Tests.Ledger;

/// <summary>What only the SQLite ledger has: its file, its WAL and the writer that flushes it.</summary>
public sealed class SqliteLedgerTests : LedgerScenario
{
    private readonly TemporaryDatabase _database = new();

    // Set: WAL flushes go through. Reset: they wait, as a slow disk would make them.
    private readonly ManualResetEventSlim _flushesFlow = new(initialState: true);
    private readonly ManualResetEventSlim _flushWaiting = new();
    private volatile bool _flushesFail;

    private SqliteLedger SqliteLedger => (SqliteLedger)Ledger;

    protected override Task<ILedger> OpenFreshAsync() => Task.FromResult<ILedger>(new SqliteLedger(_database.ConnectionString, wal =>
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
    }));

    protected override ILedger OpenAnother() => new SqliteLedger(_database.ConnectionString);

    public override Task DisposeAsync()
    {
        _flushesFlow.Set();
        return base.DisposeAsync();
    }

    protected override Task DropStoreAsync()
    {
        _database.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Schema_creation_is_idempotent()
    {
        await Grant(shard: 0, amount: 5);
        await Commit(0, Voucher("u1", "r1"));

        await Ledger.EnsureSchemaAsync();
        await Another().EnsureSchemaAsync();

        Assert.Equal((long)SqliteLedgerSchema.Migrations.Count, _database.Scalar("SELECT COUNT(*) FROM schema_version"));
        Assert.Equal(1L, _database.Scalar("SELECT COUNT(*) FROM vouchers"));
        Assert.Equal("wal", _database.Scalar("PRAGMA journal_mode"));
    }


    [Fact]
    public async Task The_vouchers_table_has_no_index_but_its_key_and_the_partial_one_of_devices()
    {
        // Every other index would put a write at a random place into each claim. The devices' one
        // is written only for vouchers that carry a device, in key order within their bucket.
        Assert.Equal(
            "CREATE INDEX ix_vouchers_device ON vouchers (device_bucket, row_key) WHERE device_id IS NOT NULL",
            _database.Scalar("SELECT group_concat(sql, '|') FROM sqlite_master WHERE type = 'index' AND tbl_name = 'vouchers'"));
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
    public async Task A_redemption_committed_but_not_yet_on_disk_is_neither_answered_nor_shown_to_readers()
    {
        var (voucher, bystander, step, redemption) = await RedemptionAwaitingItsFlush();
        var read = Ledger.GetVoucherWithEventsAsync(voucher.Key);
        var totals = Ledger.GetCampaignTotalsAsync(Campaign, Now);
        await Task.Delay(50);

        Assert.False(redemption.IsCompleted);
        Assert.False(read.IsCompleted);
        Assert.False(totals.IsCompleted);
        Assert.Equal(bystander, await Ledger.GetVoucherAsync(bystander.Key).WaitAsync(TimeSpan.FromSeconds(10))); // untouched: no wait

        _flushesFlow.Set();
        Assert.True(await redemption.WaitAsync(TimeSpan.FromSeconds(10)));
        await read.WaitAsync(TimeSpan.FromSeconds(10));
        await totals.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(step.Next, await Ledger.GetVoucherAsync(voucher.Key));
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
        await Assert.ThrowsAsync<LedgerUnavailableException>(() => failing.GrantLeaseAsync(Campaign, CampaignEpoch, 1, "", 5, 1_000_000));
        Assert.Null(SqliteLedger.Fault);
        Assert.Equal(10, Assert.Single(await Ledger.LoadLeasesAsync(Campaign)).Granted);
    }

    [Fact]
    public async Task Once_a_WAL_flush_failed_no_read_shows_what_the_disk_may_not_have()
    {
        var (voucher, bystander, _, redemption) = await RedemptionAwaitingItsFlush();
        var read = Ledger.GetVoucherWithEventsAsync(voucher.Key);
        var totals = Ledger.GetCampaignTotalsAsync(Campaign, Now);

        _flushesFail = true;
        _flushesFlow.Set();

        await Assert.ThrowsAsync<LedgerUnavailableException>(() => redemption.WaitAsync(TimeSpan.FromSeconds(10)));
        await Assert.ThrowsAsync<LedgerUnavailableException>(() => read.WaitAsync(TimeSpan.FromSeconds(10)));
        await Assert.ThrowsAsync<LedgerUnavailableException>(() => totals.WaitAsync(TimeSpan.FromSeconds(10)));
        // Later reads too, even of a voucher the failed commit did not touch: the ledger has stopped.
        var later = await Assert.ThrowsAsync<LedgerUnavailableException>(() => Ledger.GetVoucherAsync(bystander.Key));
        Assert.Contains("restarts", later.Message);
        await Assert.ThrowsAsync<LedgerUnavailableException>(() => Ledger.GetVouchersAsync([bystander.Key]));
        await Assert.ThrowsAsync<LedgerUnavailableException>(async () =>
        {
            await foreach (var _ in Ledger.ExportRedemptionEventsAsync(Campaign))
            {
            }
        });
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
        var redemption = Ledger.TryTransitionAsync(step.Next, voucher.Version, step.Event);
        Assert.True(_flushWaiting.Wait(TimeSpan.FromSeconds(10)));
        Assert.Equal("REDEEMED", _database.Scalar($"SELECT status FROM vouchers WHERE code = '{voucher.Code}'")); // committed
        return (voucher, bystander, step, redemption);
    }
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
