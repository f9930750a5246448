using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Campaigns.Proto;
using Grpc.Core;

namespace Campaigns.Tests.EndToEnd;

/// <summary>What an operator reads: /metrics in Prometheus text, and the Orleans dashboard for organisers only.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class ObservabilityTests(SiloFixture silo) : IDisposable
{
    private readonly HttpClient _http = new() { BaseAddress = silo.Host.HttpAddress };

    [Fact]
    public async Task Metrics_count_the_claims_issued_replayed_and_refused_by_reason_and_the_redemptions()
    {
        var campaign = await silo.StartedCampaignAsync();
        var id = campaign.CampaignId;
        var before = await ScrapeAsync();
        Assert.Equal(0, PrometheusText.Sum(before, "campaigns_claims_total", ("campaign", id)));

        await silo.Partner.IssueVoucherAsync(id, "metrics-user-1", "metrics-req-1");
        await silo.Partner.IssueVoucherAsync(id, "metrics-user-1", "metrics-req-1");
        var voucher = (await silo.Partner.IssueVoucherAsync(id, "metrics-user-2", "metrics-req-2")).Voucher;
        await Expect.RefusedAsync(StatusCode.ResourceExhausted, "USER_LIMIT_REACHED", () => silo.Partner.IssueVoucherAsync(id, "metrics-user-1", "metrics-req-3"));
        await silo.Partner.IssueVouchersAsync(id,
        [
            new IssueVouchersItem { UserId = "metrics-user-3", RequestId = "metrics-req-4" },
            new IssueVouchersItem { UserId = "metrics-user-3", RequestId = "metrics-req-5" },
        ]);
        await silo.Organiser.Admin.BlockUsersAsync(new BlockUsersRequest { CampaignId = id, UserIds = { "metrics-user-4" } });
        await Expect.RefusedAsync(StatusCode.PermissionDenied, "USER_BLOCKED", () => silo.Partner.IssueVoucherAsync(id, "metrics-user-4", "metrics-req-6"));
        var (merchantId, merchant) = await silo.NewMerchantAsync();
        await merchant.Merchants.JoinCampaignAsync(new JoinCampaignRequest { CampaignId = id, MerchantId = merchantId });
        await merchant.RedeemVoucherAsync(voucher.Code, merchantId, "metrics-order-1", 20_000);

        var after = await ScrapeAsync();
        var channel = ("channel", SiloFixture.PartnerId);
        Assert.Equal(3, PrometheusText.Sum(after, "campaigns_claims_total", ("campaign", id), channel, ("outcome", "issued")));
        Assert.Equal(1, PrometheusText.Sum(after, "campaigns_claims_total", ("campaign", id), channel, ("outcome", "replayed")));
        Assert.Equal(2, PrometheusText.Sum(after, "campaigns_claims_total", ("campaign", id), channel, ("outcome", "refused"), ("reason", "USER_LIMIT_REACHED")));
        Assert.Equal(1, PrometheusText.Sum(after, "campaigns_claims_total", ("campaign", id), channel, ("outcome", "refused"), ("reason", "USER_BLOCKED")));
        Assert.Equal(1, PrometheusText.Sum(after, "campaigns_redemptions_total", ("campaign", id), ("operation", "redeem")));
        Assert.Equal(3, PrometheusText.Sum(after, "campaigns_issue_batch_size_sum", ("campaign", id)));
        Assert.True(PrometheusText.Sum(after, "campaigns_issue_commit_duration_seconds_count", ("campaign", id)) >= 2, "every batch commit is timed");
        Assert.True(PrometheusText.Sum(after, "campaigns_leases_granted_total", ("campaign", id)) >= 3, "the shards spent leased stock");
    }

    [Fact]
    public async Task The_orleans_dashboard_is_for_admin_keys_only()
    {
        var partner = (await silo.CreateKeyAsync(Role.Partner, "dashboard-peeker")).Secret;
        var organiser = (await silo.CreateKeyAsync(Role.Organiser, "dashboard-bureau")).Secret;

        Assert.Equal(HttpStatusCode.Unauthorized, await OrleansDashboardAsync(null));
        Assert.Equal(HttpStatusCode.Unauthorized, await OrleansDashboardAsync(Basic("not-a-key")));
        Assert.Equal(HttpStatusCode.Forbidden, await OrleansDashboardAsync(Basic(partner)));
        // It shows every organiser's grains: an organiser key sees its own campaigns elsewhere.
        Assert.Equal(HttpStatusCode.Forbidden, await OrleansDashboardAsync(Basic(organiser)));
        Assert.Equal(HttpStatusCode.OK, await OrleansDashboardAsync(Basic(SiloHost.BootstrapOrganiserKey)));
        Assert.Equal(HttpStatusCode.OK, await OrleansDashboardAsync(new AuthenticationHeaderValue("Bearer", SiloHost.BootstrapOrganiserKey)));
    }

    public void Dispose() => _http.Dispose();

    private static AuthenticationHeaderValue Basic(string key) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("organiser:" + key)));

    private async Task<HttpStatusCode> OrleansDashboardAsync(AuthenticationHeaderValue? authorization)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/orleans/");
        request.Headers.Authorization = authorization;
        using var response = await _http.SendAsync(request);
        return response.StatusCode;
    }

    private async Task<string> ScrapeAsync()
    {
        using var response = await _http.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync();
    }
}
