using Campaigns.Client;
using Campaigns.Proto;
using Grpc.Core;

namespace Campaigns.Tests.EndToEnd;

/// <summary>
/// Stopping the silo and starting it again on the same data directory loses nothing it
/// acknowledged. This class runs its own silo: a restart would disturb the shared one.
/// </summary>
public sealed class RestartTests : IAsyncLifetime
{
    private SiloHost _host = null!;

    public async Task InitializeAsync() => _host = await SiloHost.StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task Owners_blocked_users_and_rotated_secrets_are_there_after_a_restart()
    {
        var admin = _host.Client(SiloHost.BootstrapOrganiserKey);
        var east = _host.Client((await admin.Access.CreateApiKeyAsync(new CreateApiKeyRequest { Role = Role.Organiser, PrincipalId = "restart-east" })).Secret);
        var west = _host.Client((await admin.Access.CreateApiKeyAsync(new CreateApiKeyRequest { Role = Role.Organiser, PrincipalId = "restart-west" })).Secret);
        await east.Admin.CreateCampaignAsync(Scenario.Campaign(_host.Clock.GetUtcNow(), r => r.CampaignId = "restart-owned"));
        await east.Admin.StartCampaignAsync(new CampaignActionRequest { CampaignId = "restart-owned" });
        await east.Admin.BlockUsersAsync(new BlockUsersRequest { CampaignId = "restart-owned", UserIds = { "user-blocked" } });
        var partnerKey = await east.Access.CreateApiKeyAsync(new CreateApiKeyRequest { Role = Role.Partner, PrincipalId = "partner-rotated" });
        var rotated = await east.Access.RotateApiKeyAsync(new RotateApiKeyRequest { KeyId = partnerKey.KeyId });

        await _host.RestartAsync();

        await Expect.RefusedAsync(StatusCode.PermissionDenied, "NOT_YOUR_CAMPAIGN",
            () => west.Admin.GetCampaignAsync(new GetCampaignRequest { CampaignId = "restart-owned" }));
        Assert.Equal(["user-blocked"], (await east.Admin.ListBlockedUsersAsync(new GetCampaignRequest { CampaignId = "restart-owned" })).UserIds);
        var partner = _host.Client(rotated.Secret);
        await Expect.RefusedAsync(StatusCode.PermissionDenied, "USER_BLOCKED", () => partner.IssueVoucherAsync("restart-owned", "user-blocked", "claim-1"));
        await partner.IssueVoucherAsync("restart-owned", "user-free", "claim-2");
        await Expect.RefusedAsync(StatusCode.Unauthenticated, "INVALID_API_KEY",
            () => _host.Client(partnerKey.Secret).IssueVoucherAsync("restart-owned", "user-free-2", "claim-3"));
        var listed = (await east.Access.ListApiKeysAsync(new ListApiKeysRequest { PageSize = 100 })).ApiKeys;
        Assert.Equal("restart-east", Assert.Single(listed).CreatedBy);
    }

    [Fact]
    public async Task A_device_s_vouchers_still_count_against_its_limit_after_a_restart()
    {
        var organiser = _host.Client(SiloHost.BootstrapOrganiserKey);
        await organiser.Admin.CreateCampaignAsync(Scenario.Campaign(_host.Clock.GetUtcNow(),
            r => (r.CampaignId, r.PerDeviceLimit, r.ExpectedPeakClaimsPerSecond) = ("restart-devices", 2, 20_000)));
        await organiser.Admin.StartCampaignAsync(new CampaignActionRequest { CampaignId = "restart-devices" });
        var partner = _host.Client((await organiser.Access.CreateApiKeyAsync(new CreateApiKeyRequest { Role = Role.Partner, PrincipalId = "partner-devices" })).Secret);
        var first = await partner.IssueVoucherAsync("restart-devices", "device-user-1", "claim-1", deviceId: "phone-kept");
        await partner.IssueVoucherAsync("restart-devices", "device-user-2", "claim-1", deviceId: "phone-kept");

        await _host.RestartAsync();

        // Counted again from the ledger, by a bucket that has never seen these claims.
        await Expect.RefusedAsync(StatusCode.ResourceExhausted, "DEVICE_LIMIT_REACHED",
            () => partner.IssueVoucherAsync("restart-devices", "device-user-3", "claim-1", deviceId: "phone-kept"));
        var replay = await partner.IssueVoucherAsync("restart-devices", "device-user-1", "claim-1", deviceId: "phone-kept");
        Assert.Equal((first.Voucher.Code, true), (replay.Voucher.Code, replay.Replayed));
        await partner.IssueVoucherAsync("restart-devices", "device-user-3", "claim-2", deviceId: "phone-other");
    }

