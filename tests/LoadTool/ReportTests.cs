using Campaigns.LoadTests;
using HdrHistogram;

namespace Campaigns.Tests.LoadTool;

/// <summary>How the load report judges its targets: on the median round, and never on a failed run.</summary>
public sealed class ReportTests
{
    private static readonly LoadSettings Settings = new(TimeSpan.FromSeconds(10), 64, 4, 150_000);

    [Fact]
    public void A_target_is_judged_on_its_median_round_and_the_others_are_shown()
    {
        // Batches: 120k, 90k, 105k vouchers/s. The median, 105k, meets the 100k target.
        var report = Report.Markdown([BatchRound(120_000), BatchRound(90_000), BatchRound(105_000)], Settings);

        var line = TargetLine(report, "IssueVouchers ≥ 100,000 vouchers/s");
        Assert.StartsWith("| IssueVouchers ≥ 100,000 vouchers/s | 105,000 vouchers/s (other rounds: 120,000 vouchers/s; 90,000 vouchers/s) | yes |", line);
        Assert.Contains("3 rounds, each on a fresh silo", report);
        Assert.Contains(" · random user and request ids · ", report);
    }

    [Fact]
    public void The_report_says_when_the_ids_were_the_friendly_sequential_kind()
    {
        var report = Report.Markdown([BatchRound(100_000)], Settings with { Ids = IdStyle.Sequential });

        Assert.Contains(" · sequential user and request ids · ", report);
    }

    [Fact]
    public void With_an_even_count_the_lower_middle_round_decides()
    {
        var report = Report.Markdown([BatchRound(120_000), BatchRound(90_000)], Settings);

        Assert.EndsWith("| **no** |", TargetLine(report, "IssueVouchers ≥ 100,000 vouchers/s"));
    }

    [Fact]
    public void A_round_with_failed_calls_meets_nothing()
    {
        var report = Report.Markdown([BatchRound(150_000), BatchRound(150_000, failed: 3), BatchRound(150_000)], Settings);

        var line = TargetLine(report, "IssueVouchers ≥ 100,000 vouchers/s");
        Assert.Contains("with 3 failed calls", line);
        Assert.EndsWith("| **no** |", line);
    }

    [Fact]
    public void A_scenario_that_could_not_run_is_listed_and_its_targets_are_not_met()
    {
        var failed = new Round(new Dictionary<string, IReadOnlyList<LoadResult>>(),
            new Dictionary<string, string> { ["batch"] = "RpcException: deadline exceeded" }, []);
        var report = Report.Markdown([BatchRound(150_000), failed], Settings);

        var line = TargetLine(report, "IssueVouchers ≥ 100,000 vouchers/s");
        Assert.Contains("1 round(s) could not run it", line);
        Assert.EndsWith("| **no** |", line);
        Assert.Contains("- round 2, batch: RpcException: deadline exceeded", report);
        Assert.EndsWith("| not run | – |", TargetLine(report, "RedeemVoucher p99 < 25 ms at half its throughput"));
    }

    [Fact]
    public void A_latency_target_is_met_at_25_ms_and_missed_above()
    {
        Assert.EndsWith("| yes |", TargetLine(Report.Markdown([CheckoutRound(p99Millis: 24)], Settings), "RedeemVoucher p99 < 25 ms at half its throughput"));
        Assert.EndsWith("| **no** |", TargetLine(Report.Markdown([CheckoutRound(p99Millis: 40)], Settings), "RedeemVoucher p99 < 25 ms at half its throughput"));
    }

    [Fact]
    public void Processor_time_is_shown_per_call_and_per_voucher_for_batches()
    {
        // 10 s of 100 calls/s is 1,000 calls; 0.5 s of silo time over them is 500 µs a call.
        var single = Run("IssueVoucher", 100, latencyMillis: 5) with { Cpu = new CpuUse(TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(0.1)) };
        var batch = Run("IssueVouchers ×1000 (vouchers)", 10_000, latencyMillis: 60) with { Cpu = new CpuUse(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(0.2)) };
        var report = Report.Markdown([new Round(new Dictionary<string, IReadOnlyList<LoadResult>> { ["issue"] = [single], ["batch"] = [batch] }, new Dictionary<string, string>(), [])], Settings);

        Assert.EndsWith("| 500.0 | 100.0 |", RunLine(report, "IssueVoucher"));
        Assert.EndsWith("| 20.0 | 2.0 |", RunLine(report, "IssueVouchers ×1000 (vouchers)"));
    }

