namespace Campaigns.Grains.Ledger.Sqlite;

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
    ];
}
