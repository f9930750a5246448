using System.Diagnostics;
using System.Runtime.CompilerServices;
using Campaigns.Grains.Campaigns;
using Campaigns.Grains.Ledger;
using Npgsql;
using NpgsqlTypes;
using static Campaigns.Storage.Postgres.PostgresLedgerRows;

namespace Campaigns.Storage.Postgres;

/// <summary>
/// The voucher ledger on PostgreSQL: production mode's backend. Every silo of a cluster runs one
/// on the same database. Every call runs under READ COMMITTED: the races that matter are settled
/// by single conditional statements, by row locks taken in one order (an epoch row first, then a
/// pool's total, then a lease), and by the epoch rows every write of a shard or campaign updates
/// first. Each call is one transaction; issue batches waiting together, from any shard of the
/// silo, commit as one statement, and so do the voucher transitions that wait together
/// (<see cref="GroupCommit{TItem, TResult}"/>): one round trip and one WAL flush for each group.
/// </summary>
public sealed class PostgresLedger : ILedger, ILedgerDiagnostics, IDisposable, IAsyncDisposable
{
    private static readonly string VoucherByKey = $"SELECT {VoucherColumns} FROM vouchers WHERE row_key = $1;";

    private readonly NpgsqlDataSource _dataSource;
    private readonly GroupCommit<IssueBatch, Exception?> _issueBatches;
    private readonly GroupCommit<Transition, bool> _transitions;

    /// <summary>
    /// Issue batches this large (an IssueVouchers call's share of a shard) are worth a transaction of
    /// their own and commit side by side, rather than queueing behind the groups in flight.
    /// </summary>
    internal const int GroupedBelow = 64;

    // The calls of the batch functions, their text made once rather than on every commit.
    private static readonly string CommitIssueBatchesSql = CallOf("commit_issue_batches", 36);
    private static readonly string CommitIssueBatchSql = CallOf("commit_issue_batch", 34);
    private static readonly string MoveVouchersSql = CallOf("move_vouchers", 19);

    /// <summary>Groups of voucher transitions in flight at once.</summary>
    internal const int TransitionGroupWriters = 2;

    /// <summary>
    /// Groups of issue batches in flight at once: one, so that the batches waiting meanwhile make
    /// bigger groups that share each call's fixed cost (storage/Postgres/README.md).
    /// </summary>
    internal const int IssueGroupWriters = 1;

    private readonly Lock _activityGate = new();
    private long _commits;
    private TimeSpan _slowestCommit;

    /// <param name="connectionString">
    /// An Npgsql connection string. Its pool (<c>Maximum Pool Size</c>, 100 by default) is per
    /// silo: size it so that silos × pool stays under the server's <c>max_connections</c>.
    /// </param>
    public PostgresLedger(string connectionString)
    {
        _dataSource = NpgsqlDataSource.Create(Durable(connectionString));
        _issueBatches = new(CommitGroupAsync, IssueGroupWriters, batch => batch.Vouchers.Count, groupWeight: 1_000,
            Comparer<IssueBatch>.Create((a, b) => string.CompareOrdinal(a.CampaignId, b.CampaignId) is var byCampaign and not 0 ? byCampaign : a.Shard.CompareTo(b.Shard)));
        _transitions = new(MoveGroupAsync, TransitionGroupWriters, _ => 1, groupWeight: 500,
            Comparer<Transition>.Create((a, b) => a.Next.Key.Packed.CompareTo(b.Next.Key.Packed)));
    }

    /// <summary>
    /// <paramref name="connectionString"/> with <c>synchronous_commit</c> forced on: whatever the
    /// server's default, an acknowledged write (a voucher, a grain's state) survives a crash of the
    /// server, because every commit waits for the WAL flush. Statements are prepared automatically
    /// unless the connection string sets <c>Max Auto Prepare</c> (0 there is taken as unset).
    /// </summary>
    internal static string Durable(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        builder.Options = $"{builder.Options} -c synchronous_commit=on".Trim();
        // The ledger leaves no session state behind (its advisory lock is the transaction's), so a
        // pooled connection needs no reset: six statements a checkout that only cost server time.
        builder.NoResetOnClose = true;
        if (builder.MaxAutoPrepare == 0)
        {
            // The ledger runs a few statements over and over: prepared once per connection, the
            // server stops parsing and planning each call (see docs/scaling.md for what it gave).
            builder.MaxAutoPrepare = AutoPreparedStatements;
            builder.AutoPrepareMinUsages = 2;
        }

        return builder.ConnectionString;
    }

    /// <summary>Statements Npgsql prepares per connection unless the connection string says otherwise (<c>Max Auto Prepare</c>).</summary>
    public const int AutoPreparedStatements = 64;

    /// <summary>Never set: a PostgreSQL ledger does not stop; each call that cannot be served fails on its own.</summary>
    public string? Fault => null;

    public LedgerActivity TakeActivity()
    {
        lock (_activityGate)
        {
            var activity = new LedgerActivity(_commits, _slowestCommit, TimeSpan.Zero, 0);
            (_commits, _slowestCommit) = (0, TimeSpan.Zero);
            return activity;
        }
    }

    /// <summary>A server setting as the ledger's sessions see it.</summary>
    internal Task<string> SettingAsync(string name) =>
        Run($"reading setting {name}", async connection =>
        {
            await using var show = Command(connection, "SELECT current_setting($1);", name);
            return (string)(await show.ExecuteScalarAsync())!;
        });

