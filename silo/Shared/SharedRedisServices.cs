using Campaigns.Silo.Api;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

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

    /// <summary>
    /// Production: partner rate limits, API-key revocations and live stats shared by every silo
    /// through the Redis at <paramref name="redisConnectionString"/>, each falling back to the
    /// in-process behaviour while Redis fails. Settings from <c>Campaigns:Redis</c>
    /// (<see cref="SharedRedisOptions"/>). Throws at once on an unusable connection string.
    /// </summary>
    public static IServiceCollection AddSharedRedisServices(this IServiceCollection services, string redisConnectionString)
    {
        SharedRedis.Configuration(redisConnectionString);
        services.AddInProcessSharedServices();
        services.AddOptions<SharedRedisOptions>().BindConfiguration(SharedRedisOptions.Section);
        services.TryAddSingleton(s => new SharedRedis(redisConnectionString, s.GetRequiredService<IOptions<SharedRedisOptions>>().Value, s.GetRequiredService<ILogger<SharedRedis>>()));
        services.TryAddSingleton<SharedPartnerRateLimits>();
        services.TryAddSingleton<SharedKeyRevocations>();
        services.TryAddSingleton<SharedCampaignStats>();
        services.Replace(ServiceDescriptor.Singleton<IPartnerRateLimiter>(s => s.GetRequiredService<SharedPartnerRateLimits>()));
        services.Replace(ServiceDescriptor.Singleton<IKeyRevocationNotice>(s => s.GetRequiredService<SharedKeyRevocations>()));
        services.Replace(ServiceDescriptor.Singleton<ICampaignStatsSource>(s => s.GetRequiredService<SharedCampaignStats>()));
        services.AddHostedService(s => s.GetRequiredService<SharedKeyRevocations>());
        services.AddHostedService(s => s.GetRequiredService<SharedCampaignStats>());
        return services;
    }

    /// <summary>Adds Redis to the health checks as a dependency that can only degrade the silo (<see cref="SharedRedisHealthCheck"/>).</summary>
    public static IHealthChecksBuilder AddSharedRedisCheck(this IHealthChecksBuilder checks) =>
        checks.AddCheck<SharedRedisHealthCheck>(SharedRedisHealthCheck.Name);
}
