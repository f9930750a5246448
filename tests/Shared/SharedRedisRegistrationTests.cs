using Campaigns.Grains.Common;
using Campaigns.Grains.Ledger;
using Campaigns.Silo.Api;
using Campaigns.Silo.Hosting;
using Campaigns.Silo.Shared;
using Campaigns.Tests.Cluster;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace Campaigns.Tests.Shared;

[Collection(ClusterCollection.Name)]
public sealed class SharedRedisRegistrationTests(ClusterFixture fixture)
{
    /// <summary>A silo's container as the host builds it: configuration, a clock, grains, the ledger, then the in-process defaults.</summary>
    private ServiceProvider Services(Action<IServiceCollection> before, params (string Key, string Value)[] settings)
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(settings.Select(s => KeyValuePair.Create(s.Key, (string?)s.Value))).Build());
        services.AddLogging();
        services.AddOptions<CampaignsOptions>();
        services.AddKeyedSingleton<TimeProvider>(CampaignClock.Key, fixture.Clock);
        services.AddSingleton(fixture.Grains);
        services.AddSingleton<IReportingLedger>(fixture.Store.Ledger);
        before(services);
        services.AddInProcessSharedServices();
        return services.BuildServiceProvider();
    }

    [Fact]
    public async Task Without_Redis_the_silo_runs_the_in_process_services()
    {
        await using var services = Services(_ => { });

        Assert.IsType<PartnerRateLimits>(services.GetRequiredService<IPartnerRateLimiter>());
        Assert.IsType<SiloKeyRevocationNotice>(services.GetRequiredService<IKeyRevocationNotice>());
        Assert.IsType<CampaignStatsReader>(services.GetRequiredService<ICampaignStatsSource>());
        Assert.Empty(services.GetServices<IHostedService>());
    }

    [Fact]
    public async Task AddSharedRedisServices_replaces_the_in_process_services_whichever_is_registered_first_and_reads_Campaigns_Redis()
    {
        var prefix = RedisTestServer.NewPrefix();
        await using var services = Services(s => s.AddSharedRedisServices(RedisTestServer.ConnectionString), ("Campaigns:Redis:KeyPrefix", prefix));

        Assert.IsType<SharedPartnerRateLimits>(services.GetRequiredService<IPartnerRateLimiter>());
        Assert.IsType<SharedKeyRevocations>(services.GetRequiredService<IKeyRevocationNotice>());
        Assert.IsType<SharedCampaignStats>(services.GetRequiredService<ICampaignStatsSource>());
        Assert.Equal([typeof(SharedKeyRevocations), typeof(SharedCampaignStats)], services.GetServices<IHostedService>().Select(h => h.GetType()));
        Assert.Equal(prefix + "stats", services.GetRequiredService<SharedRedis>().Channel("stats").ToString());

        var later = new ServiceCollection();
        later.AddInProcessSharedServices();
        later.AddSharedRedisServices(RedisTestServer.ConnectionString);
        Assert.Single(later, d => d.ServiceType == typeof(IPartnerRateLimiter));
        Assert.Single(later, d => d.ServiceType == typeof(ICampaignStatsSource));
    }

    [Fact]
    public async Task On_the_silos_existing_connection_the_services_share_it_and_leave_it_open()
    {
        var prefix = RedisTestServer.NewPrefix();
        await using var connection = await ConnectionMultiplexer.ConnectAsync(RedisTestServer.ConnectionString);
        await using (var services = Services(s => s.AddSharedRedisServices(connection), ("Campaigns:Redis:KeyPrefix", prefix)))
        {
            Assert.IsType<SharedPartnerRateLimits>(services.GetRequiredService<IPartnerRateLimiter>());
            var redis = services.GetRequiredService<SharedRedis>();
            Assert.True(await redis.TryAsync(database => database.StringSetAsync(redis.Key("probe"), "1")));
        }

        Assert.True(connection.IsConnected, "the services closed a connection they did not own");
        Assert.Equal("1", (string?)await connection.GetDatabase().StringGetAsync(prefix + "probe"));
        Assert.Throws<ArgumentNullException>(() => new ServiceCollection().AddSharedRedisServices((IConnectionMultiplexer)null!));
    }

    [Theory]
    [InlineData("", "is empty")]
    [InlineData("   ", "is empty")]
    [InlineData("password=only", "names no server")]
    [InlineData("127.0.0.1:6379,connectTimeout=soon", "is not a StackExchange.Redis connection string")]
    public void A_connection_string_that_cannot_work_is_refused_at_registration_with_the_reason(string connectionString, string reason)
    {
        var services = new ServiceCollection();

        var refused = Assert.Throws<ArgumentException>(() => services.AddSharedRedisServices(connectionString));

        Assert.Contains("ConnectionStrings:Redis", refused.Message);
        Assert.Contains(reason, refused.Message);
        Assert.Empty(services);
    }

    [Theory]
    [InlineData("", 250, 5, "KeyPrefix")]
    [InlineData("with space:", 250, 5, "KeyPrefix")]
    [InlineData("campaigns:", 0, 5, "TimeoutMilliseconds")]
    [InlineData("campaigns:", 250, 0, "BreakSeconds")]
    public void Settings_that_cannot_work_are_refused_with_the_key_they_came_from(string prefix, int timeout, int breakSeconds, string key)
    {
        var options = new SharedRedisOptions { KeyPrefix = prefix, TimeoutMilliseconds = timeout, BreakSeconds = breakSeconds };

        var refused = Assert.Throws<InvalidOperationException>(() => new SharedRedis("127.0.0.1:6379", options, NullLogger<SharedRedis>.Instance));

        Assert.Contains($"Campaigns:Redis:{key}", refused.Message);
    }

    [Fact]
    public async Task The_health_check_says_Degraded_while_Redis_is_unreachable_and_Healthy_when_it_answers()
    {
        await using var down = new SharedRedis(RedisTestServer.ClosedPort(), new SharedRedisOptions(), NullLogger<SharedRedis>.Instance);
        await using var up = new SharedRedis(RedisTestServer.ConnectionString, new SharedRedisOptions(), NullLogger<SharedRedis>.Instance);
        await up.TryAsync(database => database.PingAsync());
        await SharedRateLimitTests.WaitUntilAsync(() => up.IsAvailable, TimeSpan.FromSeconds(10));

        Assert.Equal(HealthStatus.Degraded, (await new SharedRedisHealthCheck(down).CheckHealthAsync(new HealthCheckContext())).Status);
        Assert.Equal(HealthStatus.Healthy, (await new SharedRedisHealthCheck(up).CheckHealthAsync(new HealthCheckContext())).Status);
    }

    [Fact]
    public async Task A_Redis_that_stops_answering_opens_the_circuit_so_later_calls_fall_back_without_waiting()
    {
        await using var server = await PrivateRedisServer.StartAsync();
        await using var redis = new SharedRedis(server.ConnectionString, new SharedRedisOptions { TimeoutMilliseconds = 300, BreakSeconds = 30 }, NullLogger<SharedRedis>.Instance);
        Assert.True(await redis.TryAsync(database => database.PingAsync()));

        // Paused, not gone: the connection stays up and each command waits for the timeout.
        Assert.Equal("+OK", await server.CommandAsync("CLIENT PAUSE 20000 ALL"));
        var took = new List<TimeSpan>();
        for (var i = 0; i < 6; i++)
        {
            var call = System.Diagnostics.Stopwatch.StartNew();
            Assert.False(await redis.TryAsync(database => database.StringSetAsync("k", "v")));
            took.Add(call.Elapsed);
        }

        // The first failures each wait out the timeout, not the pause (20 s; the bound leaves room for
        // a loaded machine, where a call once took 7 s); once half the recent calls failed, the
        // circuit opens and the rest fall back without waiting for the timeout.
        Assert.True(took[0] >= TimeSpan.FromMilliseconds(250), $"the first call fell back after {took[0].TotalMilliseconds:0} ms");
        Assert.All(took, t => Assert.True(t < TimeSpan.FromSeconds(15), $"a call took {t.TotalMilliseconds:0} ms"));
        Assert.True(took[^1] < TimeSpan.FromMilliseconds(300), $"an open circuit still waited {took[^1].TotalMilliseconds:0} ms");
        Assert.False(redis.IsAvailable);
    }
}