    /// <summary>One round trip to the server (health checks); throws <see cref="LedgerUnavailableException"/> when it cannot be reached.</summary>
    public Task PingAsync() =>
        Run("a health check", async connection =>
        {
            await using var ping = Command(connection, "SELECT 1;");
            return await ping.ExecuteScalarAsync();
        });

    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    public async ValueTask DisposeAsync()
    {
        await _issueBatches.DisposeAsync();
        await _transitions.DisposeAsync();
        await _dataSource.DisposeAsync();
    }

    public Task EnsureSchemaAsync(CancellationToken cancellationToken = default) =>
        Run("migrating the ledger's schema", async connection =>
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

            // Held to the end of the transaction: a silo starting beside this one waits here, then
            // finds every migration applied.
            await using (var locked = Command(connection, "SELECT pg_advisory_xact_lock($1);", PostgresLedgerSchema.MigrationLock))
            {
                await locked.ExecuteNonQueryAsync(cancellationToken);
            }

            await using (var versionTable = Command(connection, PostgresLedgerSchema.VersionTable))
            {
                await versionTable.ExecuteNonQueryAsync(cancellationToken);
            }

            int applied;
            await using (var current = Command(connection, "SELECT COALESCE(MAX(version), 0) FROM schema_version;"))
            {
                applied = (int)(await current.ExecuteScalarAsync(cancellationToken))!;
            }

            foreach (var (version, sql) in PostgresLedgerSchema.Migrations.Where(m => m.Version > applied))
            {
                await using var migrate = Command(connection, sql);
                await migrate.ExecuteNonQueryAsync(cancellationToken);
                await using var record = Command(connection,
                    "INSERT INTO schema_version (version, applied_at) VALUES ($1, now());", version);
                await record.ExecuteNonQueryAsync(cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
            return true;
        });

    // ---- issuance ----

    public Task<ShardActivation> ActivateShardAsync(string campaignId, int shard) =>
        Run($"activating shard {campaignId}/{shard}", async connection =>
        {
            // One statement: the increment waits for a commit that holds the row, so that commit is
            // in the read that follows, and every commit after it is refused.
            await using var next = Command(connection,
                """
                WITH next AS (
                    INSERT INTO shard_epochs (campaign_id, shard, epoch)
                    SELECT campaign_id, $2, 1 FROM campaign_directory WHERE campaign_id = $1
                    ON CONFLICT (campaign_id, shard) DO UPDATE SET epoch = shard_epochs.epoch + 1
                    RETURNING epoch)
                SELECT next.epoch, d.number FROM next, campaign_directory d WHERE d.campaign_id = $1;
                """,
                campaignId, shard);
            await using var row = await next.ExecuteReaderAsync();
            return await row.ReadAsync()
                ? new ShardActivation(row.GetInt64(0), row.GetInt32(1))
                : throw new InvalidOperationException($"campaign '{campaignId}' is not in the campaign directory");
        });

    public Task<IReadOnlyList<VoucherRecord>> LoadShardVouchersAsync(int campaignNumber, int shard)
    {
        var (first, last) = VoucherKey.ShardRange(campaignNumber, shard);
        return ReadAll($"reading shard {campaignNumber}/{shard}",
            $"SELECT {VoucherColumns} FROM vouchers WHERE row_key BETWEEN $1 AND $2 ORDER BY row_key;", ReadVoucher, first, last);
    }

    public Task<IReadOnlyList<ShardIssue>> LoadShardIssuesAsync(int campaignNumber, int shard)
    {
        // Channels and districts repeat across a shard's rows: one string each, not one per row.
        var shared = new Dictionary<string, string>(StringComparer.Ordinal);
        string Shared(string value) => shared.TryGetValue(value, out var known) ? known : shared[value] = value;
        var (first, last) = VoucherKey.ShardRange(campaignNumber, shard);
        return ReadAll($"reading shard {campaignNumber}/{shard}",
            "SELECT row_key, user_id, channel, request_id, district, issued_day, issued_at FROM vouchers WHERE row_key BETWEEN $1 AND $2 ORDER BY row_key;",
            row => new ShardIssue(
                VoucherKey.Unpack(row.GetInt64(0)).Seq, row.GetString(1), Shared(row.GetString(2)), row.GetString(3),
                Shared(row.GetString(4)), row.GetFieldValue<DateOnly>(5), row.GetFieldValue<DateTimeOffset>(6)),
            first, last);
    }

    public Task CommitIssueBatchAsync(IssueBatch batch)
    {
        LedgerArguments.CheckBatch(batch);
        return batch.Vouchers.Count < GroupedBelow
            ? Refused(_issueBatches.CommitAsync(batch))
            : Run($"committing a batch of shard {batch.CampaignId}/{batch.Shard}", async connection =>
            {
                await CommitAloneAsync(connection, batch);
                return true;
            });
    }

    /// <summary>"SELECT function($1, ..., $n);"</summary>
    private static string CallOf(string function, int parameters) =>
        $"SELECT {function}({string.Join(", ", Enumerable.Range(1, parameters).Select(i => "$" + i))});";

    /// <summary>Completes when a grouped batch is committed; throws what refused it.</summary>
    private static async Task Refused(Task<Exception?> committed)
    {
        if (await committed is { } refusal)
        {
            throw refusal;
        }
    }

    /// <summary>
    /// Commits the batches of several shards as one statement, so one round trip and one
    /// transaction (see migration 7), and answers per batch null or why it was refused. A key
    /// written before fails the statement as a whole: the batches are then committed one by one,
    /// so that only the batch that reused it is refused.
    /// </summary>
    private Task<IReadOnlyList<Exception?>> CommitGroupAsync(IReadOnlyList<IssueBatch> batches) =>
        Run($"committing the batches of {batches.Count} shard(s)", async connection =>
        {
            var started = Stopwatch.GetTimestamp();
            var leases = batches.SelectMany((b, i) => b.Vouchers.CountBy(r => r.Pool).OrderBy(p => p.Key, StringComparer.Ordinal)
                .Select(pool => (Batch: i + 1, pool.Key, Count: (long)pool.Value))).ToList();
            await using var commit = Command(connection,
                CommitIssueBatchesSql,
                [
                    batches.Select(b => b.CampaignId).ToArray(), batches.Select(b => b.Shard).ToArray(), batches.Select(b => b.Epoch).ToArray(),
                    leases.Select(l => l.Batch).ToArray(), leases.Select(l => l.Key).ToArray(), leases.Select(l => l.Count).ToArray(),
                    batches.SelectMany((b, i) => Enumerable.Repeat(i + 1, b.Vouchers.Count)).ToArray(),
                    .. ColumnsOf([.. batches.SelectMany(b => b.Vouchers)]),
                ]);
            string[] outcomes;
            try
            {
                outcomes = (string[])(await commit.ExecuteScalarAsync())!;
            }
            catch (PostgresException ex) when (ex.SqlState == PostgresFaults.UniqueViolation)
            {
                var alone = new List<Exception?>(batches.Count);
                foreach (var batch in batches)
                {
                    try
                    {
                        await CommitAloneAsync(connection, batch);
                        alone.Add(null);
                    }
                    catch (Exception refused) when (refused is LedgerConflictException or LedgerFencedException)
                    {
                        alone.Add(refused);
                    }
                }

                return (IReadOnlyList<Exception?>)alone;
            }

            Committed(started);
            return (IReadOnlyList<Exception?>)[.. batches.Select((batch, i) => Refusal(batch, outcomes[i]))];
        });

    /// <summary>One shard's batch in a transaction of its own (commit_issue_batch with the devices, migration 6).</summary>
    private async Task CommitAloneAsync(NpgsqlConnection connection, IssueBatch batch)
    {
        var started = Stopwatch.GetTimestamp();
        var pools = batch.Vouchers.CountBy(r => r.Pool).ToList();
        await using var commit = Command(connection,
            CommitIssueBatchSql,
            [batch.CampaignId, batch.Shard, batch.Epoch, pools.Select(p => p.Key).ToArray(), pools.Select(p => (long)p.Value).ToArray(), .. ColumnsOf(batch.Vouchers)]);
        try
        {
            await commit.ExecuteNonQueryAsync();
        }
        catch (PostgresException ex) when (ex.SqlState is PostgresFaults.Fenced or PostgresFaults.LeaseExceeded or PostgresFaults.UniqueViolation)
        {
            throw Refusal(batch, $"{ex.SqlState} {ex.MessageText}")!;
        }

        Committed(started);
    }

    /// <summary>The vouchers' columns as arrays, in the order commit_issue_batch and commit_issue_batches take them.</summary>
    private static object[] ColumnsOf(IReadOnlyList<VoucherRecord> v)
    {
        T[] Column<T>(Func<VoucherRecord, T> value) => [.. v.Select(value)];
        return
        [
            Column(r => r.Key.Packed), Column(r => r.Code), Column(r => r.CampaignId), Column(r => r.UserId), Column(r => r.Channel),
            Column(r => r.RequestId), Column(r => r.District), Column(r => Stored<StoredVoucherStatus>.Name(r.Status)), Column(r => r.Version),
            Column(r => Stored<DiscountKind>.Name(r.Terms.Kind)), Column(r => r.Terms.FaceValueCents), Column(r => r.Terms.MinSpendCents),
            Column(r => r.Terms.PercentOff), Column(r => r.Terms.Fold), Column(r => r.Terms.MaxDiscountCents),
            Column(r => Utc(r.ValidFrom)), Column(r => Utc(r.ValidUntil)), Column(r => Utc(r.IssuedAt)), Column(r => r.IssuedDay), Column(r => r.Pool),
            Column(r => r.MerchantId), Column(r => r.OrderId), Column(r => r.OrderAmountCents), Column(r => r.DiscountCents),
            Column(r => Utc(r.ReservedUntil)), Column(r => Utc(r.RedeemedAt)), Column(r => r.Terms.LiabilityCents),
            Column(r => r.DeviceId), Column(r => r.DeviceId is null ? null : (int?)r.DeviceBucket),
        ];
    }

    /// <summary>Why commit_issue_batches refused a batch ("SQLSTATE message"), or null if it did not.</summary>
    private static Exception? Refusal(IssueBatch batch, string outcome) => outcome.Split(' ', 2) switch
    {
        [""] => null,
        [PostgresFaults.Fenced, var message] => new LedgerFencedException(message + ": a later activation holds it"),
        [PostgresFaults.LeaseExceeded, var message] => new LedgerConflictException(message),
        [PostgresFaults.UniqueViolation, _] => new LedgerConflictException($"shard {batch.CampaignId}/{batch.Shard} wrote a key it had written before"),
        _ => new InvalidOperationException($"commit_issue_batches answered '{outcome}' for shard {batch.CampaignId}/{batch.Shard}"),
    };

    public Task<IReadOnlyList<DeviceClaimCount>> LoadDeviceClaimsAsync(int campaignNumber, int bucket)
    {
        var (first, last) = VoucherKey.CampaignRange(campaignNumber);
        return ReadAll($"reading device bucket {campaignNumber}/{bucket}",
            $"""
            SELECT device_id, COUNT(*)::integer, MAX(row_key) FROM vouchers
            WHERE device_bucket = $1 AND row_key BETWEEN $2 AND $3 AND device_id IS NOT NULL
            GROUP BY device_id, row_key >> {VoucherKey.SeqBits};
            """,
            row => DeviceClaimCount.Of(row.GetString(0), row.GetInt32(1), row.GetInt64(2)),
            bucket, first, last);
    }

    private static LedgerFencedException Fenced(string what, long epoch) =>
        new($"{what} has an epoch newer than {epoch}: a later activation holds it");

    // ---- leases ----

    public Task<long> ActivateCampaignAsync(string campaignId) =>
        Run($"activating campaign {campaignId}", async connection =>
        {
            await using var next = Command(connection,
                """
                INSERT INTO campaign_epochs (campaign_id, epoch) VALUES ($1, 1)
                ON CONFLICT (campaign_id) DO UPDATE SET epoch = campaign_epochs.epoch + 1
                RETURNING epoch;
                """,
                campaignId);
            return (long)(await next.ExecuteScalarAsync())!;
        });

    public Task<IReadOnlyList<StockLeaseRecord>> LoadLeasesAsync(string campaignId) =>
        ReadAll($"reading the leases of {campaignId}",
            "SELECT shard, pool, granted, issued FROM stock_leases WHERE campaign_id = $1 ORDER BY shard, pool;",
            row => new StockLeaseRecord(row.GetInt32(0), row.GetString(1), row.GetInt64(2), row.GetInt64(3)),
            campaignId);

    public Task<bool> GrantLeaseAsync(string campaignId, long campaignEpoch, int shard, string pool, long amount, long poolCapacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(amount);
        return Write($"granting a lease of {campaignId}", async (connection, transaction) =>
        {
            await using var statements = new NpgsqlBatch(connection, transaction);
            statements.BatchCommands.Add(Statement(
                "UPDATE campaign_epochs SET epoch = epoch WHERE campaign_id = $1 AND epoch = $2;", campaignId, campaignEpoch));

            // The capacity check and the addition are one conditional upsert of the pool's total:
            // of two grants racing for the last units, the second re-reads the total the first left.
            statements.BatchCommands.Add(Statement(
                """
                WITH pool AS (
                    INSERT INTO lease_pools (campaign_id, pool, granted)
                    SELECT $1, $4, $5 WHERE $5 <= $6 AND EXISTS (SELECT 1 FROM campaign_epochs WHERE campaign_id = $1 AND epoch = $2)
                    ON CONFLICT (campaign_id, pool) DO UPDATE SET granted = lease_pools.granted + excluded.granted
                    WHERE lease_pools.granted + excluded.granted <= $6
                    RETURNING 1)
                INSERT INTO stock_leases (campaign_id, shard, pool, granted, issued)
                SELECT $1, $3, $4, $5, 0 FROM pool
                ON CONFLICT (campaign_id, shard, pool) DO UPDATE SET granted = stock_leases.granted + excluded.granted;
                """,
                campaignId, campaignEpoch, shard, pool, amount, poolCapacity));
            await statements.ExecuteNonQueryAsync();

            return statements.BatchCommands[0].RecordsAffected == 0
                ? throw Fenced($"campaign {campaignId}", campaignEpoch)
                : statements.BatchCommands[1].RecordsAffected == 1;
        });
    }

    public Task<long> ReturnLeaseAsync(string campaignId, int shard, long shardEpoch, string pool, long units, long keep)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(units);
        ArgumentOutOfRangeException.ThrowIfNegative(keep);
        return Write($"returning a lease of {campaignId}/{shard}", async (connection, transaction) =>
        {
            // Locks in the order every write takes them: the shard's epoch (none of its commits runs
            // between the read and the cut), the pool's total (as a grant does), then the lease.
            // A grant in between only adds, and what is cut was unspent at the read.
            long returned;
            await using (var read = new NpgsqlBatch(connection, transaction))
            {
                read.BatchCommands.Add(Statement(
                    "UPDATE shard_epochs SET epoch = epoch WHERE campaign_id = $1 AND shard = $2 AND epoch = $3;", campaignId, shard, shardEpoch));
                read.BatchCommands.Add(Statement(
                    "UPDATE lease_pools SET granted = granted WHERE campaign_id = $1 AND pool = $2;", campaignId, pool));
                read.BatchCommands.Add(Statement(
                    "SELECT LEAST($4, granted - issued - $5) FROM stock_leases WHERE campaign_id = $1 AND shard = $2 AND pool = $3 FOR NO KEY UPDATE;",
                    campaignId, shard, pool, units, keep));
                // The updates return no rows: the reader starts at the lease's.
                await using var rows = await read.ExecuteReaderAsync();
                returned = await rows.ReadAsync() ? rows.GetInt64(0) : 0;
                await rows.CloseAsync();
                if (read.BatchCommands[0].RecordsAffected == 0)
                {
                    throw Fenced($"shard {campaignId}/{shard}", shardEpoch);
                }
            }

            if (returned <= 0)
            {
                return 0L;
            }

            await using var cut = new NpgsqlBatch(connection, transaction);
            cut.BatchCommands.Add(Statement(
                "UPDATE stock_leases SET granted = granted - $4 WHERE campaign_id = $1 AND shard = $2 AND pool = $3;", campaignId, shard, pool, returned));
            cut.BatchCommands.Add(Statement(
                "UPDATE lease_pools SET granted = granted - $3 WHERE campaign_id = $1 AND pool = $2;", campaignId, pool, returned));
            await cut.ExecuteNonQueryAsync();
            return returned;
        });
    }

