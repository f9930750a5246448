using System.Collections.Concurrent;
using Campaigns.Grains.Campaigns;
using Campaigns.Grains.Common;
using Campaigns.Grains.Issuance;

namespace Campaigns.Silo.Api;

/// <summary>
/// Routes claims to pool shards. A campaign's shard count never changes after creation, so its
/// shards are learnt once per silo, and a claim goes to its user's shard: straight to the
/// activation when it lives in this silo (<see cref="LocalShards"/>), otherwise as one grain call.
/// The grain references are kept too: building one resolves its interface by reflection.
/// </summary>
public sealed class CampaignShards(IGrainFactory grains, LocalShards local)
{
    private readonly ConcurrentDictionary<string, IVoucherPoolGrain[]> _shards = new(StringComparer.Ordinal);

    /// <summary>The campaign's pool shards, in shard order.</summary>
    public async ValueTask<IReadOnlyList<IVoucherPoolGrain>> ShardsAsync(string campaignId)
    {
        if (_shards.TryGetValue(campaignId, out var known))
        {
            return known;
        }

        Identifiers.RequireName("campaign_id", campaignId);
        var campaign = await grains.GetGrain<ICampaignGrain>(campaignId).GetAsync();
        return _shards[campaignId] = [.. Enumerable.Range(0, campaign.Definition.ShardCount)
            .Select(shard => grains.GetGrain<IVoucherPoolGrain>(ShardRouting.PoolKey(campaignId, shard)))];
    }

    public async ValueTask<IVoucherPoolGrain> ShardForAsync(string campaignId, string userId)
    {
        var shards = await ShardsAsync(campaignId);
        return shards[ShardRouting.ShardFor(userId, shards.Count)];
    }

    /// <summary>One claim, to its user's shard.</summary>
    public async Task<IssueOutcome> ClaimAsync(string campaignId, IssueClaim claim)
    {
        var shards = await ShardsAsync(campaignId);
        var shard = ShardRouting.ShardFor(claim.UserId, shards.Count);
        return (local.Find(campaignId, shard) is { } here ? await here.ClaimAsync(claim) : null)
            ?? await shards[shard].ClaimAsync(claim);
    }

    /// <summary>Claims whose users are all routed to <paramref name="shard"/> of the campaign, answered in order.</summary>
    public async Task<IReadOnlyList<IssueOutcome>> IssueAsync(string campaignId, int shard, IReadOnlyList<IssueClaim> claims)
    {
        var shards = await ShardsAsync(campaignId);
        return (local.Find(campaignId, shard) is { } here ? await here.IssueAsync(claims) : null)
            ?? await shards[shard].IssueAsync(claims);
    }
}
