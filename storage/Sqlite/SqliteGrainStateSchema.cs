using Microsoft.Data.Sqlite;

namespace Campaigns.Storage.Sqlite;

/// <summary>
/// The SQLite schema for Orleans' ADO.NET grain storage: the package ships no scripts, so this is
/// our own for its contract. The provider reads its three statements from <c>OrleansQuery</c> at
/// start-up and binds @GrainIdHash, @GrainIdN0, @GrainIdN1, @GrainTypeHash, @GrainTypeString,
/// @GrainIdExtensionString, @ServiceId, @GrainStateVersion (NULL before the first write) and
/// @PayloadBinary (write only).
/// </summary>
/// <remarks>
/// A write or clear answers exactly one row: the new version, or NULL on a conflict, which the
/// provider turns into InconsistentStateException. Always a row rather than sometimes none: the
/// 10.4 provider reads no row as a conflict too, but other versions of its source take a missing
/// row from a grain holding an ETag as success, and a NULL is a conflict to all of them.
/// </remarks>
public static class SqliteGrainStateSchema
{
    /// <summary>The provider's name for SQLite; it loads Microsoft.Data.Sqlite's factory for it.</summary>
    public const string Invariant = "System.Data.SQLite";

    /// <summary>
    /// One row per grain state. Upstream's design has no unique key on the grain identity, so two
    /// racing first writes both insert and the grain can never be written again; the unique index
    /// below lets exactly one of them win. COALESCE because NULL never equals NULL in an index.
    /// </summary>
    private const string Tables = """
        CREATE TABLE IF NOT EXISTS OrleansQuery (
            QueryKey  TEXT NOT NULL PRIMARY KEY,
            QueryText TEXT NOT NULL
        );

        CREATE TABLE IF NOT EXISTS OrleansStorage (
            GrainIdHash            INTEGER NOT NULL,
            GrainIdN0              INTEGER NOT NULL,
            GrainIdN1              INTEGER NOT NULL,
            GrainTypeHash          INTEGER NOT NULL,
            GrainTypeString        TEXT    NOT NULL,
            GrainIdExtensionString TEXT,
            ServiceId              TEXT    NOT NULL,
            PayloadBinary          BLOB,
            ModifiedOn             TEXT    NOT NULL,
            Version                INTEGER NOT NULL
        );

        CREATE UNIQUE INDEX IF NOT EXISTS UX_OrleansStorage_Grain ON OrleansStorage (
            ServiceId, GrainTypeHash, GrainIdHash, GrainIdN0, GrainIdN1, GrainTypeString, COALESCE(GrainIdExtensionString, ''));
        """;

    /// <summary>The grain's row, written so that the unique index serves the lookup.</summary>
    private const string ThisGrain = """
        ServiceId = @ServiceId AND GrainTypeHash = @GrainTypeHash AND GrainIdHash = @GrainIdHash
                AND GrainIdN0 = @GrainIdN0 AND GrainIdN1 = @GrainIdN1 AND GrainTypeString = @GrainTypeString
                AND COALESCE(GrainIdExtensionString, '') = COALESCE(@GrainIdExtensionString, '')
        """;

    // synchronous = FULL on the provider's own connections: an acknowledged state change
    // (a campaign started, a merchant registered) must survive power loss like a voucher does.

    /// <summary>
    /// One statement does both cases, so nothing can slip between a check and a write. First write
    /// (no ETag): insert version 1; if the row exists the conflict clause's WHERE is false and
    /// nothing changes. Update: the insert meets the existing row and becomes the update, only
    /// if the version still matches; with no row at all nothing is inserted. changes() then says
    /// whether it happened.
    /// </summary>
    internal const string WriteQuery = $"""
        PRAGMA synchronous = FULL;
        INSERT INTO OrleansStorage (GrainIdHash, GrainIdN0, GrainIdN1, GrainTypeHash, GrainTypeString, GrainIdExtensionString, ServiceId, PayloadBinary, ModifiedOn, Version)
        SELECT @GrainIdHash, @GrainIdN0, @GrainIdN1, @GrainTypeHash, @GrainTypeString, @GrainIdExtensionString, @ServiceId, @PayloadBinary,
            strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 1
        WHERE @GrainStateVersion IS NULL
            OR EXISTS (SELECT 1 FROM OrleansStorage WHERE {ThisGrain})
        ON CONFLICT (ServiceId, GrainTypeHash, GrainIdHash, GrainIdN0, GrainIdN1, GrainTypeString, COALESCE(GrainIdExtensionString, ''))
        DO UPDATE SET PayloadBinary = excluded.PayloadBinary, ModifiedOn = excluded.ModifiedOn, Version = Version + 1
            WHERE @GrainStateVersion IS NOT NULL AND Version = @GrainStateVersion;
        SELECT CASE WHEN changes() > 0 THEN COALESCE(@GrainStateVersion + 1, 1) END AS NewGrainStateVersion;
        """;

    internal const string ReadQuery = $"""
        SELECT PayloadBinary, Version FROM OrleansStorage
        WHERE {ThisGrain};
        """;

    /// <summary>Clearing keeps the row (payload NULL, version bumped) so the version sequence never restarts.</summary>
    internal const string ClearQuery = $"""
        PRAGMA synchronous = FULL;
        UPDATE OrleansStorage SET PayloadBinary = NULL, ModifiedOn = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), Version = Version + 1
        WHERE {ThisGrain}
            AND Version = @GrainStateVersion;
        SELECT CASE WHEN changes() > 0 THEN @GrainStateVersion + 1 END AS NewGrainStateVersion;
        """;

    /// <summary>
    /// Creates the tables if missing and (re)writes the provider's statements, so a newer build
    /// replaces older ones. Run before the silo starts: the provider reads them at start-up.
    /// </summary>
    public static async Task EnsureCreatedAsync(string connectionString, CancellationToken ct)
    {
        using var connection = new SqliteConnection(connectionString);
        await connection.OpenAsync(ct);

        // WAL is stored in the file and cannot be switched inside a transaction.
        await ExecuteAsync(connection, null, "PRAGMA journal_mode = WAL;", ct);

        // Immediate: two silos starting on one file take turns instead of interleaving.
        using var transaction = connection.BeginTransaction(deferred: false);
        await ExecuteAsync(connection, transaction, Tables, ct);
        foreach (var (key, text) in new[] { ("WriteToStorageKey", WriteQuery), ("ReadFromStorageKey", ReadQuery), ("ClearStorageKey", ClearQuery) })
        {
            using var upsert = connection.CreateCommand();
            upsert.Transaction = transaction;
            upsert.CommandText = """
                INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES (@key, @text)
                ON CONFLICT (QueryKey) DO UPDATE SET QueryText = excluded.QueryText;
                """;
            upsert.Parameters.AddWithValue("@key", key);
            upsert.Parameters.AddWithValue("@text", text);
            await upsert.ExecuteNonQueryAsync(ct);
        }

        transaction.Commit();
    }

    private static async Task ExecuteAsync(SqliteConnection connection, SqliteTransaction? transaction, string sql, CancellationToken ct)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(ct);
    }
}