    // ---- vouchers and redemption ----

    public async Task<VoucherKey?> FindLegacyCodeAsync(string code) =>
        (await ReadAll("finding a voucher by code", "SELECT row_key FROM legacy_codes WHERE code = $1;",
            row => (VoucherKey?)VoucherKey.Unpack(row.GetInt64(0)), code)).SingleOrDefault();

    public async Task<VoucherRecord?> GetVoucherAsync(VoucherKey key) =>
        (await ReadAll($"reading voucher {key}", VoucherByKey, ReadVoucher, key.Packed)).SingleOrDefault();

    public async Task<IReadOnlyList<VoucherRecord>> GetVouchersAsync(IReadOnlyList<VoucherKey> keys)
    {
        var found = (await ReadAll("reading vouchers", $"SELECT {VoucherColumns} FROM vouchers WHERE row_key = ANY($1);",
            ReadVoucher, keys.Select(k => k.Packed).ToArray())).ToDictionary(v => v.Key);
        return [.. keys.Where(found.ContainsKey).Select(k => found[k])];
    }

    public Task<(VoucherRecord? Voucher, IReadOnlyList<RedemptionEventRecord> Events)> GetVoucherWithEventsAsync(VoucherKey key) =>
        Run($"reading voucher {key}", async connection =>
        {
            // One statement, so the row and its events come from one snapshot. A voucher still at
            // version 1 has never moved (a transition writes version + 1 with its event): no events.
            await using var read = Command(connection,
                $"""
                SELECT {string.Join(", ", VoucherColumns.Split(", ").Select(c => "v." + c))}, {string.Join(", ", EventColumns.Split(", ").Select(c => "e." + c))}
                FROM vouchers v LEFT JOIN redemption_events e ON v.version > 1 AND e.voucher_key = v.row_key
                WHERE v.row_key = $1 ORDER BY e.sequence;
                """,
                key.Packed);
            await using var row = await read.ExecuteReaderAsync();
            VoucherRecord? voucher = null;
            var events = new List<RedemptionEventRecord>();
            var eventsFrom = VoucherColumns.Split(", ").Length;
            while (await row.ReadAsync())
            {
                voucher ??= ReadVoucher(row);
                if (!row.IsDBNull(eventsFrom))
                {
                    events.Add(ReadEvent(row, eventsFrom));
                }
            }

            return (voucher, (IReadOnlyList<RedemptionEventRecord>)events);
        });

