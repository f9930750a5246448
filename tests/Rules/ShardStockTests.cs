using Campaigns.Grains.Issuance;
using Campaigns.Grains.Ledger;

namespace Campaigns.Tests.Rules;

public sealed class ShardStockTests
{
    private readonly ShardStock _stock = new();

    [Fact]
    public void A_claim_takes_a_unit_from_the_first_pool_that_has_one_and_holds_it_as_promised()
    {
        _stock.Grant("quota", 1);
        _stock.Grant("", 5);

        Assert.Equal("quota", _stock.Promise(["quota", ""]));
        Assert.Equal("", _stock.Promise(["quota", ""]));
        Assert.Equal((0, 1), (_stock.Free("quota"), _stock.Promised("quota")));
        Assert.Equal((4, 1), (_stock.Free(""), _stock.Promised("")));
        Assert.Null(_stock.Promise(["other"]));
    }

    [Fact]
    public void A_written_claim_s_unit_is_no_longer_promised_nor_free()
    {
        _stock.Grant("", 2);
        _stock.Promise([""]);

        _stock.Settle("");

        Assert.Equal((1, 0), (_stock.Free(""), _stock.Promised("")));
    }

    [Fact]
    public void A_claim_refused_after_taking_its_unit_leaves_it_free_again()
    {
        _stock.Grant("", 2);
        _stock.Promise([""]);

        _stock.Unpromise("");

        Assert.Equal((2, 0), (_stock.Free(""), _stock.Promised("")));
    }

    [Fact]
    public void Giving_back_takes_every_free_unit_and_keeps_the_promised_ones()
    {
        _stock.Grant("", 10);
        _stock.Promise([""]);
        _stock.Promise([""]);

        Assert.Equal(8, _stock.TakeFree(""));
        Assert.Equal((0, 2), (_stock.Free(""), _stock.Promised("")));
        Assert.Null(_stock.Promise([""]));
    }

    [Fact]
    public void Unspent_is_what_the_ledger_grants_beyond_issued_and_promised_never_below_zero()
    {
        _stock.Grant("", 3);
        _stock.Promise([""]);

        Assert.Equal(5, _stock.Unspent(new StockLeaseRecord(0, "", Granted: 10, Issued: 4)));
        Assert.Equal(0, _stock.Unspent(new StockLeaseRecord(0, "", Granted: 4, Issued: 4)));
    }

    [Fact]
    public void Relearning_takes_the_ledger_s_word_and_says_what_was_believed_when_it_differed()
    {
        _stock.Grant("", 3);

        Assert.Equal(3, _stock.Relearn(new StockLeaseRecord(0, "", Granted: 20, Issued: 10)));
        Assert.Equal(10, _stock.Free(""));
        Assert.Null(_stock.Relearn(new StockLeaseRecord(0, "", Granted: 20, Issued: 10)));
    }

    [Fact]
    public void Freed_counts_every_change_that_frees_units_and_nothing_else()
    {
        var before = _stock.Freed;
        _stock.Grant("", 3);
        _stock.Promise([""]);
        _stock.Unpromise("");
        _stock.Relearn(new StockLeaseRecord(0, "", Granted: 4, Issued: 0));
        Assert.Equal(before + 3, _stock.Freed);

        _stock.Promise([""]);
        _stock.Settle("");
        _stock.TakeFree("");
        _stock.Relearn(new StockLeaseRecord(0, "", Granted: 4, Issued: 4));
        Assert.Equal(before + 3, _stock.Freed);
    }
}
