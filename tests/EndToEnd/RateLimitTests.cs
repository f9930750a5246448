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

        // The bucket holds 3 claims and refills on the wall clock, a second after the greedy
        // partner's first claim. The calls are sent at once, so they all reach the limiter within
        // that second however long the issuing behind it takes on a loaded machine: 4 claims and a
        // one-item batch (a batch counts its items) against 3 tokens. Reads are never limited, and
        // the other partner has a bucket of its own.
        await _host.Client(polite.Secret).IssueVoucherAsync("limited", "polite-user", "polite-claim");
        await partner.Vouchers.ListUserVouchersAsync(new ListUserVouchersRequest { UserId = "user-0" });
        var calls = Enumerable.Range(0, 4)
            .Select(i => (User: $"user-{i}", Call: (Func<Task>)(() => partner.IssueVoucherAsync("limited", $"user-{i}", $"claim-{i}"))))
            .Append((User: "batch-user", Call: () => partner.Vouchers.IssueVouchersAsync(new IssueVouchersRequest
            {
                CampaignId = "limited",
                Items = { new IssueVouchersItem { UserId = "batch-user", RequestId = "batch-claim" } },
            }).ResponseAsync))
            .ToList();
        var outcomes = await Task.WhenAll(calls.Select(async c =>
        {
            try
            {
                await c.Call();
                return (c.User, Refused: (RpcException?)null);
            }
            catch (RpcException error)
            {
                return (c.User, Refused: error);
            }
        }));

        var refused = outcomes.Where(o => o.Refused is not null).ToList();
        Assert.Equal(2, refused.Count);
        Assert.All(refused, o =>
        {
            Assert.Equal(StatusCode.ResourceExhausted, o.Refused!.StatusCode);
            Assert.Equal("RATE_LIMITED", o.Refused.Reason());
            Assert.True(o.Refused.RetryDelay() > TimeSpan.Zero);
        });

        // A refused call issued nothing; the others issued one voucher each.
        foreach (var (user, error) in outcomes)
        {
            var wallet = await partner.Vouchers.ListUserVouchersAsync(new ListUserVouchersRequest { UserId = user });
            Assert.Equal(error is null ? 1 : 0, wallet.Vouchers.Count);
        }

        Assert.Equal(4, (await organiser.Admin.GetCampaignStatsAsync(new GetCampaignRequest { CampaignId = "limited" })).Issued);

        // The SDK's own retry honours the delay and gets through with the same request id.
        using var patient = new CampaignsClient(new CampaignsClientOptions { Address = _host.GrpcAddress, ApiKey = greedy.Secret, MaxRetries = 6 });
        var again = refused.Select(o => o.User).First(user => user.StartsWith("user-", StringComparison.Ordinal));
        var late = await patient.IssueVoucherAsync("limited", again, "claim-" + again["user-".Length..]);
        Assert.False(late.Replayed);
        Assert.Equal(5, (await organiser.Admin.GetCampaignStatsAsync(new GetCampaignRequest { CampaignId = "limited" })).Issued);
    }
}
