using Campaigns.Grains.Campaigns;

namespace Campaigns.Tests.Rules;

public sealed class StockCapacityTests
{
    private static readonly Dictionary<string, long> NoQuotas = [];

    private static Dictionary<string, long> Quotas(params (string Channel, long Quota)[] quotas) =>
        quotas.ToDictionary(q => q.Channel, q => q.Quota);

    [Fact]
    public void Without_a_budget_the_stock_is_the_capacity()
    {
        var capacity = new StockCapacity(1000, 0, 500, NoQuotas);

        Assert.Equal(1000, capacity.Capacity);
        Assert.False(capacity.BudgetBinds);
    }

    [Fact]
    public void A_budget_of_100000_cents_for_500_cent_vouchers_caps_a_stock_of_1000_at_200()
    {
        var capacity = new StockCapacity(1000, 100_000, 500, NoQuotas);

        Assert.Equal(200, capacity.Capacity);
        Assert.True(capacity.BudgetBinds);
    }

    [Fact]
    public void A_budget_that_does_not_divide_evenly_rounds_the_capacity_down()
    {
        var capacity = new StockCapacity(1000, 100_499, 500, NoQuotas);

        Assert.Equal(200, capacity.Capacity);
    }

    [Fact]
    public void A_budget_exactly_covering_the_stock_does_not_bind()
    {
        var capacity = new StockCapacity(1000, 500_000, 500, NoQuotas);

        Assert.Equal(1000, capacity.Capacity);
        Assert.False(capacity.BudgetBinds);
    }

    [Fact]
    public void A_budget_one_cent_short_of_the_stock_binds_and_costs_one_voucher()
    {
        var capacity = new StockCapacity(1000, 499_999, 500, NoQuotas);

        Assert.Equal(999, capacity.Capacity);
        Assert.True(capacity.BudgetBinds);
    }

    [Fact]
    public void A_budget_larger_than_the_stock_needs_leaves_the_stock_as_capacity()
    {
        var capacity = new StockCapacity(1000, 10_000_000, 500, NoQuotas);

        Assert.Equal(1000, capacity.Capacity);
        Assert.False(capacity.BudgetBinds);
    }

    [Fact]
    public void Channel_quotas_get_their_quota_and_the_shared_pool_gets_the_rest()
    {
        var capacity = new StockCapacity(1000, 0, 500, Quotas(("meituan", 200), ("alipay", 100)));

        Assert.Equal(100, capacity.PoolCapacity("alipay"));
        Assert.Equal(200, capacity.PoolCapacity("meituan"));
        Assert.Equal(700, capacity.PoolCapacity(StockCapacity.SharedPool));
    }

    [Fact]
    public void A_channel_without_a_quota_has_no_pool_of_its_own() =>
        Assert.Equal(0, new StockCapacity(1000, 0, 500, Quotas(("alipay", 100))).PoolCapacity("jd"));

    [Fact]
    public void A_budget_tighter_than_the_quotas_honours_them_in_channel_id_order_and_leaves_nothing_shared()
    {
        // Budget for 250 vouchers; quotas of 100 + 200 reserve more than that.
        var capacity = new StockCapacity(1000, 125_000, 500, Quotas(("meituan", 200), ("alipay", 100)));

        Assert.Equal(250, capacity.Capacity);
        Assert.Equal(100, capacity.PoolCapacity("alipay"));
        Assert.Equal(150, capacity.PoolCapacity("meituan"));
        Assert.Equal(0, capacity.PoolCapacity(StockCapacity.SharedPool));
    }

    [Fact]
    public void A_budget_smaller_than_the_first_quota_gives_the_later_channels_nothing()
    {
        var capacity = new StockCapacity(1000, 25_000, 500, Quotas(("alipay", 100), ("meituan", 200)));

        Assert.Equal(50, capacity.PoolCapacity("alipay"));
        Assert.Equal(0, capacity.PoolCapacity("meituan"));
        Assert.Equal(0, capacity.PoolCapacity(StockCapacity.SharedPool));
    }

    [Fact]
    public void The_pools_never_add_up_to_more_than_the_capacity_and_strand_none_of_it()
    {
        var random = new Random(8_8_8);
        for (var i = 0; i < 2_000; i++)
        {
            var stock = random.NextInt64(1, 100_000);
            var liability = random.NextInt64(1, 10_000);
            var budget = random.Next(3) == 0 ? 0 : random.NextInt64(liability, stock * liability * 2);
            var quotas = Enumerable.Range(0, random.Next(0, 6))
                .ToDictionary(c => $"channel-{random.Next(1000)}-{c}", _ => random.NextInt64(1, Math.Max(2, stock / 3)));
            var capacity = new StockCapacity(stock, budget, liability, quotas);

            var pools = capacity.AllPools.Select(capacity.PoolCapacity).ToList();

            Assert.All(pools, p => Assert.True(p >= 0));
            Assert.All(quotas, q => Assert.InRange(capacity.PoolCapacity(q.Key), 0, q.Value));
            Assert.True(pools.Sum() <= capacity.Capacity, $"case {i}: pools {string.Join("+", pools)} > capacity {capacity.Capacity}");
            Assert.Equal(capacity.Capacity, pools.Sum());
            Assert.True(capacity.Capacity <= stock);
            if (budget > 0)
            {
                Assert.True(capacity.Capacity * liability <= budget, $"case {i}: {capacity.Capacity} vouchers of {liability} exceed a budget of {budget}");
            }
        }
    }

    [Fact]
    public void A_channel_with_a_quota_draws_on_its_own_pool_first_then_the_shared_one() =>
        Assert.Equal(new[] { "alipay", StockCapacity.SharedPool }, new StockCapacity(1000, 0, 500, Quotas(("alipay", 100))).PoolsFor("alipay"));

    [Fact]
    public void A_channel_without_a_quota_draws_only_on_the_shared_pool() =>
        Assert.Equal(new[] { StockCapacity.SharedPool }, new StockCapacity(1000, 0, 500, Quotas(("alipay", 100))).PoolsFor("jd"));

    [Fact]
    public void Every_quota_channel_and_the_shared_pool_are_pools()
    {
        var pools = new StockCapacity(1000, 0, 500, Quotas(("alipay", 100), ("meituan", 200))).AllPools.ToList();

        Assert.Equal(3, pools.Count);
        Assert.Contains("alipay", pools);
        Assert.Contains("meituan", pools);
        Assert.Contains(StockCapacity.SharedPool, pools);
    }

    [Fact]
    public void A_campaign_snapshot_derives_its_capacity_from_the_topped_up_stock_and_budget()
    {
        var snapshot = Campaign.Snapshot(CampaignStatus.Active) with { TotalStock = 2000, BudgetCents = 600_000 };

        Assert.Equal(1200, snapshot.Capacity.Capacity);
        Assert.Equal(100, snapshot.Capacity.PoolCapacity("alipay"));
    }
}
