using System.Text;
using Campaigns.Client.Events;
using Campaigns.Grains.Access;
using Campaigns.Grains.Common;
using Campaigns.Grains.Events;
using Campaigns.Proto.Callbacks;

namespace Campaigns.Tests.Rules;

public sealed class CallbackSignatureTests
{
    private const string Secret = "whsec_test-secret";
    private static readonly DateTimeOffset Now = new(2026, 12, 7, 8, 0, 0, TimeSpan.Zero);
    private static readonly byte[] Body = Encoding.UTF8.GetBytes("""{"id":"evt_vi_1","type":"voucher.issued","created_at":"2026-12-07T08:00:00.000Z","data":{}}""");

    private static string HeaderAt(DateTimeOffset at, string secret = Secret) => CallbackSignature.Header(secret, at.ToUnixTimeSeconds(), Body);

    [Fact]
    public void The_signature_is_the_hex_HMAC_SHA256_of_t_dot_body_with_the_secret() =>
        // printf '1700000000.{}' | openssl dgst -sha256 -hmac 'whsec_test-secret'
        Assert.Equal("t=1700000000,v1=80b42dac3da95f0e6efa0042ecc58b0c697e93163bc8315a556f4efea515f1b9",
            CallbackSignature.Header(Secret, 1_700_000_000, "{}"u8));

    [Fact]
    public void A_delivery_signed_with_the_secret_within_the_tolerance_verifies() =>
        Assert.True(CampaignsSignature.Verify(HeaderAt(Now.AddMinutes(-4)), Body, Secret, TimeSpan.FromMinutes(5), Now));

    [Fact]
    public void A_changed_body_another_secret_or_an_old_timestamp_fails()
    {
        var tolerance = TimeSpan.FromMinutes(5);
        var changed = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(Body).Replace("issued", "redeemed", StringComparison.Ordinal));

        Assert.False(CampaignsSignature.Verify(HeaderAt(Now), changed, Secret, tolerance, Now));
        Assert.False(CampaignsSignature.Verify(HeaderAt(Now, "whsec_other"), Body, Secret, tolerance, Now));
        Assert.False(CampaignsSignature.Verify(HeaderAt(Now.AddMinutes(-6)), Body, Secret, tolerance, Now));
        Assert.False(CampaignsSignature.Verify(HeaderAt(Now.AddMinutes(6)), Body, Secret, tolerance, Now));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("v1=abc")]
    [InlineData("t=abc,v1=abc")]
    [InlineData("t=1700000000")]
    [InlineData("garbage")]
    public void A_malformed_header_fails(string? header) =>
        Assert.False(CampaignsSignature.Verify(header, Body, Secret, TimeSpan.FromMinutes(5), Now));

    [Fact]
    public void Any_one_of_several_v1_signatures_may_match()
    {
        var header = HeaderAt(Now);
        var withOther = header.Replace("v1=", "v1=00ff,v1=", StringComparison.Ordinal);

        Assert.True(CampaignsSignature.Verify(withOther, Body, Secret, TimeSpan.FromMinutes(5), Now));
    }
}

public sealed class CallbackBackoffTests
{
    private static readonly TimeSpan First = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan Max = TimeSpan.FromHours(1);

    [Fact]
    public void Each_retry_waits_twice_as_long_as_the_one_before_up_to_the_cap()
    {
        var upper = Enumerable.Range(0, 14).Select(n => CallbackBackoff.Delay(n, random: 0.999999, First, Max).TotalSeconds).ToList();

        Assert.Equal(5, upper[0], precision: 3);
        Assert.Equal(10, upper[1], precision: 3);
        Assert.Equal(640, upper[7], precision: 2);
        Assert.All(upper.Skip(10), d => Assert.Equal(3_600, d, precision: 1));
    }

    [Fact]
    public void Jitter_keeps_each_delay_between_half_and_all_of_its_step()
    {
        for (var retry = 0; retry < 20; retry++)
        {
            var step = Math.Min(First.TotalMilliseconds * Math.Pow(2, retry), Max.TotalMilliseconds);
            Assert.Equal(step / 2, CallbackBackoff.Delay(retry, 0, First, Max).TotalMilliseconds, precision: 3);
            Assert.InRange(CallbackBackoff.Delay(retry, 0.5, First, Max).TotalMilliseconds, step / 2, step);
        }
    }

    [Fact]
    public void A_day_of_retries_is_about_forty_attempts_the_last_at_the_window_s_end()
    {
        var start = new DateTimeOffset(2026, 12, 7, 0, 0, 0, TimeSpan.Zero);
        var end = start.AddHours(24);
        var (now, attempts) = (start, 1);
        while (CallbackBackoff.Next(attempts - 1, 0.5, First, Max, now, end) is { } delay)
        {
            now += delay;
            attempts++;
        }

        Assert.Equal(end, now);
        Assert.InRange(attempts, 38, 46);
        Assert.Null(CallbackBackoff.Next(0, 0.5, First, Max, end, end));
    }
}

public sealed class CallbackOrderTests
{
    [Fact]
    public void A_redemption_waits_until_its_voucher_s_issue_has_been_read()
    {
        var shard = new ShardCursor(Issued: 10, Expired: 0);

        Assert.True(CallbackOrder.RedemptionMayGo(shard, 10));
        Assert.False(CallbackOrder.RedemptionMayGo(shard, 11));
    }

