using System.Globalization;
using Campaigns.LoadTests;

// Usage: dotnet run -c Release --project loadtests -- [scenario ...] [--duration 10] [--workers 64]
//        [--batch-workers 4] [--checkout-vouchers 150000] [--report loadtests/reports/latest.md]
// Scenarios: health issue batch soldout checkout (default: all). Starts its own silo (Release
// build, fresh SQLite file, free loopback ports) and stops it at the end.
var options = Args.Parse(args);
var root = Args.RepositoryRoot();
var settings = new LoadSettings(
    TimeSpan.FromSeconds(options.Number("duration", 10)),
    (int)options.Number("workers", 64),
    (int)options.Number("batch-workers", 4),
    (int)options.Number("checkout-vouchers", 150_000));
var wanted = options.Scenarios.Count > 0 ? options.Scenarios : ["health", "issue", "batch", "soldout", "checkout"];

Console.WriteLine($"Starting a silo (Release) from {root} ...");
await using var silo = await SiloProcess.StartAsync(root);
using var scenarios = new Scenarios(silo, settings, Console.Out);
var results = new Dictionary<string, IReadOnlyList<LoadResult>>();
foreach (var name in wanted)
{
    Console.WriteLine($"Scenario {name} ({settings.Duration.TotalSeconds:0} s per run) ...");
    results[name] = name switch
    {
        "health" => await scenarios.HealthAsync(),
        "issue" => await scenarios.IssueAsync(),
        "batch" => await scenarios.IssueBatchAsync(),
        "soldout" => await scenarios.SoldOutAsync(),
        "checkout" => await scenarios.CheckoutAsync(),
        _ => throw new ArgumentException($"unknown scenario '{name}'"),
    };
    foreach (var result in results[name])
    {
        Console.WriteLine("  " + Report.Line(result));
    }
}

var report = Report.Markdown(results, settings, silo.BatchLog);
var path = Path.Combine(root, options.Text("report", Path.Combine("loadtests", "reports", "latest.md")));
Directory.CreateDirectory(Path.GetDirectoryName(path)!);
await File.WriteAllTextAsync(path, report);
Console.WriteLine();
Console.WriteLine(report);
Console.WriteLine($"Report written to {path}");

internal sealed record Args(List<string> Scenarios, Dictionary<string, string> Values)
{
    public static Args Parse(string[] args)
    {
        var scenarios = new List<string>();
        var values = new Dictionary<string, string>();
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i].StartsWith("--", StringComparison.Ordinal) && i + 1 < args.Length)
            {
                values[args[i][2..]] = args[++i];
            }
            else
            {
                scenarios.Add(args[i]);
            }
        }

        return new Args(scenarios, values);
    }

    public double Number(string name, double fallback) =>
        Values.TryGetValue(name, out var text) ? double.Parse(text, CultureInfo.InvariantCulture) : fallback;

    public string Text(string name, string fallback) => Values.GetValueOrDefault(name, fallback);

    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Campaigns.sln")))
            {
                return dir.FullName;
            }
        }

        return Directory.GetCurrentDirectory();
    }
}
