using Campaigns.Grains.Campaigns;
using Campaigns.Grains.Common;
using Campaigns.Grains.Issuance;
using Campaigns.Grains.Ledger;

namespace Campaigns.Tests.Rules;

public sealed class ShardBooksTests
{
    private static readonly DateOnly Today = new(2026, 11, 11);
    private readonly ShardBooks _books = new();
    private long _seq;

    private VoucherRecord Written(string user, string requestId, DateOnly? day = null, string channel = "alipay", string district = "")
    {
        var seq = ++_seq;
        var voucher = new VoucherRecord
        {
            Code = $"V{seq}",
            CampaignId = "c",
            CampaignNumber = 9,
            Shard = 2,
            Seq = seq,
            UserId = user,
            Channel = channel,
            RequestId = requestId,
            District = district,
            Status = StoredVoucherStatus.Issued,
            Version = 1,
            Terms = new VoucherTerms(DiscountKind.AmountOff, 500, 2_000, 0, 0, 0),
            ValidFrom = DateTimeOffset.UnixEpoch,
            ValidUntil = DateTimeOffset.UnixEpoch.AddDays(7),
            IssuedAt = DateTimeOffset.UnixEpoch,
            Pool = "",
            IssuedDay = day ?? Today,
        };
        _books.Remember(voucher);
        return voucher;
    }

    [Fact]
    public void A_request_id_is_remembered_for_its_channel_and_user_with_the_voucher_s_key()
    {
        var voucher = Written("alice", "r1", district: "huangpu");

        Assert.Equal(new IssuedRequest("huangpu", voucher.Seq), _books.IssuedFor("alipay", "alice", "r1"));
        Assert.Null(_books.IssuedFor("meituan", "alice", "r1"));
        Assert.Null(_books.IssuedFor("alipay", "bob", "r1"));
        Assert.Equal(1, _books.Issued);
        Assert.Equal(1, _books.LastSeq);
    }

    [Fact]
    public void Each_of_a_user_s_vouchers_answers_for_its_own_request_id_and_channel()
    {
        var first = Written("alice", "r1");
        var second = Written("alice", "r2", district: "jingan");
        var third = Written("alice", "r3", channel: "meituan");

        Assert.Equal(first.Seq, _books.IssuedFor("alipay", "alice", "r1")?.Seq);
        Assert.Equal(new IssuedRequest("jingan", second.Seq), _books.IssuedFor("alipay", "alice", "r2"));
        Assert.Equal(third.Seq, _books.IssuedFor("meituan", "alice", "r3")?.Seq);
        Assert.Null(_books.IssuedFor("alipay", "alice", "r3"));
        Assert.Null(_books.IssuedFor("meituan", "alice", "r2"));
        Assert.Null(_books.IssuedFor("alipay", "alice", "r4"));
        Assert.Equal(3, _books.Issued);
    }

    [Fact]
    public void A_user_with_many_vouchers_still_finds_each_request_id_and_no_other()
    {
        var written = Enumerable.Range(0, 40).Select(i => Written("alice", $"r{i}", channel: i % 2 == 0 ? "alipay" : "meituan")).ToList();

        for (var i = 0; i < written.Count; i++)
        {
            var channel = i % 2 == 0 ? "alipay" : "meituan";
            Assert.Equal(written[i].Seq, _books.IssuedFor(channel, "alice", $"r{i}")?.Seq);
            Assert.Null(_books.IssuedFor(channel == "alipay" ? "meituan" : "alipay", "alice", $"r{i}"));
        }

        Assert.Null(_books.IssuedFor("alipay", "alice", "r40"));
        Assert.Equal(written.Select(v => v.Key).Reverse(), _books.KeysOf("alice", 9, 2));
    }

    [Fact]
    public void The_per_user_limit_counts_written_vouchers_and_claims_in_flight()
    {
        Written("alice", "r1");
        Assert.Null(_books.LimitRefusal("alice", Today, perUserLimit: 2, perUserDailyLimit: 0));

        _books.Admit("alice", Today);
        Assert.Equal(Refusal.UserLimitReached, _books.LimitRefusal("alice", Today, 2, 0)?.Reason);
        Assert.Null(_books.LimitRefusal("bob", Today, 2, 0));

        // A claim that failed gives its place back.
        _books.Release("alice", Today);
        Assert.Null(_books.LimitRefusal("alice", Today, 2, 0));
    }

    [Fact]
    public void The_daily_limit_counts_each_day_apart_and_names_the_user()
    {
        Written("alice", "r1", Today);
        _books.Admit("alice", Today.AddDays(1));

        var today = _books.LimitRefusal("alice", Today, perUserLimit: 10, perUserDailyLimit: 1);
        Assert.Equal(Refusal.UserDailyLimitReached, today?.Reason);
        Assert.Contains("alice", today?.Message);
        Assert.Equal(Refusal.UserDailyLimitReached, _books.LimitRefusal("alice", Today.AddDays(1), 10, 1)?.Reason);
        Assert.Null(_books.LimitRefusal("alice", Today.AddDays(2), 10, 1));
        Assert.Null(_books.LimitRefusal("alice", Today, 10, perUserDailyLimit: 0));
    }

    [Fact]
    public void A_user_s_keys_come_newest_first_and_only_from_written_vouchers()
    {
        var first = Written("alice", "r1");
        Written("bob", "r2");
        var second = Written("alice", "r3");
        _books.Admit("alice", Today);

        Assert.Equal([second.Key, first.Key], _books.KeysOf("alice", 9, 2));
        Assert.Empty(_books.KeysOf("carol", 9, 2));
    }

    [Fact]
    public void Books_rebuilt_from_the_same_rows_decide_the_same()
    {
        var rows = new[] { Written("alice", "r1"), Written("alice", "r2", Today.AddDays(1)), Written("bob", "r3") };
        var rebuilt = new ShardBooks();
        foreach (var row in rows)
        {
            rebuilt.Remember(row);
        }

        Assert.Equal(_books.LastSeq, rebuilt.LastSeq);
        Assert.Equal(_books.KeysOf("alice", 9, 2), rebuilt.KeysOf("alice", 9, 2));
        Assert.Equal(_books.LimitRefusal("alice", Today, 2, 0), rebuilt.LimitRefusal("alice", Today, 2, 0));
        Assert.Equal(_books.IssuedFor("alipay", "bob", "r3"), rebuilt.IssuedFor("alipay", "bob", "r3"));
    }

    [Fact]
    public void A_user_is_known_while_a_claim_is_in_flight_and_once_a_voucher_is_written()
    {
        Assert.False(_books.Knows("alice"));

        _books.Admit("alice", Today);
        Assert.True(_books.Knows("alice"));
        _books.Release("alice", Today);
        Assert.False(_books.Knows("alice")); // refused before its write: nothing of alice's is here

        _books.Admit("alice", Today);
        _books.Remember(Written("alice", "r1"));
        _books.Release("alice", Today);
        Assert.True(_books.Knows("alice"));
        Assert.False(_books.Knows("bob"));
    }
}
