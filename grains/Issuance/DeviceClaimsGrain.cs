using Campaigns.Grains.Ledger;
using Microsoft.Extensions.Logging;

namespace Campaigns.Grains.Issuance;

/// <summary>
/// A bucket of a campaign's devices: its books (<see cref="DeviceClaimBook"/>) rebuilt from the
/// ledger on activation, then kept in memory. Every call is answered from memory in one turn.
/// </summary>
public sealed class DeviceClaimsGrain(ILedger ledger, ILogger<DeviceClaimsGrain> logger) : Grain, IDeviceClaimsGrain
{
    private readonly DeviceClaimBook _book = new();

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var (campaignId, bucket) = ShardRouting.ParsePoolKey(this.GetPrimaryKeyString());
        if (await ledger.FindCampaignNumberAsync(campaignId) is not { } number)
        {
            return;
        }

        var counts = await ledger.LoadDeviceClaimsAsync(number, bucket);
        foreach (var counted in counts)
        {
            _book.Remember(counted);
        }

        if (counts.Count > 0)
        {
            logger.LogInformation("Device bucket {Campaign}/{Bucket} rebuilt from {Vouchers} vouchers", campaignId, bucket, counts.Sum(c => c.Vouchers));
        }
    }

    public Task<IReadOnlyList<bool>> ReserveAsync(int limit, IReadOnlyList<DeviceClaim> claims) =>
        Task.FromResult<IReadOnlyList<bool>>([.. claims.Select(claim => _book.TryReserve(claim, limit))]);

    public Task SettleAsync(IReadOnlyList<DeviceSettlement> settled)
    {
        foreach (var one in settled)
        {
            _book.Settle(one);
        }

        return Task.CompletedTask;
    }
}
