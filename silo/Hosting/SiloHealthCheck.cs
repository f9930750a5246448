using Campaigns.Grains.Ledger;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Orleans.Runtime;

namespace Campaigns.Silo.Hosting;

/// <summary>
/// Healthy once the silo has joined its cluster and is serving grains, and for as long as its
/// ledger takes writes (a failed WAL flush stops it: see <see cref="ILedgerDiagnostics.Fault"/>).
/// </summary>
public sealed class SiloHealthCheck(ISiloStatusOracle oracle, ILedgerDiagnostics ledger) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(
            oracle.CurrentStatus != SiloStatus.Active ? HealthCheckResult.Unhealthy($"silo {oracle.CurrentStatus}")
            : ledger.Fault is { } fault ? HealthCheckResult.Unhealthy($"ledger stopped: {fault}")
            : HealthCheckResult.Healthy("silo active"));
}