    [Fact]
    public void Each_scenario_says_how_its_warm_up_went()
    {
        var warm = Run("IssueVoucher", 100, latencyMillis: 5) with { WarmUp = new WarmUp(TimeSpan.FromSeconds(9), CompilerSettled: true, NextSequence: 0) };
        var cold = Run("RedeemVoucher", 100, latencyMillis: 5) with { WarmUp = new WarmUp(TimeSpan.FromSeconds(30), CompilerSettled: false, NextSequence: 0) };
        var report = Report.Markdown([new Round(new Dictionary<string, IReadOnlyList<LoadResult>> { ["issue"] = [warm], ["checkout"] = [cold] }, new Dictionary<string, string>(), [])], Settings);

        Assert.Contains("- IssueVoucher: 9 s, until the silo's compiler was quiet", report);
        Assert.Contains("- RedeemVoucher: 30 s, stopped before the silo's compiler had been quiet for 3 s", report);
    }

    [Fact]
    public void The_ledger_alone_is_set_against_the_issuing_targets_it_bounds()
    {
        var runs = new Dictionary<string, IReadOnlyList<LoadResult>>
        {
            ["health"] = [Run("health check", 20_000, latencyMillis: 2)],
            ["ledger"] = [Run(LedgerCeiling.Single, 8_000, latencyMillis: 6), Run(LedgerCeiling.Single, 4_000, latencyMillis: 30), Run(LedgerCeiling.Batches, 15_000, latencyMillis: 500)],
        };
        var report = Report.Markdown([new Round(runs, new Dictionary<string, string>(), [])], Settings);

        Assert.Contains("## What the store alone allows", report);
        Assert.Contains("- 8,000 single-voucher commits/s = 40 % of the health check (IssueVoucher's target: 50 %); p99 30.00 ms at 4,000/s; 15,000 vouchers/s in commits of 1,000 = 15 % of IssueVouchers' 100,000/s", report);
        Assert.DoesNotContain("## What the store alone allows", Report.Markdown([BatchRound(100_000)], Settings));
    }

    [Fact]
    public void The_ledger_s_WAL_bytes_per_voucher_are_judged_against_300()
    {
        var lean = Run(LedgerCeiling.Batches, 160_000, latencyMillis: 50) with { LogBytes = 160_000L * 10 * 220 };
        var report = Report.Markdown([Round("ledger", Run(LedgerCeiling.Single, 8_000, 6), Run(LedgerCeiling.Single, 4_000, 9), lean)], Settings);

        Assert.StartsWith("| Ledger alone ≥ 150,000 vouchers/s in commits of 1,000 | 160,000 vouchers/s | yes |", TargetLine(report, "Ledger alone ≥ 150,000 vouchers/s in commits of 1,000"));
        Assert.StartsWith("| Ledger alone: WAL bytes per voucher < 300 (commits of 1,000) | 220 bytes a voucher | yes |", TargetLine(report, "Ledger alone: WAL bytes per voucher < 300 (commits of 1,000)"));
        var heavy = Report.Markdown([Round("ledger", Run(LedgerCeiling.Single, 8_000, 6), Run(LedgerCeiling.Single, 4_000, 9), lean with { LogBytes = 160_000L * 10 * 900 })], Settings);
        Assert.EndsWith("| **no** |", TargetLine(heavy, "Ledger alone: WAL bytes per voucher < 300 (commits of 1,000)"));
    }