    public Task<bool> TryTransitionAsync(VoucherRecord next, long expectedVersion, RedemptionEventRecord redemptionEvent)
    {
        LedgerArguments.CheckTransition(next, expectedVersion, redemptionEvent);
        return _transitions.CommitAsync(new Transition(next, expectedVersion, redemptionEvent));
    }

    /// <summary>A voucher's conditional move and the redemption event that goes in with it.</summary>
    private sealed record Transition(VoucherRecord Next, long ExpectedVersion, RedemptionEventRecord Event);

    /// <summary>
    /// The transitions that waited together, as one statement (move_vouchers, migration 8): each
    /// row moves only if its version is still the one read (what stops a duplicate activation
    /// spending a voucher twice) and its event goes in with it; a taken (voucher, order) or
    /// (voucher, refund) key undoes that transition alone. Answers per transition whether it moved.
    /// </summary>
    private Task<IReadOnlyList<bool>> MoveGroupAsync(IReadOnlyList<Transition> moves) =>
        Run($"moving {moves.Count} voucher(s)", async connection =>
        {
            var started = Stopwatch.GetTimestamp();
            T[] Column<T>(Func<Transition, T> value) => [.. moves.Select(value)];
            await using var move = Command(connection,
                MoveVouchersSql,
                Column(m => m.Next.Key.Packed), Column(m => m.ExpectedVersion), Column(m => Stored<StoredVoucherStatus>.Name(m.Next.Status)),
                Column(m => m.Next.Version), Column(m => m.Next.MerchantId), Column(m => m.Next.OrderId), Column(m => m.Next.OrderAmountCents),
                Column(m => m.Next.DiscountCents), Column(m => Utc(m.Next.ReservedUntil)), Column(m => Utc(m.Next.RedeemedAt)),
                Column(m => Stored<RedemptionEventType>.Name(m.Event.Type)), Column(m => m.Event.CampaignId), Column(m => m.Event.MerchantId),
                Column(m => m.Event.MerchantDistrict), Column(m => m.Event.OrderId), Column(m => m.Event.RefundId),
                Column(m => m.Event.OrderAmountCents), Column(m => m.Event.DiscountCents), Column(m => Utc(m.Event.OccurredAt)));
            var moved = (bool[])(await move.ExecuteScalarAsync())!;
            Committed(started);
            return (IReadOnlyList<bool>)moved;
        });

