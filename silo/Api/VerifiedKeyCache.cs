using System.Security.Cryptography;
using Campaigns.Grains.Access;
using Campaigns.Grains.Common;
using Campaigns.Silo.Hosting;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Internal;
using Microsoft.Extensions.Options;

namespace Campaigns.Silo.Api;

/// <summary>
/// API keys this silo has verified recently, so a busy key costs no grain call per request.
/// An entry is the key id, the SHA-256 of its secret (never the secret) and the principal, kept
/// for <see cref="AuthOptions.VerifiedKeyCacheSeconds"/>. Only successes are kept: a wrong or
/// revoked key always reaches its grain. <see cref="Forget"/> drops a key at once on this silo;
/// another silo keeps serving it until its entry expires, unless a revocation notice reaches it
/// (<see cref="IKeyRevocationNotice"/>).
/// </summary>
public sealed class VerifiedKeyCache : IDisposable
{
    private readonly MemoryCache? _entries;
    private readonly TimeSpan _lifetime;
    private long _revocations;

    public VerifiedKeyCache(IOptions<CampaignsOptions> options, [FromKeyedServices(CampaignClock.Key)] TimeProvider clock)
    {
        var auth = options.Value.Auth;
        if (auth.VerifiedKeyCacheSeconds <= 0)
        {
            return;
        }

        _lifetime = TimeSpan.FromSeconds(auth.VerifiedKeyCacheSeconds);
        _entries = new MemoryCache(new MemoryCacheOptions
        {
            Clock = new TimeProviderClock(clock),
            SizeLimit = Math.Max(1, auth.VerifiedKeyCacheEntries),
        });
    }

    /// <summary>How many keys are held now (for tests).</summary>
    internal int Count => _entries?.Count ?? 0;

    /// <summary>
    /// The principal of a key seen verified within the lifetime; otherwise asks
    /// <paramref name="verify"/> (the key's grain) and remembers a success.
    /// </summary>
    public async ValueTask<Principal?> VerifyAsync(string keyId, byte[] secretHash, Func<string, byte[], Task<Principal?>> verify)
    {
        if (_entries is null)
        {
            return await verify(keyId, secretHash);
        }

        // Keyed by key id alone so a revocation can drop it; the hash must match as well.
        if (_entries.TryGetValue(keyId, out VerifiedKey? known) && CryptographicOperations.FixedTimeEquals(known!.SecretHash, secretHash))
        {
            return known.Principal;
        }

        var revocationsBefore = Interlocked.Read(ref _revocations);
        var principal = await verify(keyId, secretHash);
        if (principal is not null)
        {
            _entries.Set(keyId, new VerifiedKey(secretHash, principal), new MemoryCacheEntryOptions
            {
                AbsoluteExpirationRelativeToNow = _lifetime,
                Size = 1,
            });

            // A verification that overlapped a revocation may have been answered before the key
            // was revoked. Forget counts before it removes and this checks after adding (both
            // fenced), so either Forget removes this entry or this sees the count move and does.
            if (Interlocked.Read(ref _revocations) != revocationsBefore)
            {
                _entries.Remove(keyId);
            }
        }

        return principal;
    }

    /// <summary>Drops a key from this silo at once: call it after the key's grain has revoked it.</summary>
    public void Forget(string keyId)
    {
        if (_entries is null)
        {
            return;
        }

        Interlocked.Increment(ref _revocations);
        _entries.Remove(keyId);
    }

    /// <summary>Drops every key: revocations may have been missed (the channel that tells of them was down).</summary>
    public void ForgetAll()
    {
        if (_entries is null)
        {
            return;
        }

        Interlocked.Increment(ref _revocations);
        _entries.Clear();
    }

    public void Dispose() => _entries?.Dispose();

    private sealed record VerifiedKey(byte[] SecretHash, Principal Principal);

    /// <summary>The cache's expiry reads the business clock, so tests can move it.</summary>
    private sealed class TimeProviderClock(TimeProvider clock) : ISystemClock
    {
        public DateTimeOffset UtcNow => clock.GetUtcNow();
    }
}
