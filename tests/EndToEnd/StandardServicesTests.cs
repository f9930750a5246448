using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Headers;
using Campaigns.Client;
using Campaigns.Proto;
using Google.Protobuf;
using Google.Rpc;
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
    public async Task Http_healthz_on_the_http_port_says_healthy_for_each_part_of_the_embedded_default()
    {
        using var http = new HttpClient { BaseAddress = silo.Host.HttpAddress };
        using var response = await http.GetAsync(new Uri("/healthz", UriKind.Relative));
        Assert.True(response.IsSuccessStatusCode, $"GET /healthz: {(int)response.StatusCode}");
        using var health = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("Healthy", health.RootElement.GetProperty("status").GetString());
        var checks = health.RootElement.GetProperty("checks");
        Assert.Equal("Healthy", checks.GetProperty("silo").GetProperty("status").GetString());
        // The embedded default depends on no server: no PostgreSQL or Redis check.
        Assert.Equal(["silo"], checks.EnumerateObject().Select(check => check.Name));
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

    [Fact]
    public async Task A_refusal_on_the_wire_is_a_grpc_error_status_with_its_reason_in_the_trailers()
    {
        // Refusals are answered without throwing (ApiErrors.Answer): what a client that speaks
        // plain HTTP/2 sees must still be an ordinary gRPC error and nothing of a voucher.
        var campaign = await silo.StartedCampaignAsync(r => r.TotalStock = 1);
        await silo.IssueAsync(campaign.CampaignId, "user-first-on-wire");

        using var response = await PostGrpcAsync("/campaigns.v1.Vouchers/IssueVoucher", silo.Partner.Options.ApiKey,
            new IssueVoucherRequest { CampaignId = campaign.CampaignId, UserId = "user-late-on-wire", RequestId = "req-late-on-wire" });
        var body = await response.Content.ReadAsByteArrayAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var trailers = response.TrailingHeaders;
        Assert.Equal(((int)StatusCode.ResourceExhausted).ToString(System.Globalization.CultureInfo.InvariantCulture), trailers.GetValues("grpc-status").Single());
        Assert.Equal("the campaign is sold out", Uri.UnescapeDataString(trailers.GetValues("grpc-message").Single()));
        var details = Google.Rpc.Status.Parser.ParseFrom(Base64(trailers.GetValues("grpc-status-details-bin").Single()));
        var info = details.Details.Single(d => d.Is(ErrorInfo.Descriptor)).Unpack<ErrorInfo>();
        Assert.Equal(("SOLD_OUT", CampaignsError.Domain), (info.Reason, info.Domain));

        // At most one message precedes the status, and it is empty: clients discard it for a non-OK status.
        Assert.True(body.Length is 0 || (body.Length == 5 && BinaryPrimitives.ReadInt32BigEndian(body.AsSpan(1)) == 0),
            $"unexpected response body of {body.Length} bytes");
    }

    private async Task<HttpResponseMessage> PostGrpcAsync(string path, string apiKey, IMessage message)
    {
        var payload = message.ToByteArray();
        var frame = new byte[5 + payload.Length];
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(1), payload.Length);
        payload.CopyTo(frame, 5);

        using var http = new HttpClient(new SocketsHttpHandler());
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(silo.Host.GrpcAddress, path))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(frame),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        request.Headers.TE.Add(new TransferCodingWithQualityHeaderValue("trailers"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        var response = await http.SendAsync(request, HttpCompletionOption.ResponseContentRead);
        return response;
    }

    // Binary gRPC metadata is base64, possibly without padding.
    private static byte[] Base64(string value) => Convert.FromBase64String(value.PadRight((value.Length + 3) / 4 * 4, '='));
}
