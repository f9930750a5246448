using System.Globalization;
using Campaigns.LoadTests;
using Grpc.Core;

const string Usage = """
    Usage: dotnet run -c Release --project loadtests -- [scenario ...] [--duration 10] [--workers 64]
           [--batch-workers 4] [--checkout-vouchers 500000] [--ids random|sequential] [--repeat 1]
           [--report loadtests/reports/latest.md] [--ledger-postgres "Host=…;Username=…"]
           [--postgres "Host=…;Username=…" --redis host:port] [--address http://host:port --organiser-key …]
    Scenarios: health issue batch soldout checkout ledger flash rebuild (default: these), and
    deadhook (only when named: issue with a callback receiver that never answers subscribed). Starts its own silo
    (Release build, fresh SQLite file, free loopback ports) and stops it at the end; with
    --repeat N, runs everything N times on a fresh silo each and judges each target on its
    median round. ledger measures the SQLite ledger alone, in the tool's process; with
    --ledger-postgres, the PostgreSQL ledger alone instead, in a schema of its own on that server.
    With --postgres and --redis, the silo runs in production mode on those servers, in a new
    database per round (created on that server, dropped at the end); servers on this machine
    get a CPU column of their own. With --address, it drives that running silo instead of
    starting one (any silo of a cluster; --organiser-key, default dev-organiser-key): no CPU or
    memory figures, and flash and rebuild, which restart their silo, cannot run.
    """;
string[] byDefault = ["health", "issue", "batch", "soldout", "checkout", "ledger", "flash", "rebuild"];
string[] known = [.. byDefault, "deadhook"];

if (args is ["--help"] or ["-h"])
{
    Console.WriteLine(Usage);
    return 0;
}

if (!Args.TryParse(args, known, out var options, out var problem))
{
    Console.Error.WriteLine(problem);
    Console.Error.WriteLine(Usage);
    return 2;
}

var root = Args.RepositoryRoot();
if (options.Address is null && SiloProcess.MissingBuild(root) is { } missing)
{
    // Said before anything starts, as a usage error: an exception here would abort with 134.
    Console.Error.WriteLine(missing);
    return 2;
}

var settings = new LoadSettings(
    TimeSpan.FromSeconds(options.Numbers["duration"]),
    (int)options.Numbers["workers"],
    (int)options.Numbers["batch-workers"],
    (int)options.Numbers["checkout-vouchers"],
    options.Ids,
    Production: options.Postgres is not null,
    Target: options.Address);
var wanted = options.Scenarios.Count > 0 ? options.Scenarios : [.. byDefault];

var repeat = (int)options.Numbers["repeat"];
var rounds = new List<Round>();
for (var round = 1; round <= repeat; round++)
{
    var starting = repeat > 1 ? $"Round {round} of {repeat}: starting" : "Starting";
    Console.WriteLine(options.Address is null ? $"{starting} a silo (Release) from {root} ..." : $"Round {round}: driving the silo at {options.Address}");
    await using var database = options.Postgres is null ? null : await LoadDatabase.CreateAsync(options.Postgres);
    await using var started = options.Address is not null ? null
        : database is null ? await SiloProcess.StartAsync(root)
        : await SiloProcess.StartAsync(root, database.SiloSettings(options.Redis!), organiserKey: null);
    ILoadTarget silo = started is null ? new RemoteSilo(new Uri(options.Address!), options.OrganiserKey) : started;
    // Production mode's servers, metered beside the silo when they share this machine.
    using var servers = options.Postgres is null || started is null ? null : await ServerProcesses.FindAsync(options.Postgres, options.Redis!, Console.Out);
    using var scenarios = new Scenarios(silo, settings, Console.Out, servers);
    var results = new Dictionary<string, IReadOnlyList<LoadResult>>();
    var failures = new Dictionary<string, string>();
    foreach (var name in wanted)
    {
        Console.WriteLine($"Scenario {name} ({settings.Duration.TotalSeconds:0} s per run) ...");
        try
        {
            results[name] = name switch
            {
                "health" => await scenarios.HealthAsync(),
                "issue" => await scenarios.IssueAsync(),
                "batch" => await scenarios.IssueBatchAsync(),
                "soldout" => await scenarios.SoldOutAsync(),
                "checkout" => await scenarios.CheckoutAsync(),
                "ledger" => await new LedgerCeiling(settings, Console.Out, options.LedgerPostgres).RunAsync(),
                "flash" => await scenarios.FlashAsync(),
                "rebuild" => await scenarios.RebuildAsync(),
                "deadhook" => await scenarios.IssueWithDeadReceiverAsync(),
                _ => throw new InvalidOperationException($"scenario '{name}' was accepted but has no runner"),
            };
        }
        catch (Exception ex) when (ex is RpcException or IOException or TimeoutException or NotSupportedException)
        {
            // A setup call the service did not answer (a campaign, keys, vouchers to redeem): the
            // scenario cannot be measured, which the report says; the other scenarios still run.
            failures[name] = $"{ex.GetType().Name}: {ex.Message}";
            Console.WriteLine($"  could not run: {failures[name]}");
            continue;
        }

        foreach (var result in results[name])
        {
            Console.WriteLine("  " + Report.Line(result));
        }
    }

    if (results.TryGetValue("health", out var health) && wanted.Count > 1)
    {
        // The health baseline again, after the rest: the report measures against the faster run.
        Console.WriteLine("Scenario health, again ...");
        var again = (await scenarios.HealthAsync()).Select(r => r with { Name = "health check (again)" });
        results["health"] = [.. health, .. again];
        Console.WriteLine("  " + Report.Line(results["health"][^1]));
    }

    rounds.Add(new Round(results, failures, silo.BatchLog));
}

