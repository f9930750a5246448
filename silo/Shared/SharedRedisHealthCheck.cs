using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Campaigns.Silo.Shared;

/// <summary>
/// Redis as a dependency the silo can do without: Degraded (never Unhealthy) while it is out of
/// reach or its circuit is open, since claims and redemptions carry on without it.
/// </summary>
public sealed class SharedRedisHealthCheck(SharedRedis redis) : IHealthCheck
{
    /// <summary>Not "redis": production mode's own connectivity check has that name.</summary>
    public const string Name = "redis-shared";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(redis.IsAvailable
            ? HealthCheckResult.Healthy("Redis connected: rate limits, key revocations and stats are shared by every silo")
            : HealthCheckResult.Degraded("Redis unreachable: rate limits per silo, revocations reach other silos when their cache expires, stats read from the ledger"));
}
