using Campaigns.Grains.Ledger;

namespace Campaigns.Silo.Hosting;

/// <summary>
/// Logs what the ledger's writer did every <see cref="Every"/> while it did anything: how many
/// transactions it committed, the slowest commit and the slowest flush to disk. A flush or
/// commit slower than <see cref="Stalled"/> is a warning: every write waiting behind it (issues,
/// redemptions) waited as long, and a disk that stalls once tends to stall again.
/// </summary>
public sealed class LedgerActivityLog(ILedgerDiagnostics ledger, ILogger<LedgerActivityLog> logger) : BackgroundService
{
    public static readonly TimeSpan Every = TimeSpan.FromSeconds(10);

    public static readonly TimeSpan Stalled = TimeSpan.FromSeconds(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Every);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                Write(logger, ledger.TakeActivity());
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The silo is stopping.
        }
    }

    /// <summary>The lines for one window: nothing if the writer was idle.</summary>
    public static void Write(ILogger logger, LedgerActivity activity)
    {
        if (activity.SlowestFlush >= Stalled || activity.SlowestCommit >= Stalled)
        {
            logger.LogWarning(
                "Ledger stalled: a flush to disk took {FlushMs:0} ms and a commit {CommitMs:0} ms in the last {Seconds:0} s; every write behind them waited as long",
                activity.SlowestFlush.TotalMilliseconds, activity.SlowestCommit.TotalMilliseconds, Every.TotalSeconds);
        }

        if (activity.Commits > 0 || activity.LogRestarts > 0)
        {
            logger.LogInformation(
                "Ledger committed {Commits} transactions over {Seconds:0} s (slowest commit {CommitMs:0.0} ms, slowest flush {FlushMs:0.0} ms, log restarts {Restarts}, {LogMegabytes:0.0} MB appended to the log)",
                activity.Commits, Every.TotalSeconds, activity.SlowestCommit.TotalMilliseconds, activity.SlowestFlush.TotalMilliseconds, activity.LogRestarts,
                activity.LogBytes / 1e6);
        }
    }
}