    [Fact]
    public async Task Everything_acknowledged_before_a_restart_is_there_after_it()
    {
        var organiser = _host.Client(SiloHost.BootstrapOrganiserKey);
        var campaignRequest = Scenario.Campaign(_host.Clock.GetUtcNow(), r => (r.CampaignId, r.PerUserLimit) = ("restart-drop", 2));
        await organiser.Admin.CreateCampaignAsync(campaignRequest);
        await organiser.Admin.StartCampaignAsync(new CampaignActionRequest { CampaignId = "restart-drop" });
        await organiser.Admin.AddStockAsync(new AddStockRequest { CampaignId = "restart-drop", RequestId = "top-up-1", AdditionalStock = 20 });

        await organiser.Merchants.RegisterMerchantAsync(new RegisterMerchantRequest { MerchantId = "m-restart", Name = "Lao Zheng Xing", District = "Huangpu", Category = "food" });
        await organiser.Admin.EnrollMerchantAsync(new EnrollMerchantRequest { CampaignId = "restart-drop", MerchantId = "m-restart" });
        var partnerKey = await organiser.Access.CreateApiKeyAsync(new CreateApiKeyRequest { Role = Role.Partner, PrincipalId = "partner-restart" });
        var merchantKey = await organiser.Access.CreateApiKeyAsync(new CreateApiKeyRequest { Role = Role.Merchant, PrincipalId = "m-restart" });
        var revokedKey = await organiser.Access.CreateApiKeyAsync(new CreateApiKeyRequest { Role = Role.Partner, PrincipalId = "partner-gone" });
        await organiser.Access.RevokeApiKeyAsync(new RevokeApiKeyRequest { KeyId = revokedKey.KeyId });

        var partner = _host.Client(partnerKey.Secret);
        var merchant = _host.Client(merchantKey.Secret);
        var held = (await partner.IssueVoucherAsync("restart-drop", "user-held", "claim-held")).Voucher;
        var spent = (await partner.IssueVoucherAsync("restart-drop", "user-spent", "claim-spent")).Voucher;
        var untouched = (await partner.IssueVoucherAsync("restart-drop", "user-untouched", "claim-untouched")).Voucher;
        var hold = await merchant.ReserveVoucherAsync(held.Code, "m-restart", "order-held", 15_000, holdSeconds: 3_600);
        var redemption = await merchant.RedeemVoucherAsync(spent.Code, "m-restart", "order-spent", 30_000);

        var campaignBefore = await organiser.Admin.GetCampaignAsync(new GetCampaignRequest { CampaignId = "restart-drop" });
        var settlementBefore = await merchant.SettlementAsync("m-restart", "restart-drop");
        var statsBefore = await organiser.Admin.GetCampaignStatsAsync(new GetCampaignRequest { CampaignId = "restart-drop" });

        await _host.RestartAsync();
        _host.Clock.Advance(TimeSpan.FromMinutes(5));

        // The campaign, its top-up and the merchant's enrolment.
        Assert.Equal(campaignBefore, await organiser.Admin.GetCampaignAsync(new GetCampaignRequest { CampaignId = "restart-drop" }));
        var topUpAgain = await organiser.Admin.AddStockAsync(new AddStockRequest { CampaignId = "restart-drop", RequestId = "top-up-1", AdditionalStock = 20 });
        Assert.Equal(120, topUpAgain.TotalStock);
        var profile = await organiser.Merchants.GetMerchantAsync(new GetMerchantRequest { MerchantId = "m-restart" });
        Assert.Equal(["restart-drop"], profile.CampaignIds);

        // Keys: the created ones still authenticate (also from a fresh connection), the revoked one still fails.
        var partnerAfter = _host.Client(partnerKey.Secret);
        Assert.Equal(VoucherStatus.Reserved, (await partnerAfter.GetVoucherAsync(held.Code)).Status);
        Assert.Equal(VoucherStatus.Redeemed, (await partner.GetVoucherAsync(spent.Code)).Status);
        Assert.Equal(VoucherStatus.Issued, (await partner.GetVoucherAsync(untouched.Code)).Status);
        await Expect.RefusedAsync(StatusCode.Unauthenticated, "INVALID_API_KEY",
            () => _host.Client(revokedKey.Secret).Vouchers.GetVoucherAsync(new GetVoucherRequest { Code = held.Code }));

        // The money is where it was.
        Assert.Equal(settlementBefore, await merchant.SettlementAsync("m-restart", "restart-drop"));
        var statsAfter = await organiser.Admin.GetCampaignStatsAsync(new GetCampaignRequest { CampaignId = "restart-drop" });
        Assert.Equal((statsBefore.Issued, statsBefore.Reserved, statsBefore.Redeemed, statsBefore.RedeemedDiscountCents, statsBefore.Remaining),
            (statsAfter.Issued, statsAfter.Reserved, statsAfter.Redeemed, statsAfter.RedeemedDiscountCents, statsAfter.Remaining));

        // The hold made before the restart can still be confirmed; the redemption still replays.
        var confirmed = await merchant.ConfirmRedemptionAsync(held.Code, "m-restart", "order-held");
        Assert.Equal((hold.DiscountCents, hold.PayableCents), (confirmed.DiscountCents, confirmed.PayableCents));
        Assert.Equal(new Redemption(redemption) { Replayed = true }, await merchant.RedeemVoucherAsync(spent.Code, "m-restart", "order-spent", 30_000));

        // A retried claim replays its voucher; the user's limit still counts the old ones.
        var replay = await partnerAfter.IssueVoucherAsync("restart-drop", "user-untouched", "claim-untouched");
        Assert.True(replay.Replayed);
        Assert.Equal(untouched.Code, replay.Voucher.Code);
        await partnerAfter.IssueVoucherAsync("restart-drop", "user-untouched", "claim-untouched-2");
        await Expect.RefusedAsync(StatusCode.ResourceExhausted, "USER_LIMIT_REACHED",
            () => partnerAfter.IssueVoucherAsync("restart-drop", "user-untouched", "claim-untouched-3"));

        // Old codes still pass the code check: the key that signs them survived too.
        var typed = untouched.Code.ToLowerInvariant();
        var redeemedAfter = await merchant.RedeemVoucherAsync(typed, "m-restart", "order-after-restart", 10_000);
        Assert.Equal(untouched.Code, redeemedAfter.Code);
        await Expect.RefusedAsync(StatusCode.NotFound, "VOUCHER_NOT_FOUND",
            () => merchant.RedeemVoucherAsync(Scenario.Mistyped(untouched.Code), "m-restart", "order-typo", 10_000));

        var settlementAfter = await merchant.SettlementAsync("m-restart", "restart-drop");
        Assert.Equal(settlementBefore.Redemptions + 2, settlementAfter.Redemptions);
        Assert.Equal(settlementBefore.NetSubsidyCents + hold.DiscountCents + redeemedAfter.DiscountCents, settlementAfter.NetSubsidyCents);
        var statsEnd = await organiser.Admin.GetCampaignStatsAsync(new GetCampaignRequest { CampaignId = "restart-drop" });
        Assert.Equal((4L, 3L, 116L), (statsEnd.Issued, statsEnd.Redeemed, statsEnd.Remaining));
    }
}
