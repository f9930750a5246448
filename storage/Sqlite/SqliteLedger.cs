using System.Runtime.CompilerServices;
using Campaigns.Grains.Ledger;
using Microsoft.Data.Sqlite;
using SQLitePCL;
using static Campaigns.Storage.Sqlite.SqliteLedgerRows;

namespace Campaigns.Storage.Sqlite;

/// <summary>
/// The voucher ledger in one SQLite file: the embedded default's backend. Register one instance
/// per database file, since its write gate is what keeps writers from queueing inside SQLite.
/// </summary>
/// <remarks>
/// Microsoft.Data.Sqlite runs synchronously even behind its async methods, so this class calls
/// the synchronous ones and is asynchronous only where it waits for the write gate.
/// </remarks>
public sealed class SqliteLedger : ILedger, ILedgerDiagnostics, IDisposable
{
    private const int SqliteConstraintUnique = 2067;
    private const int SqliteConstraint = 19;

    private static readonly string VoucherByKey = $"SELECT {VoucherColumns} FROM vouchers WHERE row_key = @key;";

    private static readonly string EventsByKey = $"SELECT {EventColumns} FROM redemption_events WHERE voucher_key = @key ORDER BY sequence;";

    private readonly string _connectionString;

    // SQLite has one writer: ours, a thread that group-commits every write waiting. Left to
    // SQLite's busy handler, writers would back off 1..100 ms each and wreck tail latency.
    private readonly SqliteWriter _writer;
    private readonly SqliteReaders _readers;

    private int _disposed;

    // Voucher transitions not yet answered, by packed key; see DurableFor.
    private readonly WritesInFlight _transitionsInFlight = new();

    public SqliteLedger(string connectionString)
        : this(connectionString, flush: null)
    {
    }

    /// <param name="flush">How the writer puts the WAL on disk (see <see cref="SqliteWriter"/>); tests hold it.</param>
    internal SqliteLedger(string connectionString, Action<FileStream>? flush)
    {
        SqliteProcessSettings.Apply();
        _connectionString = connectionString;
        _writer = new SqliteWriter(OpenWriter, flush);
        _readers = new SqliteReaders(Open);
    }

    public string? Fault => _writer.Fault?.Message;

    public LedgerActivity TakeActivity() => _writer.TakeActivity();

