using Campaigns.Silo.Api;

namespace Campaigns.Silo.Shared;

/// <summary>
/// API-key revocations told to every silo through Redis pub/sub (channel <c>{prefix}keys:revoked</c>,
/// the key id as message): each silo drops the key from its <see cref="VerifiedKeyCache"/> as the
/// notice arrives, not when its entry expires. Pub/sub keeps nothing for a silo that was
/// disconnected, so a silo whose subscription comes back forgets every key it holds. With Redis
/// down, the revoking silo still forgets at once and the others within the cache's lifetime.
/// </summary>
public sealed class SharedKeyRevocations : IKeyRevocationNotice, IHostedService
{
    public const string Channel = "keys:revoked";

    private readonly SharedRedis _redis;
    private readonly VerifiedKeyCache _verifiedKeys;
    private readonly ILogger<SharedKeyRevocations> _logger;

    public SharedKeyRevocations(SharedRedis redis, VerifiedKeyCache verifiedKeys, ILogger<SharedKeyRevocations> logger)
    {
        _redis = redis;
        _verifiedKeys = verifiedKeys;
        _logger = logger;
        _redis.SubscriptionsRestored += verifiedKeys.ForgetAll;
    }

    public async Task RevokedAsync(string keyId)
    {
        _verifiedKeys.Forget(keyId);
        if (!await _redis.TryAsync(database => database.PublishAsync(_redis.Channel(Channel), keyId)))
        {
            _logger.LogWarning("Redis is unreachable: other silos refuse revoked key {KeyId} when their cached entry expires", keyId);
        }
    }

    /// <summary>Completes once the subscription is made (or recorded, to be made when Redis is back).</summary>
    public Task Subscribed { get; private set; } = Task.CompletedTask;

    /// <summary>Subscribes in the background: a silo starts without waiting for Redis.</summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        Subscribed = _redis.SubscribeAsync(Channel, message =>
        {
            // Anything on the channel can only make a silo forget, which costs one verification.
            if (!message.IsNullOrEmpty)
            {
                _verifiedKeys.Forget(message.ToString());
            }
        });
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
