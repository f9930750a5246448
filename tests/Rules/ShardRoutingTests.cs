using Campaigns.Grains.Issuance;

namespace Campaigns.Tests.Rules;

public sealed class ShardRoutingTests
{
    [Fact]
    public void A_user_is_routed_to_the_same_shard_every_time()
    {
        for (var i = 0; i < 1_000; i++)
        {
            var user = $"user-{i}";
            var shard = ShardRouting.ShardFor(user, 8);
            Assert.Equal(shard, ShardRouting.ShardFor(user, 8));
            Assert.Equal(shard, ShardRouting.ShardFor(new string(user.ToCharArray()), 8));
        }
    }

    // Pinned: a change of hash would send existing users to other shards mid-campaign and
    // break per-user limits and idempotency for every campaign already issuing.
    [Theory]
    [InlineData("user-1", 8, PinnedUser1Of8)]
    [InlineData("user-42", 8, PinnedUser42Of8)]
    [InlineData("13800138000", 64, Pinned13800138000Of64)]
    [InlineData("用户-张三", 16, PinnedZhangSanOf16)]
    public void Known_users_keep_their_known_shards(string user, int shards, int shard) =>
        Assert.Equal(shard, ShardRouting.ShardFor(user, shards));

    // Routed before they are checked: ids of any length, and strings that are not valid UTF-16,
    // hash as their UTF-8 (a lone surrogate as U+FFFD), whether encoded on the stack or not.
    [Theory]
    [InlineData(1)]
    [InlineData(128)]
    [InlineData(170)]
    [InlineData(171)]
    [InlineData(5_000)]
    public void Ids_of_any_length_hash_as_their_UTF8(int length)
    {
        foreach (var user in new[] { new string('z', length), new string('张', length), "\ud800" + new string('x', length - 1) })
        {
            var utf8 = System.Text.Encoding.UTF8.GetBytes(user);
            Assert.Equal((int)(System.IO.Hashing.XxHash32.HashToUInt32(utf8) % 64u), ShardRouting.ShardFor(user, 64));
        }
    }

    private const int PinnedUser1Of8 = 5;
    private const int PinnedUser42Of8 = 6;
    private const int Pinned13800138000Of64 = 32;
    private const int PinnedZhangSanOf16 = 8;

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(7)]
    [InlineData(64)]
    public void Every_user_lands_on_a_shard_in_range(int shards)
    {
        foreach (var user in Enumerable.Range(0, 5_000).Select(i => $"u{i * 7919}").Append("").Append("用户"))
        {
            Assert.InRange(ShardRouting.ShardFor(user, shards), 0, shards - 1);
        }
    }

    [Fact]
    public void Ten_thousand_users_spread_over_8_shards_roughly_evenly()
    {
        var perShard = new int[8];
        for (var i = 0; i < 10_000; i++)
        {
            perShard[ShardRouting.ShardFor($"user-{i}", 8)]++;
        }

        Assert.All(perShard, count => Assert.InRange(count, 900, 1_600));
    }

    [Fact]
    public void Ten_thousand_phone_number_users_spread_over_8_shards_roughly_evenly()
    {
        var perShard = new int[8];
        for (var i = 0; i < 10_000; i++)
        {
            perShard[ShardRouting.ShardFor($"1380013{i:D4}", 8)]++;
        }

        Assert.All(perShard, count => Assert.InRange(count, 900, 1_600));
    }

    [Theory]
    [InlineData("golden-week", 0)]
    [InlineData("golden.week.2026", 7)]
    [InlineData("spring_fest-2026.sh", 63)]
    [InlineData("a", 12)]
    public void A_pool_key_reads_back_as_its_campaign_and_shard(string campaignId, int shard)
    {
        var key = ShardRouting.PoolKey(campaignId, shard);

        Assert.Equal((campaignId, shard), ShardRouting.ParsePoolKey(key));
    }

    [Fact]
    public void A_pool_key_is_the_campaign_id_slash_the_shard() =>
        Assert.Equal("golden-week/3", ShardRouting.PoolKey("golden-week", 3));
}
