using Campaigns.Grains.Ledger;
using Npgsql;

namespace Campaigns.Storage.Postgres;

/// <summary>Which Npgsql failures mean "the store is unavailable" (retry later), as against a bad statement.</summary>
internal static class PostgresFaults
{
    public const string UniqueViolation = "23505";

    /// <summary>Raised by commit_issue_batch (migration 2): a newer activation holds the shard.</summary>
    public const string Fenced = "CL001";

    /// <summary>Raised by commit_issue_batch: a lease would issue past its grant.</summary>
    public const string LeaseExceeded = "CL002";

    /// <summary>
    /// <paramref name="ex"/> as <see cref="LedgerUnavailableException"/> when the server could not
    /// serve it; otherwise itself. Npgsql calls transient what a retry may cure: the server cannot
    /// be reached or is shutting down (08, 57P), is out of resources (53), a timeout, a deadlock.
    /// </summary>
    public static Exception Classify(Exception ex, string what) => ex switch
    {
        NpgsqlException { IsTransient: true } => new LedgerUnavailableException($"{what} ({ex.Message})", ex),
        // A connection broken under a command, or a pool that found no server to open a connection to.
        NpgsqlException { InnerException: IOException or System.Net.Sockets.SocketException or TimeoutException }
            => new LedgerUnavailableException($"{what} ({ex.Message})", ex),
        _ => ex,
    };
}