    // ---- reporting ----

    public Task<CampaignTotals> GetCampaignTotalsAsync(string campaignId, DateTimeOffset asOf) =>
        Run($"summing campaign {campaignId}", async connection =>
        {
            // One statement, one snapshot: the vouchers and the events they are summed with agree.
            // Reserved and expired as VoucherRedemption.StatusAt derives them: a lapsed hold is
            // ISSUED again, and past valid_until anything not redeemed is EXPIRED. Events are net of
            // refunds: a REFUNDED event carries the negative discount and the refunded order's amount.
            await using var totals = Command(connection,
                $"""
                WITH range AS (
                    SELECT number::bigint << {VoucherKey.CampaignShift} AS first, ((number::bigint + 1) << {VoucherKey.CampaignShift}) - 1 AS last
                    FROM campaign_directory WHERE campaign_id = $1)
                SELECT 0, channel, district, COUNT(*), SUM(liability_cents)::bigint,
                    COUNT(*) FILTER (WHERE status = 'RESERVED' AND reserved_until > $2 AND valid_until > $2),
                    COUNT(*) FILTER (WHERE status = 'REDEEMED'),
                    COUNT(*) FILTER (WHERE status <> 'REDEEMED' AND valid_until <= $2)
                FROM vouchers, range WHERE row_key BETWEEN range.first AND range.last
                GROUP BY channel, district
                UNION ALL
                SELECT 1, '', merchant_district,
                    COUNT(*) FILTER (WHERE type = 'REDEEMED'), COUNT(*) FILTER (WHERE type = 'REFUNDED'), SUM(discount_cents)::bigint,
                    SUM(CASE type WHEN 'REDEEMED' THEN order_amount_cents ELSE -order_amount_cents END)::bigint, 0
                FROM redemption_events WHERE campaign_id = $1 AND type IN ('REDEEMED', 'REFUNDED')
                GROUP BY merchant_district;
                """,
                campaignId, Utc(asOf));
            await using var row = await totals.ExecuteReaderAsync();

            var sums = new CampaignTotalsBuilder();
            while (await row.ReadAsync())
            {
                if (row.GetInt32(0) == 0)
                {
                    sums.AddVouchers(row.GetString(1), row.GetString(2), row.GetInt64(3), row.GetInt64(4), row.GetInt64(5), row.GetInt64(6), row.GetInt64(7));
                }
                else
                {
                    sums.AddEvents(row.GetString(2), row.GetInt64(3), row.GetInt64(4), row.GetInt64(5), row.GetInt64(6));
                }
            }

            return sums.Build();
        });

