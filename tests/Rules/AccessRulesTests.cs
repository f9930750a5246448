using Campaigns.Grains.Access;
using Campaigns.Silo.Api;

namespace Campaigns.Tests.Rules;

public sealed class AccessRulesTests
{
    // An ADMIN may call whatever an organiser may; tenancy tells them apart.
    private static readonly Role[] Organiser = [Role.Organiser, Role.Admin];
    private static readonly Role[] Partner = [Role.Partner];
    private static readonly Role[] Merchant = [Role.Merchant];
    private static readonly Role[] OrganiserOrMerchant = [Role.Organiser, Role.Admin, Role.Merchant];

    /// <summary>API.md, "Authentication and roles" and the service tables.</summary>
    public static TheoryData<string, Role[]> RoleTable => new()
    {
        { "/campaigns.v1.CampaignAdmin/CreateCampaign", Organiser },
        { "/campaigns.v1.CampaignAdmin/GetCampaign", Organiser },
        { "/campaigns.v1.CampaignAdmin/ListCampaigns", Organiser },
        { "/campaigns.v1.CampaignAdmin/StartCampaign", Organiser },
        { "/campaigns.v1.CampaignAdmin/PauseCampaign", Organiser },
        { "/campaigns.v1.CampaignAdmin/ResumeCampaign", Organiser },
        { "/campaigns.v1.CampaignAdmin/EndCampaign", Organiser },
        { "/campaigns.v1.CampaignAdmin/AddStock", Organiser },
        { "/campaigns.v1.CampaignAdmin/EnrollMerchant", Organiser },
        { "/campaigns.v1.CampaignAdmin/GetCampaignStats", Organiser },
        { "/campaigns.v1.CampaignAdmin/WatchCampaignStats", Organiser },
        { "/campaigns.v1.Vouchers/IssueVoucher", Partner },
        { "/campaigns.v1.Vouchers/IssueVouchers", Partner },
        { "/campaigns.v1.Vouchers/GetVoucher", Partner },
        { "/campaigns.v1.Vouchers/ListUserVouchers", Partner },
        { "/campaigns.v1.Redemptions/ReserveVoucher", Merchant },
        { "/campaigns.v1.Redemptions/ConfirmRedemption", Merchant },
        { "/campaigns.v1.Redemptions/CancelReservation", Merchant },
        { "/campaigns.v1.Redemptions/RedeemVoucher", Merchant },
        { "/campaigns.v1.Redemptions/RefundRedemption", Merchant },
        { "/campaigns.v1.Merchants/RegisterMerchant", Organiser },
        { "/campaigns.v1.Merchants/GetMerchant", OrganiserOrMerchant },
        { "/campaigns.v1.Merchants/JoinCampaign", Merchant },
        { "/campaigns.v1.Merchants/GetSettlement", OrganiserOrMerchant },
        { "/campaigns.v1.Merchants/ListMerchants", Organiser },
        { "/campaigns.v1.Access/CreateApiKey", Organiser },
        { "/campaigns.v1.Access/RevokeApiKey", Organiser },
        { "/campaigns.v1.Access/ListApiKeys", Organiser },
        { "/campaigns.v1.Access/RotateApiKey", Organiser },
        { "/campaigns.v1.Reconciliation/ExportRedemptionEvents", Organiser },
    };

    [Theory]
    [MemberData(nameof(RoleTable))]
    public void Each_method_is_open_to_exactly_the_roles_of_the_api(string method, Role[] roles)
    {
        var allowed = AccessRules.RolesFor(method);

        Assert.NotNull(allowed);
        Assert.Equal(roles.Order(), allowed.Order());
    }

    [Theory]
    [InlineData("/grpc.health.v1.Health/Check")]
    [InlineData("/grpc.health.v1.Health/Watch")]
    [InlineData("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo")]
    [InlineData("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo")]
    public void Health_and_reflection_are_open_to_anyone(string method) => Assert.Null(AccessRules.RolesFor(method));

    [Theory]
    [InlineData("/campaigns.v1.Merchants/DeleteMerchant")]
    [InlineData("/campaigns.v1.Merchants/RenameMerchant")]
    [InlineData("/campaigns.v1.Settlements/Pay")]
    [InlineData("/campaigns.v2.CampaignAdmin/CreateCampaign")]
    public void A_campaigns_method_no_rule_names_is_closed_to_every_role(string method)
    {
        var allowed = AccessRules.RolesFor(method);

        Assert.NotNull(allowed);
        Assert.Empty(allowed);
    }

    // ASP.NET Core's endpoint routing matches literal path segments case-insensitively, and
    // ServerCallContext.Method is the request path as sent. A path that differs only in case
    // from one of ours must therefore never be treated as a non-Campaigns (open) method.
    [Theory]
    [InlineData("/Campaigns.v1.CampaignAdmin/CreateCampaign")]
    [InlineData("/CAMPAIGNS.V1.ACCESS/CREATEAPIKEY")]
    [InlineData("/campaigns.V1.Vouchers/IssueVoucher")]
    [InlineData("/campaigns.v1.merchants/RegisterMerchant")]
    public void A_campaigns_method_spelt_in_another_case_gets_the_same_roles_as_its_canonical_spelling(string method)
    {
        var canonical = Canonical.Single(m => string.Equals(m, method, StringComparison.OrdinalIgnoreCase));

        Assert.Equal(AccessRules.RolesFor(canonical), AccessRules.RolesFor(method));
        Assert.NotEmpty(AccessRules.RolesFor(method)!);
    }

    [Fact]
    public void An_unknown_method_in_any_package_is_closed()
    {
        Assert.Empty(AccessRules.RolesFor("/campaigns.v1.Secret/Leak")!);
        Assert.Empty(AccessRules.RolesFor("/other.v1.Thing/Do")!);
    }

    private static readonly string[] Canonical =
    [
        "/campaigns.v1.CampaignAdmin/CreateCampaign",
        "/campaigns.v1.Access/CreateApiKey",
        "/campaigns.v1.Vouchers/IssueVoucher",
        "/campaigns.v1.Merchants/RegisterMerchant",
    ];
}
