using System.Collections.Concurrent;
using Campaigns.Grains.Campaigns;
using Campaigns.Grains.Common;
using Campaigns.Grains.Issuance;
using Campaigns.Grains.Ledger;

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

    /// <summary>One claim, to its user's shard.</summary>
    public Task<IssueOutcome> ClaimAsync(string campaignId, IssueClaim claim) =>
        ToUserShardAsync(campaignId, claim.UserId, here => here.ClaimAsync(claim), grain => grain.ClaimAsync(claim));

    /// <summary>The user's vouchers from the user's shard of the campaign.</summary>
    public Task<IReadOnlyList<VoucherRecord>> ListUserVouchersAsync(string campaignId, string userId) =>
        ToUserShardAsync(campaignId, userId, here => here.ListUserVouchersAsync(userId), grain => grain.ListUserVouchersAsync(userId));

    /// <summary>Claims whose users are all routed to <paramref name="shard"/> of the campaign, answered in order.</summary>
    public async Task<IReadOnlyList<IssueOutcome>> IssueAsync(string campaignId, int shard, IReadOnlyList<IssueClaim> claims) =>
        await CallAsync(campaignId, await ShardsAsync(campaignId), shard, here => here.IssueAsync(claims), grain => grain.IssueAsync(claims));

    private async Task<T> ToUserShardAsync<T>(
        string campaignId, string userId, Func<LocalShard, Task<T?>> inThisSilo, Func<IVoucherPoolGrain, Task<T>> asGrain)
        where T : class
    {
        var shards = await ShardsAsync(campaignId);
        return await CallAsync(campaignId, shards, ShardRouting.ShardFor(userId, shards.Count), inThisSilo, asGrain);
    }

    /// <summary>Straight to the shard's activation when it is in this silo and takes calls; otherwise, or once it has closed, a grain call.</summary>
    private async Task<T> CallAsync<T>(
        string campaignId, IReadOnlyList<IVoucherPoolGrain> shards, int shard, Func<LocalShard, Task<T?>> inThisSilo, Func<IVoucherPoolGrain, Task<T>> asGrain)
        where T : class =>
        (local.Find(campaignId, shard) is { } here ? await inThisSilo(here) : null) ?? await asGrain(shards[shard]);
}
