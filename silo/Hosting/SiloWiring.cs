using Campaigns.Grains.Common;
using Campaigns.Grains.Issuance;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Campaigns.Silo.Hosting;

/// <summary>What a silo needs to run the campaign grains besides its storage; shared by the host and the test cluster.</summary>
public static class SiloWiring
{
    public static ISiloBuilder AddCampaignGrains(this ISiloBuilder silo)
    {
        silo.Services.TryAddKeyedSingleton(CampaignClock.Key, TimeProvider.System);
        silo.Services.TryAddSingleton<LocalShards>();
        return silo;
    }
}
