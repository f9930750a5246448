namespace Campaigns.Storage.Postgres;

/// <summary>
/// The PostgreSQL ledger's tables, as numbered migrations, in the layout of the SQLite ledger's
/// migration 4. <c>schema_version</c> records every migration applied; a later build appends a
/// migration here and never edits an applied one.
/// </summary>
internal static class PostgresLedgerSchema
{
    /// <summary>
    /// The advisory lock every silo takes (for the migration's transaction) before it reads the
    /// schema version: silos starting together migrate one after the other.
    /// </summary>
    public const long MigrationLock = 0x43616D706169676E; // "Campaign"

    /// <summary>Creates the version table itself; safe to run on any database.</summary>
    public const string VersionTable =
        "CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL PRIMARY KEY, applied_at timestamptz NOT NULL);";

    /// <summary>The arrays of a batch's voucher columns, the last of the issue functions' parameters (migrations 6, 7 and 9 to 11).</summary>
    private const string VoucherColumnArrays = """
        p_keys bigint[], p_codes text[], p_campaigns text[], p_users text[], p_channels text[], p_requests text[],
        p_districts text[], p_statuses text[], p_versions bigint[], p_kinds text[], p_face_values bigint[],
        p_min_spends bigint[], p_percents integer[], p_folds integer[], p_max_discounts bigint[],
        p_valid_from timestamptz[], p_valid_until timestamptz[], p_issued_at timestamptz[], p_issued_days date[],
        p_voucher_pools text[], p_merchants text[], p_orders text[], p_order_amounts bigint[], p_discounts bigint[],
        p_reserved_until timestamptz[], p_redeemed_at timestamptz[], p_liabilities bigint[],
        p_device_ids text[], p_device_buckets integer[])
    """;

    /// <summary>The columns an issue batch writes, in the order of <see cref="VoucherColumnArrays"/> (continued lines indented for the INSERTs below).</summary>
    private const string VoucherColumns = """
        row_key, code, campaign_id, user_id, channel, request_id, district, status, version,
                kind, face_value_cents, min_spend_cents, percent_off, fold, max_discount_cents,
                valid_from, valid_until, issued_at, issued_day, pool,
                merchant_id, order_id, order_amount_cents, discount_cents, reserved_until, redeemed_at, liability_cents,
                device_id, device_bucket
        """;

    /// <summary>One batch's rows, from those arrays (migration 6).</summary>
    private const string InsertVouchers = $$"""
            INSERT INTO vouchers ({{VoucherColumns}})
            SELECT * FROM unnest(p_keys, p_codes, p_campaigns, p_users, p_channels, p_requests, p_districts, p_statuses,
                p_versions, p_kinds, p_face_values, p_min_spends, p_percents, p_folds, p_max_discounts, p_valid_from,
                p_valid_until, p_issued_at, p_issued_days, p_voucher_pools, p_merchants, p_orders, p_order_amounts,
                p_discounts, p_reserved_until, p_redeemed_at, p_liabilities, p_device_ids, p_device_buckets);
        """;

    /// <summary>The rows of every batch that passed its guards, from those arrays (migrations 7 and 9).</summary>
    private const string InsertBatchedVouchers = $$"""
            INSERT INTO vouchers ({{VoucherColumns}})
            SELECT {{VoucherColumns}}
            FROM unnest(p_keys, p_codes, p_campaigns, p_users, p_channels, p_requests, p_districts, p_statuses,
                p_versions, p_kinds, p_face_values, p_min_spends, p_percents, p_folds, p_max_discounts, p_valid_from,
                p_valid_until, p_issued_at, p_issued_days, p_voucher_pools, p_merchants, p_orders, p_order_amounts,
                p_discounts, p_reserved_until, p_redeemed_at, p_liabilities, p_device_ids, p_device_buckets, p_batch_of)
                AS v(row_key, code, campaign_id, user_id, channel, request_id, district, status, version,
                    kind, face_value_cents, min_spend_cents, percent_off, fold, max_discount_cents,
                    valid_from, valid_until, issued_at, issued_day, pool,
                    merchant_id, order_id, order_amount_cents, discount_cents, reserved_until, redeemed_at, liability_cents,
                    device_id, device_bucket, batch)
            WHERE NOT (v.batch = ANY (refused));
        """;