    [Fact]
    public void A_flash_drop_meets_its_target_only_when_every_check_holds_and_memory_stays_under_1_GiB()
    {
        const string Target = "Flash drop of 1,000,000 claims: every invariant holds, silo peak memory < 1 GiB";
        Check[] held = [new("exactly the stock issued", true, "100,000 issued, 0 left")];
        var drop = Run("flash drop", 20_000, latencyMillis: 3) with { Checks = held, PeakMemoryBytes = 600L << 20 };

        Assert.EndsWith("| yes |", TargetLine(Report.Markdown([Round("flash", drop)], Settings), Target));
        Assert.Contains("exactly the stock issued (100,000 issued, 0 left); peak 600 MiB", TargetLine(Report.Markdown([Round("flash", drop)], Settings), Target));
        Assert.EndsWith("| **no** |", TargetLine(Report.Markdown([Round("flash", drop with { PeakMemoryBytes = 1200L << 20 })], Settings), Target));
        var broken = drop with { Checks = [new("exactly the stock issued", false, "100,001 issued, 0 left")] };
        Assert.Contains("BROKEN: exactly the stock issued", TargetLine(Report.Markdown([Round("flash", broken)], Settings), Target));
        Assert.EndsWith("| **no** |", TargetLine(Report.Markdown([Round("flash", broken)], Settings), Target));
    }

    [Fact]
    public void A_rebuilt_shard_s_first_claim_is_judged_against_one_second()
    {
        const string Target = "A shard of 200,000 vouchers answers its first claim within 1 s of a restart";
        Check[] replayed = [new("a claim made before the restart is replayed", true, "replayed")];

        Assert.EndsWith("| yes |", TargetLine(Report.Markdown([Round("rebuild", Run("first claim", 1, latencyMillis: 640) with { Checks = replayed })], Settings), Target));
        Assert.EndsWith("| **no** |", TargetLine(Report.Markdown([Round("rebuild", Run("first claim", 1, latencyMillis: 1_400) with { Checks = replayed })], Settings), Target));
    }

    [Fact]
    public void The_servers_processor_time_gets_a_column_only_when_a_run_could_see_the_servers()
    {
        var metered = Run("IssueVoucher", 20_000, latencyMillis: 3) with
        {
            Cpu = new CpuUse(TimeSpan.FromSeconds(8), TimeSpan.FromSeconds(4), Servers: TimeSpan.FromSeconds(5)),
        };
        var production = Report.Markdown([Round("issue", metered)], Settings);

        Assert.EndsWith("| silo CPU µs/call | tool CPU µs/call | servers CPU µs/call |", production.Split('\n').First(l => l.StartsWith("| scenario |", StringComparison.Ordinal)).TrimEnd('\r'));
        // 200,000 calls: 40, 20 and 25 µs each.
        Assert.EndsWith("| 40.0 | 20.0 | 25.0 |", RunLine(production, "IssueVoucher"));

        var embedded = Report.Markdown([Round("issue", metered with { Cpu = new CpuUse(TimeSpan.FromSeconds(8), TimeSpan.FromSeconds(4)) })], Settings);
        Assert.DoesNotContain("servers CPU", embedded);
        Assert.EndsWith("| 40.0 | 20.0 |", RunLine(embedded, "IssueVoucher"));
    }

    private static Round BatchRound(double vouchersPerSecond, long failed = 0) =>
        Round("batch", Run("IssueVouchers ×1000 (vouchers)", vouchersPerSecond, latencyMillis: 60, failed));

    private static Round CheckoutRound(double p99Millis) =>
        Round("checkout", Run("RedeemVoucher", 6_000, latencyMillis: 5), Run("RedeemVoucher", 3_000, latencyMillis: p99Millis));

    private static Round Round(string scenario, params LoadResult[] runs) =>
        new(new Dictionary<string, IReadOnlyList<LoadResult>> { [scenario] = runs }, new Dictionary<string, string>(), []);

    /// <summary>A 10-second run at this rate, every call taking <paramref name="latencyMillis"/>.</summary>
    private static LoadResult Run(string name, double perSecond, double latencyMillis, long failed = 0)
    {
        var latency = new LongHistogram(TimeSpan.TicksPerMinute, 3);
        latency.RecordValue((long)(latencyMillis * TimeSpan.TicksPerMillisecond));
        return new LoadResult(name, "closed loop", (long)(perSecond * 10), failed, TimeSpan.FromSeconds(10), latency, new Dictionary<string, long>());
    }

    private static string RunLine(string report, string run) =>
        report.Split('\n').Single(l => l.StartsWith($"| {run} |", StringComparison.Ordinal)).TrimEnd('\r');

    private static string TargetLine(string report, string target) =>
        report.Split('\n').Single(l => l.StartsWith($"| {target} |", StringComparison.Ordinal)).TrimEnd('\r');
}
