using Campaigns.Proto;
using Grpc.Core;

namespace Campaigns.Tests.EndToEnd;

/// <summary>The organiser's listings of merchants and API keys: paged by id, keys never with a secret.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class ListingTests(SiloFixture silo)
{
    [Fact]
    public async Task ListApiKeys_pages_through_every_key_created_with_its_status_and_never_a_secret()
    {
        var live = await silo.CreateKeyAsync(Role.Partner, "partner-listed");
        var revoked = await silo.CreateKeyAsync(Role.Partner, "partner-listed-revoked");
        await silo.Organiser.Access.RevokeApiKeyAsync(new RevokeApiKeyRequest { KeyId = revoked.KeyId });

        var keys = new List<ApiKey>();
        var token = "";
        do
        {
            var page = await silo.Organiser.Access.ListApiKeysAsync(new ListApiKeysRequest { PageSize = 2, PageToken = token });
            Assert.True(page.ApiKeys.Count <= 2);
            keys.AddRange(page.ApiKeys);
            token = page.NextPageToken;
        }
        while (token.Length > 0);

        Assert.All(keys, k => Assert.Empty(k.Secret));
        Assert.Equal(keys.Select(k => k.KeyId).Order(StringComparer.Ordinal), keys.Select(k => k.KeyId));
        Assert.Equal(keys.Count, keys.Select(k => k.KeyId).Distinct().Count());
        Assert.Equal(("partner-listed", false), keys.Single(k => k.KeyId == live.KeyId) is var l ? (l.PrincipalId, l.Revoked) : default);
        Assert.True(keys.Single(k => k.KeyId == revoked.KeyId).Revoked);
    }

    [Fact]
    public async Task ListMerchants_shows_registered_merchants_to_organisers_only()
    {
        var (merchantId, merchant) = await silo.NewMerchantAsync(district: "Xuhui", prefix: "listed");

        var merchants = new List<Merchant>();
        var token = "";
        do
        {
            var page = await silo.Organiser.Merchants.ListMerchantsAsync(new ListMerchantsRequest { PageSize = 100, PageToken = token });
            merchants.AddRange(page.Merchants);
            token = page.NextPageToken;
        }
        while (token.Length > 0);

        Assert.Equal(("Xuhui", $"Shop {merchantId}"), merchants.Single(m => m.MerchantId == merchantId) is var m ? (m.District, m.Name) : default);
        Assert.Contains(SiloFixture.MerchantId, merchants.Select(x => x.MerchantId));
        await Expect.RefusedAsync(StatusCode.PermissionDenied, "WRONG_ROLE", () => merchant.Merchants.ListMerchantsAsync(new ListMerchantsRequest()));
        await Expect.InvalidAsync("page_size", () => silo.Organiser.Merchants.ListMerchantsAsync(new ListMerchantsRequest { PageSize = 101 }));
    }
}
