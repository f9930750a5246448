using Campaigns.Grains.Issuance;

namespace Campaigns.Tests.Rules;

public sealed class PartnerDropCapTests
{
    private static readonly DateTimeOffset Start = Campaign.Start;

    /// <summary>A shard's part of a cap lasting 3 minutes, 3 vouchers a minute per partner on this shard.</summary>
    private readonly PartnerDropCap _cap = new(perMinute: 12, minutes: 3, Start, share: 3);

    private static DateTimeOffset At(double seconds) => Start.AddSeconds(seconds);

    [Fact]
    public void Minutes_are_whole_minutes_counted_from_starts_at_and_end_after_the_last_capped_one()
    {
        Assert.Null(_cap.MinuteOf(At(-0.001)));
        Assert.Equal(0, _cap.MinuteOf(At(0)));
        Assert.Equal(0, _cap.MinuteOf(At(59.999)));
        Assert.Equal(1, _cap.MinuteOf(At(60)));
        Assert.Equal(2, _cap.MinuteOf(At(179.999)));
        Assert.Null(_cap.MinuteOf(At(180)));
        Assert.Null(_cap.MinuteOf(Start.AddDays(3)));
    }

    [Theory]
    [InlineData(12, 4, new long[] { 3, 3, 3, 3 })]
    [InlineData(10, 4, new long[] { 3, 3, 2, 2 })]
    [InlineData(4, 4, new long[] { 1, 1, 1, 1 })]
    [InlineData(1_000, 1, new long[] { 1_000 })]
    public void The_shards_shares_add_up_to_exactly_the_cap(long perMinute, int shards, long[] shares)
    {
        var actual = Enumerable.Range(0, shards).Select(shard => PartnerDropCap.ShareOf(perMinute, shards, shard)).ToArray();

        Assert.Equal(shares, actual);
        Assert.Equal(perMinute, actual.Sum());
    }

    [Fact]
    public void A_campaign_without_a_cap_gives_its_shards_none_and_one_with_a_cap_gives_each_its_share()
    {
        Assert.Null(PartnerDropCap.For(Campaign.Valid(), shard: 0));

        var capped = Campaign.Valid() with { ShardCount = 4, PartnerCapPerMinute = 10, PartnerCapMinutes = 5 };
        var shard3 = PartnerDropCap.For(capped, shard: 3)!;
        Assert.Equal(2, shard3.Share);
        Assert.Equal(5, shard3.Minutes);
        Assert.Equal(0, shard3.MinuteOf(capped.StartsAt));
    }

    [Fact]
    public void A_partner_is_admitted_its_share_of_a_minute_counting_claims_in_flight_and_no_more()
    {
        var admitted = Enumerable.Range(0, 3).Select(_ => _cap.TryAdmit("alipay", At(10), out var minute) && minute == 0).ToList();

        Assert.Equal([true, true, true], admitted);
        Assert.False(_cap.TryAdmit("alipay", At(59), out var refused));
        Assert.Null(refused);
    }

    [Fact]
    public void Another_partner_and_the_next_minute_have_shares_of_their_own()
    {
        Fill("alipay", At(0));

        Assert.True(_cap.TryAdmit("meituan", At(1), out var other));
        Assert.Equal(0, other);
        Assert.True(_cap.TryAdmit("alipay", At(60), out var next));
        Assert.Equal(1, next);
    }

    [Fact]
    public void A_claim_answered_without_a_voucher_gives_its_place_back()
    {
        Fill("alipay", At(0));
        _cap.Release("alipay", 0);

        Assert.True(_cap.TryAdmit("alipay", At(1), out _));
        Assert.False(_cap.TryAdmit("alipay", At(1), out _));
    }

    [Fact]
    public void A_written_claim_keeps_its_place_as_a_voucher_of_its_minute()
    {
        Assert.True(_cap.TryAdmit("alipay", At(5), out var minute));
        // The grain's commit: the claim is no longer in flight, its voucher is written.
        _cap.Release("alipay", minute);
        _cap.Remember("alipay", At(5));
        Fill("alipay", At(6), claims: 2);

        Assert.False(_cap.TryAdmit("alipay", At(7), out _));
    }