    /// <summary>
    /// Every array unnested in a select list (migration 10): they run in lockstep, one row at a
    /// time, where <c>FROM unnest(...)</c> first copies each array into a tuplestore of its own.
    /// </summary>
    private const string UnnestedInLockstep = """
                unnest(p_keys) AS row_key, unnest(p_codes) AS code, unnest(p_campaigns) AS campaign_id,
                unnest(p_users) AS user_id, unnest(p_channels) AS channel, unnest(p_requests) AS request_id,
                unnest(p_districts) AS district, unnest(p_statuses) AS status, unnest(p_versions) AS version,
                unnest(p_kinds) AS kind, unnest(p_face_values) AS face_value_cents,
                unnest(p_min_spends) AS min_spend_cents, unnest(p_percents) AS percent_off, unnest(p_folds) AS fold,
                unnest(p_max_discounts) AS max_discount_cents, unnest(p_valid_from) AS valid_from,
                unnest(p_valid_until) AS valid_until, unnest(p_issued_at) AS issued_at,
                unnest(p_issued_days) AS issued_day, unnest(p_voucher_pools) AS pool, unnest(p_merchants) AS merchant_id,
                unnest(p_orders) AS order_id, unnest(p_order_amounts) AS order_amount_cents,
                unnest(p_discounts) AS discount_cents, unnest(p_reserved_until) AS reserved_until,
                unnest(p_redeemed_at) AS redeemed_at, unnest(p_liabilities) AS liability_cents,
                unnest(p_device_ids) AS device_id, unnest(p_device_buckets) AS device_bucket
        """;

    /// <summary><see cref="InsertVouchers"/>, the arrays unnested in lockstep (migration 10).</summary>
    private const string InsertVouchersInLockstep = $$"""
            INSERT INTO vouchers ({{VoucherColumns}})
            SELECT
        {{UnnestedInLockstep}};
        """;

    /// <summary><see cref="InsertBatchedVouchers"/>, the arrays unnested in lockstep (migration 10).</summary>
    private const string InsertBatchedVouchersInLockstep = $$"""
            INSERT INTO vouchers ({{VoucherColumns}})
            SELECT {{VoucherColumns}}
            FROM (SELECT
        {{UnnestedInLockstep}},
                unnest(p_batch_of) AS batch) AS v
            WHERE NOT (v.batch = ANY (refused));
        """;

    /// <summary>commit_issue_batch's fence (migrations 2 and 6): the shard's epoch row rewritten, so locked until the commit, or CL001.</summary>
    private const string FenceShardEpoch = """
            UPDATE shard_epochs SET epoch = epoch WHERE campaign_id = p_campaign AND shard = p_shard AND epoch = p_epoch;
            IF NOT FOUND THEN
                RAISE EXCEPTION 'shard %/% has an epoch newer than %', p_campaign, p_shard, p_epoch USING ERRCODE = 'CL001';
            END IF;
        """;

    /// <summary>commit_issue_batch's leases (migrations 2 and 6): each pool's charged in turn, or CL002 aborts it all.</summary>
    private const string SpendLeasesInTurn = """
            FOR i IN 1 .. coalesce(array_length(p_pools, 1), 0) LOOP
                UPDATE stock_leases SET issued = issued + p_counts[i]
                WHERE campaign_id = p_campaign AND shard = p_shard AND pool = p_pools[i] AND issued + p_counts[i] <= granted;
                IF NOT FOUND THEN
                    RAISE EXCEPTION 'shard %/% would issue % more from pool ''%'' than its lease grants', p_campaign, p_shard, p_counts[i], p_pools[i]
                        USING ERRCODE = 'CL002';
                END IF;
            END LOOP;
        """;

    /// <summary>commit_issue_batch with the devices as migration 6 made it, writing its rows with <paramref name="insert"/>.</summary>
    private static string CommitIssueBatch(string create, string insert) => $$"""
            {{create}} commit_issue_batch(
                p_campaign text, p_shard integer, p_epoch bigint, p_pools text[], p_counts bigint[],
            {{VoucherColumnArrays}}
            RETURNS void LANGUAGE plpgsql AS $$
            BEGIN
            {{FenceShardEpoch}}

            {{insert}}

            {{SpendLeasesInTurn}}
            END
            $$;
            """;

