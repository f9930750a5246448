using Microsoft.Extensions.Diagnostics.HealthChecks;
using Orleans.Runtime;

namespace Campaigns.Silo.Hosting;

/// <summary>Healthy once the silo has joined its cluster and is serving grains.</summary>
public sealed class SiloHealthCheck(ISiloStatusOracle oracle) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(oracle.CurrentStatus == SiloStatus.Active
            ? HealthCheckResult.Healthy("silo active")
            : HealthCheckResult.Unhealthy($"silo {oracle.CurrentStatus}"));
}
