using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Campaigns.Tests.Shared;

/// <summary>
/// The Redis server the tests share, named by <c>CAMPAIGNS_TEST_REDIS</c> (host:port).
/// <c>scripts/test.sh</c> starts a throwaway one and sets it; without it, every Redis test fails
/// and says why, rather than passing without having run. Each test takes a key prefix of its own.
/// </summary>
public static class RedisTestServer
{
    public const string Variable = "CAMPAIGNS_TEST_REDIS";

    public static string ConnectionString =>
        Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } connectionString
            ? connectionString
            : throw new InvalidOperationException(
                $"{Variable} is not set, so the Redis tests cannot run: run scripts/test.sh (it starts a throwaway server), " +
                $"or set {Variable} to host:port of a Redis server these tests may write to.");

    /// <summary>A key prefix no other test uses, so tests run side by side on one server.</summary>
    public static string NewPrefix() => $"test-{Guid.NewGuid():N}:";

    /// <summary>A loopback address where nothing listens: a Redis that is down.</summary>
    public static string ClosedPort() => $"127.0.0.1:{Campaigns.LoadTests.LoopbackPorts.Free()}";
}

/// <summary>
/// A Redis server of one test's own, for tests that stop, restart or wipe it: started from
/// <c>redis-server</c> on a free loopback port, stopped through its own process handle.
/// </summary>
public sealed class PrivateRedisServer : IAsyncDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "campaigns-redis-" + Guid.NewGuid().ToString("N"));
    private Process? _process;

    private PrivateRedisServer(int port) => Port = port;

    public int Port { get; }

    public string ConnectionString => $"127.0.0.1:{Port}";

    public static async Task<PrivateRedisServer> StartAsync()
    {
        var port = int.Parse(RedisTestServer.ClosedPort().Split(':')[1]);
        var server = new PrivateRedisServer(port);
        await server.StartAgainAsync();
        return server;
    }

    /// <summary>Starts the server (again) on the same port, empty, and waits until it answers.</summary>
    public async Task StartAgainAsync()
    {
        Directory.CreateDirectory(_directory);
        var start = new ProcessStartInfo("redis-server")
        {
            ArgumentList = { "--bind", "127.0.0.1", "--port", Port.ToString(), "--dir", _directory, "--save", "", "--appendonly", "no" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        try
        {
            _process = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start");
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException("redis-server is not installed: scripts/test.sh installs it (apt-get install redis-server)", ex);
        }

        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var deadline = Stopwatch.StartNew();
        while (await CommandAsync("PING") != "+PONG")
        {
            if (_process.HasExited || deadline.Elapsed > TimeSpan.FromSeconds(10))
            {
                throw new InvalidOperationException($"redis-server on port {Port} did not answer");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>Stops the server (SIGKILL, as a crash would) and waits for it to be gone.</summary>
    public async Task StopAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill();
            await process.WaitForExitAsync();
        }

        _process?.Dispose();
        _process = null;
    }

    /// <summary>One inline command (e.g. FLUSHDB); its first reply line, or null when nothing answers.</summary>
    public async Task<string?> CommandAsync(string command)
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, Port);
            var stream = client.GetStream();
            await stream.WriteAsync(Encoding.ASCII.GetBytes(command + "\r\n"));
            using var reader = new StreamReader(stream, Encoding.ASCII);
            return await reader.ReadLineAsync();
        }
        catch (SocketException)
        {
            return null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A temp directory left behind is harmless.
        }
    }
}
