using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Grpc.Health.V1;
using Grpc.Net.Client;

namespace Campaigns.LoadTests;

/// <summary>
/// A real silo in its own process (Release build, embedded SQLite in a fresh temp directory, or
/// production mode when the settings name PostgreSQL and Redis) on free loopback ports, so the load
/// tool measures exactly what `dotnet run --project silo` serves. It can be killed and started again
/// on the same data and ports (a crash and an operator's restart). Killed and cleaned up on dispose.
/// </summary>
public sealed class SiloProcess : ILoadTarget, IAsyncDisposable
{
    private readonly string _dataDirectory;
    private readonly string _repositoryRoot;
    private readonly int[] _ports;
    private readonly IReadOnlyList<string> _settings;
    private Process _process = null!;

    private SiloProcess(string repositoryRoot, string dataDirectory, int[] ports, string organiserKey, IReadOnlyList<string> settings)
    {
        _repositoryRoot = repositoryRoot;
        _dataDirectory = dataDirectory;
        _ports = ports;
        _settings = settings;
        Address = new Uri($"http://127.0.0.1:{ports[0]}");
        HttpAddress = new Uri($"http://127.0.0.1:{ports[1]}");
        OrganiserKey = organiserKey;
    }

    /// <summary>The gRPC endpoint.</summary>
    public Uri Address { get; }

    /// <summary>The HTTP port: /healthz, HTTP/JSON, the dashboard.</summary>
    public Uri HttpAddress { get; }

    /// <summary>Whether the silo's warnings and errors are copied to this process's standard error as they happen (the load tool's operator wants them; tests read <see cref="RecentLog"/> instead).</summary>
    public bool EchoWarnings { get; set; } = true;

    /// <summary>The silo's last few hundred lines of output, for a failure's message.</summary>
    public IReadOnlyList<string> RecentLog
    {
        get
        {
            lock (_recent)
            {
                return [.. _recent];
            }
        }
    }

    private readonly Queue<string> _recent = new();

    /// <summary>False once killed, until started again.</summary>
    public bool IsRunning => !_process.HasExited;

    public string OrganiserKey { get; }

    /// <summary>
    /// The processor time used so far by each of the silo's runtime-compiler threads (the
    /// background tiered-compilation worker, which ends when idle and is started again), by
    /// thread id; empty where the platform does not show threads (Linux does, in /proc).
    /// </summary>
    public IReadOnlyDictionary<string, TimeSpan> CompilerThreads()
    {
        var threads = new Dictionary<string, TimeSpan>();
        var tasks = $"/proc/{_process.Id}/task";
        if (!Directory.Exists(tasks))
        {
            return threads;
        }

        foreach (var task in Directory.EnumerateDirectories(tasks))
        {
            try
            {
                // The thread is ".NET Tiered Compilation Worker", cut to 15 characters.
                if (!File.ReadAllText(Path.Combine(task, "comm")).StartsWith(".NET Tiered Com", StringComparison.Ordinal))
                {
                    continue;
                }

                if (ProcStat.ReadFile(Path.Combine(task, "stat")) is { } stat)
                {
                    threads[Path.GetFileName(task)] = stat.OwnTime;
                }
            }
            catch (IOException)
            {
                // The thread ended meanwhile.
            }
        }

        return threads;
    }

    /// <summary>The compiler's processor time since <paramref name="before"/> (an earlier <see cref="CompilerThreads"/>).</summary>
    public TimeSpan CompilerTimeSince(IReadOnlyDictionary<string, TimeSpan> before) =>
        CompilerThreads().Aggregate(TimeSpan.Zero, (sum, thread) => sum + thread.Value - before.GetValueOrDefault(thread.Key));

    /// <summary>The processor time the silo's process has used so far.</summary>
    public TimeSpan? ProcessorTime
    {
        get
        {
            _process.Refresh();
            return _process.TotalProcessorTime;
        }
    }

