using Campaigns.Grains.Access;
using Campaigns.Silo.Api;
using Campaigns.Silo.Hosting;
using Campaigns.Silo.Shared;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Campaigns.Tests.Shared;

/// <summary>
/// What one silo holds of the Redis-backed services, built in-process: two of these on one
/// Redis and one key prefix behave as two silos of one deployment.
/// </summary>
internal sealed class SharedSilo : IAsyncDisposable
{
    private SharedSilo(SharedRedis redis, PartnerRateLimits localLimits, VerifiedKeyCache keys, CampaignStatsReader? ledger)
    {
        Redis = redis;
        LocalLimits = localLimits;
        RateLimits = new SharedPartnerRateLimits(redis, localLimits);
        Keys = keys;
        Revocations = new SharedKeyRevocations(redis, keys, NullLogger<SharedKeyRevocations>.Instance);
        Stats = ledger is null ? null : new SharedCampaignStats(redis, ledger, NullLogger<SharedCampaignStats>.Instance);
    }

    public SharedRedis Redis { get; }

    public PartnerRateLimits LocalLimits { get; }

    public SharedPartnerRateLimits RateLimits { get; }

    public VerifiedKeyCache Keys { get; }

    public SharedKeyRevocations Revocations { get; }

    /// <summary>Only for silos given a ledger to read.</summary>
    public SharedCampaignStats? Stats { get; }

    /// <summary>The key verifications that reached the "grain" (a cache miss each).</summary>
    public int Verifications => _verifications;

    private int _verifications;

    public static async Task<SharedSilo> StartAsync(
        string connectionString, string prefix, int claimsPerSecond = 0, int burst = 0, CampaignStatsReader? ledger = null, int timeoutMilliseconds = 250)
    {
        var options = Options.Create(new CampaignsOptions
        {
            RateLimits = new RateLimitOptions { PartnerClaimsPerSecond = claimsPerSecond, PartnerBurst = burst },
            Auth = new AuthOptions { VerifiedKeyCacheSeconds = 30 },
        });
        var redis = new SharedRedis(connectionString, new SharedRedisOptions { KeyPrefix = prefix, TimeoutMilliseconds = timeoutMilliseconds }, NullLogger<SharedRedis>.Instance);
        var silo = new SharedSilo(redis, new PartnerRateLimits(options), new VerifiedKeyCache(options, TimeProvider.System), ledger);
        await silo.Revocations.StartAsync(CancellationToken.None);
        await silo.Revocations.Subscribed;
        if (silo.Stats is { } stats)
        {
            await stats.StartAsync(CancellationToken.None);
            await stats.Subscribed;
        }

        return silo;
    }

    /// <summary>Verifies a partner key through this silo's cache; a miss counts as one grain call.</summary>
    public async Task<Principal?> VerifyAsync(string keyId) =>
        await Keys.VerifyAsync(keyId, ApiKeySecret.Hash("secret-" + keyId), (id, _) =>
        {
            Interlocked.Increment(ref _verifications);
            return Task.FromResult<Principal?>(new Principal(Role.Partner, "meituan", id));
        });

    public async ValueTask DisposeAsync()
    {
        if (Stats is not null)
        {
            await Stats.DisposeAsync();
        }

        await Redis.DisposeAsync();
        Keys.Dispose();
        LocalLimits.Dispose();
    }
}
