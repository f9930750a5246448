using Campaigns.Client;
using Campaigns.Proto;
using Grpc.Core;

namespace Campaigns.Tests.EndToEnd;

/// <summary>
/// A silo of its own for event callbacks, with short retry settings: retries 50-200 ms apart, a
/// 3 s window before an event is parked, 1 s for a receiver to answer.
/// </summary>
public sealed class EventsSiloFixture : IAsyncLifetime
{
    public static readonly string[] Settings =
    [
        "--Campaigns:Events:PollInterval=00:00:00.100",
        "--Campaigns:Events:FirstRetryDelay=00:00:00.050",
        "--Campaigns:Events:MaxRetryDelay=00:00:00.200",
        "--Campaigns:Events:RetryWindow=00:00:03",
        // Long enough for a loopback receiver on a busy machine: one full CI run saw an answer of 503
        // come after a 1 s timeout, and the parked event's last error was the timeout instead.
        "--Campaigns:Events:RequestTimeout=00:00:03",
        // The test receivers listen on loopback.
        "--Campaigns:Events:AllowPrivateAddresses=true",
    ];

    public SiloHost Host { get; private set; } = null!;

    public CampaignsClient Organiser { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Host = await SiloHost.StartAsync(Settings);
        Organiser = Host.Client(SiloHost.BootstrapOrganiserKey);
    }

    public async Task DisposeAsync() => await Host.DisposeAsync();
}

public sealed class EventCallbackTests(EventsSiloFixture silo) : IClassFixture<EventsSiloFixture>
{
    private CampaignsClient Organiser => silo.Organiser;

    [Fact]
    public async Task A_journey_s_issue_redemption_and_refund_arrive_signed_in_order_and_a_refused_one_comes_again()
    {
        var journey = await Journey.StartAsync(silo.Host);
        await using var receiver = await CallbackReceiver.StartAsync();
        await receiver.SubscribeAsync(Organiser, journey.CampaignId, "voucher.issued", "voucher.redeemed", "voucher.refunded");
        // The redemption's first two deliveries are answered 500.
        string? redemptionId = null;
        receiver.Answer = (id, attempt) =>
        {
            if (id.StartsWith("evt_vr_", StringComparison.Ordinal))
            {
                redemptionId ??= id;
            }

            return id == redemptionId && attempt <= 2 ? 500 : 200;
        };

        var voucher = (await journey.Partner.IssueVoucherAsync(journey.CampaignId, "user-journey", "claim-journey")).Voucher;
        await journey.Merchant.RedeemVoucherAsync(voucher.Code, journey.MerchantId, "order-journey", 15_000);
        await journey.Merchant.RefundRedemptionAsync(voucher.Code, journey.MerchantId, "order-journey", "refund-journey");

        await receiver.WaitUntilAsync(r => r.Acknowledged.Count >= 3, "three acknowledged events");
        await Task.Delay(500);

        var acknowledged = receiver.Acknowledged;
        Assert.Equal(["voucher.issued", "voucher.redeemed", "voucher.refunded"], acknowledged.Select(e => e.Type));
        Assert.All(receiver.Received, r => Assert.True(r.SignatureValid, $"{r.Id}'s signature"));
        Assert.All(acknowledged, e => Assert.Equal(voucher.Code, e.Data.GetProperty("code").GetString()));
        Assert.Equal("VOUCHER_STATUS_ISSUED", acknowledged[0].Data.GetProperty("status").GetString());
        Assert.Equal("VOUCHER_STATUS_REDEEMED", acknowledged[1].Data.GetProperty("status").GetString());
        Assert.Equal("order-journey", acknowledged[1].Data.GetProperty("orderId").GetString());
        Assert.Equal("VOUCHER_STATUS_ISSUED", acknowledged[2].Data.GetProperty("status").GetString());

        // The redemption came three times with one id and one body; the others once.
        var redemption = receiver.Received.Where(r => r.Id == acknowledged[1].Id).ToList();
        Assert.Equal([500, 500, 200], redemption.Select(r => r.AnsweredWith));
        Assert.Single(redemption.Select(r => r.Body).Distinct());
        Assert.Equal(5, receiver.Received.Count);

        using var http = new HttpClient { BaseAddress = silo.Host.HttpAddress };
        var scrape = await http.GetStringAsync("/metrics");
        Assert.Equal(3, PrometheusText.Sum(scrape, "campaigns_callbacks_total", ("campaign", journey.CampaignId), ("outcome", "delivered")));
        Assert.Equal(2, PrometheusText.Sum(scrape, "campaigns_callbacks_total", ("campaign", journey.CampaignId), ("type", "voucher.redeemed"), ("outcome", "refused")));
    }