    public Task<SettlementTotals> GetSettlementAsync(string merchantId, string? campaignId) =>
        Run($"settling merchant {merchantId}", async connection =>
        {
            await using var settlement = Command(connection,
                """
                SELECT
                    COUNT(*) FILTER (WHERE type = 'REDEEMED'),
                    COUNT(*) FILTER (WHERE type = 'REFUNDED'),
                    COALESCE(SUM(discount_cents) FILTER (WHERE type = 'REDEEMED'), 0)::bigint,
                    COALESCE(SUM(order_amount_cents) FILTER (WHERE type = 'REDEEMED'), 0)::bigint,
                    COALESCE(-SUM(discount_cents) FILTER (WHERE type = 'REFUNDED'), 0)::bigint,
                    COALESCE(SUM(order_amount_cents) FILTER (WHERE type = 'REFUNDED'), 0)::bigint
                FROM redemption_events
                WHERE merchant_id = $1 AND ($2::text IS NULL OR campaign_id = $2) AND type IN ('REDEEMED', 'REFUNDED');
                """,
                merchantId, Text(campaignId));
            await using var row = await settlement.ExecuteReaderAsync();
            await row.ReadAsync();
            return new SettlementTotals(
                Redemptions: row.GetInt64(0),
                Refunds: row.GetInt64(1),
                DiscountCents: row.GetInt64(2),
                OrderTotalCents: row.GetInt64(3),
                RefundedDiscountCents: row.GetInt64(4),
                RefundedOrderTotalCents: row.GetInt64(5));
        });

    public async IAsyncEnumerable<RedemptionEventRecord> ExportRedemptionEventsAsync(
        string campaignId, long afterSequence = 0, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        // Streamed from one statement: a festival's events need not fit in memory, and the
        // statement's snapshot keeps the export consistent while redemptions go on.
        var what = $"exporting campaign {campaignId}";
        var horizon = await CommittedEventHorizonAsync(what);
        await using var connection = await Classified(what, () => _dataSource.OpenConnectionAsync(cancellationToken).AsTask());
        await using var export = Command(connection,
            $"""
            SELECT {EventColumns} FROM redemption_events
            WHERE campaign_id = $1 AND sequence > $2 AND sequence <= $3 AND type IN ('REDEEMED', 'REFUNDED')
            ORDER BY sequence;
            """,
            campaignId, afterSequence, horizon);
        await using var row = await Classified(what, () => export.ExecuteReaderAsync(cancellationToken));
        while (await Classified(what, () => row.ReadAsync(cancellationToken)))
        {
            yield return ReadEvent(row);
        }
    }

    /// <summary>
    /// The highest event sequence below which every event is committed. PostgreSQL takes an
    /// identity value at insert, and transactions commit in any order: an export that sent 10
    /// while 9 was still in flight would have a resume from 10 miss 9 for ever. A SHARE lock waits
    /// for the writers in flight and holds new ones off for one index read, so nothing at or below
    /// the horizon can appear later. Bounded by a lock timeout: a writer stuck in flight fails the
    /// export (UNAVAILABLE, retried) rather than stalling redemptions behind it.
    /// </summary>
    private Task<long> CommittedEventHorizonAsync(string what) =>
        Write(what, async (connection, transaction) =>
        {
            await using var horizon = Command(connection,
                """
                SET LOCAL lock_timeout = '2s';
                LOCK TABLE redemption_events IN SHARE MODE;
                SELECT COALESCE(MAX(sequence), 0) FROM redemption_events;
                """);
            horizon.Transaction = transaction;
            return (long)(await horizon.ExecuteScalarAsync())!;
        });

    // ---- directory and secrets ----