    [Fact]
    public void After_the_last_capped_minute_claims_are_neither_counted_nor_refused()
    {
        for (var i = 0; i < 100; i++)
        {
            Assert.True(_cap.TryAdmit("alipay", At(180 + i), out var minute));
            Assert.Null(minute);
            _cap.Remember("alipay", At(180 + i));
        }
    }

    [Fact]
    public void Books_rebuilt_from_the_shard_s_rows_refuse_as_the_books_that_wrote_them()
    {
        var rows = new (string Channel, DateTimeOffset IssuedAt)[]
        {
            ("alipay", At(1)), ("alipay", At(2)), ("meituan", At(3)), ("alipay", At(59.999)), // minute 0: alipay full
            ("alipay", At(61)), // minute 1: one
            ("alipay", At(200)), ("alipay", At(201)), ("alipay", At(202)), ("alipay", At(203)), // after the cap: not counted
        };
        var rebuilt = new PartnerDropCap(perMinute: 12, minutes: 3, Start, share: 3);
        foreach (var (channel, issuedAt) in rows)
        {
            rebuilt.Remember(channel, issuedAt);
        }

        Assert.False(rebuilt.TryAdmit("alipay", At(30), out _));
        Assert.True(rebuilt.TryAdmit("meituan", At(30), out _));
        Assert.True(rebuilt.TryAdmit("alipay", At(90), out _));
        Assert.True(rebuilt.TryAdmit("alipay", At(90), out _));
        Assert.False(rebuilt.TryAdmit("alipay", At(90), out _));
        Assert.True(rebuilt.TryAdmit("alipay", At(120), out var lastMinute));
        Assert.Equal(2, lastMinute);
    }

    [Fact]
    public void A_claim_stamped_in_the_next_minute_moves_its_place_there_or_is_refused_when_that_minute_is_full()
    {
        Assert.True(_cap.TryAdmit("alipay", At(59.9), out var waited));
        Assert.True(_cap.Move("alipay", ref waited, At(60.1)));
        Assert.Equal(1, waited);
        Fill("alipay", At(0), claims: 3); // minute 0 had its place back

        Fill("alipay", At(61), claims: 2);
        Assert.False(_cap.TryAdmit("alipay", At(119.9), out _));

        var stays = (int?)1;
        Assert.True(_cap.Move("alipay", ref stays, At(100)));
        Assert.Equal(1, stays);

        Assert.True(_cap.TryAdmit("meituan", At(119.9), out var refusedLate));
        Fill("meituan", At(120), claims: 3);
        Assert.False(_cap.Move("meituan", ref refusedLate, At(120.1)));
        Assert.Null(refusedLate);
        Fill("meituan", At(100), claims: 3); // its place in minute 1 was given up
    }

    [Fact]
    public void A_start_finer_than_the_ledger_s_milliseconds_puts_a_voucher_s_stored_time_in_its_claim_s_minute()
    {
        var start = Start.AddTicks(7_000); // 0.7 ms
        var cap = new PartnerDropCap(perMinute: 12, minutes: 3, start, share: 1);
        var claimedAt = start.AddMinutes(1).AddTicks(1_000); // 60.0008 s after the start as given

        Assert.True(cap.TryAdmit("alipay", claimedAt, out var minute));
        Assert.Equal(minute, cap.MinuteOf(Grains.Common.LedgerClock.ToLedgerPrecision(claimedAt)));
    }

    [Fact]
    public void A_refusal_asks_the_partner_back_when_the_next_minute_starts()
    {
        var (retryAfter, message) = _cap.Refusal("alipay", At(75.5));

        Assert.Equal(TimeSpan.FromSeconds(44.5), retryAfter);
        Assert.Contains("'alipay'", message, StringComparison.Ordinal);
        Assert.Contains("12 vouchers a minute", message, StringComparison.Ordinal);
        Assert.Contains(At(120).ToString("O"), message, StringComparison.Ordinal);
        Assert.Equal(TimeSpan.FromMinutes(1), _cap.Refusal("alipay", At(0)).RetryAfter);
    }

    private void Fill(string channel, DateTimeOffset at, int claims = 3)
    {
        for (var i = 0; i < claims; i++)
        {
            Assert.True(_cap.TryAdmit(channel, at, out _));
        }
    }
}
