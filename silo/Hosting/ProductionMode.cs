using System.Data.Common;
using System.Net;
using Campaigns.Grains.Ledger;
using Campaigns.Storage.Postgres;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Orleans.Clustering.Redis;
using Orleans.Configuration;
using StackExchange.Redis;

namespace Campaigns.Silo.Hosting;

/// <summary>
/// Production mode (DESIGN.md "Modes"): the ledger and grain state on PostgreSQL, cluster
/// membership in Redis, each silo on its own ports. Both servers are reached once at start-up,
/// so a bad connection string or an unreachable server stops the silo with one clear line.
/// </summary>
public sealed class ProductionMode
{
    private static readonly TimeSpan RedisConnectTimeout = TimeSpan.FromSeconds(5);

    private ProductionMode(ProductionStore store, IConnectionMultiplexer redis, string description)
    {
        Store = store;
        Redis = redis;
        Description = description;
    }

    public ProductionStore Store { get; }

    /// <summary>One connection to Redis per silo, shared by membership and the silo's own Redis services.</summary>
    public IConnectionMultiplexer Redis { get; }

    /// <summary>Where the data lives, for the start-up line (no passwords).</summary>
    public string Description { get; }

    /// <exception cref="StartupException">A connection string is malformed, or its server cannot be reached or refuses the silo.</exception>
    public static async Task<ProductionMode> OpenAsync(ProductionConnections connections, CancellationToken cancellationToken = default)
    {
        var postgres = DescribePostgres(connections.Postgres);
        ProductionStore store;
        try
        {
            store = await ProductionStore.OpenAsync(connections.Postgres, cancellationToken);
        }
        catch (ArgumentException ex)
        {
            throw new StartupException($"{ProductionConnections.PostgresKey} is not a valid connection string: {ex.Message}", ex);
        }
        catch (LedgerUnavailableException ex)
        {
            throw new StartupException($"PostgreSQL at {postgres} cannot be reached: {Innermost(ex)}", ex);
        }
        catch (DbException ex)
        {
            // Authentication, a missing database, missing rights: the server answered, and said no.
            throw new StartupException($"PostgreSQL at {postgres} refused the silo: {ex.Message}", ex);
        }

        try
        {
            var redis = await ConnectRedisAsync(connections.Redis);
            return new ProductionMode(store, redis, $"PostgreSQL at {postgres}, Redis at {string.Join(",", redis.GetEndPoints().Select(e => e.ToString()))}");
        }
        catch
        {
            await store.Ledger.DisposeAsync();
            throw;
        }
    }

    private static async Task<IConnectionMultiplexer> ConnectRedisAsync(string connectionString)
    {
        ConfigurationOptions options;
        try
        {
            options = ConfigurationOptions.Parse(connectionString);
        }
        catch (ArgumentException ex)
        {
            throw new StartupException($"{ProductionConnections.RedisKey} is not a valid Redis configuration: {ex.Message}", ex);
        }

        if (options.EndPoints.Count == 0)
        {
            throw new StartupException($"{ProductionConnections.RedisKey} names no Redis server (expected host:port)");
        }

        // Fail the start-up when Redis cannot be reached at all; once connected, the multiplexer
        // reconnects by itself after any outage.
        options.AbortOnConnectFail = true;
        options.ConnectTimeout = (int)RedisConnectTimeout.TotalMilliseconds;
        options.ClientName ??= "campaigns-silo";
        try
        {
            return await ConnectionMultiplexer.ConnectAsync(options);
        }
        catch (RedisException ex)
        {
            // The client's own message advises abortConnect=false, which is not the operator's fix here.
            throw new StartupException(
                $"Redis at {string.Join(",", options.EndPoints.Select(e => e.ToString()))} cannot be reached (no answer within {RedisConnectTimeout.TotalSeconds:0} s)", ex);
        }
    }

