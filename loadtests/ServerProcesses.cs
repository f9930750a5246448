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

/// <summary>One process's line of <c>/proc/PID/stat</c>: its parent and its processor time.</summary>
public sealed record ProcStat(int ProcessId, string Command, int ParentId, TimeSpan OwnTime, TimeSpan EndedChildrenTime)
{
    // USER_HZ: the unit of the times in /proc, fixed at 100 by the kernel's ABI on every architecture .NET runs on.
    private const double TicksPerSecond = 100;

    /// <summary>The process's line, or null when it has gone (or this is not Linux).</summary>
    public static ProcStat? Read(int processId)
    {
        try
        {
            return Parse(File.ReadAllText($"/proc/{processId}/stat"));
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The living processes whose parent is <paramref name="parentId"/>.</summary>
    public static IEnumerable<ProcStat> ChildrenOf(int parentId)
    {
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(directory), out var processId) && Read(processId) is { } stat && stat.ParentId == parentId)
            {
                yield return stat;
            }
        }
    }

    /// <summary>
    /// Parses a <c>/proc/PID/stat</c> line. The command sits in parentheses and may hold spaces and
    /// parentheses itself, so the fields are counted from the last closing parenthesis.
    /// </summary>
    public static ProcStat? Parse(string line)
    {
        var open = line.IndexOf('(', StringComparison.Ordinal);
        var close = line.LastIndexOf(')');
        if (open < 0 || close < open || !int.TryParse(line.AsSpan(0, open).Trim(), CultureInfo.InvariantCulture, out var processId))
        {
            return null;
        }

        // After the command: state (field 3), parent (4), …, utime (14), stime (15), cutime (16), cstime (17).
        var fields = line[(close + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length < 15
            || !int.TryParse(fields[1], CultureInfo.InvariantCulture, out var parentId)
            || !long.TryParse(fields[11], CultureInfo.InvariantCulture, out var user)
            || !long.TryParse(fields[12], CultureInfo.InvariantCulture, out var system)
            || !long.TryParse(fields[13], CultureInfo.InvariantCulture, out var childrenUser)
            || !long.TryParse(fields[14], CultureInfo.InvariantCulture, out var childrenSystem))
        {
            return null;
        }

        return new ProcStat(processId, line[(open + 1)..close], parentId,
            TimeSpan.FromSeconds((user + system) / TicksPerSecond), TimeSpan.FromSeconds((childrenUser + childrenSystem) / TicksPerSecond));
    }
}
