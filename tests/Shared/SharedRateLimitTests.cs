using System.Diagnostics;
using Campaigns.Client;
using Campaigns.Proto;
using Grpc.Core;
using StackExchange.Redis;

namespace Campaigns.Tests.Shared;

public sealed class SharedRateLimitTests
{
    private static readonly IssueVoucherRequest Claim = new() { CampaignId = "c", UserId = "u", RequestId = "r" };

    private static async Task<bool> AdmittedAsync(SharedSilo silo, string partner, object request)
    {
        try
        {
            await silo.RateLimits.AdmitAsync(partner, request);
            return true;
        }
        catch (RpcException refused) when (refused.Reason() == "RATE_LIMITED")
        {
            return false;
        }
    }

    /// <summary>Claims sent alternately through two silos as fast as they go: how many were admitted, and how long it took.</summary>
    private static async Task<(int Admitted, TimeSpan Took)> AlternateAsync(SharedSilo a, SharedSilo b, string partner, int claims)
    {
        var admitted = 0;
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < claims; i++)
        {
            admitted += await AdmittedAsync(i % 2 == 0 ? a : b, partner, Claim) ? 1 : 0;
        }

        return (admitted, clock.Elapsed);
    }

    [Fact]
    public async Task Two_silos_sharing_one_Redis_together_admit_no_more_than_the_partner_limit()
    {
        var prefix = RedisTestServer.NewPrefix();
        await using var a = await SharedSilo.StartAsync(RedisTestServer.ConnectionString, prefix, claimsPerSecond: 2, burst: 10);
        await using var b = await SharedSilo.StartAsync(RedisTestServer.ConnectionString, prefix, claimsPerSecond: 2, burst: 10);

        var (admitted, took) = await AlternateAsync(a, b, "meituan", claims: 60);

        // The burst, plus what the rate refilled meanwhile; each silo alone would have admitted 10.
        Assert.InRange(admitted, 10, 10 + (int)Math.Ceiling(took.TotalSeconds * 2));
        Assert.True(a.Redis.IsAvailable && b.Redis.IsAvailable, "the limit was kept in Redis, not by a fallback");
        await using var inspect = await ConnectionMultiplexer.ConnectAsync(RedisTestServer.ConnectionString);
        Assert.True(await inspect.GetDatabase().KeyExistsAsync(prefix + "rate:meituan"));
    }

    [Fact]
    public async Task A_refusal_from_the_shared_bucket_is_RATE_LIMITED_with_a_retry_delay_after_which_a_claim_passes()
    {
        var prefix = RedisTestServer.NewPrefix();
        await using var a = await SharedSilo.StartAsync(RedisTestServer.ConnectionString, prefix, claimsPerSecond: 5, burst: 1);
        await using var b = await SharedSilo.StartAsync(RedisTestServer.ConnectionString, prefix, claimsPerSecond: 5, burst: 1);

        await a.RateLimits.AdmitAsync("jd", Claim);
        var refused = await Assert.ThrowsAsync<RpcException>(() => b.RateLimits.AdmitAsync("jd", Claim).AsTask());

        Assert.Equal(StatusCode.ResourceExhausted, refused.StatusCode);
        Assert.Equal("RATE_LIMITED", refused.Reason());
        var delay = refused.RetryDelay() ?? throw new InvalidOperationException("no retry delay");
        Assert.InRange(delay, TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(200));
        await Task.Delay(delay + TimeSpan.FromMilliseconds(20));
        await b.RateLimits.AdmitAsync("jd", Claim);
    }

    [Fact]
    public async Task Each_partner_has_its_own_shared_bucket_a_batch_counts_its_items_and_reads_cost_nothing()
    {
        var prefix = RedisTestServer.NewPrefix();
        await using var a = await SharedSilo.StartAsync(RedisTestServer.ConnectionString, prefix, claimsPerSecond: 1, burst: 10);
        await using var b = await SharedSilo.StartAsync(RedisTestServer.ConnectionString, prefix, claimsPerSecond: 1, burst: 10);
        var six = new IssueVouchersRequest { CampaignId = "c", Items = { Enumerable.Range(0, 6).Select(i => new IssueVouchersItem { UserId = $"u{i}", RequestId = $"r{i}" }) } };

        for (var i = 0; i < 50; i++)
        {
            await a.RateLimits.AdmitAsync("meituan", new GetVoucherRequest { Code = "x" });
        }

        Assert.True(await AdmittedAsync(a, "meituan", six));
        Assert.False(await AdmittedAsync(b, "meituan", six));
        Assert.True(await AdmittedAsync(b, "jd", six));
    }

    [Fact]
    public async Task With_Redis_unreachable_each_silo_falls_back_to_its_own_bucket_and_no_call_waits_past_the_timeout()
    {
        var prefix = RedisTestServer.NewPrefix();
        var down = RedisTestServer.ClosedPort();
        await using var a = await SharedSilo.StartAsync(down, prefix, claimsPerSecond: 1, burst: 10, timeoutMilliseconds: 200);
        await using var b = await SharedSilo.StartAsync(down, prefix, claimsPerSecond: 1, burst: 10, timeoutMilliseconds: 200);

        var slowest = TimeSpan.Zero;
        var admitted = 0;
        var took = Stopwatch.StartNew();
        for (var i = 0; i < 40; i++)
        {
            var clock = Stopwatch.StartNew();
            admitted += await AdmittedAsync(i % 2 == 0 ? a : b, "meituan", Claim) ? 1 : 0;
            slowest = TimeSpan.FromTicks(Math.Max(slowest.Ticks, clock.Elapsed.Ticks));
        }

        // Per silo now: each admits its own burst, plus what its own rate refilled meanwhile.
        Assert.InRange(admitted, 20, MostAdmitted(burst: 20, refillsPerSecond: 2, took.Elapsed));
        Assert.True(slowest < TimeSpan.FromMilliseconds(700), $"a call took {slowest.TotalMilliseconds:0} ms");
        Assert.False(a.Redis.IsAvailable);
    }

    [Fact]
    public async Task After_Redis_restarts_empty_its_scripts_gone_the_silos_share_one_bucket_again()
    {
        await using var server = await PrivateRedisServer.StartAsync();
        var prefix = RedisTestServer.NewPrefix();
        await using var a = await SharedSilo.StartAsync(server.ConnectionString, prefix, claimsPerSecond: 1, burst: 4);
        await using var b = await SharedSilo.StartAsync(server.ConnectionString, prefix, claimsPerSecond: 1, burst: 4);
        AdmittedFromOneBucket(await AlternateAsync(a, b, "meituan", claims: 12));

        await server.StopAsync();
        await server.StartAgainAsync();
        await WaitUntilAsync(() => a.Redis.IsAvailable && b.Redis.IsAvailable, TimeSpan.FromSeconds(20));

        // A new partner, so the count starts from a full bucket.
        AdmittedFromOneBucket(await AlternateAsync(a, b, "jd", claims: 12));
        Assert.Equal("+OK", await server.CommandAsync("SCRIPT FLUSH"));
        AdmittedFromOneBucket(await AlternateAsync(a, b, "taobao", claims: 12));

        // The burst of 4 once, plus a claim a second refilled meanwhile; two buckets would admit 8 at once.
        static void AdmittedFromOneBucket((int Admitted, TimeSpan Took) run) =>
            Assert.InRange(run.Admitted, 4, MostAdmitted(burst: 4, refillsPerSecond: 1, run.Took));
    }

    /// <summary>
    /// The most a bucket of <paramref name="burst"/> can have admitted over <paramref name="took"/>:
    /// a busy machine can take seconds over a handful of calls, and each second refills its tokens.
    /// </summary>
    internal static int MostAdmitted(int burst, int refillsPerSecond, TimeSpan took) =>
        burst + refillsPerSecond * (int)Math.Ceiling(took.TotalSeconds);

    internal static async Task WaitUntilAsync(Func<bool> condition, TimeSpan limit)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < limit, $"not so after {limit.TotalSeconds:0} s");
            await Task.Delay(50);
        }
    }
}
