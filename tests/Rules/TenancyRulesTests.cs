using Campaigns.Grains.Access;
using Campaigns.Grains.Common;
using Campaigns.Silo.Api;
using Campaigns.Silo.Hosting;
using Microsoft.Extensions.Options;

namespace Campaigns.Tests.Rules;

public sealed class TenancyRulesTests
{
    private static readonly CampaignTenancy Tenancy = new(grains: null!, Options.Create(new CampaignsOptions { Auth = { BootstrapOrganiserId = "city-ops" } }));

    [Fact]
    public void An_organiser_acts_only_on_its_own_campaigns_and_an_admin_on_all()
    {
        Assert.True(CampaignTenancy.MayAct(new Principal(Role.Organiser, "east", "key_e"), "east"));
        Assert.False(CampaignTenancy.MayAct(new Principal(Role.Organiser, "west", "key_w"), "east"));
        Assert.True(CampaignTenancy.MayAct(new Principal(Role.Admin, "city-ops", "bootstrap"), "east"));

        var refused = Assert.Throws<CampaignsException>(() => CampaignTenancy.Authorize(new Principal(Role.Organiser, "west", "key_w"), "spring", "east"));
        Assert.Equal(Refusal.NotYourCampaign, refused.Code);
    }

    [Fact]
    public void A_campaign_stored_without_an_owner_belongs_to_the_bootstrap_organiser()
    {
        Assert.Equal("sh-commerce-bureau", Tenancy.OwnerOf(Campaign.Valid()));
        Assert.Equal("city-ops", Tenancy.OwnerOf(Campaign.Valid() with { OrganiserId = null! }));
        Assert.Equal("city-ops", Tenancy.OwnerOf(Campaign.Valid() with { OrganiserId = "" }));
    }

    [Theory]
    [InlineData(Role.Organiser, Role.Partner, true)]
    [InlineData(Role.Organiser, Role.Merchant, true)]
    [InlineData(Role.Organiser, Role.Organiser, false)]
    [InlineData(Role.Organiser, Role.Admin, false)]
    [InlineData(Role.Admin, Role.Organiser, true)]
    [InlineData(Role.Admin, Role.Admin, true)]
    public void Only_an_admin_creates_organiser_and_admin_keys(Role caller, Role created, bool allowed)
    {
        var create = () => KeyTenancy.AuthorizeCreate(new Principal(caller, "me", "key_me"), created);
        if (allowed)
        {
            create();
        }
        else
        {
            Assert.Equal(Refusal.WrongRole, Assert.Throws<CampaignsException>(create).Code);
        }
    }

    [Fact]
    public void An_organiser_manages_the_keys_it_created_and_an_admin_every_key()
    {
        var key = new ApiKeyRecord
        {
            KeyId = "key_abc", SecretHash = [], Role = Role.Partner, PrincipalId = "meituan", Description = "",
            CreatedAt = Campaign.Start, CreatedBy = "east",
        };
        Assert.True(KeyTenancy.MayManage(new Principal(Role.Organiser, "east", "key_e"), key));
        Assert.False(KeyTenancy.MayManage(new Principal(Role.Organiser, "west", "key_w"), key));
        Assert.True(KeyTenancy.MayManage(new Principal(Role.Admin, "city-ops", "bootstrap"), key));
        // Keys made before creators were recorded are the bootstrap organiser's: an admin's to manage.
        Assert.False(KeyTenancy.MayManage(new Principal(Role.Organiser, "east", "key_e"), key with { CreatedBy = "" }));
        Assert.False(KeyTenancy.MayManage(new Principal(Role.Partner, "east", "key_p"), key));
    }
}