    [Fact]
    public async Task A_campaign_s_sell_out_and_end_are_told_and_its_unspent_vouchers_expire()
    {
        var journey = await Journey.StartAsync(silo.Host, stock: 2);
        await using var receiver = await CallbackReceiver.StartAsync();
        await receiver.SubscribeAsync(Organiser, journey.CampaignId, "campaign.sold_out", "campaign.ended", "voucher.expired");

        var spent = (await journey.Partner.IssueVoucherAsync(journey.CampaignId, "user-a", "claim-a")).Voucher;
        var unspent = (await journey.Partner.IssueVoucherAsync(journey.CampaignId, "user-b", "claim-b")).Voucher;
        await journey.Merchant.RedeemVoucherAsync(spent.Code, journey.MerchantId, "order-a", 15_000);
        await Expect.RefusedAsync(StatusCode.ResourceExhausted, "SOLD_OUT", () => journey.Partner.IssueVoucherAsync(journey.CampaignId, "user-c", "claim-c"));
        await receiver.WaitUntilAsync(r => r.Acknowledged.Count >= 1, "campaign.sold_out");
        await Organiser.Admin.EndCampaignAsync(new CampaignActionRequest { CampaignId = journey.CampaignId });
        await receiver.WaitUntilAsync(r => r.Acknowledged.Count >= 2, "campaign.ended");

        silo.Host.Clock.Advance(TimeSpan.FromDays(31));
        await receiver.WaitUntilAsync(r => r.Acknowledged.Count >= 3, "voucher.expired");
        await Task.Delay(500);

        var told = receiver.Acknowledged;
        Assert.Equal(["campaign.sold_out", "campaign.ended", "voucher.expired"], told.Select(e => e.Type));
        Assert.Equal(journey.CampaignId, told[0].Data.GetProperty("campaignId").GetString());
        Assert.Equal("CAMPAIGN_STATUS_ENDED", told[1].Data.GetProperty("status").GetString());
        Assert.Equal((unspent.Code, "VOUCHER_STATUS_EXPIRED"), (told[2].Data.GetProperty("code").GetString(), told[2].Data.GetProperty("status").GetString()));
        Assert.Equal(3, receiver.Received.Count);
    }

    [Fact]
    public async Task A_partner_hears_only_of_its_own_channel_s_vouchers()
    {
        var journey = await Journey.StartAsync(silo.Host);
        var other = await journey.PartnerClientAsync("partner-other");
        await using var receiver = await CallbackReceiver.StartAsync();
        var subscription = await receiver.SubscribeAsync(journey.Partner, "", "voucher.issued");
        Assert.Equal(journey.PartnerId, subscription.Channel);

        await other.IssueVoucherAsync(journey.CampaignId, "user-of-other", "claim-other");
        var own = (await journey.Partner.IssueVoucherAsync(journey.CampaignId, "user-of-own", "claim-own")).Voucher;
        await receiver.WaitUntilAsync(r => r.Acknowledged.Count >= 1, "the partner's own voucher");
        await Task.Delay(500);

        var only = Assert.Single(receiver.Acknowledged);
        Assert.Equal(own.Code, only.Data.GetProperty("code").GetString());
    }

