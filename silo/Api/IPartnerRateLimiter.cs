namespace Campaigns.Silo.Api;

/// <summary>
/// Admits a partner's claims or refuses the call with RATE_LIMITED and a retry delay, before it
/// reaches any grain. In-process per silo by default (<see cref="PartnerRateLimits"/>); shared by
/// every silo through Redis in production (<c>Shared/SharedPartnerRateLimits</c>).
/// </summary>
public interface IPartnerRateLimiter
{
    /// <summary>Takes the call's claims from the partner's bucket, or throws RATE_LIMITED; reads cost nothing.</summary>
    ValueTask AdmitAsync(string partnerId, object request);
}