    /// <summary>Stops the writer once its queue is done (its last checkpoint included); safe to call again.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _writer.Dispose();
            _readers.Dispose();
        }
    }

    public Task EnsureSchemaAsync(CancellationToken cancellationToken = default)
    {
        using var connection = Open();

        // WAL lets readers run beside the writer. The mode is stored in the file, and cannot
        // be switched inside a transaction.
        using (var wal = Command(connection, null, "PRAGMA journal_mode = WAL;"))
        {
            wal.ExecuteNonQuery();
        }

        // Immediate: two silos starting on one file migrate one after the other.
        using var transaction = connection.BeginTransaction(deferred: false);
        using (var versionTable = Command(connection, transaction, SqliteLedgerSchema.VersionTable))
        {
            versionTable.ExecuteNonQuery();
        }

        long applied;
        using (var current = Command(connection, transaction, "SELECT COALESCE(MAX(version), 0) FROM schema_version;"))
        {
            applied = (long)current.ExecuteScalar()!;
        }

        foreach (var (version, sql) in SqliteLedgerSchema.Migrations.Where(m => m.Version > applied))
        {
            using var migrate = Command(connection, transaction, sql);
            migrate.ExecuteNonQuery();
            using var record = Command(connection, transaction,
                "INSERT INTO schema_version (version, applied_at) VALUES (@version, @now);",
                ("version", version), ("now", Millis(DateTimeOffset.UtcNow)));
            record.ExecuteNonQuery();
        }

        transaction.Commit();

        return Task.CompletedTask;
    }

    // ---- issuance ----

    public Task<ShardActivation> ActivateShardAsync(string campaignId, int shard) =>
        WriteAsync(transaction =>
        {
            using var next = Command(transaction.Connection!, transaction,
                """
                INSERT INTO shard_epochs (campaign_id, shard, epoch) VALUES (@campaign, @shard, 1)
                ON CONFLICT (campaign_id, shard) DO UPDATE SET epoch = epoch + 1
                RETURNING epoch;
                """,
                ("campaign", campaignId), ("shard", shard));
            var epoch = (long)next.ExecuteScalar()!;
            return new ShardActivation(epoch, CampaignNumber(transaction, campaignId));
        });

    public Task<IReadOnlyList<VoucherRecord>> LoadShardVouchersAsync(int campaignNumber, int shard)
    {
        var (first, last) = VoucherKey.ShardRange(campaignNumber, shard);
        return Durable(ReadAll(
            $"SELECT {VoucherColumns} FROM vouchers WHERE row_key BETWEEN @first AND @last ORDER BY row_key;",
            ReadVoucher, ("first", first), ("last", last)));
    }

    public Task<IReadOnlyList<ShardIssue>> LoadShardIssuesAsync(int campaignNumber, int shard)
    {
        // The first claim after a restart waits for this read of the shard's every row, so it runs
        // on SQLite's statement API directly: through a data reader it took twice as long.
        var (first, last) = VoucherKey.ShardRange(campaignNumber, shard);
        var issues = _readers.Read(reader =>
        {
            var db = reader.Handle;
            SqliteException.ThrowExceptionForRC(raw.sqlite3_prepare_v2(db,
                "SELECT row_key, user_id, channel, request_id, district, issued_day, issued_at FROM vouchers WHERE row_key BETWEEN ?1 AND ?2 ORDER BY row_key;",
                out var statement), db);
            using (statement)
            {
                raw.sqlite3_bind_int64(statement, 1, first);
                raw.sqlite3_bind_int64(statement, 2, last);
                // Channels and districts repeat across a shard's rows: one string each, not one per row.
                var shared = new Dictionary<string, string>(StringComparer.Ordinal);
                string Shared(string value) => shared.TryGetValue(value, out var known) ? known : shared[value] = value;
                var found = new List<ShardIssue>();
                int rc;
                while ((rc = raw.sqlite3_step(statement)) == raw.SQLITE_ROW)
                {
                    found.Add(new ShardIssue(
                        VoucherKey.Unpack(raw.sqlite3_column_int64(statement, 0)).Seq,
                        raw.sqlite3_column_text(statement, 1).utf8_to_string(),
                        Shared(raw.sqlite3_column_text(statement, 2).utf8_to_string()),
                        raw.sqlite3_column_text(statement, 3).utf8_to_string(),
                        Shared(raw.sqlite3_column_text(statement, 4).utf8_to_string()),
                        Day(raw.sqlite3_column_int64(statement, 5)),
                        Time(raw.sqlite3_column_int64(statement, 6))));
                }

                if (rc != raw.SQLITE_DONE)
                {
                    SqliteException.ThrowExceptionForRC(rc, db);
                }

                return found;
            }
        });

        return Durable<IReadOnlyList<ShardIssue>>(issues);
    }

    public Task CommitIssueBatchAsync(IssueBatch batch)
    {
        LedgerArguments.CheckBatch(batch);

        return WriteAsync(transaction =>
        {
            // First, so that a newer activation's epoch, once taken, refuses everything after it.
            Fence(transaction, batch.CampaignId, batch.Shard, batch.Epoch);

            var issuedByPool = new Dictionary<string, long>(StringComparer.Ordinal);
            var insertVoucher = _writer.Statement(transaction, InsertVoucher, VoucherInsertColumns);
            foreach (var voucher in batch.Vouchers)
            {
                try
                {
                    insertVoucher.Execute(transaction, voucher, BindVoucher);
                }
                catch (SqliteException ex) when (ex.SqliteErrorCode == SqliteConstraint)
                {
                    // Only a shard whose books are behind the ledger reuses a seq: it must reload.
                    throw new LedgerConflictException($"voucher key {voucher.Key} of {batch.CampaignId} is taken");
                }

                issuedByPool[voucher.Pool] = issuedByPool.GetValueOrDefault(voucher.Pool) + 1;
            }

            // Σ issued ≤ Σ granted per lease: the database refuses what the grain's memory allowed
            // if that memory was stale. No lease row at all is refused the same way.
            var spendLease = _writer.Statement(transaction,
                """
                UPDATE stock_leases SET issued = issued + @count
                WHERE campaign_id = @campaign AND shard = @shard AND pool = @pool AND issued + @count <= granted;
                """,
                ["count", "campaign", "shard", "pool"]);
            foreach (var (pool, count) in issuedByPool)
            {
                if (spendLease.Execute(transaction, count, batch.CampaignId, batch.Shard, pool) == 0)
                {
                    throw new LedgerConflictException(
                        $"shard {batch.CampaignId}/{batch.Shard} would issue {count} more from pool '{pool}' than its lease grants");
                }
            }

            return true;
        });
    }

    public Task<IReadOnlyList<DeviceClaimCount>> LoadDeviceClaimsAsync(int campaignNumber, int bucket)
    {
        var (first, last) = VoucherKey.CampaignRange(campaignNumber);
        return Durable(ReadAll(
            $"""
            SELECT device_id, COUNT(*), MAX(row_key) FROM vouchers
            WHERE device_bucket = @bucket AND row_key BETWEEN @first AND @last AND device_id IS NOT NULL
            GROUP BY device_id, row_key >> {VoucherKey.SeqBits};
            """,
            row => DeviceClaimCount.Of(row.GetString(0), row.GetInt32(1), row.GetInt64(2)),
            ("bucket", bucket), ("first", first), ("last", last)));
    }

    /// <summary>
    /// Refuses the write unless <paramref name="epoch"/> is still the shard's. A read is enough here:
    /// this runs inside the writer's transaction, which holds SQLite's only write lock until it
    /// commits, so no activation can take a newer epoch in between. (An update, as PostgreSQL
    /// needs for its row lock, would rewrite the epochs' page in every commit: 4 KB of WAL.)
    /// </summary>
    private void Fence(SqliteTransaction transaction, string campaignId, int shard, long epoch)
    {
        var current = _writer.Statement(transaction,
            "SELECT epoch FROM shard_epochs WHERE campaign_id = @campaign AND shard = @shard;",
            ["campaign", "shard"]);
        if (current.Scalar(transaction, campaignId, shard) is not long held || held != epoch)
        {
            throw new LedgerFencedException($"shard {campaignId}/{shard} has an epoch newer than {epoch}: a later activation holds it");
        }
    }

    private static int CampaignNumber(SqliteTransaction transaction, string campaignId)
    {
        using var number = Command(transaction.Connection!, transaction,
            "SELECT number FROM campaign_directory WHERE campaign_id = @campaign;", ("campaign", campaignId));
        return number.ExecuteScalar() is long found
            ? (int)found
            : throw new InvalidOperationException($"campaign '{campaignId}' is not in the campaign directory");
    }

    // ---- leases ----

    public Task<long> ActivateCampaignAsync(string campaignId) =>
        WriteAsync(transaction =>
        {
            using var next = Command(transaction.Connection!, transaction,
                """
                INSERT INTO campaign_epochs (campaign_id, epoch) VALUES (@campaign, 1)
                ON CONFLICT (campaign_id) DO UPDATE SET epoch = epoch + 1
                RETURNING epoch;
                """,
                ("campaign", campaignId));
            return (long)next.ExecuteScalar()!;
        });

    public Task<IReadOnlyList<StockLeaseRecord>> LoadLeasesAsync(string campaignId) =>
        Durable(ReadAll(
            "SELECT shard, pool, granted, issued FROM stock_leases WHERE campaign_id = @campaign ORDER BY shard, pool;",
            row => new StockLeaseRecord(row.GetInt32(0), row.GetString(1), row.GetInt64(2), row.GetInt64(3)),
            ("campaign", campaignId)));

    public Task<bool> GrantLeaseAsync(string campaignId, long campaignEpoch, int shard, string pool, long amount, long poolCapacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(amount);
        return WriteAsync(transaction =>
        {
            using var fence = Command(transaction.Connection!, transaction,
                "UPDATE campaign_epochs SET epoch = epoch WHERE campaign_id = @campaign AND epoch = @epoch;",
                ("campaign", campaignId), ("epoch", campaignEpoch));
            if (fence.ExecuteNonQuery() == 0)
            {
                throw new LedgerFencedException($"campaign {campaignId} has an epoch newer than {campaignEpoch}: a later activation holds it");
            }

            // The capacity check and the addition are one conditional update of the pool's total.
            using (var ensurePool = Command(transaction.Connection!, transaction,
                "INSERT INTO lease_pools (campaign_id, pool, granted) VALUES (@campaign, @pool, 0) ON CONFLICT (campaign_id, pool) DO NOTHING;",
                ("campaign", campaignId), ("pool", pool)))
            {
                ensurePool.ExecuteNonQuery();
            }

            using var total = Command(transaction.Connection!, transaction,
                "UPDATE lease_pools SET granted = granted + @amount WHERE campaign_id = @campaign AND pool = @pool AND granted + @amount <= @capacity;",
                ("campaign", campaignId), ("pool", pool), ("amount", amount), ("capacity", poolCapacity));
            if (total.ExecuteNonQuery() == 0)
            {
                return false;
            }

            using var grant = Command(transaction.Connection!, transaction,
                """
                INSERT INTO stock_leases (campaign_id, shard, pool, granted, issued) VALUES (@campaign, @shard, @pool, @amount, 0)
                ON CONFLICT (campaign_id, shard, pool) DO UPDATE SET granted = granted + excluded.granted;
                """,
                ("campaign", campaignId), ("shard", shard), ("pool", pool), ("amount", amount));
            grant.ExecuteNonQuery();
            return true;
        });
    }

    public Task<long> ReturnLeaseAsync(string campaignId, int shard, long shardEpoch, string pool, long units, long keep)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(units);
        ArgumentOutOfRangeException.ThrowIfNegative(keep);
        return WriteAsync(transaction =>
        {
            // The fence holds the shard's epoch row, so none of its commits runs between the read
            // and the cut; a grant in between only adds, and what is cut was unspent at the read.
            Fence(transaction, campaignId, shard, shardEpoch);
            using var unspent = Command(transaction.Connection!, transaction,
                "SELECT MIN(@units, granted - issued - @keep) FROM stock_leases WHERE campaign_id = @campaign AND shard = @shard AND pool = @pool;",
                ("campaign", campaignId), ("shard", shard), ("pool", pool), ("units", units), ("keep", keep));
            if (unspent.ExecuteScalar() is not long returned || returned <= 0)
            {
                return 0L;
            }

            using var cut = Command(transaction.Connection!, transaction,
                """
                UPDATE stock_leases SET granted = granted - @returned WHERE campaign_id = @campaign AND shard = @shard AND pool = @pool;
                UPDATE lease_pools SET granted = granted - @returned WHERE campaign_id = @campaign AND pool = @pool;
                """,
                ("campaign", campaignId), ("shard", shard), ("pool", pool), ("returned", returned));
            cut.ExecuteNonQuery();
            return returned;
        });
    }

    // ---- vouchers and redemption ----

    public Task<VoucherKey?> FindLegacyCodeAsync(string code) =>
        Durable(ReadAll("SELECT row_key FROM legacy_codes WHERE code = @code;", row => (VoucherKey?)VoucherKey.Unpack(row.GetInt64(0)), ("code", code))
            .SingleOrDefault());

    public Task<VoucherRecord?> GetVoucherAsync(VoucherKey key) =>
        DurableFor(key, ReadAll(VoucherByKey, ReadVoucher, ("key", key.Packed)).SingleOrDefault());

    public Task<IReadOnlyList<VoucherRecord>> GetVouchersAsync(IReadOnlyList<VoucherKey> keys)
    {
        var found = _readers.Read(reader =>
        {
            var vouchers = new List<VoucherRecord>(keys.Count);
            foreach (var key in keys)
            {
                using var row = reader.Command(VoucherByKey, ("key", key.Packed)).ExecuteReader();
                if (row.Read())
                {
                    vouchers.Add(ReadVoucher(row));
                }
            }

            return vouchers;
        });

        return Durable<IReadOnlyList<VoucherRecord>>(found);
    }

    public Task<(VoucherRecord? Voucher, IReadOnlyList<RedemptionEventRecord> Events)> GetVoucherWithEventsAsync(VoucherKey key)
    {
        // This is every redemption's first read. A voucher still at version 1 has never moved
        // (each transition writes version + 1 and its event together), so it has no events to
        // look up: most vouchers at a till are read with one lookup instead of two.
        var (voucher, events) = _readers.Read(reader =>
        {
            VoucherRecord? voucher;
            using (var row = reader.Command(VoucherByKey, ("key", key.Packed)).ExecuteReader())
            {
                voucher = row.Read() ? ReadVoucher(row) : null;
            }

            var events = new List<RedemptionEventRecord>();
            if (voucher is { Version: > 1 })
            {
                using var rows = reader.Command(EventsByKey, ("key", key.Packed)).ExecuteReader();
                while (rows.Read())
                {
                    events.Add(ReadEvent(rows));
                }
            }

            return (voucher, events);
        });

        return DurableFor<(VoucherRecord?, IReadOnlyList<RedemptionEventRecord>)>(key, (voucher, events));
    }

    public Task<bool> TryTransitionAsync(VoucherRecord next, long expectedVersion, RedemptionEventRecord redemptionEvent)
    {
        LedgerArguments.CheckTransition(next, expectedVersion, redemptionEvent);

        return TransitionAsync(next, expectedVersion, redemptionEvent);
    }

    private async Task<bool> TransitionAsync(VoucherRecord next, long expectedVersion, RedemptionEventRecord redemptionEvent)
    {
        // Registered before the write is queued, cleared once it is answered (on disk, or failed).
        var key = next.Key.Packed;
        _transitionsInFlight.Begin(key);
        try
        {
            return await WriteAsync(transaction =>
            {
                // Only the redemption columns move; the rest of a voucher is fixed at issue. The
                // version condition is what stops a duplicate activation spending a voucher twice.
                var moved = _writer.Statement(transaction,
                    """
                    UPDATE vouchers SET status = @status, version = @version, merchant_id = @merchant, order_id = @order,
                        order_amount_cents = @amount, discount_cents = @discount, reserved_until = @reservedUntil, redeemed_at = @redeemedAt
                    WHERE row_key = @key AND version = @expected;
                    """,
                    "status", "version", "merchant", "order", "amount", "discount", "reservedUntil", "redeemedAt", "key", "expected")
                    .Execute(transaction, Text(next.Status), next.Version, next.MerchantId, next.OrderId, next.OrderAmountCents,
                        next.DiscountCents, Millis(next.ReservedUntil), Millis(next.RedeemedAt), key, expectedVersion);
                if (moved == 0)
                {
                    return false;
                }

                try
                {
                    _writer.Statement(transaction,
                        """
                        INSERT INTO redemption_events (type, code, voucher_key, campaign_id, merchant_id, merchant_district, order_id, refund_id,
                            order_amount_cents, discount_cents, occurred_at)
                        VALUES (@type, @code, @key, @campaign, @merchant, @district, @order, @refund, @amount, @discount, @occurredAt);
                        """,
                        "type", "code", "key", "campaign", "merchant", "district", "order", "refund", "amount", "discount", "occurredAt")
                        .Execute(transaction, Text(redemptionEvent.Type), redemptionEvent.Code, key, redemptionEvent.CampaignId,
                            redemptionEvent.MerchantId, redemptionEvent.MerchantDistrict, redemptionEvent.OrderId, redemptionEvent.RefundId,
                            redemptionEvent.OrderAmountCents, redemptionEvent.DiscountCents, Millis(redemptionEvent.OccurredAt));
                }
                catch (SqliteException ex) when (ex.SqliteExtendedErrorCode == SqliteConstraintUnique)
                {
                    // The order was already redeemed (or the refund already made) with this voucher.
                    // Throwing has the writer roll this write back to its savepoint: the row move too.
                    throw new TransitionRefusedException();
                }

                return true;
            });
        }
        catch (TransitionRefusedException)
        {
            return false;
        }
        finally
        {
            _transitionsInFlight.End(key);
        }
    }

    /// <summary>A transition whose event the ledger already holds: nothing of it is written.</summary>
    private sealed class TransitionRefusedException : Exception;

    // ---- reporting ----

    public Task<CampaignTotals> GetCampaignTotalsAsync(string campaignId, DateTimeOffset asOf)
    {
        using var connection = Open();

        // One read transaction: both queries see the same snapshot, so the vouchers and the
        // events they are summed with agree.
        using var snapshot = connection.BeginTransaction(deferred: true);
        var asOfMillis = Millis(asOf);

        var totals = new CampaignTotalsBuilder();

        // Reserved and expired as VoucherRedemption.StatusAt derives them: a lapsed hold is
        // ISSUED again, and past valid_until anything not redeemed is EXPIRED.
        using (var vouchers = Command(connection, snapshot,
            $"""
            SELECT channel, district, COUNT(*), SUM(liability_cents),
                SUM(status = 'RESERVED' AND reserved_until > @asOf AND valid_until > @asOf),
                SUM(status = 'REDEEMED'),
                SUM(status <> 'REDEEMED' AND valid_until <= @asOf)
            FROM vouchers
            WHERE row_key BETWEEN (SELECT number << {VoucherKey.CampaignShift} FROM campaign_directory WHERE campaign_id = @campaign)
                AND (SELECT ((number + 1) << {VoucherKey.CampaignShift}) - 1 FROM campaign_directory WHERE campaign_id = @campaign)
            GROUP BY channel, district;
            """,
            ("campaign", campaignId), ("asOf", asOfMillis)))
        using (var row = vouchers.ExecuteReader())
        {
            while (row.Read())
            {
                totals.AddVouchers(row.GetString(0), row.GetString(1), row.GetInt64(2), row.GetInt64(3), row.GetInt64(4), row.GetInt64(5), row.GetInt64(6));
            }
        }

        using (var events = Command(connection, snapshot,
            """
            SELECT merchant_district,
                SUM(type = 'REDEEMED'), SUM(type = 'REFUNDED'), SUM(discount_cents),
                SUM(CASE type WHEN 'REDEEMED' THEN order_amount_cents ELSE -order_amount_cents END)
            FROM redemption_events WHERE campaign_id = @campaign AND type IN ('REDEEMED', 'REFUNDED')
            GROUP BY merchant_district;
            """,
            ("campaign", campaignId)))
        using (var row = events.ExecuteReader())
        {
            while (row.Read())
            {
                totals.AddEvents(row.GetString(0), row.GetInt64(1), row.GetInt64(2), row.GetInt64(3), row.GetInt64(4));
            }
        }

        return Durable(totals.Build());
    }

    public Task<SettlementTotals> GetSettlementAsync(string merchantId, string? campaignId)
    {
        using var connection = Open();
        using var settlement = Command(connection, null,
            """
            SELECT
                COUNT(*) FILTER (WHERE type = 'REDEEMED'),
                COUNT(*) FILTER (WHERE type = 'REFUNDED'),
                COALESCE(SUM(discount_cents) FILTER (WHERE type = 'REDEEMED'), 0),
                COALESCE(SUM(order_amount_cents) FILTER (WHERE type = 'REDEEMED'), 0),
                COALESCE(-SUM(discount_cents) FILTER (WHERE type = 'REFUNDED'), 0),
                COALESCE(SUM(order_amount_cents) FILTER (WHERE type = 'REFUNDED'), 0)
            FROM redemption_events
            WHERE merchant_id = @merchant AND (@campaign IS NULL OR campaign_id = @campaign) AND type IN ('REDEEMED', 'REFUNDED');
            """,
            ("merchant", merchantId), ("campaign", campaignId));
        using var row = settlement.ExecuteReader();
        row.Read();
        return Durable(new SettlementTotals(
            Redemptions: row.GetInt64(0),
            Refunds: row.GetInt64(1),
            DiscountCents: row.GetInt64(2),
            OrderTotalCents: row.GetInt64(3),
            RefundedDiscountCents: row.GetInt64(4),
            RefundedOrderTotalCents: row.GetInt64(5)));
    }

    public async IAsyncEnumerable<RedemptionEventRecord> ExportRedemptionEventsAsync(
        string campaignId, long afterSequence = 0, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        // Streamed from one statement: a festival's events need not fit in memory, and the
        // statement's snapshot keeps the export consistent while redemptions go on.
        using var connection = Open();
        using var export = Command(connection, null,
            $"""
            SELECT {EventColumns} FROM redemption_events
            WHERE campaign_id = @campaign AND sequence > @after AND type IN ('REDEEMED', 'REFUNDED')
            ORDER BY sequence;
            """,
            ("campaign", campaignId), ("after", afterSequence));
        using var row = await export.ExecuteReaderAsync(cancellationToken);
        var first = true;
        while (await row.ReadAsync(cancellationToken))
        {
            if (first)
            {
                // The first row fixed the read's snapshot: nothing from it leaves before it is on disk.
                await _writer.WhenDurableAsync().WaitAsync(cancellationToken);
                first = false;
            }

            yield return ReadEvent(row);
        }
    }

    // ---- event source ----

    public Task<IReadOnlyList<ShardOfCampaign>> ListShardsAsync() =>
        Durable(ReadAll(
            $"""
            SELECT e.campaign_id, d.number, e.shard,
                COALESCE((SELECT row_key FROM vouchers
                    WHERE row_key BETWEEN (d.number << {VoucherKey.CampaignShift}) | (e.shard << {VoucherKey.SeqBits})
                        AND (d.number << {VoucherKey.CampaignShift}) | (e.shard << {VoucherKey.SeqBits}) | {VoucherKey.MaxSeq}
                    ORDER BY row_key DESC LIMIT 1), 0)
            FROM shard_epochs e JOIN campaign_directory d ON d.campaign_id = e.campaign_id
            ORDER BY d.number, e.shard;
            """,
            row => new ShardOfCampaign(row.GetString(0), row.GetInt32(1), row.GetInt32(2), VoucherKey.Unpack(row.GetInt64(3)).Seq)));

    public Task<IReadOnlyList<VoucherRecord>> ReadShardVouchersAfterAsync(int campaignNumber, int shard, long afterSeq, int limit)
    {
        var (_, last) = VoucherKey.ShardRange(campaignNumber, shard);
        var after = new VoucherKey(campaignNumber, shard, Math.Max(afterSeq, 0) + 1).Packed;
        return Durable(ReadAll(
            $"SELECT {VoucherColumns} FROM vouchers WHERE row_key BETWEEN @after AND @last ORDER BY row_key LIMIT @limit;",
            ReadVoucher, ("after", after), ("last", last), ("limit", limit)));
    }

    // One writer commits in sequence order, so a sequence is a position (transaction 0).
    public Task<IReadOnlyList<FeedRedemption>> ReadRedemptionsAfterAsync(FeedPosition after, int limit) =>
        Durable(ReadAll(
            $"""
            SELECT {EventColumns}, voucher_key FROM redemption_events
            WHERE sequence > @after AND type IN ('REDEEMED', 'REFUNDED') AND voucher_key IS NOT NULL
            ORDER BY sequence LIMIT @limit;
            """,
            row => new FeedRedemption(new FeedPosition(0, row.GetInt64(0)), VoucherKey.Unpack(row.GetInt64(11)), ReadEvent(row)),
            ("after", after.Sequence), ("limit", limit)));

    public Task<FeedPosition> RedemptionsHeadAsync() =>
        Durable(new FeedPosition(0, ReadAll("SELECT COALESCE(MAX(sequence), 0) FROM redemption_events;", row => row.GetInt64(0)).Single()));

    public Task<bool> AppendCampaignEventAsync(CampaignEventRecord campaignEvent) =>
        WriteAsync(transaction =>
        {
            using var append = Command(transaction.Connection!, transaction,
                """
                INSERT INTO campaign_events (campaign_id, type, occurrence, occurred_at) VALUES (@campaign, @type, @occurrence, @at)
                ON CONFLICT (campaign_id, type, occurrence) DO NOTHING;
                """,
                ("campaign", campaignEvent.CampaignId), ("type", Text(campaignEvent.Type)), ("occurrence", campaignEvent.Occurrence),
                ("at", Millis(campaignEvent.OccurredAt)));
            return append.ExecuteNonQuery() == 1;
        });

    public Task<IReadOnlyList<FeedCampaignEvent>> ReadCampaignEventsAfterAsync(FeedPosition after, int limit) =>
        Durable(ReadAll(
            "SELECT sequence, campaign_id, type, occurrence, occurred_at FROM campaign_events WHERE sequence > @after ORDER BY sequence LIMIT @limit;",
            row => new FeedCampaignEvent(new FeedPosition(0, row.GetInt64(0)), new CampaignEventRecord
            {
                Sequence = row.GetInt64(0),
                CampaignId = row.GetString(1),
                Type = CampaignEventTypeFrom(row.GetString(2)),
                Occurrence = row.GetString(3),
                OccurredAt = Time(row.GetInt64(4)),
            }),
            ("after", after.Sequence), ("limit", limit)));

    public Task<FeedPosition> CampaignEventsHeadAsync() =>
        Durable(new FeedPosition(0, ReadAll("SELECT COALESCE(MAX(sequence), 0) FROM campaign_events;", row => row.GetInt64(0)).Single()));

    // ---- directory and secrets ----

    public Task<int> RegisterCampaignAsync(string campaignId, DateTimeOffset createdAt) =>
        WriteAsync(transaction =>
        {
            using var register = Command(transaction.Connection!, transaction,
                "INSERT INTO campaign_directory (campaign_id, created_at) VALUES (@campaign, @createdAt) ON CONFLICT (campaign_id) DO NOTHING;",
                ("campaign", campaignId), ("createdAt", Millis(createdAt)));
            register.ExecuteNonQuery();
            var number = CampaignNumber(transaction, campaignId);
            return number <= VoucherKey.MaxCampaignNumber
                ? number
                : throw new InvalidOperationException($"the campaign directory is full ({VoucherKey.MaxCampaignNumber} campaigns)");
        });

    public Task<int?> FindCampaignNumberAsync(string campaignId) =>
        Durable(ReadAll("SELECT number FROM campaign_directory WHERE campaign_id = @campaign;", row => (int?)row.GetInt32(0), ("campaign", campaignId))
            .SingleOrDefault());

    public Task<IReadOnlyList<string>> ListCampaignIdsAsync(string? after, int limit)
    {
        if (limit <= 0)
        {
            return Task.FromResult<IReadOnlyList<string>>([]);
        }

        // Keyset paging on (created_at, campaign_id): stable while campaigns are being created.
        // An unknown `after` matches nothing (the row comparison with NULL is never true).
        return Durable(ReadAll(
            """
            SELECT campaign_id FROM campaign_directory
            WHERE @after IS NULL
                OR (created_at, campaign_id) < (SELECT created_at, campaign_id FROM campaign_directory WHERE campaign_id = @after)
            ORDER BY created_at DESC, campaign_id DESC
            LIMIT @limit;
            """,
            row => row.GetString(0), ("after", after), ("limit", limit)));
    }

    public Task<byte[]> GetOrCreateSecretAsync(string name, byte[] candidate) =>
        WriteAsync(transaction =>
        {
            // The first silo to ask stores its candidate; every later caller gets that one.
            using var store = Command(transaction.Connection!, transaction,
                "INSERT OR IGNORE INTO secrets (name, value) VALUES (@name, @value);", ("name", name), ("value", candidate));
            store.ExecuteNonQuery();
            using var stored = Command(transaction.Connection!, transaction, "SELECT value FROM secrets WHERE name = @name;", ("name", name));
            var secret = (byte[])stored.ExecuteScalar()!;
            return secret;
        });

    // ---- plumbing ----

    /// <summary>
    /// Runs <paramref name="work"/> in the writer's group transaction (see <see cref="SqliteWriter"/>):
    /// durable when the task completes; a guard that throws leaves nothing written.
    /// </summary>
    private Task<T> WriteAsync<T>(Func<SqliteTransaction, T> work) => _writer.WriteAsync(work);

    /// <summary>
    /// A read of one voucher, handed over once any transition of it that the read could have seen
    /// is on disk. Narrower than <see cref="Durable{T}"/>, which waits for every commit: this is
    /// every redemption's first read, and under load some commit is nearly always being synced.
    /// A voucher's code reaches no caller before its issue is on disk, so only transitions count.
    /// </summary>
    private Task<T> DurableFor<T>(VoucherKey key, T result) =>
        _transitionsInFlight.Answered(key.Packed) is { } inFlight ? After(inFlight, result) : Unfenced(result);

    /// <summary>
    /// The result, unless a WAL flush has failed: the read may then have seen commits that never
    /// reached the disk, and the ledger answers nothing more until the silo restarts.
    /// </summary>
    private Task<T> Unfenced<T>(T result) =>
        _writer.Fault is { } fault ? Task.FromException<T>(fault) : Task.FromResult(result);

    /// <summary>The result once <paramref name="wait"/> is over, if the ledger is still well by then.</summary>
    private async Task<T> After<T>(Task wait, T result)
    {
        await wait;
        return await Unfenced(result);
    }

    /// <summary>
    /// A read's result, handed over once every commit the read could have seen is on disk (see
    /// <see cref="SqliteWriter.WhenDurableAsync"/>); at once when nothing is waiting for a sync.
    /// </summary>
    private Task<T> Durable<T>(T result)
    {
        var durable = _writer.WhenDurableAsync();
        return durable.IsCompletedSuccessfully ? Task.FromResult(result) : After(durable, result);
    }

    private SqliteConnection Open()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        return connection;
    }

    private SqliteConnection OpenWriter()
    {
        var connection = Open();

        // FULL syncs the WAL at every commit: an acknowledged voucher survives power loss, which
        // NORMAL alone does not promise. The writer turns its own connection to NORMAL and syncs
        // the WAL itself before answering (see SqliteWriter); the checkpointer keeps FULL.
        // The page cache (16 MiB, eight times SQLite's default) keeps the indexes' upper levels in
        // memory, and no more: when a B-tree page splits, SQLite renumbers pages through the
        // lock-byte page's number (page 262,145), and the commit after it then walks the cache's
        // whole hash table. With 64 MiB that walk was a quarter of the writer's time at checkout;
        // at 16 MiB, redemptions ran 12% and batches 8% faster (loadtests/README.md).
        using var pragmas = Command(connection, null, "PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000; PRAGMA cache_size = -16384;");
        pragmas.ExecuteNonQuery();
        return connection;
    }

    private IReadOnlyList<T> ReadAll<T>(string sql, Func<SqliteDataReader, T> read, params (string Name, object? Value)[] parameters) =>
        _readers.Read(reader =>
        {
            using var row = reader.Command(sql, parameters).ExecuteReader();
            var results = new List<T>();
            while (row.Read())
            {
                results.Add(read(row));
            }

            return results;
        });

    private static SqliteCommand Command(
        SqliteConnection connection, SqliteTransaction? transaction, string sql, params (string Name, object? Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        SetParameters(command, parameters);

        return command;
    }
}
