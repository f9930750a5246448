namespace Campaigns.Grains.Issuance;

/// <summary>A claim asking for a slot of its device, keyed like the claim itself.</summary>
[GenerateSerializer, Immutable]
public sealed record DeviceClaim(
    [property: Id(0)] string Channel,
    [property: Id(1)] string UserId,
    [property: Id(2)] string RequestId,
    [property: Id(3)] string DeviceId);

/// <summary>How a claim that asked for a slot ended: its voucher's place if written (seq &gt; 0), else seq 0.</summary>
[GenerateSerializer, Immutable]
public sealed record DeviceSettlement(
    [property: Id(0)] string Channel,
    [property: Id(1)] string UserId,
    [property: Id(2)] string RequestId,
    [property: Id(3)] string DeviceId,
    [property: Id(4)] int Shard,
    [property: Id(5)] long Seq);

/// <summary>
/// One bucket of a campaign's devices, keyed "campaignId/bucket" (<see cref="DeviceRouting"/>):
/// counts each device's vouchers and claims in flight across every shard, for the campaign's
/// per-device limit. Shards ask it before taking stock and tell it how each claim ended.
/// </summary>
public interface IDeviceClaimsGrain : IGrainWithStringKey
{
    /// <summary>For each claim, in order: whether it holds a slot of its device now (a retried claim keeps its own).</summary>
    Task<IReadOnlyList<bool>> ReserveAsync(int limit, IReadOnlyList<DeviceClaim> claims);

    /// <summary>Claims written or given up: a written one counts as held, a slot given up is free again.</summary>
    Task SettleAsync(IReadOnlyList<DeviceSettlement> settled);
}

/// <summary>Which bucket counts a device's claims.</summary>
public static class DeviceRouting
{
    /// <summary>
    /// A campaign has as many device buckets as shards (both follow its expected peak, and neither
    /// changes after creation). The bucket is stored with each voucher that carries a device.
    /// </summary>
    public static int BucketFor(string deviceId, int shardCount) => ShardRouting.ShardFor(deviceId, shardCount);
}