    /// <summary>The most memory the silo's process has held so far (its peak resident set); null where the platform does not say.</summary>
    public long? PeakMemoryBytes
    {
        get
        {
            var status = $"/proc/{_process.Id}/status";
            var line = File.Exists(status) ? File.ReadLines(status).FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal)) : null;
            return line is null ? null : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
        }
    }

    /// <summary>The shards' group-commit reports ("Shard … committed N vouchers in M batches …").</summary>
    public List<string> BatchLog { get; } = [];

    private static string SiloDll(string repositoryRoot) =>
        Path.Combine(repositoryRoot, "silo", "bin", "Release", "net10.0", "Campaigns.Silo.dll");

    /// <summary>What to run when the Release build of the silo is missing; null when it is there.</summary>
    public static string? MissingBuild(string repositoryRoot) => File.Exists(SiloDll(repositoryRoot))
        ? null
        : $"The silo is not built in Release ({SiloDll(repositoryRoot)} is missing). Build it first:\n"
            + $"  dotnet build -c Release {Path.Combine(repositoryRoot, "silo")}";

    public static Task<SiloProcess> StartAsync(string repositoryRoot) => StartAsync(repositoryRoot, [], organiserKey: null);

    /// <param name="settings">More configuration as command-line arguments ("--ConnectionStrings:Postgres=…").</param>
    /// <param name="organiserKey">The bootstrap organiser key; a new random one when null. Silos of one cluster share theirs.</param>
    /// <param name="echoWarnings">See <see cref="EchoWarnings"/>.</param>
    public static async Task<SiloProcess> StartAsync(string repositoryRoot, IReadOnlyList<string> settings, string? organiserKey, bool echoWarnings = true)
    {
        if (MissingBuild(repositoryRoot) is { } hint)
        {
            throw new InvalidOperationException(hint);
        }

        var data = Path.Combine(Path.GetTempPath(), "campaigns-load-" + Guid.NewGuid().ToString("N"));
        var silo = new SiloProcess(repositoryRoot, data, [LoopbackPorts.Free(), LoopbackPorts.Free(), LoopbackPorts.Free(), LoopbackPorts.Free()],
            organiserKey ?? "load-" + Guid.NewGuid().ToString("N"), settings) { EchoWarnings = echoWarnings };
        try
        {
            await silo.LaunchAsync();
        }
        catch
        {
            await silo.DisposeAsync();
            throw;
        }

        return silo;
    }

    /// <summary>Kills the silo (as a crash would) and starts it again on the same data directory and ports.</summary>
    public async Task RestartAsync()
    {
        await KillAsync();
        await StartAgainAsync();
    }

    /// <summary>kill -9: the process ends at once, with nothing flushed or handed over.</summary>
    public async Task KillAsync()
    {
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
    }

    /// <summary>Starts a killed silo again on the same data directory and ports, and waits until it serves.</summary>
    public async Task StartAgainAsync()
    {
        _process.Dispose();
        await LaunchAsync();
    }

    private async Task LaunchAsync()
    {
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList =
            {
                SiloDll(_repositoryRoot),
                $"--Campaigns:GrpcPort={_ports[0]}", $"--Campaigns:HttpPort={_ports[1]}",
                $"--Orleans:SiloPort={_ports[2]}", $"--Orleans:GatewayPort={_ports[3]}",
                $"--Campaigns:DataDirectory={_dataDirectory}", $"--Campaigns:Auth:BootstrapOrganiserKey={OrganiserKey}",
                // The deadhook scenario's receiver listens on loopback, which callbacks refuse by default.
                "--Campaigns:Events:AllowPrivateAddresses=true",
                "--Logging:LogLevel:Default=Warning",
                "--Logging:LogLevel:Campaigns.Grains.Issuance=Information",
                "--Logging:LogLevel:Campaigns.Silo.Hosting.LedgerActivityLog=Information",
                "--Logging:Console:FormatterName=simple", "--Logging:Console:FormatterOptions:SingleLine=true",
            },
            WorkingDirectory = _repositoryRoot,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var setting in _settings)
        {
            start.ArgumentList.Add(setting);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start the silo");
        _process = process;
        process.OutputDataReceived += (_, e) =>
        {
            Remember(e.Data);
            if (EchoWarnings && e.Data is { } warning && (warning.StartsWith("warn:", StringComparison.Ordinal) || warning.StartsWith("fail:", StringComparison.Ordinal) || warning.StartsWith("crit:", StringComparison.Ordinal)))
            {
                // The silo's warnings and errors, as they happen: the first place to look when a run goes wrong.
                Console.Error.WriteLine("silo: " + warning);
            }

            // The shards' and the ledger's activity lines, from "Shard …" or "Ledger …" on.
            if (e.Data is { } line && (line.Contains("committed", StringComparison.Ordinal) || line.Contains("rebuilt", StringComparison.Ordinal)
                || line.Contains("Ledger stalled", StringComparison.Ordinal)))
            {
                var at = line.IndexOf("Shard", StringComparison.Ordinal) is var shard and >= 0 ? shard : line.IndexOf("Ledger ", StringComparison.Ordinal);
                lock (BatchLog)
                {
                    BatchLog.Add(line[Math.Max(at, 0)..]);
                }
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            Remember(e.Data);
            if (EchoWarnings && e.Data is { } line)
            {
                Console.Error.WriteLine("silo: " + line);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        await WaitUntilServingAsync(TimeSpan.FromSeconds(60));
    }

    private void Remember(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_recent)
        {
            _recent.Enqueue(line);
            if (_recent.Count > 300)
            {
                _recent.Dequeue();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is null)
        {
            return;
        }

        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        try
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // Left in the temp directory; harmless.
        }
    }

    private async Task WaitUntilServingAsync(TimeSpan limit)
    {
        using var channel = GrpcChannel.ForAddress(Address);
        var health = new Health.HealthClient(channel);
        var deadline = DateTime.UtcNow + limit;
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"the silo exited with code {_process.ExitCode}; its output ends:\n{string.Join('\n', RecentLog.TakeLast(15))}");
            }

            try
            {
                var reply = await health.CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(2));
                if (reply.Status == HealthCheckResponse.Types.ServingStatus.Serving)
                {
                    return;
                }
            }
            catch (Grpc.Core.RpcException)
            {
                // Not up yet.
            }

            await Task.Delay(250);
        }

        throw new TimeoutException("the silo did not become healthy in time");
    }
}