    [Fact]
    public async Task An_organiser_hears_only_of_its_own_campaigns_and_cannot_subscribe_to_another_s()
    {
        async Task<(CampaignsClient Client, string CampaignId)> OrganiserWithCampaignAsync(string name)
        {
            var key = await Organiser.Access.CreateApiKeyAsync(new CreateApiKeyRequest { Role = Role.Organiser, PrincipalId = Scenario.NewId(name) });
            var client = silo.Host.Client(key.Secret);
            var created = await client.Admin.CreateCampaignAsync(Scenario.Campaign(silo.Host.Clock.GetUtcNow()));
            await client.Admin.StartCampaignAsync(new CampaignActionRequest { CampaignId = created.CampaignId });
            return (client, created.CampaignId);
        }

        var (east, eastCampaign) = await OrganiserWithCampaignAsync("east");
        var (_, westCampaign) = await OrganiserWithCampaignAsync("west");
        var partnerKey = await Organiser.Access.CreateApiKeyAsync(new CreateApiKeyRequest { Role = Role.Partner, PrincipalId = Scenario.NewId("partner") });
        var partner = silo.Host.Client(partnerKey.Secret);
        await using var receiver = await CallbackReceiver.StartAsync();

        await Expect.RefusedAsync(StatusCode.PermissionDenied, "NOT_YOUR_CAMPAIGN", () => receiver.SubscribeAsync(east, westCampaign, "voucher.issued"));
        await receiver.SubscribeAsync(east, "", "voucher.issued");
        await partner.IssueVoucherAsync(westCampaign, "user-west", "claim-west");
        var own = (await partner.IssueVoucherAsync(eastCampaign, "user-east", "claim-east")).Voucher;
        await receiver.WaitUntilAsync(r => r.Acknowledged.Count >= 1, "the organiser's own campaign's voucher");
        await Task.Delay(500);

        var only = Assert.Single(receiver.Acknowledged);
        Assert.Equal(own.Code, only.Data.GetProperty("code").GetString());
    }

    [Fact]
    public async Task A_receiver_that_never_answers_holds_back_neither_issuing_nor_another_subscription()
    {
        var journey = await Journey.StartAsync(silo.Host);
        await using var dead = await CallbackReceiver.StartAsync();
        await using var healthy = await CallbackReceiver.StartAsync();
        dead.Answer = (_, _) => null;
        foreach (var receiver in new[] { dead, healthy })
        {
            await receiver.SubscribeAsync(Organiser, journey.CampaignId, "voucher.issued");
        }

        var codes = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            codes.Add((await journey.Partner.IssueVoucherAsync(journey.CampaignId, $"user-{i}", $"claim-{i}")).Voucher.Code);
        }

