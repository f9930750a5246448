using System.Collections.Concurrent;
using Campaigns.Grains.Campaigns;
using Campaigns.Grains.Common;
using Campaigns.Grains.Issuance;

namespace Campaigns.Silo.Api;

/// <summary>
/// Routes claims to pool shards. A campaign's shard count never changes after creation, so its
/// shards are learnt once per silo and the hot path makes exactly one grain call: to the user's
/// shard. The grain references are kept too: building one resolves its interface by reflection.
/// </summary>
public sealed class CampaignShards(IGrainFactory grains)
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
}
