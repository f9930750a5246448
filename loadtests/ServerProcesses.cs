using System.Globalization;
using System.Net;
using Npgsql;
using StackExchange.Redis;

namespace Campaigns.LoadTests;

/// <summary>
/// The processor time of the servers a production-mode run uses, when they run on this machine
/// and share its cores with the silo and the tool: PostgreSQL (its postmaster and every process
/// under it: backends, WAL writer, checkpointer, and those already gone) and Redis. A production
/// claim costs what the silo spends on it and what these spend on it.
/// </summary>
public sealed class ServerProcesses : IDisposable
{
    private readonly int _postmaster;
    private readonly ConnectionMultiplexer _redis;
    private readonly IServer _redisServer;

    private ServerProcesses(int postmaster, ConnectionMultiplexer redis)
    {
        _postmaster = postmaster;
        _redis = redis;
        _redisServer = redis.GetServer(redis.GetEndPoints()[0]);
    }

    /// <summary>
    /// The servers behind these connection strings, if both run on this machine; otherwise null
    /// and the reason on <paramref name="log"/> (runs then carry no servers' figures).
    /// </summary>
    public static async Task<ServerProcesses?> FindAsync(string postgres, string redis, TextWriter log)
    {
        var redisOptions = ConfigurationOptions.Parse(redis);
        // INFO is an admin command for the client.
        redisOptions.AllowAdmin = true;
        var postgresHost = new NpgsqlConnectionStringBuilder(postgres).Host ?? "";
        var redisHost = redisOptions.EndPoints.FirstOrDefault() switch
        {
            DnsEndPoint dns => dns.Host,
            IPEndPoint ip => ip.Address.ToString(),
            _ => "",
        };
        if (!IsThisMachine(postgresHost) || !IsThisMachine(redisHost))
        {
            log.WriteLine($"PostgreSQL ({postgresHost}) or Redis ({redisHost}) is not on this machine: no CPU figures for the servers.");
            return null;
        }

        if (await PostmasterAsync(postgres) is not { } postmaster)
        {
            log.WriteLine("PostgreSQL's processes are not in this machine's process table: no CPU figures for the servers.");
            return null;
        }

        try
        {
            return new ServerProcesses(postmaster, await ConnectionMultiplexer.ConnectAsync(redisOptions));
        }
        catch (RedisConnectionException ex)
        {
            log.WriteLine($"Redis at {redis} could not be reached ({ex.Message}): no CPU figures for the servers.");
            return null;
        }
    }

    /// <summary>The postmaster's process id: the parent of the backend serving a connection of our own.</summary>
    private static async Task<int?> PostmasterAsync(string postgres)
    {
        await using var connection = new NpgsqlConnection(postgres);
        await connection.OpenAsync();
        await using var query = new NpgsqlCommand("SELECT pg_backend_pid();", connection);
        var backend = (int)(await query.ExecuteScalarAsync())!;
        return ProcStat.Read(backend) is { } stat && ProcStat.Read(stat.ParentId) is { Command: "postgres" or "postmaster" }
            ? stat.ParentId
            : null;
    }

    /// <summary>Both servers' processor time so far; null if a process could not be read.</summary>
    public TimeSpan? ProcessorTime
    {
        get
        {
            if (ProcStat.Read(_postmaster) is not { } postmaster)
            {
                return null;
            }

            // The postmaster's own time, its children's that have ended, and the living children's.
            var postgres = postmaster.OwnTime + postmaster.EndedChildrenTime;
            foreach (var child in ProcStat.ChildrenOf(_postmaster))
            {
                postgres += child.OwnTime;
            }

            return RedisTime() is { } redis ? postgres + redis : null;
        }
    }

    public void Dispose() => _redis.Dispose();

    /// <summary>Redis's own account of its processor time (INFO cpu: the server's user and system seconds).</summary>
    private TimeSpan? RedisTime()
    {
        try
        {
            var cpu = _redisServer.Info("cpu").SelectMany(group => group).ToDictionary(pair => pair.Key, pair => pair.Value);
            return cpu.TryGetValue("used_cpu_user", out var user) && cpu.TryGetValue("used_cpu_sys", out var system)
                ? TimeSpan.FromSeconds(double.Parse(user, CultureInfo.InvariantCulture) + double.Parse(system, CultureInfo.InvariantCulture))
                : null;
        }
        catch (Exception ex) when (ex is RedisException or RedisCommandException or TimeoutException or FormatException)
        {
            // A figure missing from one run is no reason to stop the others.
            return null;
        }
    }

    private static bool IsThisMachine(string host) =>
        host is "localhost" || (IPAddress.TryParse(host, out var address) && IPAddress.IsLoopback(address));
}
