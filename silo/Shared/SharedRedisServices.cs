using Campaigns.Silo.Api;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

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
        return services.AddSharedRedis(s => new SharedRedis(redisConnectionString, Options(s), s.GetRequiredService<ILogger<SharedRedis>>()));
    }

    /// <summary>
    /// The same on the silo's existing connection (e.g. the one Redis membership uses), which its
    /// owner keeps and closes.
    /// </summary>
    public static IServiceCollection AddSharedRedisServices(this IServiceCollection services, IConnectionMultiplexer redis)
    {
        ArgumentNullException.ThrowIfNull(redis);
        return services.AddSharedRedis(s => new SharedRedis(redis, Options(s), s.GetRequiredService<ILogger<SharedRedis>>()));
    }

    /// <summary>Adds Redis to the health checks as a dependency that can only degrade the silo (<see cref="SharedRedisHealthCheck"/>).</summary>
    public static IHealthChecksBuilder AddSharedRedisCheck(this IHealthChecksBuilder checks) =>
        checks.AddCheck<SharedRedisHealthCheck>(SharedRedisHealthCheck.Name);

    private static IServiceCollection AddSharedRedis(this IServiceCollection services, Func<IServiceProvider, SharedRedis> redis)
    {
        services.AddInProcessSharedServices();
        services.AddOptions<SharedRedisOptions>().BindConfiguration(SharedRedisOptions.Section);
        services.TryAddSingleton(redis);
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

    private static SharedRedisOptions Options(IServiceProvider services) => services.GetRequiredService<IOptions<SharedRedisOptions>>().Value;
}
