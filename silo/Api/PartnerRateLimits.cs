using System.Threading.RateLimiting;
using Campaigns.Grains.Common;
using Campaigns.Proto;
using Campaigns.Silo.Hosting;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace Campaigns.Silo.Api;

/// <summary>
/// A token bucket per partner on the claims it sends (an IssueVouchers item is a claim). Over
/// the limit, the call is refused whole with RATE_LIMITED and a RetryInfo delay, before it
/// reaches any grain: nothing is issued or counted. In-process, so per silo.
/// </summary>
public sealed class PartnerRateLimits : IDisposable
{
    private readonly PartitionedRateLimiter<string>? _limiter;
    private readonly int _burst;

    public PartnerRateLimits(IOptions<CampaignsOptions> options)
    {
        var limits = options.Value.RateLimits;
        if (limits.PartnerClaimsPerSecond <= 0)
        {
            return;
        }

        var burst = _burst = limits.PartnerBurst > 0 ? limits.PartnerBurst : limits.PartnerClaimsPerSecond;
        _limiter = PartitionedRateLimiter.Create<string, string>(partner => RateLimitPartition.GetTokenBucketLimiter(partner, _ =>
            new TokenBucketRateLimiterOptions
            {
                TokenLimit = burst,
                TokensPerPeriod = limits.PartnerClaimsPerSecond,
                ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                QueueLimit = 0,
                AutoReplenishment = true,
            }));
    }

    /// <summary>Takes the call's claims from the partner's bucket, or refuses it with RATE_LIMITED.</summary>
    public void Admit(string partnerId, object request)
    {
        if (_limiter is null)
        {
            return;
        }

        var claims = request switch
        {
            IssueVoucherRequest => 1,
            IssueVouchersRequest batch => Math.Max(1, batch.Items.Count),
            _ => 0,
        };
        if (claims == 0)
        {
            return;
        }

        // A batch larger than the whole burst is charged a full bucket: it can pass, but only
        // when the partner has sent nothing else for a while.
        using var lease = _limiter.AttemptAcquire(partnerId, Math.Min(claims, _burst));
        if (!lease.IsAcquired)
        {
            var retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : TimeSpan.FromSeconds(1);
            throw ApiErrors.ToRpcException(Refusal.RateLimited,
                $"partner '{partnerId}' is over its limit of claims per second; retry after {retryAfter.TotalMilliseconds:0} ms with the same request ids",
                retryAfter);
        }
    }

    public void Dispose() => _limiter?.Dispose();
}
