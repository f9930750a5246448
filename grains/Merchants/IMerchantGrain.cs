namespace Campaigns.Grains.Merchants;

/// <summary>One merchant: profile, district and campaign enrolments. Keyed by merchant id.</summary>
public interface IMerchantGrain : IGrainWithStringKey
{
    /// <summary>Registers the merchant; an identical repeat returns it, a different one is MERCHANT_EXISTS.</summary>
    Task<MerchantProfile> RegisterAsync(string name, string district, string category);

    /// <summary>The merchant; MERCHANT_NOT_FOUND if never registered.</summary>
    /// <remarks>A pure read of memory, interleaved: every redemption at a busy till asks it.</remarks>
    [AlwaysInterleave]
    Task<MerchantProfile> GetAsync();

    /// <summary>The merchant, or null if never registered.</summary>
    [AlwaysInterleave]
    Task<MerchantProfile?> FindAsync();

    /// <summary>
    /// Enrols the merchant in a campaign (CAMPAIGN_NOT_FOUND, MERCHANT_OUT_OF_DISTRICT when the
    /// campaign names districts and the merchant's is not among them). Enrolling twice is harmless.
    /// </summary>
    Task<Enrollment> EnrollAsync(string campaignId);
}
