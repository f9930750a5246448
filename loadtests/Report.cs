using System.Globalization;
using System.Text;

namespace Campaigns.LoadTests;

/// <summary>
/// What one round measured: each scenario's runs by scenario name, why any scenario could not
/// run, and the shards' batch log.
/// </summary>
public sealed record Round(
    IReadOnlyDictionary<string, IReadOnlyList<LoadResult>> Results,
    IReadOnlyDictionary<string, string> Failures,
    IReadOnlyList<string> BatchLog);

/// <summary>The report: every run's figures, then the targets checked against them.</summary>
public static class Report
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>
    /// The targets. Each measures one round: a value that meets the target at or above its
    /// threshold, and the text the report shows. Null when the round did not run its scenarios.
    /// </summary>
    private static readonly (string Name, string[] Scenarios, Func<Round, Measure?> Measure)[] Targets =
    [
        ("Ledger alone ≥ 150,000 vouchers/s in commits of 1,000", ["ledger"], r => Both(Third(r, "ledger"), Third(r, "ledger"),
            (b, _) => (b.PerSecond / 150_000, $"{b.PerSecond:N0} vouchers/s"))),
        ("Ledger alone: WAL bytes per voucher < 300 (commits of 1,000)", ["ledger"], r => Both(Third(r, "ledger"), Third(r, "ledger"),
            (b, _) => b.LogBytes is { } bytes && b.Succeeded > 0
                ? (300.0 / Math.Max(1, (double)bytes / b.Succeeded), $"{(double)bytes / b.Succeeded:N0} bytes a voucher")
                : (0, "not counted"))),
        ("IssueVouchers ≥ 100,000 vouchers/s", ["batch"], r => Both(First(r, "batch"), First(r, "batch"),
            (b, _) => (b.PerSecond / 100_000, $"{b.PerSecond:N0} vouchers/s"))),
        ("IssueVoucher ≥ 50% of health-check throughput", ["health", "issue"], r => Both(Health(r), First(r, "issue"),
            (h, i) => (i.PerSecond / h.PerSecond / 0.50, $"{i.PerSecond:N0}/s vs {h.PerSecond:N0}/s = {i.PerSecond / h.PerSecond:P0}"))),
        ("IssueVoucher p99 < 25 ms at half its throughput", ["issue"], r => Both(Second(r, "issue"), Second(r, "issue"), LatencyUnder25)),
        ("Sold-out rejections ≥ 75% of health-check throughput", ["health", "soldout"], r => Both(Health(r), First(r, "soldout"),
            (h, s) => (s.PerSecond / h.PerSecond / 0.75, $"{s.PerSecond:N0}/s vs {h.PerSecond:N0}/s = {s.PerSecond / h.PerSecond:P0}"))),
        ("Flash drop of 1,000,000 claims: every invariant holds, silo peak memory < 1 GiB", ["flash"], r => Both(First(r, "flash"), First(r, "flash"),
            (f, _) => (f.Checks!.All(c => c.Held) && f.PeakMemoryBytes < (1L << 30) ? 1 : 0,
                $"{string.Join("; ", f.Checks!.Select(c => $"{(c.Held ? "" : "BROKEN: ")}{c.What} ({c.Detail})"))}; peak {f.PeakMemoryBytes / 1_048_576.0:N0} MiB; {f.PerSecond:N0} claims/s"))),
        ("A shard of 200,000 vouchers answers its first claim within 1 s of a restart", ["rebuild"], r => Both(First(r, "rebuild"), First(r, "rebuild"),
            (f, _) => (f.Checks!.All(c => c.Held) ? 1_000 / Math.Max(1, f.Percentile(100)) : 0,
                $"{f.Percentile(100):N0} ms; {string.Join("; ", f.Checks!.Select(c => $"{(c.Held ? "" : "BROKEN: ")}{c.What}"))}"))),
        ("RedeemVoucher ≥ 50% of IssueVoucher throughput", ["issue", "checkout"], r => Both(First(r, "issue"), First(r, "checkout"),
            (i, c) => (c.PerSecond / i.PerSecond / 0.5, $"{c.PerSecond:N0}/s vs {i.PerSecond:N0}/s = {c.PerSecond / i.PerSecond:P0}"))),
        ("RedeemVoucher p99 < 25 ms at half its throughput", ["checkout"], r => Both(Second(r, "checkout"), Second(r, "checkout"), LatencyUnder25)),
    ];

    public static string Line(LoadResult r) => string.Create(Inv,
        $"{r.Name,-32} {r.Mode,-26} {r.PerSecond,10:N0}/s  ok {r.Succeeded,9:N0}  failed {r.Failed,6:N0}  p50 {r.Percentile(50),7:0.00} ms  p99 {r.Percentile(99),7:0.00} ms  p99.9 {r.Percentile(99.9),7:0.00} ms{CpuText(r)}{Errors(r)}");

    private static string IdsText(IdStyle ids) => ids == IdStyle.Random
        ? "random user and request ids"
        : "sequential user and request ids";

    public static string Markdown(IReadOnlyList<Round> rounds, LoadSettings settings)
    {
        var md = new StringBuilder();
        md.AppendLine("# Load test report").AppendLine();
        var repeated = rounds.Count > 1 ? $" · {rounds.Count} rounds{(settings.Target is null ? ", each on a fresh silo" : "")}" : "";
        md.AppendLine(Inv, $"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC · {Environment.ProcessorCount} cores · {settings.Duration.TotalSeconds:0} s per run{repeated} · {settings.Workers} callers (batch: {settings.BatchWorkers}) · {IdsText(settings.Ids)} · {Target(settings)} · load tool on the same machine").AppendLine();
        var roundColumn = rounds.Count > 1 ? "round | " : "";
        // The servers' column only when a run could see them (production mode, on this machine).
        var withServers = rounds.Any(round => Runs(round).Any(r => r.CpuPerCall?.Servers is not null));
        var serversColumn = withServers ? " servers CPU µs/call |" : "";
        md.AppendLine($"| {roundColumn}scenario | mode | per second | ok | failed | p50 ms | p99 ms | p99.9 ms | max ms | silo CPU µs/call | tool CPU µs/call |{serversColumn}");
        md.AppendLine((rounds.Count > 1 ? "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|" : "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|") + (withServers ? "---:|" : ""));
        for (var i = 0; i < rounds.Count; i++)
        {
            var round = rounds.Count > 1 ? $"{i + 1} | " : "";
            foreach (var r in Runs(rounds[i]))
            {
                md.AppendLine(Inv, $"| {round}{r.Name} | {r.Mode} | {r.PerSecond:N0} | {r.Succeeded:N0} | {r.Failed:N0}{Errors(r)} | {r.Percentile(50):0.00} | {r.Percentile(99):0.00} | {r.Percentile(99.9):0.00} | {r.Percentile(100):0.00} | {Micros(r.CpuPerCall?.Silo)} | {Micros(r.CpuPerCall?.Tool)} |{(withServers ? $" {Micros(r.CpuPerCall?.Servers)} |" : "")}");
            }
        }

        md.AppendLine().AppendLine("CPU per call: the processor time each process used during the run (all threads, user and system) over the calls it answered; for batches, over the vouchers. The silo and the tool share the cores."
            + (withServers ? " Servers: PostgreSQL (every process of it) and Redis, on the same cores." : ""));

        var warmUps = rounds
            .SelectMany((round, i) => Runs(round).Where(r => r.WarmUp is not null).Select(r => (Round: rounds.Count > 1 ? $"round {i + 1}, " : "", Run: r)))
            .ToList();
        if (warmUps.Count > 0)
        {
            md.AppendLine().AppendLine(Inv, $"Each scenario first warms the silo up, until its runtime compiler is quiet (under 5% of a core for {WarmUp.QuietSlices} seconds running; at least {WarmUp.Least.TotalSeconds:0} s, at most {WarmUp.Most.TotalSeconds:0} s):").AppendLine();
            foreach (var (round, r) in warmUps)
            {
                md.AppendLine(Inv, $"- {round}{r.Name}: {r.WarmUp}");
            }
        }

        var openLoops = rounds
            .SelectMany((round, i) => Runs(round).Where(r => r.StartLag is { TotalCount: > 0 }).Select(r => (Round: rounds.Count > 1 ? $"round {i + 1}, " : "", Run: r)))
            .ToList();
        if (openLoops.Count > 0)
        {
            md.AppendLine().AppendLine("How late the tool itself started open-loop calls (already inside their latencies):").AppendLine();
            foreach (var (round, r) in openLoops)
            {
                md.AppendLine(Inv, $"- {round}{r.Name}, {r.Mode}: p50 {LoadResult.Milliseconds(r.StartLag!, 50):0.00} ms, p99 {LoadResult.Milliseconds(r.StartLag!, 99):0.00} ms, max {LoadResult.Milliseconds(r.StartLag!, 100):0.00} ms");
            }
        }

        md.AppendLine().AppendLine("## Targets").AppendLine();
        if (rounds.Count > 1)
        {
            md.AppendLine("Each target is judged on its median round (the lower of the middle two for an even count); the other rounds follow it.").AppendLine();
        }

        md.AppendLine("| target | measured | met |").AppendLine("|---|---|---|");
        foreach (var (name, scenarios, measure) in Targets)
        {
            var couldNotRun = rounds.Count(r => scenarios.Any(r.Failures.ContainsKey));
            md.AppendLine(Inv, $"| {name} | {Judge(rounds.Select(measure).OfType<Measure>().ToList(), couldNotRun)} |");
        }

        AppendStoreAlone(md, rounds);

        var failures = rounds.SelectMany((r, i) => r.Failures.Select(f => (Round: i + 1, Scenario: f.Key, Error: f.Value))).ToList();
        if (failures.Count > 0)
        {
            md.AppendLine().AppendLine("## Scenarios that could not run").AppendLine();
            foreach (var (round, scenario, error) in failures)
            {
                md.AppendLine(Inv, $"- {(rounds.Count > 1 ? $"round {round}, " : "")}{scenario}: {error}");
            }
        }

        if (rounds.All(round => round.BatchLog.Count == 0))
        {
            // A silo the tool did not start: its log is out of sight.
            return md.ToString();
        }

        md.AppendLine().AppendLine("## Group commit, as the shards and the ledger reported it").AppendLine();
        md.AppendLine("```");
        foreach (var round in rounds)
        {
            lock (round.BatchLog)
            {
                foreach (var line in round.BatchLog)
                {
                    md.AppendLine(line);
                }
            }
        }

        md.AppendLine("```");
        return md.ToString();
    }

    /// <summary>
    /// The <c>ledger</c> scenario's figures set against the issuing targets: the service's issuing
    /// sits under what the store takes on its own, so they show how much room a target has.
    /// </summary>
    private static void AppendStoreAlone(StringBuilder md, IReadOnlyList<Round> rounds)
    {
        var measured = rounds
            .Select((round, i) => (Round: rounds.Count > 1 ? $"round {i + 1}: " : "", Single: First(round, "ledger"), Half: Second(round, "ledger"), Batches: Third(round, "ledger"), Health: Health(round)))
            .Where(m => m.Single is not null)
            .ToList();
        if (measured.Count == 0)
        {
            return;
        }

        md.AppendLine().AppendLine("## What the store alone allows").AppendLine();
        md.AppendLine("The ledger on its own (`ledger`: the shards' issue batches committed in the tool's process, no gRPC, no grains; SQLite, or PostgreSQL where the runs say so). The service's issuing sits under these figures:").AppendLine();
        foreach (var (round, single, half, batches, health) in measured)
        {
            var share = health is null ? "" : string.Create(Inv, $" = {single!.PerSecond / health.PerSecond:P0} of the health check (IssueVoucher's target: 50 %)");
            var tail = half is null ? "" : string.Create(Inv, $"; p99 {half.Percentile(99):0.00} ms at {half.PerSecond:N0}/s");
            var thousands = batches is null ? "" : string.Create(Inv, $"; {batches.PerSecond:N0} vouchers/s in commits of 1,000 = {batches.PerSecond / 100_000:P0} of IssueVouchers' 100,000/s");
            var logged = single!.LogBytes is { } bytes && single.Succeeded > 0 ? string.Create(Inv, $" ({(double)bytes / single.Succeeded:N0} WAL bytes each)") : "";
            md.AppendLine(Inv, $"- {round}{single.PerSecond:N0} single-voucher commits/s{logged}{share}{tail}{thousands}");
        }
    }

    /// <summary>One round's figure for a target: met when <see cref="Value"/> ≥ 1.</summary>
    private sealed record Measure(double Value, string Text, long Failed);

    /// <summary>
    /// "measured | met" for a target over the rounds that ran it. A round whose scenario could
    /// not run (its setup went unanswered) counts against the target, as failed calls do.
    /// </summary>
    private static string Judge(List<Measure> measures, int couldNotRun)
    {
        var unrun = couldNotRun > 0 ? $"{couldNotRun} round(s) could not run it" : "";
        if (measures.Count == 0)
        {
            return couldNotRun > 0 ? $"{unrun} | **no**" : "not run | –";
        }

        var sorted = measures.OrderBy(m => m.Value).ToList();
        var median = sorted[(sorted.Count - 1) / 2];
        var others = measures.Where(m => !ReferenceEquals(m, median)).Select(m => m.Text).ToList();
        var text = others.Count == 0 ? median.Text : $"{median.Text} (other rounds: {string.Join("; ", others)})";
        var failed = measures.Sum(m => m.Failed);
        if (failed > 0)
        {
            // A figure from a run with failed calls measures the failures too: it meets nothing.
            text += $", with {failed:N0} failed calls";
        }

        if (couldNotRun > 0)
        {
            text += $", {unrun}";
        }

        return $"{text} | {(failed == 0 && couldNotRun == 0 && median.Value >= 1 ? "yes" : "**no**")}";
    }

    private static Measure? Both(LoadResult? a, LoadResult? b, Func<LoadResult, LoadResult, (double Value, string Text)> measure)
    {
        if (a is null || b is null)
        {
            return null;
        }

        var (value, text) = measure(a, b);
        return new Measure(value, text, a.Failed + (ReferenceEquals(a, b) ? 0 : b.Failed));
    }

    private static (double, string) LatencyUnder25(LoadResult run, LoadResult _) =>
        (25 / Math.Max(run.Percentile(99), 0.001), string.Create(Inv, $"p99 {run.Percentile(99):0.00} ms at {run.Mode}"));

    private static IEnumerable<LoadResult> Runs(Round round) => round.Results.Values.SelectMany(x => x);

    // The baseline is the faster of the health runs (one first, one after the rest): the harder
    // bar, and less at the mercy of one noisy run.
    private static LoadResult? Health(Round r) =>
        r.Results.TryGetValue("health", out var runs) ? runs.MaxBy(x => x.PerSecond) : null;

    private static LoadResult? First(Round r, string name) => Nth(r, name, 0);

    private static LoadResult? Second(Round r, string name) => Nth(r, name, 1);

    private static LoadResult? Third(Round r, string name) => Nth(r, name, 2);

    /// <summary>A scenario's run by its place in the scenario's order, if the round has it.</summary>
    private static LoadResult? Nth(Round r, string name, int index) =>
        r.Results.TryGetValue(name, out var list) && list.Count > index ? list[index] : null;

    private static string Micros(double? perCall) => perCall is { } value ? value.ToString("0.0", Inv) : "–";

    private static string CpuText(LoadResult r) => r.CpuPerCall is { } perCall
        ? string.Create(Inv, $"  CPU µs/call silo {perCall.Silo,6:0.0} tool {perCall.Tool,6:0.0}") + (perCall.Servers is { } servers ? string.Create(Inv, $" servers {servers,6:0.0}") : "")
        : "";

    private static string Target(LoadSettings settings) =>
        settings.Target is { } address ? $"the running silo at {address} (not started by the tool: no CPU or memory figures)"
        : settings.Production ? "production-mode silo (PostgreSQL and Redis on the same machine), Release, loopback"
        : "embedded SQLite silo, Release, loopback";

    private static string Errors(LoadResult r) =>
        r.Errors.Count == 0 ? "" : " (" + string.Join(", ", r.Errors.Select(e => $"{e.Key}: {e.Value}")) + ")";
}
