using Campaigns.Grains.Campaigns;

namespace Campaigns.Tests.Rules;

public sealed class LeaseSizingTests
{
    private static readonly long[] Wants = [0, 1, 16, 100, 1_000, 1_000_000];
    private static readonly int[] ShardCounts = [0, 1, 4, 8, 64];

    [Fact]
    public void A_grant_never_exceeds_what_is_free()
    {
        foreach (var wanted in Wants)
        {
            foreach (var shards in ShardCounts)
            {
                for (long free = 0; free <= 3_000; free++)
                {
                    Assert.InRange(LeaseSizing.Grant(wanted, free, shards), 0, free);
                }
            }
        }
    }

    [Fact]
    public void While_anything_is_free_a_shard_gets_at_least_one()
    {
        foreach (var wanted in Wants)
        {
            foreach (var shards in ShardCounts)
            {
                Assert.Equal(1, LeaseSizing.Grant(wanted, 1, shards));
                for (long free = 1; free <= 3_000; free++)
                {
                    Assert.True(LeaseSizing.Grant(wanted, free, shards) >= 1, $"wanted {wanted}, free {free}, {shards} shards");
                }
            }
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(long.MinValue)]
    public void Nothing_is_granted_when_nothing_is_free(long free) => Assert.Equal(0, LeaseSizing.Grant(1_000, free, 8));

    [Fact]
    public void Grants_shrink_as_the_free_stock_shrinks()
    {
        foreach (var shards in ShardCounts)
        {
            var previous = long.MaxValue;
            for (var free = 200_000L; free >= 1; free -= 7)
            {
                var grant = LeaseSizing.Grant(1_000, free, shards);
                Assert.True(grant <= previous, $"{shards} shards: {grant} granted from {free} free after {previous} from more");
                previous = grant;
            }
        }
    }

    [Theory]
    [InlineData(1_000, 1_000_000, 8, 1_000)]
    [InlineData(1_000, 8_000, 8, 500)]
    [InlineData(1_000, 10, 8, 1)]
    [InlineData(16, 10_000, 1, 16)]
    [InlineData(0, 10_000, 1, 1)]
    [InlineData(1_000, 100, 0, 50)]
    public void A_grant_is_the_want_up_to_half_of_a_fair_share_of_the_free_stock(long wanted, long free, int shards, long granted) =>
        Assert.Equal(granted, LeaseSizing.Grant(wanted, free, shards));

    [Theory]
    [InlineData(0, 0, 16)]
    [InlineData(3, 5, 16)]
    [InlineData(100, 5, 100)]
    [InlineData(3, 400, 400)]
    public void A_shard_wants_what_is_waiting_or_a_second_of_recent_demand_and_never_less_than_16(long waiting, long lastSecond, long want) =>
        Assert.Equal(want, LeaseSizing.Want(waiting, lastSecond));
}