    /// <summary>A batch's leases in commit_issue_batches (migration 9): each checked and locked, then all spent, or the batch refused.</summary>
    private const string CheckThenSpendLeases = """
                    -- Σ issued ≤ Σ granted per lease; no lease row at all is refused the same way.
                    FOR i IN entry .. past - 1 LOOP
                        EXIT WHEN outcomes[b] <> '';
                        PERFORM 1 FROM stock_leases
                        WHERE campaign_id = p_batch_campaigns[b] AND shard = p_shards[b] AND pool = p_pools[i] AND issued + p_counts[i] <= granted
                        FOR UPDATE;
                        IF NOT FOUND THEN
                            outcomes[b] := format('CL002 shard %s/%s would issue %s more from pool ''%s'' than its lease grants',
                                p_batch_campaigns[b], p_shards[b], p_counts[i], p_pools[i]);
                        END IF;
                    END LOOP;

                    IF outcomes[b] = '' THEN
                        FOR i IN entry .. past - 1 LOOP
                            UPDATE stock_leases SET issued = issued + p_counts[i]
                            WHERE campaign_id = p_batch_campaigns[b] AND shard = p_shards[b] AND pool = p_pools[i];
                        END LOOP;
                    ELSE
                        refused := refused || b;
                    END IF;
            """;

    /// <summary>
    /// A batch of one lease, the usual case (migration 11): one conditional UPDATE checks and spends
    /// it, so a refusal has spent nothing; batches of several go on to <see cref="CheckThenSpendLeases"/>.
    /// </summary>
    private const string SpendASingleLease = $$"""
                    IF outcomes[b] = '' AND past - entry = 1 THEN
                        UPDATE stock_leases SET issued = issued + p_counts[entry]
                        WHERE campaign_id = p_batch_campaigns[b] AND shard = p_shards[b] AND pool = p_pools[entry] AND issued + p_counts[entry] <= granted;
                        IF NOT FOUND THEN
                            outcomes[b] := format('CL002 shard %s/%s would issue %s more from pool ''%s'' than its lease grants',
                                p_batch_campaigns[b], p_shards[b], p_counts[entry], p_pools[entry]);
                            refused := refused || b;
                        END IF;

                        entry := past;
                        CONTINUE;
                    END IF;

            {{CheckThenSpendLeases}}
            """;

    /// <summary>commit_issue_batches as migration 9 made it, writing its rows with <paramref name="insert"/> and charging each batch's leases with <paramref name="leases"/>.</summary>
    private static string CommitIssueBatches(string insert, string leases = CheckThenSpendLeases) => $$"""
            CREATE OR REPLACE FUNCTION commit_issue_batches(
                p_batch_campaigns text[], p_shards integer[], p_epochs bigint[],
                p_pool_batches integer[], p_pools text[], p_counts bigint[], p_batch_of integer[],
            {{VoucherColumnArrays}}
            RETURNS text[] LANGUAGE plpgsql AS $$
            DECLARE
                batches integer := coalesce(array_length(p_shards, 1), 0);
                leases integer := coalesce(array_length(p_pool_batches, 1), 0);
                outcomes text[] := array_fill(''::text, ARRAY[batches]);
                refused integer[] := '{}';
                entry integer := 1;
                past integer;
            BEGIN
                FOR b IN 1 .. batches LOOP
                    -- The batch's leases are entries entry .. past - 1.
                    past := entry;
                    WHILE past <= leases AND p_pool_batches[past] = b LOOP
                        past := past + 1;
                    END LOOP;

                    PERFORM 1 FROM shard_epochs
                    WHERE campaign_id = p_batch_campaigns[b] AND shard = p_shards[b] AND epoch = p_epochs[b] FOR SHARE;
                    IF NOT FOUND THEN
                        outcomes[b] := format('CL001 shard %s/%s has an epoch newer than %s', p_batch_campaigns[b], p_shards[b], p_epochs[b]);
                    END IF;

            {{leases}}

                    entry := past;
                END LOOP;

            {{insert}}
                RETURN outcomes;
            END
            $$;
            """;

