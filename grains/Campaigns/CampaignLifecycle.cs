using Campaigns.Grains.Common;

namespace Campaigns.Grains.Campaigns;

public enum CampaignAction
{
    Start,
    Pause,
    Resume,
    End,
}

/// <summary>DRAFT → ACTIVE ⇄ PAUSED → ENDED; END from any state but ENDED.</summary>
public static class CampaignLifecycle
{
    /// <summary>The status after <paramref name="action"/>, or INVALID_TRANSITION.</summary>
    public static CampaignStatus Apply(CampaignStatus current, CampaignAction action) => (current, action) switch
    {
        (CampaignStatus.Draft, CampaignAction.Start) => CampaignStatus.Active,
        (CampaignStatus.Active, CampaignAction.Pause) => CampaignStatus.Paused,
        (CampaignStatus.Paused, CampaignAction.Resume) => CampaignStatus.Active,
        (not CampaignStatus.Ended, CampaignAction.End) => CampaignStatus.Ended,
        _ => throw new CampaignsException(Refusal.InvalidTransition,
            $"cannot {action.ToString().ToLowerInvariant()} a campaign that is {current.ToString().ToUpperInvariant()}"),
    };

    /// <summary>
    /// The status as of <paramref name="now"/>: once the issuing window has passed the campaign
    /// is ENDED, whatever was stored, so every reader sees what a claim would meet.
    /// </summary>
    public static CampaignStatus StatusAt(CampaignStatus stored, DateTimeOffset endsAt, DateTimeOffset now) =>
        now >= endsAt ? CampaignStatus.Ended : stored;

    /// <summary>Starting or resuming a campaign whose window has passed would issue nothing: CAMPAIGN_ENDED.</summary>
    public static void RequireWindowOpen(CampaignAction action, DateTimeOffset endsAt, DateTimeOffset now)
    {
        if (action is CampaignAction.Start or CampaignAction.Resume && now >= endsAt)
        {
            throw new CampaignsException(Refusal.CampaignEnded,
                $"the issuing window ended at {endsAt:O}; define a new campaign with a window ahead");
        }
    }

    /// <summary>True when repeating the action on a campaign already in its target status is a harmless retry.</summary>
    public static bool AlreadyDone(CampaignStatus current, CampaignAction action) => (current, action) switch
    {
        (CampaignStatus.Active, CampaignAction.Start or CampaignAction.Resume) => true,
        (CampaignStatus.Paused, CampaignAction.Pause) => true,
        (CampaignStatus.Ended, CampaignAction.End) => true,
        _ => false,
    };
}
