using Campaigns.Proto;

namespace Campaigns.Silo.Api;

/// <summary>
/// A campaign's live figures, always computed from the ledger (the source of truth). In-process
/// by default (<see cref="CampaignStatsReader"/>); in production a snapshot in Redis that one
/// silo at a time refreshes and pushes to every silo's watchers (<c>Shared/SharedCampaignStats</c>).
/// </summary>
public interface ICampaignStatsSource
{
    /// <summary>The figures GetCampaignStats answers: fresh, or at most about one <see cref="CampaignStatsReader.WatchInterval"/> old.</summary>
    Task<CampaignStats> GetAsync(string campaignId);

    /// <summary>Figures no older than about one <see cref="CampaignStatsReader.WatchInterval"/>, shared by every reader on this silo (the dashboard's feed).</summary>
    Task<CampaignStats> GetRecentAsync(string campaignId);

    /// <summary>The figures now, then each change (at most every <see cref="CampaignStatsReader.WatchInterval"/>) until cancelled.</summary>
    IAsyncEnumerable<CampaignStats> WatchAsync(string campaignId, CancellationToken cancellationToken);
}
