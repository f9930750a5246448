using Campaigns.Grains.Campaigns;
using Campaigns.Grains.Common;
using Campaigns.Grains.Ledger;

namespace Campaigns.Tests.Rules;

public sealed class CampaignLeasesTests
{
    // 100 vouchers: 10 reserved for "meituan", 90 shared by every channel.
    private static readonly StockCapacity Stock = new(100, 0, 500, new Dictionary<string, long> { ["meituan"] = 10 });
    private readonly CampaignLeases _leases = new();

    [Fact]
    public void Grants_are_summed_per_pool_and_what_is_left_unleased_follows()
    {
        _leases.Granted(0, "", 30);
        _leases.Granted(1, "", 20);
        _leases.Granted(0, "", 5);
        _leases.Granted(2, "meituan", 4);

        Assert.Equal(55, _leases.GrantedFrom(""));
        Assert.Equal(35, _leases.Unleased(Stock, ""));
        Assert.Equal(6, _leases.Unleased(Stock, "meituan"));
    }

    [Fact]
    public void A_reload_takes_the_ledger_s_leases_as_they_are()
    {
        _leases.Granted(0, "", 30);

        _leases.Reload([new StockLeaseRecord(3, "", Granted: 12, Issued: 12), new StockLeaseRecord(4, "", Granted: 0, Issued: 0)]);

        Assert.Equal(12, _leases.GrantedFrom(""));
        Assert.Equal([3], _leases.HoldersOf("", except: 9));
    }

    [Fact]
    public void The_shards_to_ask_to_give_back_are_the_other_holders_of_the_pool()
    {
        _leases.Granted(0, "", 30);
        _leases.Granted(1, "", 20);
        _leases.Granted(2, "meituan", 4);

        Assert.Equal([1], _leases.HoldersOf("", except: 0));
        Assert.Equal([2], _leases.HoldersOf("meituan", except: 0));
    }

    [Fact]
    public void An_empty_pool_says_why_quota_elsewhere_budget_or_stock()
    {
        _leases.Granted(0, "", 90);
        Assert.Equal(Refusal.ChannelQuotaExhausted, _leases.ExhaustionReason(Stock, "taobao"));

        _leases.Granted(1, "meituan", 10);
        Assert.Equal(Refusal.SoldOut, _leases.ExhaustionReason(Stock, "taobao"));

        var budgeted = new CampaignLeases();
        var tight = new StockCapacity(100, 5_000, 500, new Dictionary<string, long>());
        budgeted.Granted(0, "", 10);
        Assert.Equal(Refusal.BudgetExhausted, budgeted.ExhaustionReason(tight, "taobao"));
    }
}
