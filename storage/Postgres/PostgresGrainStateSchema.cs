namespace Campaigns.Storage.Postgres;

/// <summary>
/// The PostgreSQL schema for Orleans' ADO.NET grain storage (invariant <c>Npgsql</c>): our own for
/// the provider's contract, as on SQLite. The provider reads its three statements from
/// <c>OrleansQuery</c> at start-up and binds @GrainIdHash (int), @GrainIdN0, @GrainIdN1 (bigint),
/// @GrainTypeHash (int), @GrainTypeString, @GrainIdExtensionString, @ServiceId, @GrainStateVersion
/// (int, NULL before the first write) and @PayloadBinary (write only). It is migration 4 of the
/// ledger's schema, so it is created under the same advisory lock.
/// </summary>
/// <remarks>
/// A write or clear answers exactly one row: the new version, or NULL on a conflict, which the
/// provider turns into InconsistentStateException. Parameters that may be NULL are cast: the
/// provider sends a null without a type, and PostgreSQL cannot infer one for <c>IS NULL</c>.
/// </remarks>
public static class PostgresGrainStateSchema
{
    /// <summary>The provider's name for PostgreSQL; it loads Npgsql's factory for it.</summary>
    public const string Invariant = "Npgsql";

    /// <summary>
    /// The grain's row, matching the unique index's expressions so the index serves the lookup.
    /// Unquoted names: PostgreSQL folds them, as it folds the provider's own start-up query.
    /// </summary>
    private const string ThisGrain = """
        ServiceId = @ServiceId AND GrainTypeHash = @GrainTypeHash AND GrainIdHash = @GrainIdHash
                AND GrainIdN0 = @GrainIdN0 AND GrainIdN1 = @GrainIdN1 AND GrainTypeString = @GrainTypeString
                AND COALESCE(GrainIdExtensionString, '') = COALESCE(@GrainIdExtensionString::text, '')
        """;

    /// <summary>
    /// One statement for both cases, so nothing slips between a check and a write. First write (no
    /// ETag): insert version 1; a racing insert of the same grain waits on the unique index and then
    /// does nothing. Update: only if the version still matches (READ COMMITTED re-checks it on the
    /// newest row version after waiting for a concurrent writer); with no row nothing happens.
    /// </summary>
    internal const string WriteQuery = $"""
        WITH inserted AS (
            INSERT INTO OrleansStorage (GrainIdHash, GrainIdN0, GrainIdN1, GrainTypeHash, GrainTypeString, GrainIdExtensionString, ServiceId, PayloadBinary, ModifiedOn, Version)
            SELECT @GrainIdHash, @GrainIdN0, @GrainIdN1, @GrainTypeHash, @GrainTypeString, @GrainIdExtensionString::text, @ServiceId, @PayloadBinary, now(), 1
            WHERE @GrainStateVersion::integer IS NULL
            ON CONFLICT DO NOTHING
            RETURNING Version
        ), updated AS (
            UPDATE OrleansStorage SET PayloadBinary = @PayloadBinary, ModifiedOn = now(), Version = Version + 1
            WHERE {ThisGrain}
                AND Version = @GrainStateVersion::integer
            RETURNING Version
        )
        SELECT (SELECT Version FROM inserted UNION ALL SELECT Version FROM updated) AS NewGrainStateVersion;
        """;

    internal const string ReadQuery = $"""
        SELECT PayloadBinary, Version FROM OrleansStorage
        WHERE {ThisGrain};
        """;

    /// <summary>Clearing keeps the row (payload NULL, version bumped) so the version sequence never restarts.</summary>
    internal const string ClearQuery = $"""
        WITH cleared AS (
            UPDATE OrleansStorage SET PayloadBinary = NULL, ModifiedOn = now(), Version = Version + 1
            WHERE {ThisGrain}
                AND Version = @GrainStateVersion::integer
            RETURNING Version
        )
        SELECT (SELECT Version FROM cleared) AS NewGrainStateVersion;
        """;

    /// <summary>
    /// The tables and the provider's statements, as one migration. Upstream's design has no unique
    /// key on the grain identity, so two racing first writes both insert and the grain can never be
    /// written again; the unique index lets exactly one win. COALESCE because NULLs are distinct in
    /// an index. Version is <c>integer</c>: the provider reads and binds it as an Int32. A later
    /// change to a statement is a new migration that updates its row.
    /// </summary>
    internal const string Migration = $"""
        CREATE TABLE OrleansQuery (
            QueryKey  text NOT NULL PRIMARY KEY,
            QueryText text NOT NULL
        );

        CREATE TABLE OrleansStorage (
            GrainIdHash            integer     NOT NULL,
            GrainIdN0              bigint      NOT NULL,
            GrainIdN1              bigint      NOT NULL,
            GrainTypeHash          integer     NOT NULL,
            GrainTypeString        text        NOT NULL,
            GrainIdExtensionString text,
            ServiceId              text        NOT NULL,
            PayloadBinary          bytea,
            ModifiedOn             timestamptz NOT NULL,
            Version                integer     NOT NULL
        );

        CREATE UNIQUE INDEX ux_orleansstorage_grain ON OrleansStorage (
            ServiceId, GrainTypeHash, GrainIdHash, GrainIdN0, GrainIdN1, GrainTypeString, COALESCE(GrainIdExtensionString, ''));

        INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES
            ('WriteToStorageKey', $query${WriteQuery}$query$),
            ('ReadFromStorageKey', $query${ReadQuery}$query$),
            ('ClearStorageKey', $query${ClearQuery}$query$);
        """;
}
