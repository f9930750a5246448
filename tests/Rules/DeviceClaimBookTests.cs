using Campaigns.Grains.Issuance;
using Campaigns.Grains.Ledger;

namespace Campaigns.Tests.Rules;

public sealed class DeviceClaimBookTests
{
    private readonly DeviceClaimBook _book = new();

    private static DeviceClaim Claim(string user, string requestId = "r1", string device = "phone-1", string channel = "alipay") =>
        new(channel, user, requestId, device);

    private static DeviceSettlement Written(DeviceClaim claim, int shard, long seq) =>
        new(claim.Channel, claim.UserId, claim.RequestId, claim.DeviceId, shard, seq);

    private static DeviceSettlement GivenUp(DeviceClaim claim) => new(claim.Channel, claim.UserId, claim.RequestId, claim.DeviceId, 0, 0);

    [Fact]
    public void A_device_at_its_limit_is_refused_whoever_the_user_and_channel_are()
    {
        Assert.True(_book.TryReserve(Claim("alice"), limit: 2));
        _book.Settle(Written(Claim("alice"), shard: 0, seq: 1));
        Assert.True(_book.TryReserve(Claim("bob", channel: "meituan"), limit: 2));
        _book.Settle(Written(Claim("bob", channel: "meituan"), shard: 3, seq: 1));

        Assert.False(_book.TryReserve(Claim("carol"), limit: 2));
        Assert.False(_book.TryReserve(Claim("dave", channel: "meituan"), limit: 2));
        Assert.True(_book.TryReserve(Claim("carol", device: "phone-2"), limit: 2));
        Assert.Equal(2, _book.Counted("phone-1"));
    }

    [Fact]
    public void Claims_in_flight_count_against_the_limit_before_they_are_written()
    {
        Assert.True(_book.TryReserve(Claim("alice"), limit: 2));
        Assert.True(_book.TryReserve(Claim("bob"), limit: 2));

        Assert.False(_book.TryReserve(Claim("carol"), limit: 2));
        Assert.Equal(2, _book.Counted("phone-1"));
    }

    [Fact]
    public void A_retried_claim_keeps_its_own_slot_even_at_the_limit()
    {
        Assert.True(_book.TryReserve(Claim("alice"), limit: 1));

        Assert.True(_book.TryReserve(Claim("alice"), limit: 1));
        Assert.False(_book.TryReserve(Claim("alice", requestId: "r2"), limit: 1));
        Assert.False(_book.TryReserve(Claim("alice", channel: "meituan"), limit: 1));
        Assert.Equal(1, _book.Counted("phone-1"));
    }

    [Fact]
    public void A_slot_given_up_is_free_again_and_a_written_one_stays_taken()
    {
        Assert.True(_book.TryReserve(Claim("alice"), limit: 1));
        _book.Settle(GivenUp(Claim("alice")));
        Assert.Equal(0, _book.Counted("phone-1"));

        Assert.True(_book.TryReserve(Claim("bob"), limit: 1));
        _book.Settle(Written(Claim("bob"), shard: 1, seq: 7));
        _book.Settle(GivenUp(Claim("bob"))); // a late or repeated message about a written claim frees nothing
        Assert.Equal(1, _book.Counted("phone-1"));
        Assert.False(_book.TryReserve(Claim("carol"), limit: 1));
    }

    [Fact]
    public void A_rebuilt_book_counts_the_ledger_s_vouchers_per_device()
    {
        _book.Remember(new DeviceClaimCount("phone-1", Shard: 0, Vouchers: 2, LastSeq: 9));
        _book.Remember(new DeviceClaimCount("phone-1", Shard: 5, Vouchers: 1, LastSeq: 4));
        _book.Remember(new DeviceClaimCount("phone-2", Shard: 0, Vouchers: 1, LastSeq: 12));

        Assert.Equal(3, _book.Counted("phone-1"));
        Assert.Equal(1, _book.Counted("phone-2"));
        Assert.False(_book.TryReserve(Claim("alice"), limit: 3));
        Assert.True(_book.TryReserve(Claim("alice", device: "phone-2"), limit: 3));
    }

    [Fact]
    public void A_write_reported_after_a_rebuild_counts_once_whether_or_not_the_rebuild_read_it()
    {
        // The bucket restarted while these claims were in flight: it never saw their reservations.
        _book.Remember(new DeviceClaimCount("phone-1", Shard: 0, Vouchers: 1, LastSeq: 12));

        _book.Settle(Written(Claim("alice"), shard: 0, seq: 12)); // read already
        Assert.Equal(1, _book.Counted("phone-1"));
        _book.Settle(Written(Claim("bob"), shard: 0, seq: 13)); // written after the read
        Assert.Equal(2, _book.Counted("phone-1"));
        _book.Settle(Written(Claim("carol"), shard: 4, seq: 1)); // a shard the read found nothing of
        Assert.Equal(3, _book.Counted("phone-1"));
        _book.Settle(GivenUp(Claim("dave"))); // nothing to free
        Assert.Equal(3, _book.Counted("phone-1"));
    }
}
