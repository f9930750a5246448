using Campaigns.Silo.Api;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Campaigns.Silo.Shared;

/// <summary>
/// What silos share: in-process by default (one silo alone), through Redis in production. Either
/// may be registered before or after the other: the in-process defaults only fill what is empty.
/// </summary>
public static class SharedRedisServices
{
    /// <summary>The embedded default: rate limits, key revocations and stats held by this silo alone.</summary>
    public static IServiceCollection AddInProcessSharedServices(this IServiceCollection services)
    {
        services.TryAddSingleton<VerifiedKeyCache>();
        services.TryAddSingleton<PartnerRateLimits>();
        services.TryAddSingleton<CampaignStatsReader>();
        services.TryAddSingleton<IPartnerRateLimiter>(s => s.GetRequiredService<PartnerRateLimits>());
        services.TryAddSingleton<IKeyRevocationNotice, SiloKeyRevocationNotice>();
        services.TryAddSingleton<ICampaignStatsSource>(s => s.GetRequiredService<CampaignStatsReader>());
        return services;
    }
}
