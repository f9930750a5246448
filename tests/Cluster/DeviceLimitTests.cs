using Campaigns.Grains.Common;
using Campaigns.Grains.Issuance;
using Orleans.Core.Internal;

namespace Campaigns.Tests.Cluster;

/// <summary>A campaign's limit per device, counted across the shards its users' claims land on.</summary>
[Collection(ClusterCollection.Name)]
public sealed class DeviceLimitTests(ClusterFixture fixture)
{
    private const string Channel = "partner-a";

    [Fact]
    public async Task A_device_farm_in_a_flash_drop_with_retries_gets_exactly_the_limit_per_device_over_8_shards()
    {
        var campaign = await fixture.StartCampaignAsync(d => d with { TotalStock = 1_000, ShardCount = 8, PerDeviceLimit = 5 });
        var id = campaign.GetPrimaryKeyString();
        // 10 phones with 40 accounts each, and 100 users without a device; every claim sent twice.
        var claims = Enumerable.Range(0, 500)
            .Select(u => new IssueClaim(Channel, $"farm-{u}", $"req-{u}", "", u < 400 ? $"phone-{u % 10}" : ""))
            .ToList();
        var random = new Random(500);
        var arrivals = claims.Concat(claims).OrderBy(_ => random.Next()).ToList();

        // In batches per shard, as gateways send them, all at once.
        var calls = arrivals.GroupBy(c => ShardRouting.ShardFor(c.UserId, 8))
            .SelectMany(shard => shard.Chunk(25).Select(chunk =>
                fixture.Grains.GetGrain<IVoucherPoolGrain>(ShardRouting.PoolKey(id, shard.Key)).IssueAsync(chunk)));
        var outcomes = (await Task.WhenAll(calls)).SelectMany(o => o).ToList();

        var acknowledged = outcomes.Where(o => o.Voucher is not null).ToList();
        Assert.All(acknowledged.GroupBy(o => o.RequestId), request => Assert.Single(request.Select(o => o.Voucher!.Code).Distinct()));
        Assert.All(outcomes.Where(o => o.Voucher is null), o => Assert.Equal(Refusal.DeviceLimitReached, o.Refusal));
        var stored = await fixture.LedgerVouchersAsync(id, 8);
        Assert.Equal(10 * 5 + 100, stored.Count);
        Assert.All(stored.Where(v => v.DeviceId is not null).GroupBy(v => v.DeviceId), device => Assert.Equal(5, device.Count()));
        Assert.Equal(100, stored.Count(v => v.DeviceId is null));
        Assert.All(stored.Where(v => v.DeviceId is not null), v => Assert.Equal(DeviceRouting.BucketFor(v.DeviceId!, 8), v.DeviceBucket));

        // Each bucket reads back what it counted.
        var number = (await fixture.Store.Ledger.FindCampaignNumberAsync(id))!.Value;
        var counted = new List<Campaigns.Grains.Ledger.DeviceClaimCount>();
        for (var bucket = 0; bucket < 8; bucket++)
        {
            counted.AddRange(await fixture.Store.Ledger.LoadDeviceClaimsAsync(number, bucket));
        }

        Assert.Equal(Enumerable.Range(0, 10).Select(d => ($"phone-{d}", 5)),
            counted.GroupBy(c => c.DeviceId).Select(g => (g.Key, g.Sum(c => c.Vouchers))).OrderBy(d => d.Key, StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_device_bucket_that_restarts_counts_its_devices_again_from_the_ledger()
    {
        var campaign = await fixture.StartCampaignAsync(d => d with { ShardCount = 4, PerDeviceLimit = 3 });
        var id = campaign.GetPrimaryKeyString();
        for (var u = 0; u < 2; u++)
        {
            Assert.NotNull((await fixture.IssueAsync(id, 4, new IssueClaim(Channel, $"restart-{u}", "r1", "", "phone-r"))).Voucher);
        }

        await fixture.Grains.GetGrain<IDeviceClaimsGrain>(ShardRouting.PoolKey(id, DeviceRouting.BucketFor("phone-r", 4)))
            .Cast<IGrainManagementExtension>().DeactivateOnIdle();

        Assert.NotNull((await fixture.IssueAsync(id, 4, new IssueClaim(Channel, "restart-2", "r1", "", "phone-r"))).Voucher);
        Assert.Equal(Refusal.DeviceLimitReached, (await fixture.IssueAsync(id, 4, new IssueClaim(Channel, "restart-3", "r1", "", "phone-r"))).Refusal);
    }

    [Fact]
    public async Task A_campaign_without_the_limit_stores_no_device_and_wakes_no_device_bucket()
    {
        var campaign = await fixture.StartCampaignAsync(d => d with { ShardCount = 4 });
        var id = campaign.GetPrimaryKeyString();
        for (var u = 0; u < 4; u++)
        {
            Assert.NotNull((await fixture.IssueAsync(id, 4, new IssueClaim(Channel, $"open-{u}", "r1", "", "phone-open"))).Voucher);
        }

        Assert.All(await fixture.LedgerVouchersAsync(id, 4), v => Assert.Null(v.DeviceId));
        Assert.Equal(0, await ActiveBucketsAsync(id, 4));
    }

    [Fact]
    public async Task A_shard_that_knows_its_campaign_sold_out_answers_a_device_s_claim_without_asking_its_bucket()
    {
        var campaign = await fixture.StartCampaignAsync(d => d with { TotalStock = 1, ShardCount = 1, PerDeviceLimit = 1 });
        var id = campaign.GetPrimaryKeyString();
        Assert.NotNull((await fixture.IssueAsync(id, 1, new IssueClaim(Channel, "first", "r1", ""))).Voucher);
        Assert.Equal(Refusal.SoldOut, (await fixture.IssueAsync(id, 1, new IssueClaim(Channel, "second", "r1", ""))).Refusal);

        Assert.Equal(Refusal.SoldOut, (await fixture.IssueAsync(id, 1, new IssueClaim(Channel, "third", "r1", "", "phone-late"))).Refusal);

        Assert.Equal(0, await ActiveBucketsAsync(id, 1));
    }

    private async Task<int> ActiveBucketsAsync(string campaignId, int buckets)
    {
        var ids = Enumerable.Range(0, buckets).Select(b => fixture.Grains.GetGrain<IDeviceClaimsGrain>(ShardRouting.PoolKey(campaignId, b)).GetGrainId()).ToHashSet();
        return (await fixture.Grains.GetGrain<IManagementGrain>(0).GetDetailedGrainStatistics()).Count(s => ids.Contains(s.GrainId));
    }
}