    [Fact]
    public void An_expiry_waits_for_the_issue_the_redemptions_and_the_voucher_s_end()
    {
        var now = new DateTimeOffset(2026, 12, 7, 0, 0, 0, TimeSpan.Zero);
        var shard = new ShardCursor(Issued: 10, Expired: 0);

        Assert.True(CallbackOrder.ExpiryMayGo(shard, 10, validUntil: now, now, redemptionsRead: true));
        Assert.False(CallbackOrder.ExpiryMayGo(shard, 11, validUntil: now, now, redemptionsRead: true));
        Assert.False(CallbackOrder.ExpiryMayGo(shard, 10, validUntil: now.AddTicks(1), now, redemptionsRead: true));
        Assert.False(CallbackOrder.ExpiryMayGo(shard, 10, validUntil: now, now, redemptionsRead: false));
    }
}

public sealed class SubscriptionRulesTests
{
    [Theory]
    [InlineData("https://partner.example/hooks")]
    [InlineData("http://127.0.0.1:8080/hook?x=1")]
    public void An_absolute_http_or_https_url_is_taken(string url) =>
        Assert.Equal(new Uri(url).AbsoluteUri, SubscriptionRules.RequireUrl(url, allowPrivate: true));

    [Theory]
    [InlineData("http://127.0.0.1:8080/hook")]
    [InlineData("http://localhost/hook")]
    [InlineData("http://hooks.localhost/hook")]
    [InlineData("http://10.1.2.3/hook")]
    [InlineData("http://172.20.0.5/hook")]
    [InlineData("http://192.168.1.10/hook")]
    [InlineData("http://169.254.169.254/latest/meta-data/")]
    [InlineData("http://[::1]/hook")]
    [InlineData("http://[fd00::1]/hook")]
    [InlineData("http://[::ffff:10.0.0.1]/hook")]
    [InlineData("http://0.0.0.0/hook")]
    public void A_url_into_a_private_network_is_refused_unless_the_operator_allows_it(string url)
    {
        var refused = Assert.Throws<CampaignsException>(() => SubscriptionRules.RequireUrl(url));
        Assert.Equal(Refusal.InvalidArgument, refused.Code);
        Assert.StartsWith("url:", refused.Message, StringComparison.Ordinal);
        Assert.Contains("public internet", refused.Message, StringComparison.Ordinal);

        Assert.Equal(new Uri(url).AbsoluteUri, SubscriptionRules.RequireUrl(url, allowPrivate: true));
    }

    [Theory]
    [InlineData("8.8.8.8", true)]
    [InlineData("203.0.113.7", true)]
    [InlineData("2001:4860:4860::8888", true)]
    [InlineData("172.15.255.255", true)]
    [InlineData("172.32.0.1", true)]
    [InlineData("172.16.0.1", false)]
    [InlineData("100.64.0.1", false)]
    [InlineData("224.0.0.1", false)]
    [InlineData("fe80::1", false)]
    public void Public_addresses_are_told_from_the_others(string address, bool isPublic) =>
        Assert.Equal(isPublic, CallbackAddresses.IsPublic(System.Net.IPAddress.Parse(address)));

    [Theory]
    [InlineData("")]
    [InlineData("partner.example/hooks")]
    [InlineData("/hooks")]
    [InlineData("ftp://partner.example/hooks")]
    [InlineData("javascript:alert(1)")]
    [InlineData("https://user:secret@partner.example/hooks")]
    public void Anything_else_is_refused_naming_the_url(string url)
    {
        var refused = Assert.Throws<CampaignsException>(() => SubscriptionRules.RequireUrl(url));
        Assert.Equal(Refusal.InvalidArgument, refused.Code);
        Assert.StartsWith("url:", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Event_types_are_checked_sorted_and_deduplicated()
    {
        Assert.Equal([CallbackEventType.VoucherIssued, CallbackEventType.CampaignEnded],
            SubscriptionRules.RequireEventTypes(["campaign.ended", "voucher.issued", "campaign.ended"]));
        Assert.Throws<CampaignsException>(() => SubscriptionRules.RequireEventTypes(["voucher.issued", "VOUCHER.ISSUED"]));
        Assert.Throws<CampaignsException>(() => SubscriptionRules.RequireEventTypes([]));
    }

    [Fact]
    public void Campaign_events_are_for_organisers_and_voucher_events_for_both()
    {
        Assert.Equal([CallbackEventType.CampaignSoldOut], SubscriptionRules.RequireEventTypes(["campaign.sold_out"], Role.Organiser));
        Assert.Equal([CallbackEventType.VoucherExpired], SubscriptionRules.RequireEventTypes(["voucher.expired"], Role.Partner));
        Assert.StartsWith("event_types:", Assert.Throws<CampaignsException>(() =>
            SubscriptionRules.RequireEventTypes(["voucher.issued", "campaign.ended"], Role.Partner)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_same_owner_and_definition_always_make_the_same_id_and_any_difference_another()
    {
        CallbackEventType[] types = [CallbackEventType.VoucherIssued];
        var id = SubscriptionRules.IdFor(Role.Partner, "meituan", "https://a.example/", types, "", "meituan");

        Assert.True(SubscriptionRules.LooksLikeId(id));
        Assert.Equal(id, SubscriptionRules.IdFor(Role.Partner, "meituan", "https://a.example/", types, "", "meituan"));
        Assert.NotEqual(id, SubscriptionRules.IdFor(Role.Partner, "eleme", "https://a.example/", types, "", "meituan"));
        Assert.NotEqual(id, SubscriptionRules.IdFor(Role.Organiser, "meituan", "https://a.example/", types, "", "meituan"));
        Assert.NotEqual(id, SubscriptionRules.IdFor(Role.Partner, "meituan", "https://a.example/", [CallbackEventType.VoucherRedeemed], "", "meituan"));
        Assert.NotEqual(id, SubscriptionRules.IdFor(Role.Partner, "meituan", "https://a.example/", types, "spring", "meituan"));
    }
}