var report = Report.Markdown(rounds, settings);
var path = Path.Combine(root, options.Report);
Directory.CreateDirectory(Path.GetDirectoryName(path)!);
await File.WriteAllTextAsync(path, report);
Console.WriteLine();
Console.WriteLine(report);
Console.WriteLine($"Report written to {path}");
return 0;

/// <summary>The command line, checked whole before any silo starts.</summary>
internal sealed record Args(
    List<string> Scenarios, Dictionary<string, double> Numbers, string Report, IdStyle Ids = IdStyle.Random,
    string? LedgerPostgres = null, string? Postgres = null, string? Redis = null,
    string? Address = null, string OrganiserKey = "dev-organiser-key")
{
    private static readonly Dictionary<string, double> Defaults = new()
    {
        ["duration"] = 10,
        ["workers"] = 64,
        ["batch-workers"] = 4,
        ["checkout-vouchers"] = 500_000,
        ["repeat"] = 1,
    };

    public static bool TryParse(string[] args, string[] scenarios, out Args parsed, out string problem)
    {
        parsed = new Args([], new Dictionary<string, double>(Defaults), Path.Combine("loadtests", "reports", "latest.md"));
        problem = "";
        for (var i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal))
            {
                if (!scenarios.Contains(args[i]))
                {
                    problem = $"unknown scenario '{args[i]}'";
                    return false;
                }

                parsed.Scenarios.Add(args[i]);
                continue;
            }

            var name = args[i][2..];
            if (i + 1 >= args.Length)
            {
                problem = $"--{name} needs a value";
                return false;
            }

            var value = args[++i];
            if (name == "report")
            {
                parsed = parsed with { Report = value };
            }
            else if (name == "ledger-postgres")
            {
                parsed = parsed with { LedgerPostgres = value };
            }
            else if (name == "postgres")
            {
                parsed = parsed with { Postgres = value };
            }
            else if (name == "redis")
            {
                parsed = parsed with { Redis = value };
            }
            else if (name == "address")
            {
                if (!Uri.TryCreate(value, UriKind.Absolute, out var address) || address.Scheme is not ("http" or "https"))
                {
                    problem = $"--address takes the silo's gRPC endpoint as http://host:port, not '{value}'";
                    return false;
                }

                parsed = parsed with { Address = value };
            }
            else if (name == "organiser-key")
            {
                parsed = parsed with { OrganiserKey = value };
            }
            else if (name == "ids")
            {
                IdStyle? ids = value switch { "random" => IdStyle.Random, "sequential" => IdStyle.Sequential, _ => null };
                if (ids is null)
                {
                    problem = $"--ids takes 'random' or 'sequential', not '{value}'";
                    return false;
                }

                parsed = parsed with { Ids = ids.Value };
            }
            else if (!Defaults.ContainsKey(name))
            {
                problem = $"unknown option --{name}";
                return false;
            }
            else if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) || number <= 0)
            {
                problem = $"--{name} takes a positive number, not '{value}'";
                return false;
            }
            else if (name != "duration" && number != Math.Floor(number))
            {
                problem = $"--{name} takes a whole number, not '{value}'";
                return false;
            }
            else
            {
                parsed.Numbers[name] = number;
            }
        }

        if ((parsed.Postgres is null) != (parsed.Redis is null))
        {
            problem = "--postgres and --redis go together: production mode needs both";
            return false;
        }

        if (parsed.Address is not null && parsed.Postgres is not null)
        {
            problem = "--address drives a running silo; --postgres and --redis start one: give one or the other";
            return false;
        }

        return true;
    }

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
