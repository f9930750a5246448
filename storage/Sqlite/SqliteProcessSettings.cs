using SQLitePCL;

namespace Campaigns.Storage.Sqlite;

/// <summary>
/// SQLite's process-wide settings, applied once before its first use in the process. Every
/// connection here is used by one thread at a time (the writer's by the writer thread, readers
/// taken from a pool), so SQLite's per-connection mutexes only cost time: profiling the writer
/// put a fifth of its time in mutex lock and unlock, on every bind, step and allocation.
/// Multi-thread mode drops the connection mutexes; turning memory statistics off drops the
/// global one around each allocation. Once SQLite has started (anything opened a connection
/// first) the settings cannot change, and SQLite keeps its safe defaults.
/// </summary>
internal static class SqliteProcessSettings
{
    private static readonly Lazy<bool> Applied = new(() =>
    {
        Batteries_V2.Init();
        var multiThread = raw.sqlite3_config(raw.SQLITE_CONFIG_MULTITHREAD) == raw.SQLITE_OK;
        var noStatistics = raw.sqlite3_config(raw.SQLITE_CONFIG_MEMSTATUS, 0) == raw.SQLITE_OK;
        return multiThread && noStatistics;
    });

    /// <summary>Whether the settings took (false when SQLite had already started in this process).</summary>
    public static bool Apply() => Applied.Value;
}