    public Task<int> RegisterCampaignAsync(string campaignId, DateTimeOffset createdAt) =>
        Run($"registering campaign {campaignId}", async connection =>
        {
            // Looked up before the insert: an insert that meets the campaign would still use up a
            // number of the identity, and numbers are 24 bits of every voucher's key.
            await using var register = Command(connection,
                """
                WITH found AS (SELECT number FROM campaign_directory WHERE campaign_id = $1),
                added AS (
                    INSERT INTO campaign_directory (campaign_id, created_at) SELECT $1, $2 WHERE NOT EXISTS (SELECT 1 FROM found)
                    ON CONFLICT (campaign_id) DO NOTHING
                    RETURNING number)
                SELECT number FROM found UNION ALL SELECT number FROM added;
                """,
                campaignId, Utc(createdAt));

            // Nothing comes back only when another silo registered it between the look-up and the
            // insert; it has committed by then, so the next look-up finds it.
            while (true)
            {
                if (await register.ExecuteScalarAsync() is int number)
                {
                    return number <= VoucherKey.MaxCampaignNumber
                        ? number
                        : throw new InvalidOperationException($"the campaign directory is full ({VoucherKey.MaxCampaignNumber} campaigns)");
                }
            }
        });

    public async Task<int?> FindCampaignNumberAsync(string campaignId) =>
        (await ReadAll($"finding campaign {campaignId}", "SELECT number FROM campaign_directory WHERE campaign_id = $1;",
            row => (int?)row.GetInt32(0), campaignId)).SingleOrDefault();

    public Task<IReadOnlyList<string>> ListCampaignIdsAsync(string? after, int limit)
    {
        if (limit <= 0)
        {
            return Task.FromResult<IReadOnlyList<string>>([]);
        }

        // Keyset paging on (created_at, campaign_id): stable while campaigns are being created.
        // An unknown `after` matches nothing (the row comparison with NULL is never true).
        return ReadAll("listing campaigns",
            """
            SELECT campaign_id FROM campaign_directory
            WHERE $1::text IS NULL
                OR (created_at, campaign_id) < (SELECT created_at, campaign_id FROM campaign_directory WHERE campaign_id = $1)
            ORDER BY created_at DESC, campaign_id DESC
            LIMIT $2;
            """,
            row => row.GetString(0), Text(after), limit);
    }

    public Task<byte[]> GetOrCreateSecretAsync(string name, byte[] candidate) =>
        Run($"reading secret {name}", async connection =>
        {
            // The first silo to ask stores its candidate; every later caller gets that one.
            await using var secret = Command(connection,
                """
                WITH added AS (INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING RETURNING value)
                SELECT value FROM added UNION ALL SELECT value FROM secrets WHERE name = $1;
                """,
                name, candidate);

            // Empty only when another silo stored it during this statement; it has committed by the next.
            while (true)
            {
                if (await secret.ExecuteScalarAsync() is byte[] stored)
                {
                    return stored;
                }
            }
        });

    // ---- event source ----

    /// <summary>Transactions older than this have all ended: their rows are all there is of them.</summary>
    private const string Settled = "(pg_snapshot_xmin(pg_current_snapshot())::text::bigint)";

    public Task<IReadOnlyList<ShardOfCampaign>> ListShardsAsync() =>
        ReadAll("listing shards",
            $"""
            SELECT e.campaign_id, d.number, e.shard,
                COALESCE((SELECT row_key FROM vouchers
                    WHERE row_key BETWEEN (d.number::bigint << {VoucherKey.CampaignShift}) | (e.shard::bigint << {VoucherKey.SeqBits})
                        AND (d.number::bigint << {VoucherKey.CampaignShift}) | (e.shard::bigint << {VoucherKey.SeqBits}) | {VoucherKey.MaxSeq}
                    ORDER BY row_key DESC LIMIT 1), 0)
            FROM shard_epochs e JOIN campaign_directory d ON d.campaign_id = e.campaign_id
            ORDER BY d.number, e.shard;
            """,
            row => new ShardOfCampaign(row.GetString(0), row.GetInt32(1), row.GetInt32(2), VoucherKey.Unpack(row.GetInt64(3)).Seq));

    public Task<IReadOnlyList<VoucherRecord>> ReadShardVouchersAfterAsync(int campaignNumber, int shard, long afterSeq, int limit)
    {
        // A shard commits one batch at a time, under its epoch row's lock: its rows appear in seq order.
        var (_, last) = VoucherKey.ShardRange(campaignNumber, shard);
        var after = new VoucherKey(campaignNumber, shard, Math.Max(afterSeq, 0) + 1).Packed;
        return ReadAll($"reading shard {campaignNumber}/{shard}",
            $"SELECT {VoucherColumns} FROM vouchers WHERE row_key BETWEEN $1 AND $2 ORDER BY row_key LIMIT $3;", ReadVoucher, after, last, limit);
    }

    public Task<IReadOnlyList<FeedRedemption>> ReadRedemptionsAfterAsync(FeedPosition after, int limit) =>
        ReadAll("reading redemption events",
            $"""
            SELECT {EventColumns}, voucher_key, tx FROM redemption_events
            WHERE (tx, sequence) > ($1, $2) AND tx < {Settled} AND type IN ('REDEEMED', 'REFUNDED') AND voucher_key IS NOT NULL
            ORDER BY tx, sequence LIMIT $3;
            """,
            row => new FeedRedemption(new FeedPosition(row.GetInt64(12), row.GetInt64(0)), VoucherKey.Unpack(row.GetInt64(11)), ReadEvent(row)),
            after.Transaction, after.Sequence, limit);

    public async Task<FeedPosition> RedemptionsHeadAsync() =>
        (await ReadAll("reading the redemption events' head",
            $"SELECT tx, sequence FROM redemption_events WHERE tx < {Settled} ORDER BY tx DESC, sequence DESC LIMIT 1;",
            row => new FeedPosition(row.GetInt64(0), row.GetInt64(1)))).SingleOrDefault();

