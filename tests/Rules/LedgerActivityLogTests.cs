using Campaigns.Grains.Ledger;
using Campaigns.Silo.Hosting;
using Microsoft.Extensions.Logging;

namespace Campaigns.Tests.Rules;

/// <summary>The silo's ledger activity log: quiet when idle, a warning when the disk stalls.</summary>
public sealed class LedgerActivityLogTests
{
    private readonly Captured _logger = new();

    [Fact]
    public void An_idle_ledger_logs_nothing()
    {
        Log(new LedgerActivity(0, TimeSpan.Zero, TimeSpan.Zero, 0));

        Assert.Empty(_logger.Lines);
    }

    [Fact]
    public void A_busy_ledger_logs_its_commits_and_slowest_times()
    {
        Log(new LedgerActivity(2_439, TimeSpan.FromMilliseconds(12.9), TimeSpan.FromMilliseconds(18.2), 8, LogBytes: 41_250_000));

        var (level, text) = Assert.Single(_logger.Lines);
        Assert.Equal(LogLevel.Information, level);
        Assert.Equal("Ledger committed 2439 transactions over 10 s (slowest commit 12.9 ms, slowest flush 18.2 ms, log restarts 8, 41.3 MB appended to the log)", text);
    }

    [Fact]
    public void A_flush_of_a_second_or_more_is_a_warning()
    {
        Log(new LedgerActivity(10, TimeSpan.FromMilliseconds(3), TimeSpan.FromMilliseconds(3_200), 0));

        Assert.Equal([LogLevel.Warning, LogLevel.Information], _logger.Lines.Select(l => l.Level));
        Assert.StartsWith("Ledger stalled: a flush to disk took 3200 ms", _logger.Lines[0].Text);
    }

    private void Log(LedgerActivity activity) => LedgerActivityLog.Write(_logger, activity);

    private sealed class Captured : ILogger<LedgerActivityLog>
    {
        public List<(LogLevel Level, string Text)> Lines { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Lines.Add((logLevel, formatter(state, exception)));
    }
}
