using Xunit.Abstractions;

namespace Campaigns.Tests.Production;

/// <summary>
/// Production mode's failure model (DESIGN.md "Failure model") on real processes: three silos on
/// PostgreSQL and Redis under continuous claims and redemptions through every silo, one of them
/// killed and started again.
/// </summary>
[Collection(ProductionCollection.Name)]
public sealed class ClusterFaultTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_silo_killed_mid_drop_loses_no_acknowledged_voucher_and_issues_no_request_twice()
    {
        await using var cluster = await ProductionCluster.StartAsync(silos: 3);
        var workload = await FestivalWorkload.PrepareAsync(cluster);
        workload.Start(workersPerSilo: 2);

        await Task.Delay(TimeSpan.FromSeconds(4));
        var before = workload.Acknowledged;
        await cluster.Silos[2].KillAsync();
        await Task.Delay(TimeSpan.FromSeconds(6));
        await cluster.Silos[2].StartAgainAsync();
        await Task.Delay(TimeSpan.FromSeconds(4));
        await workload.StopAsync();

        Assert.True(workload.Acknowledged > before, "the surviving silos stopped issuing after the kill");
        output.WriteLine($"{workload.Acknowledged} claims acknowledged ({before} before the kill), {workload.Redeemed} redemptions, {workload.Uncertain} calls without an answer");
        await workload.VerifyAsync(throughSilo: 2);
    }
}

/// <summary>Production-mode tests start processes and servers of their own: one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProductionCollection
{
    public const string Name = "production";
}
