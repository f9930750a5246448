using System.Globalization;
using System.Text;

namespace Campaigns.LoadTests;

/// <summary>The report: every run's figures, then the targets checked against them.</summary>
public static class Report
{
    public static string Line(LoadResult r) => string.Create(CultureInfo.InvariantCulture,
        $"{r.Name,-32} {r.Mode,-26} {r.PerSecond,10:N0}/s  ok {r.Succeeded,9:N0}  failed {r.Failed,6:N0}  p50 {r.Percentile(50),7:0.00} ms  p99 {r.Percentile(99),7:0.00} ms  p99.9 {r.Percentile(99.9),7:0.00} ms{Errors(r)}");

    public static string Markdown(IReadOnlyDictionary<string, IReadOnlyList<LoadResult>> results, LoadSettings settings, IReadOnlyList<string> batchLog)
    {
        var md = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        md.AppendLine("# Load test report").AppendLine();
        md.AppendLine(inv, $"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC · {Environment.ProcessorCount} cores · {settings.Duration.TotalSeconds:0} s per run · {settings.Workers} callers (batch: {settings.BatchWorkers}) · embedded SQLite silo, Release, loopback · load tool on the same machine").AppendLine();
        md.AppendLine("| scenario | mode | per second | ok | failed | p50 ms | p99 ms | p99.9 ms | max ms |");
        md.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in results.Values.SelectMany(x => x))
        {
            md.AppendLine(inv, $"| {r.Name} | {r.Mode} | {r.PerSecond:N0} | {r.Succeeded:N0} | {r.Failed:N0}{Errors(r)} | {r.Percentile(50):0.00} | {r.Percentile(99):0.00} | {r.Percentile(99.9):0.00} | {r.Percentile(100):0.00} |");
        }

        var openLoops = results.Values.SelectMany(x => x).Where(r => r.StartLag is { TotalCount: > 0 }).ToList();
        if (openLoops.Count > 0)
        {
            md.AppendLine().AppendLine("How late the tool itself started open-loop calls (already inside their latencies):").AppendLine();
            foreach (var r in openLoops)
            {
                md.AppendLine(inv, $"- {r.Name}, {r.Mode}: p50 {LoadResult.Milliseconds(r.StartLag!, 50):0.00} ms, p99 {LoadResult.Milliseconds(r.StartLag!, 99):0.00} ms, max {LoadResult.Milliseconds(r.StartLag!, 100):0.00} ms");
            }
        }

        md.AppendLine().AppendLine("## Targets").AppendLine();
        md.AppendLine("| target | measured | met |").AppendLine("|---|---|---|");
        // The baseline is the faster of the health runs (one first, one after the rest): the
        // harder bar, and less at the mercy of one noisy run.
        var health = results.TryGetValue("health", out var healthRuns) ? healthRuns.MaxBy(r => r.PerSecond) : null;
        var issue = First(results, "issue");
        var issueHalf = Second(results, "issue");
        var batch = First(results, "batch");
        var soldOut = First(results, "soldout");
        var redeem = First(results, "checkout");
        var redeemHalf = Second(results, "checkout");
        Target(md, "IssueVoucher ≥ 70% of health-check throughput", health, issue, (h, i) => (i.PerSecond / h.PerSecond, $"{i.PerSecond:N0}/s vs {h.PerSecond:N0}/s = {i.PerSecond / h.PerSecond:P0}"), 0.70);
        Target(md, "IssueVoucher p99 < 25 ms at half its throughput", issueHalf, issueHalf, (_, i) => (25 - i.Percentile(99), $"p99 {i.Percentile(99):0.00} ms at {i.Mode}"), 0);
        Target(md, "IssueVouchers ≥ 100,000 vouchers/s", batch, batch, (_, b) => (b.PerSecond / 100_000, $"{b.PerSecond:N0} vouchers/s"), 1);
        Target(md, "Sold-out rejections ≥ health-check throughput", health, soldOut, (h, s) => (s.PerSecond / h.PerSecond, $"{s.PerSecond:N0}/s vs {h.PerSecond:N0}/s"), 1);
        Target(md, "RedeemVoucher ≥ 50% of IssueVoucher throughput", issue, redeem, (i, r) => (r.PerSecond / i.PerSecond, $"{r.PerSecond:N0}/s vs {i.PerSecond:N0}/s = {r.PerSecond / i.PerSecond:P0}"), 0.5);
        Target(md, "RedeemVoucher p99 < 25 ms at half its throughput", redeemHalf, redeemHalf, (_, r) => (25 - r.Percentile(99), $"p99 {r.Percentile(99):0.00} ms at {r.Mode}"), 0);
        md.AppendLine().AppendLine("## Group commit, as the shards reported it").AppendLine();
        md.AppendLine("```");
        lock (batchLog)
        {
            foreach (var line in batchLog)
            {
                md.AppendLine(line);
            }
        }

        md.AppendLine("```");
        return md.ToString();
    }

    private static void Target(StringBuilder md, string name, LoadResult? a, LoadResult? b, Func<LoadResult, LoadResult, (double Value, string Text)> measure, double threshold)
    {
        if (a is null || b is null)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"| {name} | not run | – |");
            return;
        }

        var (value, text) = measure(a, b);
        if (a.Failed + b.Failed > 0)
        {
            // A figure from a run with failed calls measures the failures too: it meets nothing.
            md.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {text}, with {a.Failed + b.Failed:N0} failed calls | **no** |");
            return;
        }

        md.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {text} | {(value >= threshold ? "yes" : "**no**")} |");
    }

    private static LoadResult? First(IReadOnlyDictionary<string, IReadOnlyList<LoadResult>> r, string name) =>
        r.TryGetValue(name, out var list) && list.Count > 0 ? list[0] : null;

    private static LoadResult? Second(IReadOnlyDictionary<string, IReadOnlyList<LoadResult>> r, string name) =>
        r.TryGetValue(name, out var list) && list.Count > 1 ? list[1] : null;

    private static string Errors(LoadResult r) =>
        r.Errors.Count == 0 ? "" : " (" + string.Join(", ", r.Errors.Select(e => $"{e.Key}: {e.Value}")) + ")";
}
