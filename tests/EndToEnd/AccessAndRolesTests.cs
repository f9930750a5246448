using Campaigns.Client;
using Campaigns.Proto;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;

namespace Campaigns.Tests.EndToEnd;

/// <summary>Keys, roles and principals: who may call what, as API.md's table says.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class AccessAndRolesTests(SiloFixture silo)
{
    [Fact]
    public async Task Garbage_unknown_and_revoked_keys_are_refused_with_INVALID_API_KEY()
    {
        await Expect.RefusedAsync(StatusCode.Unauthenticated, "INVALID_API_KEY",
            () => silo.Client("not-a-key").Admin.ListCampaignsAsync(new ListCampaignsRequest()));
        await Expect.RefusedAsync(StatusCode.Unauthenticated, "INVALID_API_KEY",
            () => silo.Client("key_AAAAAAAAAAAA.c2VjcmV0").Admin.ListCampaignsAsync(new ListCampaignsRequest()));

        var campaign = await silo.StartedCampaignAsync();
        var key = await silo.CreateKeyAsync(Role.Partner, "partner-short-lived");
        Assert.Equal(Role.Partner, key.Role);
        Assert.Equal("partner-short-lived", key.PrincipalId);
        Assert.StartsWith(key.KeyId + ".", key.Secret, StringComparison.Ordinal);
        var partner = silo.Client(key.Secret);
        var issued = await partner.IssueVoucherAsync(campaign.CampaignId, "user-short-lived", "req-1");
        Assert.Equal("partner-short-lived", issued.Voucher.Channel);

        // The key has just been used, so this silo holds it as verified: revoking must drop it.
        var revoked = await silo.Organiser.Access.RevokeApiKeyAsync(new RevokeApiKeyRequest { KeyId = key.KeyId });
        Assert.True(revoked.Revoked);
        Assert.Empty(revoked.Secret);
        var again = await silo.Organiser.Access.RevokeApiKeyAsync(new RevokeApiKeyRequest { KeyId = key.KeyId });
        Assert.True(again.Revoked); // revoking twice is harmless

        await Expect.RefusedAsync(StatusCode.Unauthenticated, "INVALID_API_KEY",
            () => partner.IssueVoucherAsync(campaign.CampaignId, "user-after-revoke", "req-2"));
        await Expect.RefusedAsync(StatusCode.Unauthenticated, "INVALID_API_KEY",
            () => partner.Vouchers.GetVoucherAsync(new GetVoucherRequest { Code = issued.Voucher.Code }));
        Assert.Equal(1, (await silo.StatsAsync(campaign.CampaignId)).Issued);
    }

    [Fact]
    public async Task Two_authorization_headers_are_refused_even_when_each_holds_a_good_key()
    {
        // The SDK adds no header of its own when the caller sends one.
        var anonymous = silo.Client("");
        var key = "Bearer " + SiloHost.BootstrapOrganiserKey;
        await Expect.RefusedAsync(StatusCode.Unauthenticated, "INVALID_API_KEY",
            () => anonymous.Admin.ListCampaignsAsync(new ListCampaignsRequest(), new Metadata { { "authorization", key }, { "authorization", key } }));

        Assert.NotNull(await anonymous.Admin.ListCampaignsAsync(new ListCampaignsRequest(), new Metadata { { "authorization", key } }));
    }

    [Fact]
    public async Task A_wrong_secret_for_a_known_key_id_is_refused_while_the_right_one_is_remembered()
    {
        var campaign = await silo.StartedCampaignAsync();
        var key = await silo.CreateKeyAsync(Role.Partner, "partner-guessed");
        var partner = silo.Client(key.Secret);
        await partner.IssueVoucherAsync(campaign.CampaignId, "user-guessed-1", "req-1");

        var guesser = silo.Client(key.KeyId + ".c2VjcmV0LWd1ZXNzZWQtYnktc29tZW9uZS1lbHNl");
        await Expect.RefusedAsync(StatusCode.Unauthenticated, "INVALID_API_KEY",
            () => guesser.IssueVoucherAsync(campaign.CampaignId, "user-guessed-2", "req-2"));

        await partner.IssueVoucherAsync(campaign.CampaignId, "user-guessed-3", "req-3");
        Assert.Equal(2, (await silo.StatsAsync(campaign.CampaignId)).Issued);
    }

    [Fact]
    public async Task Each_role_is_confined_to_its_own_services_with_WRONG_ROLE()
    {
        var (campaign, voucher, merchantId, merchant) = await silo.RedeemableVoucherAsync();
        const StatusCode denied = StatusCode.PermissionDenied;

        // A partner cannot run campaigns, keys, merchants or reconciliation.
        await Expect.RefusedAsync(denied, "WRONG_ROLE", () => silo.Partner.Admin.CreateCampaignAsync(silo.Campaign()));
        await Expect.RefusedAsync(denied, "WRONG_ROLE",
            () => silo.Partner.Admin.PauseCampaignAsync(new CampaignActionRequest { CampaignId = campaign.CampaignId }));
        await Expect.RefusedAsync(denied, "WRONG_ROLE",
            () => silo.Partner.Access.CreateApiKeyAsync(new CreateApiKeyRequest { Role = Role.Organiser, PrincipalId = "me" }));
        await Expect.RefusedAsync(denied, "WRONG_ROLE",
            () => silo.Partner.Merchants.GetSettlementAsync(new GetSettlementRequest { MerchantId = merchantId }));
        await Expect.RefusedAsync(denied, "WRONG_ROLE", Expect.Drain(silo.Partner.ExportRedemptionEventsAsync(campaign.CampaignId)));

        // A merchant cannot issue vouchers nor register merchants.
        await Expect.RefusedAsync(denied, "WRONG_ROLE", () => merchant.IssueVoucherAsync(campaign.CampaignId, "user-x", "req-x"));
        await Expect.RefusedAsync(denied, "WRONG_ROLE", () => merchant.Vouchers.GetVoucherAsync(new GetVoucherRequest { Code = voucher.Code }));
        await Expect.RefusedAsync(denied, "WRONG_ROLE", () => merchant.Merchants.RegisterMerchantAsync(
            new RegisterMerchantRequest { MerchantId = "m-self-made", Name = "Self made", District = "Huangpu" }));

        // An organiser does not redeem at a till, not even for a merchant it registered.
        await Expect.RefusedAsync(denied, "WRONG_ROLE", () => silo.Organiser.RedeemVoucherAsync(voucher.Code, merchantId, "order-1", 20_000));
        await Expect.RefusedAsync(denied, "WRONG_ROLE", () => silo.Organiser.ReserveVoucherAsync(voucher.Code, merchantId, "order-1", 20_000));
        // Joining is the merchant's own act; the organiser enrols instead.
        await Expect.RefusedAsync(denied, "WRONG_ROLE", () => silo.Organiser.Merchants.JoinCampaignAsync(
            new JoinCampaignRequest { CampaignId = campaign.CampaignId, MerchantId = merchantId }));

        // Nothing moved.
        Assert.Equal(VoucherStatus.Issued, (await silo.Partner.GetVoucherAsync(voucher.Code)).Status);
        Assert.Equal(CampaignStatus.Active, (await silo.GetCampaignAsync(campaign.CampaignId)).Status);
        Assert.Equal(0, (await silo.Organiser.SettlementAsync(merchantId)).Redemptions);
    }

    [Fact]
    public async Task A_merchant_key_acts_only_as_its_own_merchant_NOT_YOUR_MERCHANT()
    {
        var (campaign, voucher, merchantId, merchant) = await silo.RedeemableVoucherAsync();
        var (otherId, _) = await silo.NewMerchantAsync();
        await silo.Organiser.Admin.EnrollMerchantAsync(new EnrollMerchantRequest { CampaignId = campaign.CampaignId, MerchantId = otherId });
        const StatusCode denied = StatusCode.PermissionDenied;

        await Expect.RefusedAsync(denied, "NOT_YOUR_MERCHANT", () => merchant.RedeemVoucherAsync(voucher.Code, otherId, "order-1", 20_000));
        await Expect.RefusedAsync(denied, "NOT_YOUR_MERCHANT", () => merchant.ReserveVoucherAsync(voucher.Code, otherId, "order-1", 20_000));
        await Expect.RefusedAsync(denied, "NOT_YOUR_MERCHANT",
            () => merchant.Merchants.GetMerchantAsync(new GetMerchantRequest { MerchantId = otherId }));
        await Expect.RefusedAsync(denied, "NOT_YOUR_MERCHANT", () => merchant.SettlementAsync(otherId));
        await Expect.RefusedAsync(denied, "NOT_YOUR_MERCHANT",
            () => merchant.Merchants.JoinCampaignAsync(new JoinCampaignRequest { CampaignId = campaign.CampaignId, MerchantId = otherId }));

        // Its own profile and settlement it may read; the voucher is untouched.
        var own = await merchant.Merchants.GetMerchantAsync(new GetMerchantRequest { MerchantId = merchantId });
        Assert.Contains(campaign.CampaignId, own.CampaignIds);
        Assert.Equal(0, (await merchant.SettlementAsync(merchantId)).Redemptions);
        var unchanged = await silo.Partner.GetVoucherAsync(voucher.Code);
        Assert.Equal(VoucherStatus.Issued, unchanged.Status);
        Assert.Empty(unchanged.MerchantId);
    }

    [Fact]
    public async Task A_partner_sees_only_vouchers_of_its_own_channel_NOT_YOUR_CHANNEL()
    {
        var campaign = await silo.StartedCampaignAsync();
        var voucher = await silo.IssueAsync(campaign.CampaignId, "user-shared-by-two-apps");

        await Expect.RefusedAsync(StatusCode.PermissionDenied, "NOT_YOUR_CHANNEL",
            () => silo.OtherPartner.Vouchers.GetVoucherAsync(new GetVoucherRequest { Code = voucher.Code }));
        var otherWallet = await silo.OtherPartner.Vouchers.ListUserVouchersAsync(
            new ListUserVouchersRequest { UserId = "user-shared-by-two-apps", CampaignId = campaign.CampaignId });
        Assert.Empty(otherWallet.Vouchers);
        Assert.Equal(SiloFixture.PartnerId, (await silo.Partner.GetVoucherAsync(voucher.Code)).Channel);
    }

    [Fact]
    public async Task A_merchant_key_needs_a_registered_merchant_MERCHANT_NOT_FOUND()
    {
        await Expect.RefusedAsync(StatusCode.NotFound, "MERCHANT_NOT_FOUND", () => silo.Organiser.Access.CreateApiKeyAsync(
            new CreateApiKeyRequest { Role = Role.Merchant, PrincipalId = "m-never-registered" }));
        await Expect.RefusedAsync(StatusCode.NotFound, "MERCHANT_NOT_FOUND",
            () => silo.Organiser.Merchants.GetMerchantAsync(new GetMerchantRequest { MerchantId = "m-never-registered" }));
    }

    [Fact]
    public async Task A_key_with_an_unknown_role_is_INVALID_ARGUMENT_naming_role()
    {
        await Expect.InvalidAsync("role", () => silo.Organiser.Access.CreateApiKeyAsync(
            new CreateApiKeyRequest { Role = Role.Unspecified, PrincipalId = "partner-nobody" }));
        await Expect.InvalidAsync("role", () => silo.Organiser.Access.CreateApiKeyAsync(
            new CreateApiKeyRequest { Role = (Role)42, PrincipalId = "partner-nobody" }));
        await Expect.InvalidAsync("principal_id", () => silo.Organiser.Access.CreateApiKeyAsync(
            new CreateApiKeyRequest { Role = Role.Partner, PrincipalId = "" }));
        await Expect.InvalidAsync("key_id", () => silo.Organiser.Access.RevokeApiKeyAsync(new RevokeApiKeyRequest { KeyId = "nonsense" }));
    }

    [Fact]
    public async Task Revoking_a_key_id_that_was_never_created_is_API_KEY_NOT_FOUND()
    {
        var error = await Expect.RefusedAsync(StatusCode.NotFound, "API_KEY_NOT_FOUND",
            () => silo.Organiser.Access.RevokeApiKeyAsync(new RevokeApiKeyRequest { KeyId = "key_000000000000" }));

        Assert.Contains("key_000000000000", error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_rotated_key_takes_its_new_secret_at_once_and_the_old_one_is_refused()
    {
        var campaign = await silo.StartedCampaignAsync();
        var key = await silo.CreateKeyAsync(Role.Partner, "partner-rotating");
        var old = silo.Client(key.Secret);
        await old.IssueVoucherAsync(campaign.CampaignId, "user-rotating-1", "req-1"); // now verified and remembered

        var rotated = await silo.Organiser.Access.RotateApiKeyAsync(new RotateApiKeyRequest { KeyId = key.KeyId });
        Assert.Equal(key.KeyId, rotated.KeyId);
        Assert.StartsWith(key.KeyId + ".", rotated.Secret, StringComparison.Ordinal);
        Assert.NotEqual(key.Secret, rotated.Secret);
        Assert.NotNull(rotated.RotatedAt);

        await Expect.RefusedAsync(StatusCode.Unauthenticated, "INVALID_API_KEY",
            () => old.IssueVoucherAsync(campaign.CampaignId, "user-rotating-2", "req-2"));
        var issued = await silo.Client(rotated.Secret).IssueVoucherAsync(campaign.CampaignId, "user-rotating-3", "req-3");
        Assert.Equal("partner-rotating", issued.Voucher.Channel);
        var listed = (await silo.Organiser.Access.ListApiKeysAsync(new ListApiKeysRequest { PageSize = 100 })).ApiKeys;
        Assert.All(listed, k => Assert.Empty(k.Secret));

        await silo.Organiser.Access.RevokeApiKeyAsync(new RevokeApiKeyRequest { KeyId = key.KeyId });
        await Expect.RefusedAsync(StatusCode.FailedPrecondition, "INVALID_TRANSITION",
            () => silo.Organiser.Access.RotateApiKeyAsync(new RotateApiKeyRequest { KeyId = key.KeyId }));
        await Expect.RefusedAsync(StatusCode.NotFound, "API_KEY_NOT_FOUND",
            () => silo.Organiser.Access.RotateApiKeyAsync(new RotateApiKeyRequest { KeyId = "key_000000000000" }));
        await Expect.InvalidAsync("key_id", () => silo.Organiser.Access.RotateApiKeyAsync(new RotateApiKeyRequest { KeyId = "nonsense" }));
        await Expect.InvalidAsync("key_id", () => silo.Organiser.Access.RotateApiKeyAsync(new RotateApiKeyRequest()));
        await Expect.RefusedAsync(StatusCode.PermissionDenied, "WRONG_ROLE",
            () => silo.Partner.Access.RotateApiKeyAsync(new RotateApiKeyRequest { KeyId = key.KeyId }));
        Assert.Equal(2, (await silo.StatsAsync(campaign.CampaignId)).Issued);
    }

    [Fact]
    public async Task An_organiser_key_created_over_the_api_can_run_campaigns()
    {
        var key = await silo.CreateKeyAsync(Role.Organiser, "city-bureau");
        var bureau = silo.Client(key.Secret);
        var campaign = await bureau.Admin.CreateCampaignAsync(silo.Campaign());
        Assert.Equal("city-bureau", campaign.OrganiserId);
        Assert.Equal(CampaignStatus.Draft, campaign.Status);
    }
    [Fact]
    public async Task An_authorization_header_that_is_not_a_bearer_key_is_INVALID_API_KEY()
    {
        using var channel = GrpcChannel.ForAddress(silo.Host.GrpcAddress);
        var admin = new CampaignAdmin.CampaignAdminClient(channel);
        var basic = new Metadata { { "authorization", "Basic " + SiloHost.BootstrapOrganiserKey } };
        await Expect.RefusedAsync(StatusCode.Unauthenticated, "INVALID_API_KEY",
            () => admin.ListCampaignsAsync(new ListCampaignsRequest(), basic));
        var blank = new Metadata { { "authorization", "   " } };
        await Expect.RefusedAsync(StatusCode.Unauthenticated, "MISSING_API_KEY",
            () => admin.ListCampaignsAsync(new ListCampaignsRequest(), blank));
        var lowerCaseScheme = new Metadata { { "authorization", "bearer " + SiloHost.BootstrapOrganiserKey } };
        await admin.ListCampaignsAsync(new ListCampaignsRequest { PageSize = 1 }, lowerCaseScheme);
    }

    [Fact]
    public async Task A_partner_cannot_reach_CampaignAdmin_by_changing_the_case_of_the_method_path()
    {
        // The HTTP/2 router matches gRPC paths ignoring case; the role check must too.
        var createCampaign = new Method<CreateCampaignRequest, Campaign>(MethodType.Unary, "campaigns.v1.campaignadmin", "createcampaign",
            Marshallers.Create(r => r.ToByteArray(), CreateCampaignRequest.Parser.ParseFrom),
            Marshallers.Create(r => r.ToByteArray(), Campaign.Parser.ParseFrom));
        using var channel = GrpcChannel.ForAddress(silo.Host.GrpcAddress);
        var request = silo.Campaign();
        var asPartner = new CallOptions(new Metadata { { "authorization", "Bearer " + silo.Partner.Options.ApiKey } });

        var error = await Assert.ThrowsAsync<RpcException>(async () => await channel.CreateCallInvoker().AsyncUnaryCall(createCampaign, null, asPartner, request));
        Assert.True(error.StatusCode is StatusCode.PermissionDenied or StatusCode.Unimplemented, $"got {error.StatusCode}: {error.Status.Detail}");
        if (error.StatusCode == StatusCode.PermissionDenied)
        {
            Assert.Equal("WRONG_ROLE", error.Reason());
        }

        await Expect.RefusedAsync(StatusCode.NotFound, "CAMPAIGN_NOT_FOUND", () => silo.GetCampaignAsync(request.CampaignId));
    }
}
