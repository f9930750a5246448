using System.Net;
using System.Text.Json;
using Campaigns.Proto;
using Grpc.Core;

namespace Campaigns.Tests.EndToEnd;

/// <summary>
/// Every HTTP/JSON route of API.md, called with a plain HttpClient on the HTTP port: the same
/// keys, roles, idempotency and error reasons as over gRPC, and a refused call changes nothing.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class HttpJsonTests(SiloFixture silo) : IAsyncLifetime
{
    private readonly List<HttpJson> _callers = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        _callers.ForEach(c => c.Dispose());
        return Task.CompletedTask;
    }

    [Fact]
    public async Task A_partner_issues_over_http_and_a_repeat_of_the_request_id_is_replayed()
    {
        var campaign = await silo.StartedCampaignAsync();
        var partner = await PartnerAsync();
        var path = $"/v1/campaigns/{campaign.CampaignId}/vouchers:issue";

        var first = (await partner.PostAsync(path, new { userId = "http-user-1", requestId = "http-req-1" })).Ok();
        var again = (await partner.PostAsync(path, new { userId = "http-user-1", requestId = "http-req-1" })).Ok();

        Assert.False(first.GetProperty("replayed").GetBoolean());
        Assert.True(again.GetProperty("replayed").GetBoolean());
        var code = first.GetProperty("voucher").GetProperty("code").GetString();
        Assert.Equal(code, again.GetProperty("voucher").GetProperty("code").GetString());
        Assert.Equal(SiloFixture.PartnerId, first.GetProperty("voucher").GetProperty("channel").GetString());
        Assert.Equal("VOUCHER_STATUS_ISSUED", first.GetProperty("voucher").GetProperty("status").GetString());
        Assert.Equal(1, (await silo.StatsAsync(campaign.CampaignId)).Issued);
    }

    [Fact]
    public async Task A_request_id_repeated_with_other_parameters_is_IDEMPOTENCY_KEY_REUSED_and_issues_nothing()
    {
        var campaign = await silo.StartedCampaignAsync();
        var partner = await PartnerAsync();
        var path = $"/v1/campaigns/{campaign.CampaignId}/vouchers:issue";
        var first = (await partner.PostAsync(path, new { userId = "http-user-a", requestId = "http-req-shared" })).Ok();

        (await partner.PostAsync(path, new { userId = "http-user-a", requestId = "http-req-shared", district = "xuhui" }))
            .Refused(HttpStatusCode.BadRequest, StatusCode.FailedPrecondition, "IDEMPOTENCY_KEY_REUSED");

        Assert.Equal(1, (await silo.StatsAsync(campaign.CampaignId)).Issued);
        var wallet = (await partner.GetAsync($"/v1/users/http-user-a/vouchers?campaignId={campaign.CampaignId}")).Ok().GetProperty("vouchers");
        Assert.Equal([first.GetProperty("voucher").GetProperty("code").GetString()], wallet.EnumerateArray().Select(v => v.GetProperty("code").GetString()));
        Assert.Equal("", wallet[0].GetProperty("district").GetString());
    }

    [Fact]
    public async Task A_device_past_its_limit_is_refused_over_http_with_429_and_the_campaign_shows_the_limit()
    {
        var campaign = await silo.StartedCampaignAsync(r => r.PerDeviceLimit = 1);
        var partner = await PartnerAsync();
        var path = $"/v1/campaigns/{campaign.CampaignId}/vouchers:issue";

        (await partner.PostAsync(path, new { userId = "http-device-1", requestId = "http-req-1", deviceId = "phone-http" })).Ok();
        (await partner.PostAsync(path, new { userId = "http-device-2", requestId = "http-req-1", deviceId = "phone-http" }))
            .Refused(HttpStatusCode.TooManyRequests, StatusCode.ResourceExhausted, "DEVICE_LIMIT_REACHED");

        Assert.Equal(1, (await Caller(SiloHost.BootstrapOrganiserKey).GetAsync($"/v1/campaigns/{campaign.CampaignId}")).Ok().GetProperty("perDeviceLimit").GetInt32());
        Assert.Equal(1, (await silo.StatsAsync(campaign.CampaignId)).Issued);
    }

    [Fact]
    public async Task A_partner_looks_up_a_voucher_and_a_users_wallet_over_http()
    {
        var campaign = await silo.StartedCampaignAsync();
        var user = Scenario.NewId("http-wallet");
        var voucher = await silo.IssueAsync(campaign.CampaignId, user);
        var partner = await PartnerAsync();

        var found = (await partner.GetAsync($"/v1/vouchers/{voucher.Code}")).Ok();
        Assert.Equal(voucher.Code, found.GetProperty("code").GetString());
        Assert.Equal(campaign.CampaignId, found.GetProperty("campaignId").GetString());
        Assert.Equal(2000, found.GetProperty("faceValueCents").GetInt64()); // money is a JSON number, in cents

        var wallet = (await partner.GetAsync($"/v1/users/{user}/vouchers?campaignId={campaign.CampaignId}")).Ok();
        Assert.Equal([voucher.Code], wallet.GetProperty("vouchers").EnumerateArray().Select(v => v.GetProperty("code").GetString()));

        // Paged: the query takes pageSize and pageToken, the answer gives nextPageToken.
        silo.Clock.Advance(TimeSpan.FromSeconds(1));
        var second = await silo.IssueAsync((await silo.StartedCampaignAsync()).CampaignId, user);
        var page = (await partner.GetAsync($"/v1/users/{user}/vouchers?pageSize=1")).Ok();
        var token = page.GetProperty("nextPageToken").GetString();
        var next = (await partner.GetAsync($"/v1/users/{user}/vouchers?pageSize=1&pageToken={token}")).Ok();
        Assert.Equal(
            [second.Code, voucher.Code],
            new[] { page, next }.Select(p => Assert.Single(p.GetProperty("vouchers").EnumerateArray()).GetProperty("code").GetString()));
        Assert.Equal("", next.GetProperty("nextPageToken").GetString());
        (await partner.GetAsync($"/v1/users/{user}/vouchers?pageSize=1&pageToken=not-a-token"))
            .Refused(HttpStatusCode.BadRequest, StatusCode.InvalidArgument, "INVALID_ARGUMENT");
    }

    [Fact]
    public async Task A_till_redeems_then_refunds_over_http_and_the_settlement_follows()
    {
        var (campaign, voucher, merchantId, till) = await RedeemableOverHttpAsync();

        var redeem = new { merchantId, orderId = "http-order-1", orderAmountCents = 15_000 };
        var redeemed = (await till.PostAsync($"/v1/vouchers/{voucher.Code}:redeem", redeem)).Ok();
        var repeated = (await till.PostAsync($"/v1/vouchers/{voucher.Code}:redeem", redeem)).Ok();
        Assert.Equal(2000, redeemed.GetProperty("discountCents").GetInt64());
        Assert.Equal(13000, redeemed.GetProperty("payableCents").GetInt64());
        Assert.Equal(redeemed.GetProperty("redeemedAt").GetString(), repeated.GetProperty("redeemedAt").GetString());

        var settled = (await till.GetAsync($"/v1/merchants/{merchantId}/settlement?campaignId={campaign.CampaignId}")).Ok();
        Assert.Equal(1, settled.GetProperty("redemptions").GetInt64());
        Assert.Equal(2000, settled.GetProperty("netSubsidyCents").GetInt64());

        var refunded = (await till.PostAsync($"/v1/vouchers/{voucher.Code}:refund", new { merchantId, orderId = "http-order-1", refundId = "http-refund-1" })).Ok();
        Assert.Equal("VOUCHER_STATUS_ISSUED", refunded.GetProperty("status").GetString());
        var after = (await till.GetAsync($"/v1/merchants/{merchantId}/settlement?campaignId={campaign.CampaignId}")).Ok();
        Assert.Equal(1, after.GetProperty("refunds").GetInt64());
        Assert.Equal(0, after.GetProperty("netSubsidyCents").GetInt64());
    }

    [Fact]
    public async Task A_till_reserves_cancels_reserves_again_and_confirms_over_http()
    {
        var (_, voucher, merchantId, till) = await RedeemableOverHttpAsync();

        var held = (await till.PostAsync($"/v1/vouchers/{voucher.Code}:reserve", new { merchantId, orderId = "http-held", orderAmountCents = 20_000, holdSeconds = 120 })).Ok();
        Assert.Equal(18000, held.GetProperty("payableCents").GetInt64());
        var freed = (await till.PostAsync($"/v1/vouchers/{voucher.Code}:cancel", new { merchantId, orderId = "http-held" })).Ok();
        Assert.Equal("VOUCHER_STATUS_ISSUED", freed.GetProperty("status").GetString());

        (await till.PostAsync($"/v1/vouchers/{voucher.Code}:reserve", new { merchantId, orderId = "http-paid", orderAmountCents = 20_000 })).Ok();
        var confirmed = (await till.PostAsync($"/v1/vouchers/{voucher.Code}:confirm", new { merchantId, orderId = "http-paid" })).Ok();
        Assert.Equal("http-paid", confirmed.GetProperty("orderId").GetString());
        Assert.Equal(VoucherStatus.Redeemed, (await silo.Partner.GetVoucherAsync(voucher.Code)).Status);
    }

    [Fact]
    public async Task An_organiser_reads_a_campaign_and_its_stats_over_http_as_over_grpc()
    {
        var campaign = await silo.StartedCampaignAsync();
        await silo.IssueAsync(campaign.CampaignId, Scenario.NewId("http-stats"));
        var organiser = Caller(SiloHost.BootstrapOrganiserKey);

        var read = (await organiser.GetAsync($"/v1/campaigns/{campaign.CampaignId}")).Ok();
        Assert.Equal("CAMPAIGN_STATUS_ACTIVE", read.GetProperty("status").GetString());
        Assert.Equal(campaign.Name, read.GetProperty("name").GetString());

        var stats = (await organiser.GetAsync($"/v1/campaigns/{campaign.CampaignId}/stats")).Ok();
        var grpc = await silo.StatsAsync(campaign.CampaignId);
        Assert.Equal(grpc.Issued, stats.GetProperty("issued").GetInt64());
        Assert.Equal(grpc.Remaining, stats.GetProperty("remaining").GetInt64());
    }

    [Fact]
    public async Task A_drop_cap_reads_over_http_and_a_claim_past_it_is_429_with_its_retry_delay()
    {
        var campaign = await silo.StartedCampaignAsync(r =>
        {
            r.StartsAt = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(silo.Clock.GetUtcNow());
            (r.PartnerCapPerMinute, r.PartnerCapMinutes) = (4, 3);
        });
        var read = (await Caller(SiloHost.BootstrapOrganiserKey).GetAsync($"/v1/campaigns/{campaign.CampaignId}")).Ok();
        Assert.Equal(4, read.GetProperty("partnerCapPerMinute").GetInt64());
        Assert.Equal(3, read.GetProperty("partnerCapMinutes").GetInt32());

        // 4 a minute over 4 shards: of 5 users, two share a shard, and the later of them is refused.
        var partner = await PartnerAsync();
        var answers = new List<HttpAnswer>();
        foreach (var user in Enumerable.Range(0, 5).Select(_ => Scenario.NewId("http-drop")))
        {
            answers.Add(await partner.PostAsync($"/v1/campaigns/{campaign.CampaignId}/vouchers:issue", new { userId = user, requestId = "claim-" + user }));
        }

        var refused = answers.First(a => a.Status != HttpStatusCode.OK)
            .Refused(HttpStatusCode.TooManyRequests, StatusCode.ResourceExhausted, "PARTNER_DROP_CAP_REACHED");
        var retry = refused.GetProperty("details").EnumerateArray()
            .Single(d => d.GetProperty("@type").GetString() == "type.googleapis.com/google.rpc.RetryInfo");
        var seconds = double.Parse(retry.GetProperty("retryDelay").GetString()!.TrimEnd('s'), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(seconds, 59, 60);
    }

    [Fact]
    public async Task No_key_and_a_wrong_key_are_refused_with_401_and_issue_nothing()
    {
        var campaign = await silo.StartedCampaignAsync();
        var path = $"/v1/campaigns/{campaign.CampaignId}/vouchers:issue";
        var claim = new { userId = "http-nokey", requestId = "http-nokey-1" };

        (await Caller(null).PostAsync(path, claim)).Refused(HttpStatusCode.Unauthorized, StatusCode.Unauthenticated, "MISSING_API_KEY");
        (await Caller("not-a-key").PostAsync(path, claim)).Refused(HttpStatusCode.Unauthorized, StatusCode.Unauthenticated, "INVALID_API_KEY");
        (await Caller("not-a-key").GetAsync($"/v1/campaigns/{campaign.CampaignId}")).Refused(HttpStatusCode.Unauthorized, StatusCode.Unauthenticated, "INVALID_API_KEY");

        Assert.Equal(0, (await silo.StatsAsync(campaign.CampaignId)).Issued);
    }

    [Fact]
    public async Task A_key_of_the_wrong_role_or_merchant_is_refused_with_403_and_changes_nothing()
    {
        var (campaign, voucher, merchantId, till) = await RedeemableOverHttpAsync();
        var (_, otherTill) = await MerchantAsync(campaign.CampaignId);

        (await till.PostAsync($"/v1/campaigns/{campaign.CampaignId}/vouchers:issue", new { userId = "http-role", requestId = "http-role-1" }))
            .Refused(HttpStatusCode.Forbidden, StatusCode.PermissionDenied, "WRONG_ROLE");
        (await till.GetAsync($"/v1/campaigns/{campaign.CampaignId}/stats")).Refused(HttpStatusCode.Forbidden, StatusCode.PermissionDenied, "WRONG_ROLE");
        (await otherTill.PostAsync($"/v1/vouchers/{voucher.Code}:redeem", new { merchantId, orderId = "http-theft", orderAmountCents = 20_000 }))
            .Refused(HttpStatusCode.Forbidden, StatusCode.PermissionDenied, "NOT_YOUR_MERCHANT");
        (await otherTill.GetAsync($"/v1/merchants/{merchantId}/settlement")).Refused(HttpStatusCode.Forbidden, StatusCode.PermissionDenied, "NOT_YOUR_MERCHANT");

        Assert.Equal(VoucherStatus.Issued, (await silo.Partner.GetVoucherAsync(voucher.Code)).Status);
        Assert.Equal(1, (await silo.StatsAsync(campaign.CampaignId)).Issued);
    }

    [Fact]
    public async Task Unknown_vouchers_campaigns_and_merchants_are_404_with_their_reason()
    {
        var (campaign, voucher, merchantId, till) = await RedeemableOverHttpAsync();
        var partner = await PartnerAsync();
        var organiser = Caller(SiloHost.BootstrapOrganiserKey);

        (await partner.GetAsync($"/v1/vouchers/{Scenario.Mistyped(voucher.Code)}")).Refused(HttpStatusCode.NotFound, StatusCode.NotFound, "VOUCHER_NOT_FOUND");
        (await till.PostAsync($"/v1/vouchers/{Scenario.Mistyped(voucher.Code)}:redeem", new { merchantId, orderId = "http-typo", orderAmountCents = 20_000 }))
            .Refused(HttpStatusCode.NotFound, StatusCode.NotFound, "VOUCHER_NOT_FOUND");
        (await organiser.GetAsync("/v1/campaigns/http-no-such-campaign")).Refused(HttpStatusCode.NotFound, StatusCode.NotFound, "CAMPAIGN_NOT_FOUND");
        (await organiser.GetAsync("/v1/campaigns/http-no-such-campaign/stats")).Refused(HttpStatusCode.NotFound, StatusCode.NotFound, "CAMPAIGN_NOT_FOUND");

        Assert.Equal(VoucherStatus.Issued, (await silo.Partner.GetVoucherAsync(voucher.Code)).Status);
        Assert.Equal(0, (await till.GetAsync($"/v1/merchants/{merchantId}/settlement?campaignId={campaign.CampaignId}")).Ok()
            .GetProperty("redemptions").GetInt64());
    }

    [Fact]
    public async Task A_body_that_is_not_json_or_mistyped_is_400_INVALID_ARGUMENT_and_changes_nothing()
    {
        var (campaign, voucher, merchantId, till) = await RedeemableOverHttpAsync();
        var partner = await PartnerAsync();

        (await till.PostTextAsync($"/v1/vouchers/{voucher.Code}:redeem", "{\"merchantId\": \"" + merchantId + "\", "))
            .Refused(HttpStatusCode.BadRequest, StatusCode.InvalidArgument, "INVALID_ARGUMENT");
        (await till.PostTextAsync($"/v1/vouchers/{voucher.Code}:redeem", JsonSerializer.Serialize(new { merchantId, orderId = "o", orderAmountCents = "lots" })))
            .Refused(HttpStatusCode.BadRequest, StatusCode.InvalidArgument, "INVALID_ARGUMENT");
        var missing = (await partner.PostAsync($"/v1/campaigns/{campaign.CampaignId}/vouchers:issue", new { userId = "http-bad" }))
            .Refused(HttpStatusCode.BadRequest, StatusCode.InvalidArgument, "INVALID_ARGUMENT");
        Assert.Contains("request_id", missing.GetProperty("message").GetString(), StringComparison.Ordinal);

        Assert.Equal(VoucherStatus.Issued, (await silo.Partner.GetVoucherAsync(voucher.Code)).Status);
        Assert.Equal(1, (await silo.StatsAsync(campaign.CampaignId)).Issued);
    }

    [Fact]
    public async Task A_second_order_on_a_redeemed_voucher_is_refused_over_http_and_the_first_stands()
    {
        var (_, voucher, merchantId, till) = await RedeemableOverHttpAsync();
        (await till.PostAsync($"/v1/vouchers/{voucher.Code}:redeem", new { merchantId, orderId = "http-first", orderAmountCents = 20_000 })).Ok();

        (await till.PostAsync($"/v1/vouchers/{voucher.Code}:redeem", new { merchantId, orderId = "http-second", orderAmountCents = 20_000 }))
            .Refused(HttpStatusCode.BadRequest, StatusCode.FailedPrecondition, "VOUCHER_ALREADY_REDEEMED");

        Assert.Equal("http-first", (await silo.Partner.GetVoucherAsync(voucher.Code)).OrderId);
    }

    [Fact]
    public async Task A_partner_issues_a_batch_over_http_and_each_item_answers_on_its_own()
    {
        var campaign = await silo.StartedCampaignAsync();
        var partner = await PartnerAsync();

        var batch = (await partner.PostAsync($"/v1/campaigns/{campaign.CampaignId}/vouchers:issueBatch", new
        {
            items = new[]
            {
                new { userId = "http-batch-1", requestId = "http-batch-req-1" },
                new { userId = "http-batch-1", requestId = "http-batch-req-2" },
            },
        })).Ok().GetProperty("results").EnumerateArray().ToList();

        Assert.Equal(["http-batch-req-1", "http-batch-req-2"], batch.Select(r => r.GetProperty("requestId").GetString()));
        Assert.False(string.IsNullOrEmpty(batch[0].GetProperty("voucher").GetProperty("code").GetString()));
        Assert.Equal("USER_LIMIT_REACHED", batch[1].GetProperty("errorReason").GetString());
        Assert.Equal(1, (await silo.StatsAsync(campaign.CampaignId)).Issued);
    }

    [Fact]
    public async Task An_organiser_lists_campaigns_reads_a_merchant_and_watches_stats_stream_over_http()
    {
        var campaign = await silo.StartedCampaignAsync();
        var (merchantId, _) = await MerchantAsync(campaign.CampaignId);
        var organiser = Caller(SiloHost.BootstrapOrganiserKey);

        var listed = (await organiser.GetAsync("/v1/campaigns?status=CAMPAIGN_STATUS_ACTIVE&pageSize=100")).Ok();
        Assert.Contains(listed.GetProperty("campaigns").EnumerateArray(), c => c.GetProperty("campaignId").GetString() == campaign.CampaignId);
        Assert.Equal(SiloFixture.MerchantDistrict, (await organiser.GetAsync($"/v1/merchants/{merchantId}")).Ok().GetProperty("district").GetString());

        // The stream answers one JSON object per snapshot; the first comes at once.
        using var http = new HttpClient { BaseAddress = silo.Host.HttpAddress };
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/campaigns/{campaign.CampaignId}/stats:watch");
        request.Headers.Authorization = new("Bearer", SiloHost.BootstrapOrganiserKey);
        using var watching = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, watching.Token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var lines = new StreamReader(await response.Content.ReadAsStreamAsync(watching.Token));
        var first = JsonDocument.Parse((await lines.ReadLineAsync(watching.Token))!).RootElement;
        Assert.Equal(campaign.CampaignId, first.GetProperty("campaignId").GetString());
        Assert.Equal(0, first.GetProperty("issued").GetInt64());

        await silo.IssueAsync(campaign.CampaignId, Scenario.NewId("http-watch"));
        var next = JsonDocument.Parse((await lines.ReadLineAsync(watching.Token))!).RootElement;
        Assert.Equal(1, next.GetProperty("issued").GetInt64());
    }

    [Fact]
    public async Task A_till_reusing_an_order_id_for_another_amount_is_IDEMPOTENCY_KEY_REUSED_and_the_first_sale_stands()
    {
        var (_, voucher, merchantId, till) = await RedeemableOverHttpAsync();
        (await till.PostAsync($"/v1/vouchers/{voucher.Code}:redeem", new { merchantId, orderId = "http-order-once", orderAmountCents = 20_000 })).Ok();

        (await till.PostAsync($"/v1/vouchers/{voucher.Code}:redeem", new { merchantId, orderId = "http-order-once", orderAmountCents = 30_000 }))
            .Refused(HttpStatusCode.BadRequest, StatusCode.FailedPrecondition, "IDEMPOTENCY_KEY_REUSED");

        var settled = (await till.GetAsync($"/v1/merchants/{merchantId}/settlement")).Ok();
        Assert.Equal(1, settled.GetProperty("redemptions").GetInt64());
        Assert.Equal(20_000, settled.GetProperty("orderTotalCents").GetInt64());
    }

    [Fact]
    public async Task The_openapi_document_lists_every_http_route_of_the_contract()
    {
        var document = (await Caller(null).GetAsync("/openapi.json")).Ok();
        var paths = document.GetProperty("paths");

        (string Path, string Verb)[] routes =
        [
            ("/v1/campaigns/{campaignId}/vouchers:issue", "post"), ("/v1/vouchers/{code}", "get"),
            ("/v1/users/{userId}/vouchers", "get"), ("/v1/vouchers/{code}:reserve", "post"),
            ("/v1/vouchers/{code}:confirm", "post"), ("/v1/vouchers/{code}:cancel", "post"),
            ("/v1/vouchers/{code}:redeem", "post"), ("/v1/vouchers/{code}:refund", "post"),
            ("/v1/campaigns/{campaignId}", "get"), ("/v1/campaigns/{campaignId}/stats", "get"),
            ("/v1/merchants/{merchantId}/settlement", "get"),
        ];
        foreach (var (path, verb) in routes)
        {
            Assert.True(paths.TryGetProperty(path, out var item) && item.TryGetProperty(verb, out _), $"{verb.ToUpperInvariant()} {path} is missing");
        }

        // The proto files' comments describe the routes.
        Assert.Contains("Idempotent on (code, order_id)", paths.GetProperty("/v1/vouchers/{code}:redeem").GetProperty("post").GetProperty("summary").GetString(), StringComparison.Ordinal);
        Assert.Equal("bearer", document.GetProperty("components").GetProperty("securitySchemes").GetProperty("apiKey").GetProperty("scheme").GetString());
        Assert.True(document.GetProperty("security")[0].TryGetProperty("apiKey", out _), "every route asks for the API key");
    }

    private HttpJson Caller(string? apiKey)
    {
        var caller = new HttpJson(silo.Host.HttpAddress, apiKey);
        _callers.Add(caller);
        return caller;
    }

    /// <summary>A second key of the fixture's partner, so it sees the vouchers the fixture's partner issues.</summary>
    private async Task<HttpJson> PartnerAsync() => Caller((await silo.CreateKeyAsync(Role.Partner, SiloFixture.PartnerId)).Secret);

    /// <summary>A new merchant in the fixture's district, enrolled in the campaign, with a till calling over HTTP.</summary>
    private async Task<(string MerchantId, HttpJson Till)> MerchantAsync(string campaignId)
    {
        var merchantId = Scenario.NewId("m-http");
        await silo.Organiser.Merchants.RegisterMerchantAsync(new RegisterMerchantRequest
        {
            MerchantId = merchantId, Name = "HTTP Tea", District = SiloFixture.MerchantDistrict, Category = "food",
        });
        await silo.Organiser.Admin.EnrollMerchantAsync(new EnrollMerchantRequest { CampaignId = campaignId, MerchantId = merchantId });
        return (merchantId, Caller((await silo.CreateKeyAsync(Role.Merchant, merchantId)).Secret));
    }

    private async Task<(Campaign Campaign, Voucher Voucher, string MerchantId, HttpJson Till)> RedeemableOverHttpAsync()
    {
        var campaign = await silo.StartedCampaignAsync();
        var voucher = await silo.IssueAsync(campaign.CampaignId, Scenario.NewId("http-user"));
        var (merchantId, till) = await MerchantAsync(campaign.CampaignId);
        return (campaign, voucher, merchantId, till);
    }
}