        await healthy.WaitUntilAsync(r => r.Acknowledged.Count >= 20, "every issued voucher");
        Assert.Equal(codes.Order(), healthy.Acknowledged.Select(e => e.Data.GetProperty("code").GetString()!).Order());
        Assert.NotEmpty(dead.Received);
        Assert.Empty(dead.Acknowledged);
    }

    [Fact]
    public async Task An_event_refused_past_the_retry_window_is_parked_listed_and_redelivered_on_request()
    {
        var journey = await Journey.StartAsync(silo.Host);
        await using var receiver = await CallbackReceiver.StartAsync();
        receiver.Answer = (_, _) => 503;
        var subscription = await receiver.SubscribeAsync(journey.Partner, journey.CampaignId, "voucher.issued");
        var voucher = (await journey.Partner.IssueVoucherAsync(journey.CampaignId, "user-parked", "claim-parked")).Voucher;

        var byId = new SubscriptionRequest { SubscriptionId = subscription.SubscriptionId };
        FailedDelivery? parked = null;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (parked is null && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
            parked = (await journey.Partner.Events.ListFailedDeliveriesAsync(byId)).Deliveries.SingleOrDefault();
        }

        Assert.NotNull(parked);
        Assert.Equal(("voucher.issued", voucher.Code, "HTTP 503"), (parked.Type, parked.Code, parked.LastError));
        Assert.True(parked.Attempts >= 3, $"{parked.Attempts} attempts");
        Assert.True(receiver.Received.Count >= parked.Attempts);

        var refused = await journey.Partner.Events.RedeliverEventAsync(new RedeliverEventRequest { SubscriptionId = subscription.SubscriptionId, EventId = parked.EventId });
        Assert.Equal((false, 503), (refused.Delivered, refused.StatusCode));
        Assert.Single((await journey.Partner.Events.ListFailedDeliveriesAsync(byId)).Deliveries);

        receiver.Answer = (_, _) => 200;
        var redelivered = await journey.Partner.Events.RedeliverEventAsync(new RedeliverEventRequest { SubscriptionId = subscription.SubscriptionId, EventId = parked.EventId });

        Assert.True(redelivered.Delivered);
        Assert.Equal(parked.EventId, Assert.Single(receiver.Acknowledged).Id);
        Assert.Empty((await journey.Partner.Events.ListFailedDeliveriesAsync(byId)).Deliveries);
        await Expect.RefusedAsync(StatusCode.NotFound, "DELIVERY_NOT_FOUND", () =>
            journey.Partner.Events.RedeliverEventAsync(new RedeliverEventRequest { SubscriptionId = subscription.SubscriptionId, EventId = parked.EventId }));
    }

    [Fact]
    public async Task Retries_after_a_rotation_are_signed_with_the_new_secret()
    {
        var journey = await Journey.StartAsync(silo.Host);
        await using var receiver = await CallbackReceiver.StartAsync();
        receiver.Answer = (_, _) => 503;
        var subscription = await receiver.SubscribeAsync(journey.Partner, journey.CampaignId, "voucher.issued");
        await journey.Partner.IssueVoucherAsync(journey.CampaignId, "user-rotated", "claim-rotated");
        await receiver.WaitUntilAsync(r => r.Received.Count > 0, "a first, refused, attempt");

        var rotated = await journey.Partner.Events.RotateSubscriptionSecretAsync(new SubscriptionRequest { SubscriptionId = subscription.SubscriptionId });
        await Task.Delay(100);
        receiver.Secret = rotated.Secret;
        receiver.Answer = (_, _) => 200;
        await receiver.WaitUntilAsync(r => r.Acknowledged.Count >= 1, "the event, once acknowledged");

        Assert.True(receiver.Received[0].SignatureValid, "the first attempt, signed with the first secret");
        Assert.True(receiver.Acknowledged[0].SignatureValid, "the retry after the rotation, signed with the new secret");
    }

    [Fact]
    public async Task Subscriptions_are_listed_without_secrets_rotated_and_deleted_by_their_owner_only()
    {
        var journey = await Journey.StartAsync(silo.Host);
        var created = await journey.Partner.Events.CreateSubscriptionAsync(new CreateSubscriptionRequest
        {
            Url = "https://partner.example/hooks/campaigns", EventTypes = { "voucher.redeemed", "voucher.issued", "voucher.issued" },
        });
        Assert.StartsWith("whsec_", created.Secret, StringComparison.Ordinal);
        Assert.Equal(["voucher.issued", "voucher.redeemed"], created.EventTypes);

        var listed = Assert.Single((await journey.Partner.Events.ListSubscriptionsAsync(new ListSubscriptionsRequest())).Subscriptions);
        Assert.Equal(created.SubscriptionId, listed.SubscriptionId);
        Assert.Equal("", listed.Secret);
        Assert.DoesNotContain((await Organiser.Events.ListSubscriptionsAsync(new ListSubscriptionsRequest())).Subscriptions, s => s.SubscriptionId == created.SubscriptionId);

        var byId = new SubscriptionRequest { SubscriptionId = created.SubscriptionId };
        foreach (var stranger in new[] { Organiser, await journey.PartnerClientAsync("partner-stranger") })
        {
            await Expect.RefusedAsync(StatusCode.NotFound, "SUBSCRIPTION_NOT_FOUND", () => stranger.Events.RotateSubscriptionSecretAsync(byId));
            await Expect.RefusedAsync(StatusCode.NotFound, "SUBSCRIPTION_NOT_FOUND", () => stranger.Events.DeleteSubscriptionAsync(byId));
            await Expect.RefusedAsync(StatusCode.NotFound, "SUBSCRIPTION_NOT_FOUND", () => stranger.Events.ListFailedDeliveriesAsync(byId));
        }

        var rotated = await journey.Partner.Events.RotateSubscriptionSecretAsync(byId);
        Assert.StartsWith("whsec_", rotated.Secret, StringComparison.Ordinal);
        Assert.NotEqual(created.Secret, rotated.Secret);

        Assert.Equal("", (await journey.Partner.Events.DeleteSubscriptionAsync(byId)).Secret);
        Assert.Empty((await journey.Partner.Events.ListSubscriptionsAsync(new ListSubscriptionsRequest())).Subscriptions);
        await Expect.RefusedAsync(StatusCode.NotFound, "SUBSCRIPTION_NOT_FOUND", () => journey.Partner.Events.DeleteSubscriptionAsync(byId));

        // Deleted, the same definition may be registered again, with a new secret.
        var again = await journey.Partner.Events.CreateSubscriptionAsync(new CreateSubscriptionRequest
        {
            Url = "https://partner.example/hooks/campaigns", EventTypes = { "voucher.issued", "voucher.redeemed" },
        });
        Assert.Equal(created.SubscriptionId, again.SubscriptionId);
        Assert.NotEqual(rotated.Secret, again.Secret);
    }

    [Fact]
    public async Task The_command_line_tool_creates_lists_rotates_and_deletes_a_subscription_and_lists_its_failed_deliveries()
    {
        var journey = await Journey.StartAsync(silo.Host);
        var key = (await Organiser.Access.CreateApiKeyAsync(new CreateApiKeyRequest { Role = Role.Partner, PrincipalId = journey.PartnerId })).Secret;
        var address = silo.Host.GrpcAddress.ToString();

        var created = await Cli.RunAtAsync(address, key, "--json", "subscription", "create", "--url", "https://partner.example/cli-hook",
            "--event", "voucher.issued", "--event", "voucher.refunded", "--campaign", journey.CampaignId);
        Assert.True(created.ExitCode == 0, created.Error);
        Assert.Contains("shown only once", created.Error, StringComparison.Ordinal);
        var json = System.Text.Json.JsonDocument.Parse(created.Out).RootElement;
        var id = json.GetProperty("subscriptionId").GetString()!;
        Assert.StartsWith("whsec_", json.GetProperty("secret").GetString(), StringComparison.Ordinal);

        var listed = await Cli.RunAtAsync(address, key, "subscription", "list");
        Assert.Equal(0, listed.ExitCode);
        Assert.Contains(id, listed.Out, StringComparison.Ordinal);
        Assert.Contains("voucher.issued,voucher.refunded", listed.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("whsec_", listed.Out, StringComparison.Ordinal);

        var rotated = await Cli.RunAtAsync(address, key, "subscription", "rotate", id);
        Assert.Equal(0, rotated.ExitCode);
        Assert.Contains("whsec_", rotated.Out, StringComparison.Ordinal);

        var failed = await Cli.RunAtAsync(address, key, "subscription", "failed", id);
        Assert.Equal((0, ""), (failed.ExitCode, failed.Error));
        Assert.Contains("EVENT_ID", failed.Out, StringComparison.Ordinal);

        var redeliver = await Cli.RunAtAsync(address, key, "subscription", "redeliver", id, "evt_vi_1");
        Assert.Equal(2, redeliver.ExitCode);
        Assert.StartsWith("error: DELIVERY_NOT_FOUND:", redeliver.Error, StringComparison.Ordinal);

        Assert.Equal(0, (await Cli.RunAtAsync(address, key, "subscription", "delete", id)).ExitCode);
        var deletedAgain = await Cli.RunAtAsync(address, key, "subscription", "delete", id);
        Assert.Equal(2, deletedAgain.ExitCode);
        Assert.StartsWith("error: SUBSCRIPTION_NOT_FOUND:", deletedAgain.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Every_rpc_refuses_bad_input_and_changes_nothing()
    {
        var journey = await Journey.StartAsync(silo.Host);
        var events = journey.Partner.Events;
        CreateSubscriptionRequest Create(Action<CreateSubscriptionRequest> adjust)
        {
            var request = new CreateSubscriptionRequest { Url = "https://partner.example/hook", EventTypes = { "voucher.issued" } };
            adjust(request);
            return request;
        }

        foreach (var url in new[] { "", "not a url", "/relative/hook", "ftp://partner.example/hook", "https://user:pw@partner.example/hook", "https://x/" + new string('a', 2_000) })
        {
            await Expect.InvalidAsync("url", () => events.CreateSubscriptionAsync(Create(r => r.Url = url)));
        }

        await Expect.InvalidAsync("event_types", () => events.CreateSubscriptionAsync(Create(r => r.EventTypes.Clear())));
        await Expect.InvalidAsync("event_types", () => events.CreateSubscriptionAsync(Create(r => r.EventTypes.Add("voucher.stolen"))));
        await Expect.InvalidAsync("event_types", () => events.CreateSubscriptionAsync(Create(r => r.EventTypes.Add("campaign.sold_out"))));
        await Expect.InvalidAsync("campaign_id", () => events.CreateSubscriptionAsync(Create(r => r.CampaignId = "bad id!")));
        await Expect.RefusedAsync(StatusCode.NotFound, "CAMPAIGN_NOT_FOUND", () => events.CreateSubscriptionAsync(Create(r => r.CampaignId = "no-such-campaign")));
        await Expect.RefusedAsync(StatusCode.PermissionDenied, "NOT_YOUR_CHANNEL", () => events.CreateSubscriptionAsync(Create(r => r.Channel = "partner-other")));
        await Expect.RefusedAsync(StatusCode.PermissionDenied, "WRONG_ROLE", () => journey.Merchant.Events.CreateSubscriptionAsync(Create(_ => { })));
        await Expect.RefusedAsync(StatusCode.Unauthenticated, "MISSING_API_KEY", () => silo.Host.Client("").Events.CreateSubscriptionAsync(Create(_ => { })));
        Assert.Empty((await events.ListSubscriptionsAsync(new ListSubscriptionsRequest())).Subscriptions);

        var created = await events.CreateSubscriptionAsync(Create(_ => { }));
        var duplicate = await Expect.RefusedAsync(StatusCode.AlreadyExists, "SUBSCRIPTION_EXISTS", () => events.CreateSubscriptionAsync(Create(_ => { })));
        Assert.Contains(created.SubscriptionId, duplicate.Status.Detail, StringComparison.Ordinal);
        Assert.Single((await events.ListSubscriptionsAsync(new ListSubscriptionsRequest())).Subscriptions);

        await Expect.InvalidAsync("page_size", () => events.ListSubscriptionsAsync(new ListSubscriptionsRequest { PageSize = 1_000 }));
        foreach (var id in new[] { "", "sub_", "key_abc", "sub_!!!!!!!!!!!!!!!!!!!!" })
        {
            var byId = new SubscriptionRequest { SubscriptionId = id };
            await Expect.InvalidAsync("subscription_id", () => events.DeleteSubscriptionAsync(byId));
            await Expect.InvalidAsync("subscription_id", () => events.RotateSubscriptionSecretAsync(byId));
            await Expect.InvalidAsync("subscription_id", () => events.ListFailedDeliveriesAsync(byId));
            await Expect.InvalidAsync("subscription_id", () => events.RedeliverEventAsync(new RedeliverEventRequest { SubscriptionId = id, EventId = "evt_vi_1" }));
        }

        var unknown = new SubscriptionRequest { SubscriptionId = "sub_AAAAAAAAAAAAAAAAAAAA" };
        await Expect.RefusedAsync(StatusCode.NotFound, "SUBSCRIPTION_NOT_FOUND", () => events.DeleteSubscriptionAsync(unknown));
        await Expect.RefusedAsync(StatusCode.NotFound, "SUBSCRIPTION_NOT_FOUND", () => events.RotateSubscriptionSecretAsync(unknown));
        await Expect.RefusedAsync(StatusCode.NotFound, "SUBSCRIPTION_NOT_FOUND", () => events.ListFailedDeliveriesAsync(unknown));
        await Expect.RefusedAsync(StatusCode.NotFound, "SUBSCRIPTION_NOT_FOUND", () =>
            events.RedeliverEventAsync(new RedeliverEventRequest { SubscriptionId = unknown.SubscriptionId, EventId = "evt_vi_1" }));
        await Expect.InvalidAsync("event_id", () => events.RedeliverEventAsync(new RedeliverEventRequest { SubscriptionId = created.SubscriptionId, EventId = "" }));
        await Expect.RefusedAsync(StatusCode.NotFound, "DELIVERY_NOT_FOUND", () =>
            events.RedeliverEventAsync(new RedeliverEventRequest { SubscriptionId = created.SubscriptionId, EventId = "evt_vi_1" }));
    }
}

/// <summary>A campaign of its own, started, with a partner key, a merchant enrolled and its key.</summary>
internal sealed record Journey(SiloHost Host, string CampaignId, string PartnerId, CampaignsClient Partner, string MerchantId, CampaignsClient Merchant)
{
    public static async Task<Journey> StartAsync(SiloHost host, int stock = 1_000)
    {
        var organiser = host.Client(SiloHost.BootstrapOrganiserKey);
        var campaign = await organiser.Admin.CreateCampaignAsync(Scenario.Campaign(host.Clock.GetUtcNow(), r => r.TotalStock = stock));
        await organiser.Admin.StartCampaignAsync(new CampaignActionRequest { CampaignId = campaign.CampaignId });
        var merchantId = Scenario.NewId("m");
        await organiser.Merchants.RegisterMerchantAsync(new RegisterMerchantRequest { MerchantId = merchantId, Name = "Callback Tea", District = "Huangpu", Category = "food" });
        await organiser.Admin.EnrollMerchantAsync(new EnrollMerchantRequest { CampaignId = campaign.CampaignId, MerchantId = merchantId });
        var merchantKey = await organiser.Access.CreateApiKeyAsync(new CreateApiKeyRequest { Role = Role.Merchant, PrincipalId = merchantId });
        var partnerId = Scenario.NewId("partner");
        var partnerKey = await organiser.Access.CreateApiKeyAsync(new CreateApiKeyRequest { Role = Role.Partner, PrincipalId = partnerId });
        return new Journey(host, campaign.CampaignId, partnerId, host.Client(partnerKey.Secret), merchantId, host.Client(merchantKey.Secret));
    }

    public async Task<CampaignsClient> PartnerClientAsync(string partnerId)
    {
        var key = await Host.Client(SiloHost.BootstrapOrganiserKey).Access.CreateApiKeyAsync(new CreateApiKeyRequest { Role = Role.Partner, PrincipalId = partnerId });
        return Host.Client(key.Secret);
    }
}
