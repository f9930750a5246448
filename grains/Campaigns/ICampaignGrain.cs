using Campaigns.Grains.Common;

namespace Campaigns.Grains.Campaigns;

/// <summary>What a campaign grants a shard: units of one pool, or the reason there are none.</summary>
[GenerateSerializer, Immutable]
public sealed record StockGrant(
    [property: Id(0)] string Pool,
    [property: Id(1)] long Amount,
    [property: Id(2)] Refusal? Refusal);

/// <summary>
/// One campaign: its definition, lifecycle, and the authority over its stock and budget.
/// Keyed by campaign id. Every acknowledged change is durable.
/// </summary>
public interface ICampaignGrain : IGrainWithStringKey
{
    /// <summary>Defines the campaign in DRAFT. An identical repeat returns it; a different one is CAMPAIGN_EXISTS.</summary>
    Task<CampaignSnapshot> CreateAsync(CampaignDefinition definition);

    /// <summary>The campaign; CAMPAIGN_NOT_FOUND if it was never created.</summary>
    Task<CampaignSnapshot> GetAsync();

    /// <summary>The campaign, or null if it was never created.</summary>
    Task<CampaignSnapshot?> FindAsync();

    /// <summary>DRAFT → ACTIVE.</summary>
    Task<CampaignSnapshot> StartAsync();

    /// <summary>ACTIVE → PAUSED.</summary>
    Task<CampaignSnapshot> PauseAsync();

    /// <summary>PAUSED → ACTIVE.</summary>
    Task<CampaignSnapshot> ResumeAsync();

    /// <summary>Any state but ENDED → ENDED.</summary>
    Task<CampaignSnapshot> EndAsync();

    /// <summary>Adds stock and budget once per request id; claimable at once.</summary>
    Task<CampaignSnapshot> AddStockAsync(string requestId, long additionalStock, long additionalBudgetCents);

    /// <summary>
    /// Blocks (or unblocks) users: their claims are refused with USER_BLOCKED once this returns,
    /// on every shard that heard of it (as for a pause; one that missed it learns on its next
    /// activation or stock request). Repeats are harmless.
    /// </summary>
    Task<CampaignSnapshot> SetBlockedAsync(IReadOnlyList<string> userIds, bool blocked);

    /// <summary>
    /// Adds claims a silo refused for this campaign's rules to its stats, by API reason; reasons
    /// that do not count (<see cref="RefusedClaims"/>) are ignored, and so is a campaign never created.
    /// </summary>
    Task CountRefusedClaimsAsync(IReadOnlyDictionary<string, long> byReason);

    /// <summary>
    /// Leases stock to a shard: from the channel's quota first, then the shared pool. The grant is
    /// in the ledger before this returns, so the shard may spend it. Near the end it reclaims
    /// unused leases from idle shards rather than leaving stock stranded.
    /// </summary>
    Task<StockGrant> RequestStockAsync(int shard, string channel, long wanted);
}
