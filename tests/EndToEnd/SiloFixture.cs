using Campaigns.Client;
using Campaigns.Proto;
using Microsoft.Extensions.Time.Testing;

namespace Campaigns.Tests.EndToEnd;

/// <summary>
/// One real silo shared by the end-to-end collection, with the keys a real deployment would
/// have: the bootstrap organiser key from configuration, and partner and merchant keys created
/// through the Access service. Tests in the collection run one at a time and may move the
/// clock forward (never back); each test builds its campaigns from the clock's current now.
/// </summary>
public sealed class SiloFixture : IAsyncLifetime
{
    public const string PartnerId = "partner-alpha";
    public const string OtherPartnerId = "partner-beta";
    public const string MerchantId = "m-fixture-huangpu";
    public const string MerchantDistrict = "Huangpu";

    private SiloHost? _host;

    public SiloHost Host => _host ?? throw new InvalidOperationException("the silo is not running");

    public FakeTimeProvider Clock => Host.Clock;

    /// <summary>The bootstrap organiser key's client.</summary>
    public CampaignsClient Organiser { get; private set; } = null!;

    /// <summary>A partner key for channel <see cref="PartnerId"/>.</summary>
    public CampaignsClient Partner { get; private set; } = null!;

    /// <summary>A partner key for channel <see cref="OtherPartnerId"/>.</summary>
    public CampaignsClient OtherPartner { get; private set; } = null!;

    /// <summary>A merchant key for <see cref="MerchantId"/> (district <see cref="MerchantDistrict"/>).</summary>
    public CampaignsClient Merchant { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        _host = await SiloHost.StartAsync();
        Organiser = Host.Client(SiloHost.BootstrapOrganiserKey);
        Partner = Client((await CreateKeyAsync(Role.Partner, PartnerId)).Secret);
        OtherPartner = Client((await CreateKeyAsync(Role.Partner, OtherPartnerId)).Secret);
        await Organiser.Merchants.RegisterMerchantAsync(new RegisterMerchantRequest
        {
            MerchantId = MerchantId, Name = "Fixture Noodles", District = MerchantDistrict, Category = "food",
        });
        Merchant = Client((await CreateKeyAsync(Role.Merchant, MerchantId)).Secret);
    }

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
    }

    public CampaignsClient Client(string apiKey) => Host.Client(apiKey);

    public async Task<ApiKey> CreateKeyAsync(Role role, string principalId) =>
        await Organiser.Access.CreateApiKeyAsync(new CreateApiKeyRequest
        {
            Role = role, PrincipalId = principalId, Description = $"e2e {role} key for {principalId}",
        });

    /// <summary>Registers a new merchant and gives back its id and a client acting with its own key.</summary>
    public async Task<(string MerchantId, CampaignsClient Client)> NewMerchantAsync(string district = MerchantDistrict, string prefix = "m")
    {
        var merchantId = $"{prefix}-{Guid.NewGuid():N}"[..Math.Min(40, prefix.Length + 13)];
        await Organiser.Merchants.RegisterMerchantAsync(new RegisterMerchantRequest
        {
            MerchantId = merchantId, Name = $"Shop {merchantId}", District = district, Category = "retail",
        });
        var key = await CreateKeyAsync(Role.Merchant, merchantId);
        return (merchantId, Client(key.Secret));
    }
}

[CollectionDefinition(Name)]
public sealed class EndToEndCollection : ICollectionFixture<SiloFixture>
{
    public const string Name = "end-to-end silo";
}
