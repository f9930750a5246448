using Campaigns.LoadTests;

namespace Campaigns.Tests.LoadTool;

public sealed class LedgerCeilingTests
{
    [Theory]
    [InlineData(IdStyle.Random)]
    [InlineData(IdStyle.Sequential)]
    public async Task The_ledger_alone_commits_every_voucher_it_is_given_single_and_in_thousands(IdStyle ids)
    {
        var log = new StringWriter();
        // A second a run: on a busy machine a shorter closed loop can make so few commits that
        // half its rate starts no call at all in the open loop.
        var settings = new LoadSettings(TimeSpan.FromSeconds(1), Workers: 4, BatchWorkers: 1, CheckoutVouchers: 1, ids);

        var results = await new LedgerCeiling(settings, log).RunAsync();

        Assert.Equal([LedgerCeiling.Single, LedgerCeiling.Single, LedgerCeiling.Batches], results.Select(r => r.Name));
        Assert.All(results, r => Assert.Equal(0, r.Failed));
        Assert.All(results, r => Assert.True(r.Succeeded > 0, $"{r.Name}, {r.Mode}: nothing committed"));
        Assert.Equal(0, results[2].Succeeded % 1_000);
        Assert.StartsWith("open loop", results[1].Mode, StringComparison.Ordinal);
        Assert.All(results, r => Assert.True(r.Cpu?.Tool > TimeSpan.Zero, "the run was not metered"));
    }

    [Fact]
    public async Task The_PostgreSQL_ledger_alone_commits_every_voucher_and_counts_its_WAL()
    {
        var settings = new LoadSettings(TimeSpan.FromSeconds(1), Workers: 4, BatchWorkers: 1, CheckoutVouchers: 1, IdStyle.Random);

        var results = await new LedgerCeiling(settings, new StringWriter(), Ledger.PostgresTestServer.ConnectionString).RunAsync();

        Assert.Equal(["PostgreSQL " + LedgerCeiling.Single, "PostgreSQL " + LedgerCeiling.Single, "PostgreSQL " + LedgerCeiling.Batches], results.Select(r => r.Name));
        Assert.All(results, r => Assert.Equal(0, r.Failed));
        Assert.All(results, r => Assert.True(r.Succeeded > 0, $"{r.Name}, {r.Mode}: nothing committed"));
        Assert.Equal(0, results[2].Succeeded % 1_000);
        // Each voucher is a row of a few hundred bytes in the WAL, at the least.
        Assert.True(results[2].LogBytes > results[2].Succeeded * 100, $"{results[2].LogBytes} WAL bytes for {results[2].Succeeded} vouchers");
    }
}
