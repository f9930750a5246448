using Campaigns.Client;
using Campaigns.Proto;
using Campaigns.Silo.Api;
using Grpc.Core;

namespace Campaigns.Tests.EndToEnd;

/// <summary>Organiser tenancy: a campaign is its creator's; ADMIN (the bootstrap key) sees all.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class TenancyTests(SiloFixture silo)
{
    private const StatusCode Denied = StatusCode.PermissionDenied;

    [Fact]
    public async Task Every_organiser_RPC_with_another_organisers_key_is_NOT_YOUR_CAMPAIGN_and_changes_nothing()
    {
        var (east, _) = await OrganiserAsync("east");
        var (west, _) = await OrganiserAsync("west");
        var request = silo.Campaign();
        var campaign = await east.Admin.StartCampaignAsync(new CampaignActionRequest
        {
            CampaignId = (await east.Admin.CreateCampaignAsync(request)).CampaignId,
        });
        var id = campaign.CampaignId;
        await silo.IssueAsync(id, Scenario.NewId("user"));
        var (merchantId, _) = await silo.NewMerchantAsync();
        await east.Admin.BlockUsersAsync(new BlockUsersRequest { CampaignId = id, UserIds = { "user-blocked-by-east" } });
        var before = await east.Admin.GetCampaignStatsAsync(new GetCampaignRequest { CampaignId = id });

        var calls = new Dictionary<string, Func<Task>>
        {
            ["CreateCampaign"] = async () => await west.Admin.CreateCampaignAsync(request),
            ["GetCampaign"] = async () => await west.Admin.GetCampaignAsync(new GetCampaignRequest { CampaignId = id }),
            ["StartCampaign"] = async () => await west.Admin.StartCampaignAsync(new CampaignActionRequest { CampaignId = id }),
            ["PauseCampaign"] = async () => await west.Admin.PauseCampaignAsync(new CampaignActionRequest { CampaignId = id }),
            ["ResumeCampaign"] = async () => await west.Admin.ResumeCampaignAsync(new CampaignActionRequest { CampaignId = id }),
            ["EndCampaign"] = async () => await west.Admin.EndCampaignAsync(new CampaignActionRequest { CampaignId = id }),
            ["AddStock"] = async () => await west.Admin.AddStockAsync(new AddStockRequest { CampaignId = id, RequestId = "top-up", AdditionalStock = 50 }),
            ["EnrollMerchant"] = async () => await west.Admin.EnrollMerchantAsync(new EnrollMerchantRequest { CampaignId = id, MerchantId = merchantId }),
            ["GetCampaignStats"] = async () => await west.Admin.GetCampaignStatsAsync(new GetCampaignRequest { CampaignId = id }),
            ["WatchCampaignStats"] = Expect.Drain(west.WatchCampaignStatsAsync(id)),
            ["ExportRedemptionEvents"] = Expect.Drain(west.ExportRedemptionEventsAsync(id)),
            ["GetSettlement"] = async () => await west.SettlementAsync(merchantId, id),
            ["BlockUsers"] = async () => await west.Admin.BlockUsersAsync(new BlockUsersRequest { CampaignId = id, UserIds = { "user-blocked-by-west" } }),
            ["UnblockUsers"] = async () => await west.Admin.UnblockUsersAsync(new BlockUsersRequest { CampaignId = id, UserIds = { "user-blocked-by-east" } }),
            ["ListBlockedUsers"] = async () => await west.Admin.ListBlockedUsersAsync(new GetCampaignRequest { CampaignId = id }),
        };

        // Every RPC of the organiser's campaign services is tried: a new one must be added here.
        var campaignRpcs = CampaignAdmin.Descriptor.Methods.Concat(Reconciliation.Descriptor.Methods).Select(m => m.Name)
            .Where(name => name != "ListCampaigns");
        Assert.Empty(campaignRpcs.Except(calls.Keys));
        foreach (var (rpc, call) in calls)
        {
            var error = await Expect.RefusedAsync(Denied, "NOT_YOUR_CAMPAIGN", call);
            Assert.True(error.ErrorMessage().Contains(id, StringComparison.Ordinal), rpc);
        }

        var listed = await west.Admin.ListCampaignsAsync(new ListCampaignsRequest { PageSize = 100 });
        Assert.DoesNotContain(listed.Campaigns, c => c.CampaignId == id);
        var after = await east.Admin.GetCampaignStatsAsync(new GetCampaignRequest { CampaignId = id });
        Assert.True(CampaignStatsReader.SameFigures(before, after));
        Assert.Equal(CampaignStatus.Active, after.Status);
        Assert.Equal(request.TotalStock, after.TotalStock);
        var merchant = await silo.Organiser.Merchants.GetMerchantAsync(new GetMerchantRequest { MerchantId = merchantId });
        Assert.DoesNotContain(id, merchant.CampaignIds);
        Assert.Equal(["user-blocked-by-east"], (await east.Admin.ListBlockedUsersAsync(new GetCampaignRequest { CampaignId = id })).UserIds);
    }

    [Fact]
    public async Task An_organiser_runs_its_own_campaigns_lists_only_them_and_the_admin_sees_all()
    {
        var (north, northId) = await OrganiserAsync("north");
        var (south, _) = await OrganiserAsync("south");
        var own = await north.Admin.CreateCampaignAsync(silo.Campaign());
        var theirs = await south.Admin.CreateCampaignAsync(silo.Campaign());
        Assert.Equal(northId, own.OrganiserId);

        await north.Admin.StartCampaignAsync(new CampaignActionRequest { CampaignId = own.CampaignId });
        var (merchantId, merchant) = await silo.NewMerchantAsync();
        await north.Admin.EnrollMerchantAsync(new EnrollMerchantRequest { CampaignId = own.CampaignId, MerchantId = merchantId });
        // Merchants join any organiser's campaign of their district.
        await merchant.Merchants.JoinCampaignAsync(new JoinCampaignRequest { CampaignId = theirs.CampaignId, MerchantId = merchantId });

        var northList = await AllCampaignIdsAsync(north);
        Assert.Contains(own.CampaignId, northList);
        Assert.DoesNotContain(theirs.CampaignId, northList);
        var adminList = await AllCampaignIdsAsync(silo.Organiser);
        Assert.Contains(own.CampaignId, adminList);
        Assert.Contains(theirs.CampaignId, adminList);

        // The merchant is shared; each organiser sees only its own campaigns among its enrolments.
        Assert.Equal([own.CampaignId], (await north.Merchants.GetMerchantAsync(new GetMerchantRequest { MerchantId = merchantId })).CampaignIds);
        Assert.Equal([theirs.CampaignId], (await south.Merchants.GetMerchantAsync(new GetMerchantRequest { MerchantId = merchantId })).CampaignIds);
        Assert.Equal(2, (await merchant.Merchants.GetMerchantAsync(new GetMerchantRequest { MerchantId = merchantId })).CampaignIds.Count);

        // The admin acts on any organiser's campaign.
        var paused = await silo.Organiser.Admin.PauseCampaignAsync(new CampaignActionRequest { CampaignId = own.CampaignId });
        Assert.Equal(CampaignStatus.Paused, paused.Status);
        await silo.Organiser.Admin.GetCampaignStatsAsync(new GetCampaignRequest { CampaignId = theirs.CampaignId });
    }

    [Fact]
    public async Task An_organiser_settles_a_merchant_only_over_its_own_campaigns()
    {
        var (east, _) = await OrganiserAsync("settle-east");
        var (west, _) = await OrganiserAsync("settle-west");
        var eastCampaign = await StartedAsync(east);
        var westCampaign = await StartedAsync(west);
        var (merchantId, merchant) = await silo.NewMerchantAsync();
        foreach (var campaign in new[] { eastCampaign, westCampaign })
        {
            await merchant.Merchants.JoinCampaignAsync(new JoinCampaignRequest { CampaignId = campaign, MerchantId = merchantId });
            var voucher = await silo.IssueAsync(campaign, Scenario.NewId("user"));
            await merchant.RedeemVoucherAsync(voucher.Code, merchantId, Scenario.NewId("order"), 20_000);
        }

        Assert.Equal(1, (await east.SettlementAsync(merchantId)).Redemptions);
        Assert.Equal(1, (await west.SettlementAsync(merchantId)).Redemptions);
        Assert.Equal(2, (await silo.Organiser.SettlementAsync(merchantId)).Redemptions);
        Assert.Equal(2, (await merchant.SettlementAsync(merchantId)).Redemptions);
        Assert.Equal(1, (await merchant.SettlementAsync(merchantId, westCampaign)).Redemptions);
    }

    [Fact]
    public async Task Only_an_admin_creates_organiser_and_admin_keys_and_an_organiser_manages_only_its_own_keys()
    {
        var (east, eastId) = await OrganiserAsync("keys-east");
        var (west, _) = await OrganiserAsync("keys-west");

        await Expect.RefusedAsync(Denied, "WRONG_ROLE", () => east.Access.CreateApiKeyAsync(
            new CreateApiKeyRequest { Role = Role.Organiser, PrincipalId = "keys-west" }));
        await Expect.RefusedAsync(Denied, "WRONG_ROLE", () => east.Access.CreateApiKeyAsync(
            new CreateApiKeyRequest { Role = Role.Admin, PrincipalId = "keys-east" }));

        var partnerKey = await east.Access.CreateApiKeyAsync(new CreateApiKeyRequest { Role = Role.Partner, PrincipalId = "partner-east" });
        Assert.Equal(eastId, partnerKey.CreatedBy);
        Assert.Contains(await AllKeysAsync(east), k => k.KeyId == partnerKey.KeyId);
        Assert.DoesNotContain(await AllKeysAsync(west), k => k.KeyId == partnerKey.KeyId);
        Assert.Contains(await AllKeysAsync(silo.Organiser), k => k.KeyId == partnerKey.KeyId);

        await Expect.RefusedAsync(StatusCode.NotFound, "API_KEY_NOT_FOUND",
            () => west.Access.RevokeApiKeyAsync(new RevokeApiKeyRequest { KeyId = partnerKey.KeyId }));
        await Expect.RefusedAsync(StatusCode.NotFound, "API_KEY_NOT_FOUND",
            () => west.Access.RotateApiKeyAsync(new RotateApiKeyRequest { KeyId = partnerKey.KeyId }));
        var campaign = await silo.StartedCampaignAsync();
        var partner = silo.Client(partnerKey.Secret);
        Assert.Equal("partner-east", (await partner.IssueVoucherAsync(campaign.CampaignId, "user-east", "req-1")).Voucher.Channel);

        var revoked = await east.Access.RevokeApiKeyAsync(new RevokeApiKeyRequest { KeyId = partnerKey.KeyId });
        Assert.True(revoked.Revoked);
    }

    /// <summary>A new organiser id and a client with an organiser key for it, made by the admin.</summary>
    private async Task<(CampaignsClient Client, string OrganiserId)> OrganiserAsync(string name)
    {
        var organiserId = Scenario.NewId(name);
        var key = await silo.CreateKeyAsync(Role.Organiser, organiserId);
        return (silo.Client(key.Secret), organiserId);
    }

    private async Task<string> StartedAsync(CampaignsClient organiser)
    {
        var created = await organiser.Admin.CreateCampaignAsync(silo.Campaign());
        await organiser.Admin.StartCampaignAsync(new CampaignActionRequest { CampaignId = created.CampaignId });
        return created.CampaignId;
    }

    private static async Task<List<string>> AllCampaignIdsAsync(CampaignsClient organiser)
    {
        var ids = new List<string>();
        var token = "";
        do
        {
            var page = await organiser.Admin.ListCampaignsAsync(new ListCampaignsRequest { PageSize = 100, PageToken = token });
            ids.AddRange(page.Campaigns.Select(c => c.CampaignId));
            token = page.NextPageToken;
        }
        while (token.Length > 0);
        return ids;
    }

    private static async Task<List<ApiKey>> AllKeysAsync(CampaignsClient organiser)
    {
        var keys = new List<ApiKey>();
        var token = "";
        do
        {
            var page = await organiser.Access.ListApiKeysAsync(new ListApiKeysRequest { PageSize = 100, PageToken = token });
            Assert.All(page.ApiKeys, k => Assert.Empty(k.Secret));
            keys.AddRange(page.ApiKeys);
            token = page.NextPageToken;
        }
        while (token.Length > 0);
        return keys;
    }
}