    public static readonly IReadOnlyList<(int Version, string Sql)> Migrations =
    [
        (1, """
            -- A campaign's number keys its vouchers' rows (VoucherKey: 24 bits of it).
            CREATE TABLE campaign_directory (
                number      integer     GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                campaign_id text        NOT NULL UNIQUE,
                created_at  timestamptz NOT NULL
            );
            CREATE INDEX ix_campaign_directory_created ON campaign_directory (created_at, campaign_id);

            -- Append-ordered: a voucher's row is keyed by VoucherKey.Packed (number << 39 | shard << 32 | seq),
            -- so a shard's commit appends at the end of its own range. No other index on the table:
            -- idempotency and per-user limits are kept by each shard, the only writer of its users,
            -- behind its epoch. Fill factor 90: a transition rewrites its row in the same page (a
            -- HOT update, since no indexed column moves) instead of into another one.
            CREATE TABLE vouchers (
                row_key            bigint      NOT NULL PRIMARY KEY,
                code               text        NOT NULL,
                campaign_id        text        NOT NULL,
                user_id            text        NOT NULL,
                channel            text        NOT NULL,
                request_id         text        NOT NULL,
                district           text        NOT NULL,
                status             text        NOT NULL CHECK (status IN ('ISSUED', 'RESERVED', 'REDEEMED')),
                version            bigint      NOT NULL,
                kind               text        NOT NULL,
                face_value_cents   bigint      NOT NULL,
                min_spend_cents    bigint      NOT NULL,
                percent_off        integer     NOT NULL,
                fold               integer     NOT NULL,
                max_discount_cents bigint      NOT NULL,
                liability_cents    bigint      NOT NULL,
                valid_from         timestamptz NOT NULL,
                valid_until        timestamptz NOT NULL,
                issued_at          timestamptz NOT NULL,
                issued_day         date        NOT NULL,
                pool               text        NOT NULL,
                merchant_id        text,
                order_id           text,
                order_amount_cents bigint      NOT NULL DEFAULT 0,
                discount_cents     bigint      NOT NULL DEFAULT 0,
                reserved_until     timestamptz,
                redeemed_at        timestamptz
            ) WITH (fillfactor = 90);

            -- Codes issued before keyed rows (an embedded ledger imported later); nothing adds to it.
            CREATE TABLE legacy_codes (
                code    text   NOT NULL PRIMARY KEY,
                row_key bigint NOT NULL
            );

            CREATE TABLE redemption_events (
                sequence           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                type               text        NOT NULL CHECK (type IN ('RESERVED', 'CANCELLED', 'REDEEMED', 'REFUNDED')),
                code               text        NOT NULL,
                campaign_id        text        NOT NULL,
                merchant_id        text        NOT NULL,
                merchant_district  text        NOT NULL,
                order_id           text        NOT NULL,
                refund_id          text,
                order_amount_cents bigint      NOT NULL,
                discount_cents     bigint      NOT NULL,
                occurred_at        timestamptz NOT NULL
            );
            -- One voucher pays for one order once, and one refund reverses it once.
            CREATE UNIQUE INDEX ux_redemption_events_redeemed ON redemption_events (code, order_id) WHERE type = 'REDEEMED';
            CREATE UNIQUE INDEX ux_redemption_events_refunded ON redemption_events (code, refund_id) WHERE type = 'REFUNDED';
            CREATE INDEX ix_redemption_events_code ON redemption_events (code);
            CREATE INDEX ix_redemption_events_campaign ON redemption_events (campaign_id, sequence);
            CREATE INDEX ix_redemption_events_merchant ON redemption_events (merchant_id);

            -- The stock invariant, kept by the database as well as by the grains.
            CREATE TABLE stock_leases (
                campaign_id text    NOT NULL,
                shard       integer NOT NULL,
                pool        text    NOT NULL,
                granted     bigint  NOT NULL,
                issued      bigint  NOT NULL,
                PRIMARY KEY (campaign_id, shard, pool),
                CHECK (issued >= 0 AND issued <= granted)
            );

            -- What each pool has granted over all shards: a grant is one conditional update of this row.
            CREATE TABLE lease_pools (
                campaign_id text   NOT NULL,
                pool        text   NOT NULL,
                granted     bigint NOT NULL CHECK (granted >= 0),
                PRIMARY KEY (campaign_id, pool)
            );

            -- Fences: each activation of a shard or campaign takes the next epoch, and every write it
            -- makes updates its epoch row first, on the condition that the epoch is still its own.
            CREATE TABLE shard_epochs (
                campaign_id text    NOT NULL,
                shard       integer NOT NULL,
                epoch       bigint  NOT NULL,
                PRIMARY KEY (campaign_id, shard)
            );
            CREATE TABLE campaign_epochs (
                campaign_id text   NOT NULL PRIMARY KEY,
                epoch       bigint NOT NULL
            );

            CREATE TABLE secrets (
                name  text  NOT NULL PRIMARY KEY,
                value bytea NOT NULL
            );
            """),
        (2, $$"""
            -- A shard's batch in one statement, so in one round trip with its commit: the fence first
            -- (the epoch row stays locked to the commit, so a newer activation waits for this batch
            -- and then sees it), then the rows, then each pool's lease; any refusal aborts it all.
            CREATE FUNCTION commit_issue_batch(
                p_campaign text, p_shard integer, p_epoch bigint, p_pools text[], p_counts bigint[],
                p_keys bigint[], p_codes text[], p_campaigns text[], p_users text[], p_channels text[], p_requests text[],
                p_districts text[], p_statuses text[], p_versions bigint[], p_kinds text[], p_face_values bigint[],
                p_min_spends bigint[], p_percents integer[], p_folds integer[], p_max_discounts bigint[],
                p_valid_from timestamptz[], p_valid_until timestamptz[], p_issued_at timestamptz[], p_issued_days date[],
                p_voucher_pools text[], p_merchants text[], p_orders text[], p_order_amounts bigint[], p_discounts bigint[],
                p_reserved_until timestamptz[], p_redeemed_at timestamptz[], p_liabilities bigint[])
            RETURNS void LANGUAGE plpgsql AS $$
            BEGIN
            {{FenceShardEpoch}}

                INSERT INTO vouchers (row_key, code, campaign_id, user_id, channel, request_id, district, status, version,
                    kind, face_value_cents, min_spend_cents, percent_off, fold, max_discount_cents,
                    valid_from, valid_until, issued_at, issued_day, pool,
                    merchant_id, order_id, order_amount_cents, discount_cents, reserved_until, redeemed_at, liability_cents)
                SELECT * FROM unnest(p_keys, p_codes, p_campaigns, p_users, p_channels, p_requests, p_districts, p_statuses,
                    p_versions, p_kinds, p_face_values, p_min_spends, p_percents, p_folds, p_max_discounts, p_valid_from,
                    p_valid_until, p_issued_at, p_issued_days, p_voucher_pools, p_merchants, p_orders, p_order_amounts,
                    p_discounts, p_reserved_until, p_redeemed_at, p_liabilities);

                -- Σ issued ≤ Σ granted per lease; no lease row at all is refused the same way.
            {{SpendLeasesInTurn}}
            END
            $$;
            """),
        (3, """
            -- Redemption events find their voucher by its row key, not its code: keyed codes look
            -- random, so indexes on the code put each redemption at a random page of two indexes,
            -- while row keys follow issue order and are a fraction of the size.
            ALTER TABLE redemption_events ADD COLUMN voucher_key bigint;
            UPDATE redemption_events e SET voucher_key = v.row_key FROM vouchers v WHERE v.code = e.code;
            DROP INDEX ux_redemption_events_redeemed;
            DROP INDEX ux_redemption_events_refunded;
            DROP INDEX ix_redemption_events_code;
            CREATE UNIQUE INDEX ux_redemption_events_redeemed ON redemption_events (voucher_key, order_id) WHERE type = 'REDEEMED';
            CREATE UNIQUE INDEX ux_redemption_events_refunded ON redemption_events (voucher_key, refund_id) WHERE type = 'REFUNDED';
            CREATE INDEX ix_redemption_events_voucher ON redemption_events (voucher_key, sequence);
            """),
        // Orleans grain state, for the ADO.NET provider: in the same database, created under the same lock.
        (4, PostgresGrainStateSchema.Migration),
        (5, """
            -- Event callbacks tail redemption and campaign events by (transaction id, sequence): a
            -- sequence is taken before its transaction commits, so sequence order alone could pass
            -- over an event still being written. A read takes only rows of transactions older than
            -- every one still running (pg_snapshot_xmin), so nothing can appear behind a cursor.
            ALTER TABLE redemption_events ADD COLUMN tx bigint NOT NULL DEFAULT (pg_current_xact_id()::text::bigint);
            CREATE INDEX ix_redemption_events_tx ON redemption_events (tx, sequence);

            CREATE TABLE campaign_events (
                sequence    bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                tx          bigint      NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
                campaign_id text        NOT NULL,
                type        text        NOT NULL CHECK (type IN ('SOLD_OUT', 'ENDED')),
                occurrence  text        NOT NULL,
                occurred_at timestamptz NOT NULL,
                UNIQUE (campaign_id, type, occurrence)
            );
            CREATE INDEX ix_campaign_events_tx ON campaign_events (tx, sequence);
            """),
        (6, $$"""
            -- A campaign's limit per device: the claim's device and its bucket, on vouchers of campaigns
            -- that have the limit (NULL elsewhere, and on every row written before). The index is
            -- partial, so other campaigns never write it, and ordered by bucket then row key, so a
            -- commit appends at the end of its (bucket, campaign, shard) range. Neither column moves
            -- after issue, so transitions stay HOT updates.
            ALTER TABLE vouchers ADD COLUMN device_id text, ADD COLUMN device_bucket integer;
            CREATE INDEX ix_vouchers_device ON vouchers (device_bucket, row_key) WHERE device_id IS NOT NULL;

            -- Migration 2's batch with the devices: an overload, so a silo of the build before keeps
            -- calling its own while silos are upgraded one by one.
            {{CommitIssueBatch("CREATE FUNCTION", InsertVouchers)}}
            """),
        (7, $$"""
            -- A silo's shards commit together: the batches waiting for the ledger go in one
            -- transaction. Each batch's guards (its epoch, its leases) run in a subtransaction of
            -- their own, so a fenced or overdrawn shard refuses its batch alone; then one INSERT
            -- writes the rows of every batch that passed. Answers per batch '' or the SQLSTATE and
            -- message that refused it. Batches come sorted by (campaign, shard): one lock order.
            -- A key written before fails the whole statement (only a shard whose books are behind
            -- the ledger would do that); the caller then commits the batches one by one.
            CREATE FUNCTION commit_issue_batches(
                p_batch_campaigns text[], p_shards integer[], p_epochs bigint[],
                p_pool_batches integer[], p_pools text[], p_counts bigint[], p_batch_of integer[],
            {{VoucherColumnArrays}}
            RETURNS text[] LANGUAGE plpgsql AS $$
            DECLARE
                batches integer := coalesce(array_length(p_shards, 1), 0);
                leases integer := coalesce(array_length(p_pool_batches, 1), 0);
                outcomes text[] := array_fill(''::text, ARRAY[batches]);
                refused integer[] := '{}';
                i integer := 1;
            BEGIN
                FOR b IN 1 .. batches LOOP
                    BEGIN
                        UPDATE shard_epochs SET epoch = epoch WHERE campaign_id = p_batch_campaigns[b] AND shard = p_shards[b] AND epoch = p_epochs[b];
                        IF NOT FOUND THEN
                            RAISE EXCEPTION 'shard %/% has an epoch newer than %', p_batch_campaigns[b], p_shards[b], p_epochs[b] USING ERRCODE = 'CL001';
                        END IF;

                        -- Σ issued ≤ Σ granted per lease; no lease row at all is refused the same way.
                        WHILE i <= leases AND p_pool_batches[i] = b LOOP
                            UPDATE stock_leases SET issued = issued + p_counts[i]
                            WHERE campaign_id = p_batch_campaigns[b] AND shard = p_shards[b] AND pool = p_pools[i] AND issued + p_counts[i] <= granted;
                            IF NOT FOUND THEN
                                RAISE EXCEPTION 'shard %/% would issue % more from pool ''%'' than its lease grants',
                                    p_batch_campaigns[b], p_shards[b], p_counts[i], p_pools[i] USING ERRCODE = 'CL002';
                            END IF;
                            i := i + 1;
                        END LOOP;
                    EXCEPTION WHEN SQLSTATE 'CL001' OR SQLSTATE 'CL002' THEN
                        outcomes[b] := SQLSTATE || ' ' || SQLERRM;
                        refused := refused || b;
                    END;

                    WHILE i <= leases AND p_pool_batches[i] = b LOOP
                        i := i + 1;
                    END LOOP;
                END LOOP;

            {{InsertBatchedVouchers}}
                RETURN outcomes;
            END
            $$;
            """),
        (8, """
            -- The voucher transitions of a silo that wait together go in one transaction: each
            -- moves its row only if the version is still the one read and inserts its event, in a
            -- subtransaction of its own, so a taken (voucher, order) or (voucher, refund) key
            -- undoes that transition alone. Answers per transition whether it moved. Transitions
            -- come sorted by row key: one lock order.
            CREATE FUNCTION move_vouchers(
                p_keys bigint[], p_expected bigint[], p_statuses text[], p_versions bigint[], p_merchants text[], p_orders text[],
                p_order_amounts bigint[], p_discounts bigint[], p_reserved_until timestamptz[], p_redeemed_at timestamptz[],
                p_types text[], p_campaigns text[], p_event_merchants text[], p_districts text[], p_event_orders text[],
                p_refunds text[], p_event_amounts bigint[], p_event_discounts bigint[], p_occurred_at timestamptz[])
            RETURNS boolean[] LANGUAGE plpgsql AS $$
            DECLARE
                moved boolean[] := '{}';
                moved_code text;
            BEGIN
                FOR i IN 1 .. coalesce(array_length(p_keys, 1), 0) LOOP
                    BEGIN
                        UPDATE vouchers SET status = p_statuses[i], version = p_versions[i], merchant_id = p_merchants[i],
                            order_id = p_orders[i], order_amount_cents = p_order_amounts[i], discount_cents = p_discounts[i],
                            reserved_until = p_reserved_until[i], redeemed_at = p_redeemed_at[i]
                        WHERE row_key = p_keys[i] AND version = p_expected[i]
                        RETURNING code INTO moved_code;
                        IF FOUND THEN
                            INSERT INTO redemption_events (type, code, voucher_key, campaign_id, merchant_id, merchant_district, order_id,
                                refund_id, order_amount_cents, discount_cents, occurred_at)
                            VALUES (p_types[i], moved_code, p_keys[i], p_campaigns[i], p_event_merchants[i], p_districts[i], p_event_orders[i],
                                p_refunds[i], p_event_amounts[i], p_event_discounts[i], p_occurred_at[i]);
                        END IF;
                        moved := moved || FOUND;
                    EXCEPTION WHEN unique_violation THEN
                        moved := moved || false;
                    END;
                END LOOP;
                RETURN moved;
            END
            $$;
            """),
        (9, $$"""
            -- commit_issue_batches without a subtransaction per batch: each batch's epoch is
            -- locked (FOR SHARE, which an activation's epoch update waits for, instead of a row
            -- rewrite) and each of its leases checked and locked before any is spent, so a
            -- refused batch has written nothing and needs nothing undone. Same arguments, same
            -- answers. Subtransactions cost time, and past 64 in one transaction (a silo of many
            -- shards) they slow every other session's snapshot checks.
            {{CommitIssueBatches(InsertBatchedVouchers)}}
            """),
        (10, $$"""
            -- commit_issue_batch (with the devices) and commit_issue_batches with their rows unnested
            -- in the select list, in lockstep, instead of in FROM, where each array is first copied
            -- into a tuplestore of its own. Same arguments, same answers, less work per row.
            {{CommitIssueBatch("CREATE OR REPLACE FUNCTION", InsertVouchersInLockstep)}}

            {{CommitIssueBatches(InsertBatchedVouchersInLockstep)}}
            """),
        (11, $$"""
            -- commit_issue_batches, a batch of one lease (the usual case) charged by one conditional
            -- UPDATE instead of a locking check and then the UPDATE: a refusal has still spent
            -- nothing, and a call runs one statement fewer per batch. Same arguments, same answers.
            {{CommitIssueBatches(InsertBatchedVouchersInLockstep, SpendASingleLease)}}
            """),
    ];
}
