using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Grpc.Reflection.V1Alpha;

namespace Campaigns.Tests.EndToEnd;

[Collection(EndToEndCollection.Name)]
public sealed class StandardServicesTests(SiloFixture silo)
{
    [Fact]
    public async Task Grpc_health_check_reports_serving_without_an_api_key()
    {
        using var channel = GrpcChannel.ForAddress(silo.Host.GrpcAddress);
        var reply = await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest());
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, reply.Status);
    }

    [Fact]
    public async Task Server_reflection_lists_every_campaigns_v1_service()
    {
        using var channel = GrpcChannel.ForAddress(silo.Host.GrpcAddress);
        using var call = new ServerReflection.ServerReflectionClient(channel).ServerReflectionInfo();
        await call.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = "" });
        await call.RequestStream.CompleteAsync();
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        var services = call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name).ToList();

        Assert.Contains("campaigns.v1.CampaignAdmin", services);
        Assert.Contains("campaigns.v1.Vouchers", services);
        Assert.Contains("campaigns.v1.Redemptions", services);
        Assert.Contains("campaigns.v1.Merchants", services);
        Assert.Contains("campaigns.v1.Access", services);
        Assert.Contains("campaigns.v1.Reconciliation", services);
        Assert.Contains("grpc.health.v1.Health", services);
    }

    [Fact]
    public async Task Http_healthz_on_the_http_port_says_healthy()
    {
        using var http = new HttpClient { BaseAddress = silo.Host.HttpAddress };
        using var response = await http.GetAsync(new Uri("/healthz", UriKind.Relative));
        Assert.True(response.IsSuccessStatusCode, $"GET /healthz: {(int)response.StatusCode}");
        Assert.Equal("Healthy", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Calls_without_an_api_key_are_refused_with_MISSING_API_KEY()
    {
        var anonymous = silo.Client("");
        await Expect.RefusedAsync(StatusCode.Unauthenticated, "MISSING_API_KEY",
            () => anonymous.Admin.ListCampaignsAsync(new Proto.ListCampaignsRequest()));
        await Expect.RefusedAsync(StatusCode.Unauthenticated, "MISSING_API_KEY",
            () => anonymous.IssueVoucherAsync("any-campaign", "user-1", "req-1"));
    }
}
