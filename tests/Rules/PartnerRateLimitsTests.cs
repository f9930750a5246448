using Campaigns.Client;
using Campaigns.Proto;
using Campaigns.Silo.Api;
using Campaigns.Silo.Hosting;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace Campaigns.Tests.Rules;

public sealed class PartnerRateLimitsTests
{
    private static PartnerRateLimits Limits(int perSecond, int burst = 0) =>
        new(Options.Create(new CampaignsOptions { RateLimits = new RateLimitOptions { PartnerClaimsPerSecond = perSecond, PartnerBurst = burst } }));

    private static readonly IssueVoucherRequest Claim = new() { CampaignId = "c", UserId = "u", RequestId = "r" };

    [Fact]
    public void Without_a_configured_rate_nothing_is_limited()
    {
        using var limits = Limits(0);
        for (var i = 0; i < 10_000; i++)
        {
            limits.Admit("meituan", Claim);
        }
    }

    [Fact]
    public void Claims_past_the_burst_are_refused_with_RATE_LIMITED_and_a_retry_delay()
    {
        using var limits = Limits(perSecond: 5);
        for (var i = 0; i < 5; i++)
        {
            limits.Admit("meituan", Claim);
        }

        var refused = Assert.Throws<RpcException>(() => limits.Admit("meituan", Claim));
        Assert.Equal(StatusCode.ResourceExhausted, refused.StatusCode);
        Assert.Equal("RATE_LIMITED", refused.Reason());
        Assert.NotNull(refused.RetryDelay());
    }

    [Fact]
    public void Each_partner_has_its_own_bucket_and_reads_are_never_counted()
    {
        using var limits = Limits(perSecond: 2);
        limits.Admit("meituan", Claim);
        limits.Admit("meituan", Claim);
        limits.Admit("jd", Claim);
        for (var i = 0; i < 100; i++)
        {
            limits.Admit("meituan", new GetVoucherRequest { Code = "x" });
        }

        Assert.Throws<RpcException>(() => limits.Admit("meituan", Claim));
    }

    [Fact]
    public void A_batch_counts_its_items_and_one_larger_than_the_burst_takes_the_whole_bucket()
    {
        using var limits = Limits(perSecond: 10);
        var three = new IssueVouchersRequest { CampaignId = "c", Items = { Enumerable.Range(0, 3).Select(i => new IssueVouchersItem { UserId = $"u{i}", RequestId = $"r{i}" }) } };
        limits.Admit("meituan", three);
        limits.Admit("meituan", three);
        limits.Admit("meituan", three);
        Assert.Throws<RpcException>(() => limits.Admit("meituan", three));

        var huge = new IssueVouchersRequest { CampaignId = "c", Items = { Enumerable.Range(0, 500).Select(i => new IssueVouchersItem { UserId = $"u{i}", RequestId = $"r{i}" }) } };
        limits.Admit("jd", huge);
        Assert.Throws<RpcException>(() => limits.Admit("jd", Claim));
    }
}
