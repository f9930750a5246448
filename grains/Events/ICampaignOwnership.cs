namespace Campaigns.Grains.Events;

/// <summary>Whose a campaign is: an organiser's subscription to every campaign hears only its own.</summary>
public interface ICampaignOwnership
{
    /// <summary>True when <paramref name="organiserId"/> owns <paramref name="campaignId"/>; false for another's or an unknown campaign.</summary>
    ValueTask<bool> IsOwnedByAsync(string campaignId, string organiserId);
}
