using Campaigns.Grains.Ledger;
using Microsoft.Data.Sqlite;

namespace Campaigns.Storage.Sqlite;

/// <summary>Which SQLite failures mean "the store is unavailable" (retry later), as against a bad statement.</summary>
internal static class SqliteFaults
{
    // Primary result codes: BUSY, LOCKED, NOMEM, IOERR, CORRUPT, FULL, CANTOPEN, PROTOCOL.
    private static readonly HashSet<int> Unavailable = [5, 6, 7, 10, 11, 13, 14, 15];

    /// <summary><paramref name="ex"/> as <see cref="LedgerUnavailableException"/> when the store could not serve it; otherwise itself.</summary>
    public static Exception Classify(Exception ex, string what) => ex switch
    {
        SqliteException sqlite when Unavailable.Contains(sqlite.SqliteErrorCode) => new LedgerUnavailableException($"{what} ({sqlite.Message})", ex),
        IOException => new LedgerUnavailableException($"{what} ({ex.Message})", ex),
        _ => ex,
    };
}
