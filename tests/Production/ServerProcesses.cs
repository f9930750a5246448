using System.Diagnostics;
using Campaigns.LoadTests;
using Npgsql;
using StackExchange.Redis;

namespace Campaigns.Tests.Production;

/// <summary>
/// A PostgreSQL server of the test's own on a free loopback port (Debian's binaries, which
/// <c>scripts/test.sh</c> installs), so a fault test can stop and start it without touching the
/// server other tests share. Stopped and deleted on dispose.
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    private readonly string _directory;
    private readonly string _bin;

    private PostgresServer(string directory, string bin, int port)
    {
        _directory = directory;
        _bin = bin;
        Port = port;
    }

    public int Port { get; }

    /// <summary>The connection string of the server's database named <paramref name="database"/>.</summary>
    public string ConnectionString(string database = "postgres") =>
        $"Host=127.0.0.1;Port={Port};Username=postgres;Database={database};Timeout=5;Command Timeout=10";

    private string DataDirectory => Path.Combine(_directory, "data");

    public static async Task<PostgresServer> StartAsync()
    {
        var bin = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin")).Where(d => File.Exists(Path.Combine(d, "initdb")))
                .OrderBy(d => d.Length).ThenBy(d => d, StringComparer.Ordinal).LastOrDefault()
            : null;
        if (bin is null)
        {
            throw new InvalidOperationException("PostgreSQL's server binaries are not installed (/usr/lib/postgresql/*/bin): run scripts/test.sh, which installs them");
        }

        var directory = Path.Combine(Path.GetTempPath(), "campaigns-pg-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        var server = new PostgresServer(directory, bin, LoopbackPorts.Free());
        try
        {
            if (Environment.UserName == "root")
            {
                // PostgreSQL refuses to run as root: the cluster belongs to the postgres user.
                await RunAsync("chown", "postgres", directory);
            }

            await server.AsOwnerAsync(Path.Combine(bin, "initdb"), "-D", server.DataDirectory, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8");
            await server.StartAgainAsync();
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }

        return server;
    }

    /// <summary>Starts the server (again) on its port and data, waiting until it accepts connections.</summary>
    public Task StartAgainAsync() =>
        AsOwnerAsync(Path.Combine(_bin, "pg_ctl"), "-D", DataDirectory, "-l", Path.Combine(_directory, "server.log"), "-w", "-t", "30",
            "-o", $"-c listen_addresses=127.0.0.1 -p {Port} -k {_directory} -c max_connections=300", "start");

    /// <summary>Stops the server at once (fast shutdown: sessions are cut, nothing is lost that was committed).</summary>
    public Task StopAsync() => AsOwnerAsync(Path.Combine(_bin, "pg_ctl"), "-D", DataDirectory, "-m", "fast", "-w", "stop");


    public async ValueTask DisposeAsync()
    {
        if (File.Exists(Path.Combine(DataDirectory, "postmaster.pid")))
        {
            try
            {
                await AsOwnerAsync(Path.Combine(_bin, "pg_ctl"), "-D", DataDirectory, "-m", "immediate", "-w", "stop");
            }
            catch (InvalidOperationException)
            {
                // Already stopped.
            }
        }

        NpgsqlConnection.ClearAllPools();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // Left in the temp directory; harmless.
        }
    }

    private Task AsOwnerAsync(string tool, params string[] arguments) =>
        Environment.UserName == "root"
            ? RunAsync("runuser", ["-u", "postgres", "--", tool, .. arguments])
            : RunAsync(tool, arguments);

    internal static async Task RunAsync(string file, params string[] arguments)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Path.GetTempPath() };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not run {file}");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} exited with {process.ExitCode}: {await error}{await output}");
        }
    }
}

/// <summary>A Redis server of the test's own on a free loopback port, which a fault test may stop, start again or wipe. Killed on dispose.</summary>
public sealed class RedisServer : IAsyncDisposable
{
    private Process? _process;

    private RedisServer(int port) => Port = port;

    public int Port { get; }

    public string ConnectionString => $"127.0.0.1:{Port}";

    public static async Task<RedisServer> StartAsync()
    {
        var server = new RedisServer(LoopbackPorts.Free());
        await server.StartAgainAsync();
        return server;
    }

    /// <summary>Starts the server (again, empty: it keeps nothing on disk) and waits until it answers.</summary>
    public async Task StartAgainAsync()
    {
        var start = new ProcessStartInfo("redis-server") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Path.GetTempPath() };
        foreach (var argument in new[] { "--bind", "127.0.0.1", "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--save", "", "--appendonly", "no" })
        {
            start.ArgumentList.Add(argument);
        }

        try
        {
            _process = Process.Start(start);
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException("redis-server is not installed: run scripts/test.sh, which installs it", ex);
        }

        _process!.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            try
            {
                await using var probe = await ConnectionMultiplexer.ConnectAsync(new ConfigurationOptions { EndPoints = { ConnectionString }, ConnectTimeout = 500 });
                await probe.GetDatabase().PingAsync();
                return;
            }
            catch (RedisConnectionException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }
    }

    /// <summary>kill -9: everything it held is gone.</summary>
    public async Task StopAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
    }

    /// <summary>Deletes every key, as an operator's FLUSHALL (or a restarted Redis without persistence) would.</summary>
    public async Task WipeAsync()
    {
        await using var admin = await ConnectionMultiplexer.ConnectAsync(new ConfigurationOptions { EndPoints = { ConnectionString }, AllowAdmin = true });
        await admin.GetServer(ConnectionString).FlushAllDatabasesAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _process?.Dispose();
    }
}

