using Campaigns.Client;
using Campaigns.Proto;
using Grpc.Core;

namespace Campaigns.Tests.EndToEnd;

/// <summary>A silo with a per-partner claim limit: over it, RATE_LIMITED with a retry delay, and nothing issued.</summary>
public sealed class RateLimitTests : IAsyncLifetime
{
    private SiloHost _host = null!;

    public async Task InitializeAsync() =>
        _host = await SiloHost.StartAsync("--Campaigns:RateLimits:PartnerClaimsPerSecond=3", "--Campaigns:RateLimits:PartnerBurst=3");

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task A_partner_over_its_claim_rate_is_told_to_retry_later_and_gets_no_voucher()
    {
        var organiser = _host.Client(SiloHost.BootstrapOrganiserKey);
        await organiser.Admin.CreateCampaignAsync(Scenario.Campaign(_host.Clock.GetUtcNow(), r => r.CampaignId = "limited"));
        await organiser.Admin.StartCampaignAsync(new CampaignActionRequest { CampaignId = "limited" });
        var greedy = await organiser.Access.CreateApiKeyAsync(new CreateApiKeyRequest { Role = Role.Partner, PrincipalId = "greedy" });
        var polite = await organiser.Access.CreateApiKeyAsync(new CreateApiKeyRequest { Role = Role.Partner, PrincipalId = "polite" });
        using var partner = new CampaignsClient(new CampaignsClientOptions { Address = _host.GrpcAddress, ApiKey = greedy.Secret, MaxRetries = 0 });

        // The bucket refills on the wall clock, a second after the greedy partner's first claim. So
        // that its burst is spent inside that second even on a loaded machine, the cold paths go
        // first: the other partner's claim starts the campaign's issuing, and a read (never limited)
        // has the greedy key verified.
        await _host.Client(polite.Secret).IssueVoucherAsync("limited", "polite-user", "polite-claim");
        await partner.Vouchers.ListUserVouchersAsync(new ListUserVouchersRequest { UserId = "user-0" });

        for (var i = 0; i < 3; i++)
        {
            await partner.IssueVoucherAsync("limited", $"user-{i}", $"claim-{i}");
        }

        var refused = await Expect.RefusedAsync(StatusCode.ResourceExhausted, "RATE_LIMITED",
            () => partner.IssueVoucherAsync("limited", "user-3", "claim-3"));
        Assert.NotNull(refused.RetryDelay());
        Assert.True(refused.RetryDelay() > TimeSpan.Zero);

        // A batch counts its items; reads are not limited; the other partner had its own bucket.
        await Expect.RefusedAsync(StatusCode.ResourceExhausted, "RATE_LIMITED", () => partner.Vouchers.IssueVouchersAsync(new IssueVouchersRequest
        {
            CampaignId = "limited",
            Items = { new IssueVouchersItem { UserId = "batch-user", RequestId = "batch-claim" } },
        }).ResponseAsync);
        Assert.Equal(3, (await partner.Vouchers.ListUserVouchersAsync(new ListUserVouchersRequest { UserId = "user-0" })).Vouchers.Count
            + (await partner.Vouchers.ListUserVouchersAsync(new ListUserVouchersRequest { UserId = "user-1" })).Vouchers.Count
            + (await partner.Vouchers.ListUserVouchersAsync(new ListUserVouchersRequest { UserId = "user-2" })).Vouchers.Count);
        Assert.Equal(4, (await organiser.Admin.GetCampaignStatsAsync(new GetCampaignRequest { CampaignId = "limited" })).Issued);

        // The SDK's own retry honours the delay and gets through with the same request id.
        using var patient = new CampaignsClient(new CampaignsClientOptions { Address = _host.GrpcAddress, ApiKey = greedy.Secret, MaxRetries = 6 });
        var late = await patient.IssueVoucherAsync("limited", "user-3", "claim-3");
        Assert.False(late.Replayed);
        Assert.Equal(5, (await organiser.Admin.GetCampaignStatsAsync(new GetCampaignRequest { CampaignId = "limited" })).Issued);
    }
}
