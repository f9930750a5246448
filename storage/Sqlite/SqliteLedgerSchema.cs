namespace Campaigns.Storage.Sqlite;

/// <summary>
/// The SQLite ledger's tables, as numbered migrations. <c>schema_version</c> records every
/// migration applied; a later build appends a migration here and never edits an applied one.
/// </summary>
internal static class SqliteLedgerSchema
{
    /// <summary>Creates the version table itself; safe to run on any database.</summary>
    public const string VersionTable = "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL PRIMARY KEY, applied_at INTEGER NOT NULL);";

    public static readonly IReadOnlyList<(int Version, string Sql)> Migrations =
    [
        (1, """
            -- One row per voucher. Everything but the redemption columns is written once at issue.
            CREATE TABLE vouchers (
                code               TEXT    NOT NULL PRIMARY KEY,
                campaign_id        TEXT    NOT NULL,
                shard              INTEGER NOT NULL,
                user_id            TEXT    NOT NULL,
                channel            TEXT    NOT NULL,
                request_id         TEXT    NOT NULL,
                district           TEXT    NOT NULL,
                status             TEXT    NOT NULL CHECK (status IN ('ISSUED', 'RESERVED', 'REDEEMED')),
                version            INTEGER NOT NULL,
                kind               TEXT    NOT NULL,
                face_value_cents   INTEGER NOT NULL,
                min_spend_cents    INTEGER NOT NULL,
                percent_off        INTEGER NOT NULL,
                fold               INTEGER NOT NULL,
                max_discount_cents INTEGER NOT NULL,
                liability_cents    INTEGER NOT NULL,
                valid_from         INTEGER NOT NULL,
                valid_until        INTEGER NOT NULL,
                issued_at          INTEGER NOT NULL,
                issued_day         INTEGER NOT NULL,
                pool               TEXT    NOT NULL,
                merchant_id        TEXT,
                order_id           TEXT,
                order_amount_cents INTEGER NOT NULL DEFAULT 0,
                discount_cents     INTEGER NOT NULL DEFAULT 0,
                reserved_until     INTEGER,
                redeemed_at        INTEGER,
                -- A channel's request id issues at most one voucher, whatever the grains believe.
                UNIQUE (campaign_id, channel, request_id)
            );
            CREATE INDEX ix_vouchers_shard ON vouchers (campaign_id, shard);
            CREATE INDEX ix_vouchers_user ON vouchers (user_id);
            CREATE INDEX ix_vouchers_campaign ON vouchers (campaign_id);

            -- AUTOINCREMENT: a sequence is never reused, so exports can resume after one.
            CREATE TABLE redemption_events (
                sequence           INTEGER PRIMARY KEY AUTOINCREMENT,
                type               TEXT    NOT NULL CHECK (type IN ('RESERVED', 'CANCELLED', 'REDEEMED', 'REFUNDED')),
                code               TEXT    NOT NULL,
                campaign_id        TEXT    NOT NULL,
                merchant_id        TEXT    NOT NULL,
                merchant_district  TEXT    NOT NULL,
                order_id           TEXT    NOT NULL,
                refund_id          TEXT,
                order_amount_cents INTEGER NOT NULL,
                discount_cents     INTEGER NOT NULL,
                occurred_at        INTEGER NOT NULL
            );
            -- One voucher pays for one order once, and one refund reverses it once.
            CREATE UNIQUE INDEX ux_redemption_events_redeemed ON redemption_events (code, order_id) WHERE type = 'REDEEMED';
            CREATE UNIQUE INDEX ux_redemption_events_refunded ON redemption_events (code, refund_id) WHERE type = 'REFUNDED';
            CREATE INDEX ix_redemption_events_code ON redemption_events (code);
            CREATE INDEX ix_redemption_events_campaign ON redemption_events (campaign_id, sequence);
            CREATE INDEX ix_redemption_events_merchant ON redemption_events (merchant_id);

            CREATE TABLE user_claims (
                campaign_id TEXT    NOT NULL,
                user_id     TEXT    NOT NULL,
                issued      INTEGER NOT NULL,
                PRIMARY KEY (campaign_id, user_id)
            );

            -- day: the Asia/Shanghai issuance day as yyyymmdd.
            CREATE TABLE user_daily_claims (
                campaign_id TEXT    NOT NULL,
                user_id     TEXT    NOT NULL,
                day         INTEGER NOT NULL,
                issued      INTEGER NOT NULL,
                PRIMARY KEY (campaign_id, user_id, day)
            );

            -- The stock invariant, kept by the database as well as by the grains.
            CREATE TABLE stock_leases (
                campaign_id TEXT    NOT NULL,
                shard       INTEGER NOT NULL,
                pool        TEXT    NOT NULL,
                granted     INTEGER NOT NULL,
                issued      INTEGER NOT NULL,
                PRIMARY KEY (campaign_id, shard, pool),
                CHECK (issued >= 0 AND issued <= granted)
            );

            CREATE TABLE campaign_directory (
                campaign_id TEXT    NOT NULL PRIMARY KEY,
                created_at  INTEGER NOT NULL
            );
            CREATE INDEX ix_campaign_directory_created ON campaign_directory (created_at, campaign_id);

            CREATE TABLE secrets (
                name  TEXT NOT NULL PRIMARY KEY,
                value BLOB NOT NULL
            );
            """),
        (2, """
            -- Every insert paid for this index; (campaign_id, shard) serves the same campaign-prefix reads.
            DROP INDEX IF EXISTS ix_vouchers_campaign;
            """),
        (3, """
            -- The per-user and per-day limits are checked against the vouchers themselves, through
            -- this index (which also serves wallets), instead of through count tables: each count
            -- row was one more randomly placed page for every commit to write out.
            DROP INDEX IF EXISTS ix_vouchers_user;
            CREATE INDEX ix_vouchers_user ON vouchers (user_id, campaign_id, issued_day);
            DROP TABLE IF EXISTS user_claims;
            DROP TABLE IF EXISTS user_daily_claims;
            """),
        (4, """
            -- Append-ordered: a voucher's row is keyed by (campaign number, shard, seq) packed into the
            -- rowid (VoucherKey.Packed: number << 39 | shard << 32 | seq), so a shard's commit appends
            -- at the end of its own range. No other index on the table: idempotency and per-user
            -- limits are kept by each shard, the only writer of its users, behind its epoch.
            CREATE TABLE campaign_numbers (
                number      INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
                campaign_id TEXT    NOT NULL UNIQUE,
                created_at  INTEGER NOT NULL
            );
            INSERT INTO campaign_numbers (campaign_id, created_at)
                SELECT campaign_id, created_at FROM (
                    SELECT campaign_id, created_at FROM campaign_directory
                    UNION ALL
                    SELECT campaign_id, MIN(issued_at) FROM vouchers
                    WHERE campaign_id NOT IN (SELECT campaign_id FROM campaign_directory) GROUP BY campaign_id)
                ORDER BY created_at, campaign_id;
            DROP TABLE campaign_directory;
            ALTER TABLE campaign_numbers RENAME TO campaign_directory;
            CREATE INDEX ix_campaign_directory_created ON campaign_directory (created_at, campaign_id);

            CREATE TABLE voucher_rows (
                row_key            INTEGER NOT NULL PRIMARY KEY,
                code               TEXT    NOT NULL,
                campaign_id        TEXT    NOT NULL,
                user_id            TEXT    NOT NULL,
                channel            TEXT    NOT NULL,
                request_id         TEXT    NOT NULL,
                district           TEXT    NOT NULL,
                status             TEXT    NOT NULL CHECK (status IN ('ISSUED', 'RESERVED', 'REDEEMED')),
                version            INTEGER NOT NULL,
                kind               TEXT    NOT NULL,
                face_value_cents   INTEGER NOT NULL,
                min_spend_cents    INTEGER NOT NULL,
                percent_off        INTEGER NOT NULL,
                fold               INTEGER NOT NULL,
                max_discount_cents INTEGER NOT NULL,
                liability_cents    INTEGER NOT NULL,
                valid_from         INTEGER NOT NULL,
                valid_until        INTEGER NOT NULL,
                issued_at          INTEGER NOT NULL,
                issued_day         INTEGER NOT NULL,
                pool               TEXT    NOT NULL,
                merchant_id        TEXT,
                order_id           TEXT,
                order_amount_cents INTEGER NOT NULL DEFAULT 0,
                discount_cents     INTEGER NOT NULL DEFAULT 0,
                reserved_until     INTEGER,
                redeemed_at        INTEGER
            );
            -- Vouchers issued before keep their codes: each shard's in issue order.
            INSERT INTO voucher_rows
                SELECT (d.number << 39) | (v.shard << 32) | ROW_NUMBER() OVER (PARTITION BY v.campaign_id, v.shard ORDER BY v.issued_at, v.code),
                    v.code, v.campaign_id, v.user_id, v.channel, v.request_id, v.district, v.status, v.version, v.kind,
                    v.face_value_cents, v.min_spend_cents, v.percent_off, v.fold, v.max_discount_cents, v.liability_cents,
                    v.valid_from, v.valid_until, v.issued_at, v.issued_day, v.pool, v.merchant_id, v.order_id,
                    v.order_amount_cents, v.discount_cents, v.reserved_until, v.redeemed_at
                FROM vouchers v JOIN campaign_directory d ON d.campaign_id = v.campaign_id;
            -- Their codes carry no key: this table finds their rows. Nothing is added to it after.
            CREATE TABLE legacy_codes (
                code    TEXT    NOT NULL PRIMARY KEY,
                row_key INTEGER NOT NULL
            ) WITHOUT ROWID;
            INSERT INTO legacy_codes (code, row_key) SELECT code, row_key FROM voucher_rows;
            DROP TABLE vouchers;
            ALTER TABLE voucher_rows RENAME TO vouchers;

            -- Fences: each activation of a shard or campaign takes the next epoch, and every write it
            -- makes updates its epoch row on the condition that the epoch is still its own.
            CREATE TABLE shard_epochs (
                campaign_id TEXT    NOT NULL,
                shard       INTEGER NOT NULL,
                epoch       INTEGER NOT NULL,
                PRIMARY KEY (campaign_id, shard)
            ) WITHOUT ROWID;
            CREATE TABLE campaign_epochs (
                campaign_id TEXT    NOT NULL PRIMARY KEY,
                epoch       INTEGER NOT NULL
            ) WITHOUT ROWID;

            -- What each pool has granted over all shards: a grant is one conditional update of this
            -- row, so the capacity check holds without a single writer.
            CREATE TABLE lease_pools (
                campaign_id TEXT    NOT NULL,
                pool        TEXT    NOT NULL,
                granted     INTEGER NOT NULL CHECK (granted >= 0),
                PRIMARY KEY (campaign_id, pool)
            ) WITHOUT ROWID;
            INSERT INTO lease_pools (campaign_id, pool, granted)
                SELECT campaign_id, pool, SUM(granted) FROM stock_leases GROUP BY campaign_id, pool;
            """),
        (5, """
            -- Redemption events find their voucher by its row key, not its code: keyed codes look
            -- random, so indexes on the code put each redemption at a random page of two indexes,
            -- while row keys follow issue order and are a fifth of the size.
            ALTER TABLE redemption_events ADD COLUMN voucher_key INTEGER;
            CREATE INDEX ix_migration_vouchers_code ON vouchers (code);
            UPDATE redemption_events SET voucher_key = (SELECT row_key FROM vouchers WHERE vouchers.code = redemption_events.code);
            DROP INDEX ix_migration_vouchers_code;
            DROP INDEX IF EXISTS ux_redemption_events_redeemed;
            DROP INDEX IF EXISTS ux_redemption_events_refunded;
            DROP INDEX IF EXISTS ix_redemption_events_code;
            -- One voucher pays for one order once, and one refund reverses it once.
            CREATE UNIQUE INDEX ux_redemption_events_redeemed ON redemption_events (voucher_key, order_id) WHERE type = 'REDEEMED';
            CREATE UNIQUE INDEX ux_redemption_events_refunded ON redemption_events (voucher_key, refund_id) WHERE type = 'REFUNDED';
            CREATE INDEX ix_redemption_events_voucher ON redemption_events (voucher_key, sequence);
            """),
        (6, """
            -- Campaign events for callbacks (sold out, ended), appended by the campaign grain; tailed
            -- by sequence like redemption events. One row per (campaign, type, occurrence).
            CREATE TABLE campaign_events (
                sequence    INTEGER PRIMARY KEY AUTOINCREMENT,
                campaign_id TEXT    NOT NULL,
                type        TEXT    NOT NULL CHECK (type IN ('SOLD_OUT', 'ENDED')),
                occurrence  TEXT    NOT NULL,
                occurred_at INTEGER NOT NULL,
                UNIQUE (campaign_id, type, occurrence)
            );
            """),
        (7, """
            -- A campaign's limit per device: the claim's device and its bucket, on vouchers of campaigns
            -- that have the limit (NULL elsewhere, and on every row written before). The index is
            -- partial, so other campaigns never write it, and ordered by bucket then row key, so a
            -- commit appends at the end of its (bucket, campaign, shard) range.
            ALTER TABLE vouchers ADD COLUMN device_id TEXT;
            ALTER TABLE vouchers ADD COLUMN device_bucket INTEGER;
            CREATE INDEX ix_vouchers_device ON vouchers (device_bucket, row_key) WHERE device_id IS NOT NULL;
            """),
    ];
}
