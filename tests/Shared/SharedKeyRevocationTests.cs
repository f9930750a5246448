using System.Diagnostics;

namespace Campaigns.Tests.Shared;

public sealed class SharedKeyRevocationTests
{
    private const string Key = "key_meituan01";

    [Fact]
    public async Task A_key_revoked_on_one_silo_is_dropped_from_the_other_silos_cache_at_once()
    {
        var prefix = RedisTestServer.NewPrefix();
        await using var a = await SharedSilo.StartAsync(RedisTestServer.ConnectionString, prefix);
        await using var b = await SharedSilo.StartAsync(RedisTestServer.ConnectionString, prefix);
        await a.VerifyAsync(Key);
        await b.VerifyAsync(Key);
        await b.VerifyAsync("key_other01");
        Assert.Equal(2, b.Keys.Count);

        var clock = Stopwatch.StartNew();
        await a.Revocations.RevokedAsync(Key);

        Assert.Equal(0, a.Keys.Count);
        // Seconds at most on a busy machine, against the cache's 30 s lifetime.
        await SharedRateLimitTests.WaitUntilAsync(() => b.Keys.Count == 1, TimeSpan.FromSeconds(3));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), $"the notice took {clock.ElapsedMilliseconds} ms");
        await b.VerifyAsync(Key);
        Assert.Equal(3, b.Verifications); // the revoked key went back to its grain; the other stayed cached
    }

    [Fact]
    public async Task A_notice_under_another_deployments_prefix_leaves_this_ones_caches_alone()
    {
        await using var a = await SharedSilo.StartAsync(RedisTestServer.ConnectionString, RedisTestServer.NewPrefix());
        await using var elsewhere = await SharedSilo.StartAsync(RedisTestServer.ConnectionString, RedisTestServer.NewPrefix());
        await a.VerifyAsync(Key);

        await elsewhere.Revocations.RevokedAsync(Key);
        await Task.Delay(300);

        Assert.Equal(1, a.Keys.Count);
    }

    [Fact]
    public async Task With_Redis_unreachable_a_revocation_still_forgets_at_once_on_its_own_silo_and_does_not_wait()
    {
        var prefix = RedisTestServer.NewPrefix();
        var down = RedisTestServer.ClosedPort();
        await using var a = await SharedSilo.StartAsync(down, prefix, timeoutMilliseconds: 200);
        await using var b = await SharedSilo.StartAsync(down, prefix, timeoutMilliseconds: 200);
        await a.VerifyAsync(Key);
        await b.VerifyAsync(Key);

        var clock = Stopwatch.StartNew();
        await a.Revocations.RevokedAsync(Key);

        Assert.True(clock.Elapsed < TimeSpan.FromMilliseconds(700), $"the revocation took {clock.ElapsedMilliseconds} ms");
        Assert.Equal(0, a.Keys.Count);
        Assert.Equal(1, b.Keys.Count); // the other silo's entry lapses with the cache's lifetime
    }

    [Fact]
    public async Task When_Redis_comes_back_a_silo_forgets_what_it_held_since_notices_may_have_been_missed_and_hears_new_ones()
    {
        await using var server = await PrivateRedisServer.StartAsync();
        var prefix = RedisTestServer.NewPrefix();
        await using var a = await SharedSilo.StartAsync(server.ConnectionString, prefix);
        await using var b = await SharedSilo.StartAsync(server.ConnectionString, prefix);

        await server.StopAsync();
        await b.VerifyAsync(Key);
        await a.Revocations.RevokedAsync(Key); // lost: nobody can hear it
        Assert.Equal(1, b.Keys.Count);

        await server.StartAgainAsync();
        await SharedRateLimitTests.WaitUntilAsync(() => b.Keys.Count == 0, TimeSpan.FromSeconds(20));

        await SharedRateLimitTests.WaitUntilAsync(() => a.Redis.IsAvailable, TimeSpan.FromSeconds(20));
        await b.VerifyAsync("key_later01");
        await a.Revocations.RevokedAsync("key_later01");
        await SharedRateLimitTests.WaitUntilAsync(() => b.Keys.Count == 0, TimeSpan.FromSeconds(2));
    }

    [Fact]
    public async Task A_silo_started_while_Redis_is_down_hears_revocations_once_it_is_up()
    {
        await using var server = await PrivateRedisServer.StartAsync();
        await server.StopAsync();
        var prefix = RedisTestServer.NewPrefix();
        await using var b = await SharedSilo.StartAsync(server.ConnectionString, prefix);

        await server.StartAgainAsync();
        await using var a = await SharedSilo.StartAsync(server.ConnectionString, prefix);
        await SharedRateLimitTests.WaitUntilAsync(() => b.Redis.IsAvailable, TimeSpan.FromSeconds(20));
        await b.VerifyAsync(Key);
        await Task.Delay(200); // a forget-everything on reconnection may still be on its way

        await b.VerifyAsync(Key);
        await a.Revocations.RevokedAsync(Key);

        await SharedRateLimitTests.WaitUntilAsync(() => b.Keys.Count == 0, TimeSpan.FromSeconds(2));
    }
}
