using Campaigns.Grains.Common;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;

namespace Campaigns.Tests.Cluster;

[Collection(ClusterCollection.Name)]
public sealed class ClockTests(ClusterFixture fixture)
{
    [Fact]
    public void Holding_business_time_still_leaves_the_runtime_on_the_real_clock()
    {
        // Orleans waits on the unkeyed TimeProvider (placement retries, timers, idle collection):
        // were it the test's frozen clock, a placement retry mid-deactivation would never fire.
        var services = ((InProcessSiloHandle)fixture.Cluster.Primary!).SiloHost.Services;

        Assert.Same(TimeProvider.System, services.GetRequiredService<TimeProvider>());
        Assert.Same(fixture.Clock, services.GetRequiredKeyedService<TimeProvider>(CampaignClock.Key));
    }
}
