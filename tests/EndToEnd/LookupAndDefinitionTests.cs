using Campaigns.Proto;
using Grpc.Core;

namespace Campaigns.Tests.EndToEnd;

/// <summary>Unknown things are NOT_FOUND; defining the same thing twice is idempotent, differently is ALREADY_EXISTS.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class LookupAndDefinitionTests(SiloFixture silo)
{
    [Fact]
    public async Task Every_call_on_an_unknown_campaign_is_CAMPAIGN_NOT_FOUND()
    {
        const string missing = "cmp-that-was-never-created";
        var request = new GetCampaignRequest { CampaignId = missing };
        var action = new CampaignActionRequest { CampaignId = missing };
        const StatusCode notFound = StatusCode.NotFound;

        await Expect.RefusedAsync(notFound, "CAMPAIGN_NOT_FOUND", () => silo.Organiser.Admin.GetCampaignAsync(request));
        await Expect.RefusedAsync(notFound, "CAMPAIGN_NOT_FOUND", () => silo.Organiser.Admin.GetCampaignStatsAsync(request));
        await Expect.RefusedAsync(notFound, "CAMPAIGN_NOT_FOUND", () => silo.Organiser.Admin.StartCampaignAsync(action));
        await Expect.RefusedAsync(notFound, "CAMPAIGN_NOT_FOUND", () => silo.Organiser.Admin.EndCampaignAsync(action));
        await Expect.RefusedAsync(notFound, "CAMPAIGN_NOT_FOUND", () => silo.Organiser.Admin.AddStockAsync(
            new AddStockRequest { CampaignId = missing, RequestId = "top-up-1", AdditionalStock = 10 }));
        await Expect.RefusedAsync(notFound, "CAMPAIGN_NOT_FOUND", () => silo.Organiser.Admin.EnrollMerchantAsync(
            new EnrollMerchantRequest { CampaignId = missing, MerchantId = SiloFixture.MerchantId }));
        await Expect.RefusedAsync(notFound, "CAMPAIGN_NOT_FOUND", () => silo.Merchant.Merchants.JoinCampaignAsync(
            new JoinCampaignRequest { CampaignId = missing, MerchantId = SiloFixture.MerchantId }));
        await Expect.RefusedAsync(notFound, "CAMPAIGN_NOT_FOUND", () => silo.Merchant.SettlementAsync(SiloFixture.MerchantId, missing));
        await Expect.RefusedAsync(notFound, "CAMPAIGN_NOT_FOUND", () => silo.Partner.IssueVoucherAsync(missing, "user-1", "req-1"));
        await Expect.RefusedAsync(notFound, "CAMPAIGN_NOT_FOUND", () => silo.Partner.Vouchers.IssueVouchersAsync(new IssueVouchersRequest
        {
            CampaignId = missing,
            Items = { new IssueVouchersItem { UserId = "user-1", RequestId = "req-1" } },
        }));
        await Expect.RefusedAsync(notFound, "CAMPAIGN_NOT_FOUND", Expect.Drain(silo.Organiser.ExportRedemptionEventsAsync(missing)));
        await Expect.RefusedAsync(notFound, "CAMPAIGN_NOT_FOUND", Expect.Drain(silo.Organiser.WatchCampaignStatsAsync(missing)));

        // The failed join left the merchant's enrolments alone.
        var merchant = await silo.Merchant.Merchants.GetMerchantAsync(new GetMerchantRequest { MerchantId = SiloFixture.MerchantId });
        Assert.DoesNotContain(missing, merchant.CampaignIds);
    }

    [Fact]
    public async Task A_mistyped_or_unknown_voucher_code_is_VOUCHER_NOT_FOUND()
    {
        var (_, voucher, merchantId, merchant) = await silo.RedeemableVoucherAsync();
        var mistyped = Scenario.Mistyped(voucher.Code);

        await Expect.RefusedAsync(StatusCode.NotFound, "VOUCHER_NOT_FOUND", () => silo.Partner.Vouchers.GetVoucherAsync(new GetVoucherRequest { Code = mistyped }));
        await Expect.RefusedAsync(StatusCode.NotFound, "VOUCHER_NOT_FOUND", () => silo.Partner.Vouchers.GetVoucherAsync(new GetVoucherRequest { Code = "" }));
        await Expect.RefusedAsync(StatusCode.NotFound, "VOUCHER_NOT_FOUND", () => merchant.RedeemVoucherAsync(mistyped, merchantId, "order-1", 20_000));
        await Expect.RefusedAsync(StatusCode.NotFound, "VOUCHER_NOT_FOUND", () => merchant.ReserveVoucherAsync("HELLO-WORLD", merchantId, "order-1", 20_000));

        // The real code, typed by a person with dashes and in lower case, is accepted.
        var typed = string.Join('-', voucher.Code.Chunk(4).Select(c => new string(c))).ToLowerInvariant();
        Assert.Equal(voucher.Code, (await silo.Partner.GetVoucherAsync(typed)).Code);
        Assert.Equal(VoucherStatus.Issued, (await silo.Partner.GetVoucherAsync(voucher.Code)).Status);
    }

    [Fact]
    public async Task Unknown_merchants_are_MERCHANT_NOT_FOUND()
    {
        var campaign = await silo.StartedCampaignAsync();
        await Expect.RefusedAsync(StatusCode.NotFound, "MERCHANT_NOT_FOUND", () => silo.Organiser.Admin.EnrollMerchantAsync(
            new EnrollMerchantRequest { CampaignId = campaign.CampaignId, MerchantId = "m-ghost" }));
        await Expect.RefusedAsync(StatusCode.NotFound, "MERCHANT_NOT_FOUND",
            () => silo.Organiser.Merchants.GetMerchantAsync(new GetMerchantRequest { MerchantId = "m-ghost" }));
        await Expect.RefusedAsync(StatusCode.NotFound, "MERCHANT_NOT_FOUND", () => silo.Organiser.SettlementAsync("m-ghost"));
    }

    [Fact]
    public async Task Confirming_or_cancelling_without_a_live_hold_is_RESERVATION_NOT_FOUND()
    {
        var (_, voucher, merchantId, merchant) = await silo.RedeemableVoucherAsync();

        await Expect.RefusedAsync(StatusCode.NotFound, "RESERVATION_NOT_FOUND", () => merchant.ConfirmRedemptionAsync(voucher.Code, merchantId, "order-never-held"));
        await Expect.RefusedAsync(StatusCode.NotFound, "RESERVATION_NOT_FOUND", () => merchant.CancelReservationAsync(voucher.Code, merchantId, "order-never-held"));

        // A hold lapses by itself; confirming it afterwards finds nothing.
        var hold = await merchant.ReserveVoucherAsync(voucher.Code, merchantId, "order-slow", 20_000, holdSeconds: 60);
        Assert.Equal(silo.Clock.GetUtcNow().AddSeconds(60).ToUnixTimeSeconds(), hold.ExpiresAt.ToDateTimeOffset().ToUnixTimeSeconds());
        silo.Clock.Advance(TimeSpan.FromSeconds(61));
        await Expect.RefusedAsync(StatusCode.NotFound, "RESERVATION_NOT_FOUND", () => merchant.ConfirmRedemptionAsync(voucher.Code, merchantId, "order-slow"));

        var after = await silo.Partner.GetVoucherAsync(voucher.Code);
        Assert.Equal(VoucherStatus.Issued, after.Status);
        Assert.Equal(0, (await merchant.SettlementAsync(merchantId)).Redemptions);
    }

    [Fact]
    public async Task Creating_a_campaign_again_is_idempotent_and_a_different_definition_is_CAMPAIGN_EXISTS()
    {
        var request = silo.Campaign(r => r.Name = "Double Eleven");
        var first = await silo.Organiser.Admin.CreateCampaignAsync(request);
        silo.Clock.Advance(TimeSpan.FromSeconds(5));
        var repeat = await silo.Organiser.Admin.CreateCampaignAsync(request);
        Assert.Equal(first, repeat);

        var different = request.Clone();
        different.Name = "Double Twelve";
        different.TotalStock = 999;
        await Expect.RefusedAsync(StatusCode.AlreadyExists, "CAMPAIGN_EXISTS", () => silo.Organiser.Admin.CreateCampaignAsync(different));

        var stored = await silo.GetCampaignAsync(request.CampaignId);
        Assert.Equal("Double Eleven", stored.Name);
        Assert.Equal(100, stored.TotalStock);
        Assert.Equal(first.CreatedAt, stored.CreatedAt);
    }

    [Fact]
    public async Task Registering_a_merchant_again_is_idempotent_and_a_different_profile_is_MERCHANT_EXISTS()
    {
        var request = new RegisterMerchantRequest { MerchantId = Scenario.NewId("m-dumplings"), Name = "Jia Jia Tang Bao", District = "Huangpu", Category = "food" };
        var first = await silo.Organiser.Merchants.RegisterMerchantAsync(request);
        var repeat = await silo.Organiser.Merchants.RegisterMerchantAsync(request);
        Assert.Equal(first, repeat);

        var moved = request.Clone();
        moved.District = "Pudong";
        await Expect.RefusedAsync(StatusCode.AlreadyExists, "MERCHANT_EXISTS", () => silo.Organiser.Merchants.RegisterMerchantAsync(moved));

        var stored = await silo.Organiser.Merchants.GetMerchantAsync(new GetMerchantRequest { MerchantId = request.MerchantId });
        Assert.Equal("Huangpu", stored.District);
    }
}
