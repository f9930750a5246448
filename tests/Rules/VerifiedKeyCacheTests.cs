using Campaigns.Grains.Access;
using Campaigns.Silo.Api;
using Campaigns.Silo.Hosting;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Campaigns.Tests.Rules;

public sealed class VerifiedKeyCacheTests
{
    private const string MeituanKey = "key_meituan";
    private static readonly Principal Meituan = new(Role.Partner, "meituan", MeituanKey);
    private static readonly byte[] RightSecret = ApiKeySecret.Hash("right-secret");
    private static readonly byte[] WrongSecret = ApiKeySecret.Hash("wrong-secret");

    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 11, 11, 2, 0, 0, TimeSpan.Zero));
    private readonly KeyGrains _grains = new();

    private VerifiedKeyCache Cache(int seconds = 30, int entries = 1_000) =>
        new(Options.Create(new CampaignsOptions { Auth = new AuthOptions { VerifiedKeyCacheSeconds = seconds, VerifiedKeyCacheEntries = entries } }), _clock);

    private Task<Principal?> VerifyAsync(VerifiedKeyCache cache, string keyId = MeituanKey, byte[]? secretHash = null) =>
        cache.VerifyAsync(keyId, secretHash ?? RightSecret, _grains.VerifyAsync).AsTask();

    /// <summary>A cache that has just verified Meituan's live key, at the cost of one grain call.</summary>
    private async Task<VerifiedKeyCache> CacheThatVerifiedMeituanAsync(int seconds = 30)
    {
        var cache = Cache(seconds);
        _grains.Create(MeituanKey, Role.Partner, "meituan");
        Assert.Equal(Meituan, await VerifyAsync(cache));
        return cache;
    }

    [Fact]
    public async Task A_key_seen_again_within_the_lifetime_is_answered_without_asking_its_grain()
    {
        using var cache = await CacheThatVerifiedMeituanAsync(seconds: 30);

        _clock.Advance(TimeSpan.FromSeconds(29));

        Assert.Equal(Meituan, await VerifyAsync(cache));
        Assert.Equal(1, _grains.Calls);
    }

    [Fact]
    public async Task A_key_revoked_through_another_silo_is_accepted_here_until_the_lifetime_has_passed()
    {
        using var cache = await CacheThatVerifiedMeituanAsync(seconds: 30);

        _grains.Revoke(MeituanKey); // by another silo: nothing tells this one
        _clock.Advance(TimeSpan.FromSeconds(29));
        Assert.NotNull(await VerifyAsync(cache));
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Null(await VerifyAsync(cache));

        Assert.Equal(2, _grains.Calls);
    }

    [Fact]
    public async Task A_forgotten_key_is_asked_of_its_grain_on_the_next_call()
    {
        using var cache = await CacheThatVerifiedMeituanAsync();

        _grains.Revoke(MeituanKey);
        cache.Forget(MeituanKey);

        Assert.Null(await VerifyAsync(cache));
        Assert.Equal(2, _grains.Calls);
    }

    [Fact]
    public async Task A_verification_that_overlaps_a_revocation_is_not_remembered()
    {
        using var cache = Cache();
        _grains.Create(MeituanKey, Role.Partner, "meituan");
        var answer = new TaskCompletionSource<Principal?>();

        // The grain answers "valid" for a request that reached it before the revocation, but the
        // answer arrives after the revoking silo has already forgotten the key.
        var inFlight = cache.VerifyAsync(MeituanKey, RightSecret, (_, _) => answer.Task).AsTask();
        _grains.Revoke(MeituanKey);
        cache.Forget(MeituanKey);
        answer.SetResult(Meituan);
        await inFlight;

        Assert.Null(await VerifyAsync(cache));
        Assert.Equal(1, _grains.Calls);
    }

    [Fact]
    public async Task A_lifetime_of_zero_asks_the_grain_every_time()
    {
        using var cache = Cache(seconds: 0);
        _grains.Create(MeituanKey, Role.Partner, "meituan");

        for (var i = 0; i < 3; i++)
        {
            Assert.NotNull(await VerifyAsync(cache));
        }

        Assert.Equal(3, _grains.Calls);
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public async Task A_refused_key_is_not_remembered()
    {
        using var cache = Cache();

        Assert.Null(await VerifyAsync(cache, "key_unknown"));
        _grains.Create("key_unknown", Role.Merchant, "m-late");
        Assert.NotNull(await VerifyAsync(cache, "key_unknown"));

        Assert.Equal(2, _grains.Calls);
    }

    [Fact]
    public async Task A_wrong_secret_for_a_remembered_key_id_is_asked_of_the_grain_and_refused()
    {
        using var cache = await CacheThatVerifiedMeituanAsync();

        Assert.Null(await VerifyAsync(cache, secretHash: WrongSecret));
        Assert.Equal(2, _grains.Calls);

        // The right secret is still remembered.
        Assert.NotNull(await VerifyAsync(cache, secretHash: RightSecret));
        Assert.Equal(2, _grains.Calls);
    }

    [Fact]
    public async Task No_more_keys_than_the_bound_are_held()
    {
        using var cache = Cache(entries: 10);
        for (var i = 0; i < 50; i++)
        {
            _grains.Create($"key_{i}", Role.Merchant, $"m-{i}");
            Assert.NotNull(await VerifyAsync(cache, $"key_{i}"));
            Assert.InRange(cache.Count, 1, 10);
        }
    }

    /// <summary>Stands in for the key grains: which keys are live, and how often they were asked.</summary>
    private sealed class KeyGrains
    {
        private readonly Dictionary<string, Principal> _live = [];

        public int Calls { get; private set; }

        public void Create(string keyId, Role role, string principalId) => _live[keyId] = new Principal(role, principalId, keyId);

        public void Revoke(string keyId) => _live.Remove(keyId);

        public Task<Principal?> VerifyAsync(string keyId, byte[] secretHash)
        {
            Calls++;
            return Task.FromResult(secretHash.AsSpan().SequenceEqual(RightSecret) ? _live.GetValueOrDefault(keyId) : null);
        }
    }
}
