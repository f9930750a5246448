using System.Collections.Concurrent;
using Campaigns.Grains.Campaigns;
using Campaigns.Grains.Common;
using Campaigns.Grains.Issuance;

namespace Campaigns.Silo.Api;

/// <summary>
/// Routes claims to pool shards. A campaign's shard count never changes after creation, so it is
/// learnt once per silo and the hot path makes exactly one grain call: to the user's shard.
/// </summary>
public sealed class CampaignShards(IGrainFactory grains)
{
    private readonly ConcurrentDictionary<string, int> _shardCounts = new(StringComparer.Ordinal);

    public async ValueTask<int> ShardCountAsync(string campaignId)
    {
        if (_shardCounts.TryGetValue(campaignId, out var known))
        {
            return known;
        }

        Identifiers.RequireName("campaign_id", campaignId);
        var campaign = await grains.GetGrain<ICampaignGrain>(campaignId).GetAsync();
        return _shardCounts[campaignId] = campaign.Definition.ShardCount;
    }

    public async ValueTask<IVoucherPoolGrain> ShardForAsync(string campaignId, string userId)
    {
        var shards = await ShardCountAsync(campaignId);
        return grains.GetGrain<IVoucherPoolGrain>(ShardRouting.PoolKey(campaignId, ShardRouting.ShardFor(userId, shards)));
    }
}
