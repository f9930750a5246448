namespace Campaigns.Grains.Ledger;

/// <summary>What every backend refuses before it writes: calls the contract does not allow.</summary>
public static class LedgerArguments
{
    /// <summary>A batch's vouchers must all be its shard's: the lease charged is the batch's.</summary>
    public static void CheckBatch(IssueBatch batch)
    {
        if (batch.Vouchers.FirstOrDefault(v => v.CampaignId != batch.CampaignId || v.CampaignNumber != batch.CampaignNumber || v.Shard != batch.Shard) is { } stray)
        {
            throw new ArgumentException(
                $"voucher {stray.Key} of {stray.CampaignId} does not belong to the batch's {batch.CampaignId}/{batch.Shard}", nameof(batch));
        }
    }

    /// <summary>A transition writes the next version, and its event is of the same voucher.</summary>
    public static void CheckTransition(VoucherRecord next, long expectedVersion, RedemptionEventRecord redemptionEvent)
    {
        if (next.Version != expectedVersion + 1)
        {
            throw new ArgumentException($"a transition from version {expectedVersion} writes version {expectedVersion + 1}, not {next.Version}", nameof(next));
        }

        if (redemptionEvent.Code != next.Code)
        {
            throw new ArgumentException($"the event is for voucher {redemptionEvent.Code}, not {next.Code}", nameof(redemptionEvent));
        }
    }
}
