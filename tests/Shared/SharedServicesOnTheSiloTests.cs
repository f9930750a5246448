using System.Diagnostics;
using System.Threading.Channels;
using Campaigns.Client;
using Campaigns.Proto;
using Campaigns.Silo.Shared;
using Campaigns.Tests.EndToEnd;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace Campaigns.Tests.Shared;

/// <summary>The real silo over gRPC with the Redis-backed services registered as the host will: AddSharedRedisServices and the Redis health check.</summary>
public sealed class SharedServicesOnTheSiloTests
{
    private static Task<SiloHost> SiloOnRedisAsync(string redis, string prefix, params string[] settings) =>
        SiloHost.StartWithAsync(services =>
        {
            services.AddSharedRedisServices(redis);
            services.AddHealthChecks().AddSharedRedisCheck();
        }, [$"--Campaigns:Redis:KeyPrefix={prefix}", .. settings]);

    private static async Task<(CampaignsClient Organiser, string CampaignId)> RunningCampaignAsync(SiloHost silo)
    {
        var organiser = silo.Client(SiloHost.BootstrapOrganiserKey);
        var campaign = await organiser.Admin.CreateCampaignAsync(Scenario.Campaign(silo.Clock.GetUtcNow()));
        await organiser.Admin.StartCampaignAsync(new CampaignActionRequest { CampaignId = campaign.CampaignId });
        return (organiser, campaign.CampaignId);
    }

    /// <summary>
    /// Claims for new users until one is RATE_LIMITED, under a limit of 1 a second with a burst of 2:
    /// how many were issued first (the burst, and what the bucket refilled meanwhile).
    /// </summary>
    private static async Task<int> IssuedUntilLimitedAsync(CampaignsClient partner, string campaignId)
    {
        var clock = Stopwatch.StartNew();
        for (var issued = 0; issued < 20; issued++)
        {
            try
            {
                await partner.IssueVoucherAsync(campaignId, $"user-{issued}", $"claim-{issued}");
            }
            catch (RpcException limited)
            {
                Assert.Equal("RATE_LIMITED", limited.Reason());
                Assert.InRange(issued, 2, SharedRateLimitTests.MostAdmitted(burst: 2, refillsPerSecond: 1, clock.Elapsed));
                return issued;
            }
        }

        throw new Xunit.Sdk.XunitException("20 claims in a row were issued: no limit held");
    }

    [Fact]
    public async Task On_Redis_the_silo_limits_partners_in_Redis_serves_stats_from_its_snapshot_and_announces_revocations()
    {
        var prefix = RedisTestServer.NewPrefix();
        await using var silo = await SiloOnRedisAsync(RedisTestServer.ConnectionString, prefix,
            "--Campaigns:RateLimits:PartnerClaimsPerSecond=1", "--Campaigns:RateLimits:PartnerBurst=2");
        await using var inspect = await ConnectionMultiplexer.ConnectAsync(RedisTestServer.ConnectionString);
        var (organiser, campaignId) = await RunningCampaignAsync(silo);
        var key = await organiser.Access.CreateApiKeyAsync(new CreateApiKeyRequest { Role = Proto.Role.Partner, PrincipalId = "redis-partner" });
        using var partner = new CampaignsClient(new CampaignsClientOptions { Address = silo.GrpcAddress, ApiKey = key.Secret, MaxRetries = 0 });

        var issued = await IssuedUntilLimitedAsync(partner, campaignId);
        Assert.True(await inspect.GetDatabase().KeyExistsAsync(prefix + "rate:redis-partner"));

        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using (var watch = organiser.WatchCampaignStatsAsync(campaignId, stop.Token).GetAsyncEnumerator(stop.Token))
        {
            Assert.True(await watch.MoveNextAsync());
            Assert.Equal(issued, watch.Current.Issued);
        }

        var snapshot = await inspect.GetDatabase().StringGetAsync(prefix + "stats:" + campaignId);
        Assert.Equal(issued, CampaignStats.Parser.ParseFrom((byte[])snapshot!).Issued);
        Assert.Equal(issued, (await organiser.Admin.GetCampaignStatsAsync(new GetCampaignRequest { CampaignId = campaignId })).Issued);

        var notices = Channel.CreateUnbounded<string>();
        await inspect.GetSubscriber().SubscribeAsync(RedisChannel.Literal(prefix + SharedKeyRevocations.Channel), (_, message) => notices.Writer.TryWrite(message.ToString()));
        await organiser.Access.RevokeApiKeyAsync(new RevokeApiKeyRequest { KeyId = key.KeyId });
        Assert.Equal(key.KeyId, await notices.Reader.ReadAsync(stop.Token));
        var revoked = await Assert.ThrowsAsync<RpcException>(() => partner.Vouchers.ListUserVouchersAsync(new ListUserVouchersRequest { UserId = "user-1" }).ResponseAsync);
        Assert.Equal("INVALID_API_KEY", revoked.Reason());
    }

    [Fact]
    public async Task With_Redis_unreachable_the_silo_serves_on_its_fallbacks_and_its_health_is_degraded_not_down()
    {
        await using var silo = await SiloOnRedisAsync(RedisTestServer.ClosedPort(), RedisTestServer.NewPrefix(),
            "--Campaigns:RateLimits:PartnerClaimsPerSecond=1", "--Campaigns:RateLimits:PartnerBurst=2");
        var (organiser, campaignId) = await RunningCampaignAsync(silo);
        var key = await organiser.Access.CreateApiKeyAsync(new CreateApiKeyRequest { Role = Proto.Role.Partner, PrincipalId = "offline-partner" });
        using var partner = new CampaignsClient(new CampaignsClientOptions { Address = silo.GrpcAddress, ApiKey = key.Secret, MaxRetries = 0 });

        var issued = await IssuedUntilLimitedAsync(partner, campaignId);
        Assert.Equal(issued, (await organiser.Admin.GetCampaignStatsAsync(new GetCampaignRequest { CampaignId = campaignId })).Issued);
        await organiser.Access.RevokeApiKeyAsync(new RevokeApiKeyRequest { KeyId = key.KeyId });
        Assert.Equal("INVALID_API_KEY", (await Assert.ThrowsAsync<RpcException>(() => partner.IssueVoucherAsync(campaignId, "user-revoked", "claim-revoked"))).Reason());

        using var http = new HttpClient { BaseAddress = silo.HttpAddress };
        using var healthz = await http.GetAsync(new Uri("/healthz", UriKind.Relative));
        Assert.True(healthz.IsSuccessStatusCode, $"GET /healthz: {(int)healthz.StatusCode}");
        using (var health = System.Text.Json.JsonDocument.Parse(await healthz.Content.ReadAsStringAsync()))
        {
            Assert.Equal("Degraded", health.RootElement.GetProperty("status").GetString());
            Assert.Equal("Degraded", health.RootElement.GetProperty("checks").GetProperty("redis-shared").GetProperty("status").GetString());
        }

        using var channel = GrpcChannel.ForAddress(silo.GrpcAddress);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, (await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest())).Status);
    }
}
