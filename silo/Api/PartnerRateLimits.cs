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
/// reaches any grain: nothing is issued or counted. In-process, so per silo; production shares
/// one bucket through Redis and falls back to this one when Redis is out of reach.
/// </summary>
public sealed class PartnerRateLimits : IPartnerRateLimiter, IDisposable
{
    private readonly PartitionedRateLimiter<string>? _limiter;

    public PartnerRateLimits(IOptions<CampaignsOptions> options)
    {
        var limits = options.Value.RateLimits;
        if (limits.PartnerClaimsPerSecond <= 0)
        {
            return;
        }

        PerSecond = limits.PartnerClaimsPerSecond;
        var burst = Burst = limits.PartnerBurst > 0 ? limits.PartnerBurst : limits.PartnerClaimsPerSecond;
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

    /// <summary>Whether partners are limited at all (a rate is configured).</summary>
    public bool Limits => _limiter is not null;

    /// <summary>Claims per second one partner may send.</summary>
    public int PerSecond { get; }

    /// <summary>Claims a partner may send at once.</summary>
    public int Burst { get; }

    public ValueTask AdmitAsync(string partnerId, object request)
    {
        Admit(partnerId, request);
        return ValueTask.CompletedTask;
    }

    /// <summary>Takes the call's claims from the partner's bucket, or refuses it with RATE_LIMITED.</summary>
    public void Admit(string partnerId, object request)
    {
        if (Cost(request) is var cost && cost > 0 && TryTake(partnerId, cost) is { } retryAfter)
        {
            throw Refusal(partnerId, retryAfter);
        }
    }

    /// <summary>
    /// The claims a call takes from its partner's bucket: 0 for reads or when nothing is limited.
    /// A batch larger than the whole burst is charged a full bucket: it can pass, but only when
    /// the partner has sent nothing else for a while.
    /// </summary>
    public int Cost(object request)
    {
        if (_limiter is null)
        {
            return 0;
        }

        var claims = request switch
        {
            IssueVoucherRequest => 1,
            IssueVouchersRequest batch => Math.Max(1, batch.Items.Count),
            _ => 0,
        };
        return Math.Min(claims, Burst);
    }

    /// <summary>Takes <paramref name="cost"/> claims from this silo's bucket: null when admitted, else how long to wait.</summary>
    public TimeSpan? TryTake(string partnerId, int cost)
    {
        if (_limiter is null)
        {
            return null;
        }

        using var lease = _limiter.AttemptAcquire(partnerId, cost);
        return lease.IsAcquired ? null : lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : TimeSpan.FromSeconds(1);
    }

    /// <summary>The one RATE_LIMITED refusal, whichever bucket said no.</summary>
    public static RpcException Refusal(string partnerId, TimeSpan retryAfter) =>
        ApiErrors.ToRpcException(Grains.Common.Refusal.RateLimited,
            $"partner '{partnerId}' is over its limit of claims per second; retry after {retryAfter.TotalMilliseconds:0} ms with the same request ids",
            retryAfter);

    public void Dispose() => _limiter?.Dispose();
}