    /// <summary>Joins the cluster named <see cref="OrleansOptions.ClusterId"/> through Redis membership, on this silo's own ports.</summary>
    public ISiloBuilder Join(ISiloBuilder silo, OrleansOptions orleans, CampaignsOptions options)
    {
        var advertised = AdvertisedAddress(orleans, options);
        silo.Configure<ClusterOptions>(cluster =>
            {
                cluster.ServiceId = CampaignsHost.ServiceId;
                cluster.ClusterId = orleans.ClusterId;
            })
            .ConfigureEndpoints(advertised, orleans.SiloPort, orleans.GatewayPort, listenOnAnyHostAddress: IsAnyAddress(options.ListenAddress))
            .UseRedisClustering(clustering =>
            {
                clustering.ConfigurationOptions = ConfigurationOptions.Parse(Redis.Configuration);
                // The silo's one multiplexer, shared: the container owns it and disposes it.
                clustering.CreateMultiplexer = _ => Task.FromResult((Redis, true));
            });
        silo.Services.AddHostedService<MembershipRestorer>();
        silo.AddProductionStorage(Store);
        return silo;
    }

    /// <summary>PostgreSQL and Redis as health checks: the silo cannot serve without the first; without the second it serves, degraded.</summary>
    public void AddHealthChecks(IHealthChecksBuilder health)
    {
        health.AddCheck("postgres", new RecentHealth(new PostgresHealthCheck(Store.Ledger)));
        health.AddCheck("redis", new RecentHealth(new RedisHealthCheck(Redis)));
    }

    private static IPAddress AdvertisedAddress(OrleansOptions orleans, CampaignsOptions options)
    {
        var text = orleans.AdvertisedAddress.Length > 0 ? orleans.AdvertisedAddress : options.ListenAddress;
        if (!IPAddress.TryParse(text, out var address))
        {
            throw new StartupException($"Orleans:AdvertisedAddress '{text}' is not an IP address");
        }

        if (address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any))
        {
            throw new StartupException(
                $"Campaigns:ListenAddress is {text}: set Orleans:AdvertisedAddress to the address other silos reach this one at");
        }

        return address;
    }

    private static bool IsAnyAddress(string text) => text is "0.0.0.0" or "::";

    /// <summary>host:port/database of a PostgreSQL connection string, without its password.</summary>
    private static string DescribePostgres(string connectionString)
    {
        try
        {
            var parts = new DbConnectionStringBuilder { ConnectionString = connectionString };
            string Part(string key, string fallback) => parts.TryGetValue(key, out var value) && value is not null ? value.ToString()! : fallback;
            return $"{Part("Host", Part("Server", "localhost"))}:{Part("Port", "5432")}/{Part("Database", Part("Username", ""))}";
        }
        catch (ArgumentException)
        {
            return "(unreadable connection string)";
        }
    }

    private static string Innermost(Exception ex)
    {
        while (ex.InnerException is { } inner)
        {
            ex = inner;
        }

        return FirstLine(ex.Message);
    }

    private static string FirstLine(string text) => text.Split('\n', 2)[0].Trim();

    /// <summary>
    /// A check's answer reused for a second: load balancers and probes may ask thousands of times
    /// a second, and each asking must not become a round trip to PostgreSQL or Redis.
    /// </summary>
    private sealed class RecentHealth(IHealthCheck check) : IHealthCheck
    {
        private static readonly TimeSpan Freshness = TimeSpan.FromSeconds(1);
        private (long At, Task<HealthCheckResult> Result)? _last;

        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            var now = System.Diagnostics.Stopwatch.GetTimestamp();
            var last = _last;
            if (last is { } recent && System.Diagnostics.Stopwatch.GetElapsedTime(recent.At, now) < Freshness)
            {
                return recent.Result;
            }

            var result = check.CheckHealthAsync(context, CancellationToken.None);
            _last = (now, result);
            return result;
        }
    }

    private sealed class PostgresHealthCheck(PostgresLedger ledger) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                await ledger.PingAsync().WaitAsync(TimeSpan.FromSeconds(3), cancellationToken);
                return HealthCheckResult.Healthy("PostgreSQL answers");
            }
            catch (Exception ex) when (ex is LedgerUnavailableException or TimeoutException or DbException)
            {
                return HealthCheckResult.Unhealthy($"PostgreSQL cannot be reached: {Innermost(ex)}");
            }
        }
    }

    private sealed class RedisHealthCheck(IConnectionMultiplexer redis) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                var latency = await redis.GetDatabase().PingAsync().WaitAsync(TimeSpan.FromSeconds(2), cancellationToken);
                return HealthCheckResult.Healthy($"Redis answers in {latency.TotalMilliseconds:0.0} ms");
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                // Vouchers never depend on Redis: the silo goes on, with per-silo limits and stats from the ledger.
                return HealthCheckResult.Degraded($"Redis cannot be reached: {FirstLine(ex.Message)}");
            }
        }
    }
}
