using Campaigns.Grains.Common;
using Campaigns.Grains.Ledger;

namespace Campaigns.Silo.Api;

/// <summary>
/// A user's wallet, read from the shards that issued it: in each campaign the user has exactly
/// one shard, which knows the user's vouchers (it is their only writer) and reads them by key.
/// There is no user index in the ledger: it would put a write at a random place into every claim.
/// Without a campaign, every campaign in the directory is asked, all at once.
/// </summary>
public sealed class UserWallets(CampaignShards shards, ICampaignDirectory directory)
{
    private const int DirectoryPage = 500;

    public async Task<IReadOnlyList<VoucherRecord>> ListAsync(string userId, string? campaignId, string channel)
    {
        var campaigns = campaignId is null ? await AllCampaignIdsAsync() : [campaignId];
        var wallets = await Task.WhenAll(campaigns.Select(id => InCampaignAsync(id, userId)));
        return [.. wallets.SelectMany(w => w)
            .Where(v => v.Channel == channel)
            .OrderByDescending(v => v.IssuedAt).ThenByDescending(v => v.Code, StringComparer.Ordinal)];
    }

    private async Task<IReadOnlyList<VoucherRecord>> InCampaignAsync(string campaignId, string userId)
    {
        try
        {
            return await shards.ListUserVouchersAsync(campaignId, userId);
        }
        catch (CampaignsException ex) when (ex.Code == Refusal.CampaignNotFound)
        {
            // No such campaign (or listed, but its creation never completed): no vouchers in it.
            return [];
        }
    }

    private async Task<IReadOnlyList<string>> AllCampaignIdsAsync()
    {
        var ids = new List<string>();
        string? after = null;
        while (true)
        {
            var page = await directory.ListCampaignIdsAsync(after, DirectoryPage);
            ids.AddRange(page);
            if (page.Count < DirectoryPage)
            {
                return ids;
            }

            after = page[^1];
        }
    }
}