    public Task<bool> AppendCampaignEventAsync(CampaignEventRecord campaignEvent) =>
        Run($"appending a campaign event of {campaignEvent.CampaignId}", async connection =>
        {
            await using var append = Command(connection,
                """
                INSERT INTO campaign_events (campaign_id, type, occurrence, occurred_at) VALUES ($1, $2, $3, $4)
                ON CONFLICT (campaign_id, type, occurrence) DO NOTHING;
                """,
                campaignEvent.CampaignId, Stored<CampaignEventType>.Name(campaignEvent.Type), campaignEvent.Occurrence, Utc(campaignEvent.OccurredAt));
            return await append.ExecuteNonQueryAsync() == 1;
        });

    public Task<IReadOnlyList<FeedCampaignEvent>> ReadCampaignEventsAfterAsync(FeedPosition after, int limit) =>
        ReadAll("reading campaign events",
            $"""
            SELECT sequence, campaign_id, type, occurrence, occurred_at, tx FROM campaign_events
            WHERE (tx, sequence) > ($1, $2) AND tx < {Settled}
            ORDER BY tx, sequence LIMIT $3;
            """,
            row => new FeedCampaignEvent(new FeedPosition(row.GetInt64(5), row.GetInt64(0)), new CampaignEventRecord
            {
                Sequence = row.GetInt64(0),
                CampaignId = row.GetString(1),
                Type = Stored<CampaignEventType>.From(row.GetString(2)),
                Occurrence = row.GetString(3),
                OccurredAt = Time(row, 4),
            }),
            after.Transaction, after.Sequence, limit);

    public async Task<FeedPosition> CampaignEventsHeadAsync() =>
        (await ReadAll("reading the campaign events' head",
            $"SELECT tx, sequence FROM campaign_events WHERE tx < {Settled} ORDER BY tx DESC, sequence DESC LIMIT 1;",
            row => new FeedPosition(row.GetInt64(0), row.GetInt64(1)))).SingleOrDefault();

    // ---- plumbing ----

    /// <summary>Runs <paramref name="work"/> on a pooled connection.</summary>
    private Task<T> Run<T>(string what, Func<NpgsqlConnection, Task<T>> work) =>
        Classified(what, async () =>
        {
            await using var connection = await _dataSource.OpenConnectionAsync();
            return await work(connection);
        });

    /// <summary><paramref name="work"/>, with a server that cannot serve it raising <see cref="LedgerUnavailableException"/>.</summary>
    private static async Task<T> Classified<T>(string what, Func<Task<T>> work)
    {
        try
        {
            return await work();
        }
        catch (Exception ex) when (PostgresFaults.Classify(ex, $"the ledger could not serve {what}") is LedgerUnavailableException unavailable)
        {
            throw unavailable;
        }
    }

    /// <summary>
    /// Runs <paramref name="work"/> in one READ COMMITTED transaction, committed when it returns;
    /// a guard that throws leaves nothing written. Durable when the task completes
    /// (synchronous_commit is on).
    /// </summary>
    private Task<T> Write<T>(string what, Func<NpgsqlConnection, NpgsqlTransaction, Task<T>> work) =>
        Run(what, async connection =>
        {
            var started = Stopwatch.GetTimestamp();
            await using var transaction = await connection.BeginTransactionAsync(System.Data.IsolationLevel.ReadCommitted);
            var result = await work(connection, transaction);
            await transaction.CommitAsync();
            Committed(started);
            return result;
        });

    /// <summary>Counts a commit begun at <paramref name="started"/> (a <see cref="Stopwatch"/> timestamp) for <see cref="TakeActivity"/>.</summary>
    private void Committed(long started)
    {
        var took = Stopwatch.GetElapsedTime(started);
        lock (_activityGate)
        {
            _commits++;
            _slowestCommit = took > _slowestCommit ? took : _slowestCommit;
        }
    }

    private Task<IReadOnlyList<T>> ReadAll<T>(string what, string sql, Func<NpgsqlDataReader, T> read, params object?[] values) =>
        Run(what, async connection =>
        {
            await using var command = Command(connection, sql, values);
            await using var row = await command.ExecuteReaderAsync();
            var results = new List<T>();
            while (await row.ReadAsync())
            {
                results.Add(read(row));
            }

            return (IReadOnlyList<T>)results;
        });

    /// <summary>A command whose parameters are <c>$1</c>, <c>$2</c>… in the order of <paramref name="values"/>; null is SQL NULL.</summary>
    private static NpgsqlCommand Command(NpgsqlConnection connection, string sql, params object?[] values)
    {
        var command = new NpgsqlCommand(sql, connection);
        foreach (var value in values)
        {
            command.Parameters.Add(Parameter(value));
        }

        return command;
    }

    /// <summary>A statement of a batch, its parameters bound as in <see cref="Command"/>.</summary>
    private static NpgsqlBatchCommand Statement(string sql, params object?[] values)
    {
        var statement = new NpgsqlBatchCommand(sql);
        foreach (var value in values)
        {
            statement.Parameters.Add(Parameter(value));
        }

        return statement;
    }

    private static NpgsqlParameter Parameter(object? value) => value as NpgsqlParameter ?? new() { Value = value ?? DBNull.Value };

    /// <summary>Nullable text, typed: a bare NULL parameter has no type for the server to infer.</summary>
    private static NpgsqlParameter Text(string? value) => new() { Value = (object?)value ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text };

    // timestamptz takes DateTimeOffset only at offset 0.
    private static DateTimeOffset Utc(DateTimeOffset time) => time.ToUniversalTime();

    private static DateTimeOffset? Utc(DateTimeOffset? time) => time?.ToUniversalTime();
}
