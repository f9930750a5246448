using Campaigns.Grains.Ledger;

namespace Campaigns.Grains.Issuance;

/// <summary>
/// A device bucket's books for one campaign: how many vouchers each device holds, and which claims
/// hold a slot not yet written. One device's claims come from many users, so from many shards:
/// the count lives here, where all of them meet. Rebuilt on activation from the bucket's rows in
/// the ledger (<see cref="Remember"/>). Not thread-safe: the grain's turns use it one at a time.
/// </summary>
/// <remarks>
/// A commit reported for a claim whose reservation this activation never made (the bucket restarted
/// while it was in flight) counts unless the rebuild read its row already: each shard writes in
/// seq order, so its rows the rebuild saw are exactly those up to the last seq it read.
/// </remarks>
public sealed class DeviceClaimBook
{
    private readonly Dictionary<string, int> _held = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _inFlight = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Channel, string UserId, string RequestId), string> _reservations = [];
    private readonly Dictionary<int, long> _readUpTo = [];

    /// <summary>A device's vouchers of one shard, read back from the ledger when the bucket rebuilds.</summary>
    public void Remember(DeviceClaimCount counted)
    {
        _held[counted.DeviceId] = _held.GetValueOrDefault(counted.DeviceId) + counted.Vouchers;
        _readUpTo[counted.Shard] = Math.Max(_readUpTo.GetValueOrDefault(counted.Shard), counted.LastSeq);
    }

    /// <summary>Vouchers the device holds plus claims of it in flight.</summary>
    public int Counted(string deviceId) => _held.GetValueOrDefault(deviceId) + _inFlight.GetValueOrDefault(deviceId);

    /// <summary>
    /// Takes a slot for the claim unless its device has reached <paramref name="limit"/>, counting
    /// claims in flight; a claim that holds a slot already (a retry) keeps it. True if it holds one.
    /// </summary>
    public bool TryReserve(DeviceClaim claim, int limit)
    {
        var key = (claim.Channel, claim.UserId, claim.RequestId);
        if (_reservations.ContainsKey(key))
        {
            return true;
        }

        if (Counted(claim.DeviceId) >= limit)
        {
            return false;
        }

        _reservations[key] = claim.DeviceId;
        _inFlight[claim.DeviceId] = _inFlight.GetValueOrDefault(claim.DeviceId) + 1;
        return true;
    }

    /// <summary>A claim's voucher is written (<see cref="DeviceSettlement.Seq"/> &gt; 0), or it was refused or failed and frees its slot.</summary>
    public void Settle(DeviceSettlement settled)
    {
        var known = _reservations.Remove((settled.Channel, settled.UserId, settled.RequestId), out var deviceId);
        if (known && --_inFlight[deviceId!] == 0)
        {
            _inFlight.Remove(deviceId!);
        }

        if (settled.Seq > 0 && (known || settled.Seq > _readUpTo.GetValueOrDefault(settled.Shard)))
        {
            var device = deviceId ?? settled.DeviceId;
            _held[device] = _held.GetValueOrDefault(device) + 1;
        }
    }
}
