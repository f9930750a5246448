using System.Security.Cryptography;
using System.Text;
using Campaigns.Client;
using Campaigns.Proto;
using Google.Protobuf.WellKnownTypes;

namespace Campaigns.Tests.Client;

public sealed class RedemptionEventCsvTests
{
    private static RedemptionEvent Redeemed() => new()
    {
        Sequence = 1,
        EventType = "REDEEMED",
        Code = "ABCD",
        CampaignId = "spring",
        MerchantId = "m-1",
        OrderId = "o-1",
        OrderAmountCents = 10000,
        DiscountCents = 2000,
        OccurredAt = Timestamp.FromDateTime(new DateTime(2026, 11, 23, 10, 15, 30, 123, DateTimeKind.Utc)),
    };

    private static RedemptionEvent Refunded() => new()
    {
        Sequence = 2,
        EventType = "REFUNDED",
        Code = "ABCD",
        CampaignId = "spring",
        MerchantId = "m-1",
        OrderId = "o-1",
        RefundId = "r-1",
        OrderAmountCents = 10000,
        DiscountCents = -2000,
        OccurredAt = Timestamp.FromDateTime(new DateTime(2026, 11, 24, 8, 0, 0, DateTimeKind.Utc)),
    };

    [Fact]
    public void A_redemption_is_one_line_in_header_order_with_utc_milliseconds()
    {
        Assert.Equal(
            "sequence,event_type,code,campaign_id,merchant_id,order_id,refund_id,order_amount_cents,discount_cents,occurred_at",
            RedemptionEventCsv.Header);
        Assert.Equal("1,REDEEMED,ABCD,spring,m-1,o-1,,10000,2000,2026-11-23T10:15:30.123Z", RedemptionEventCsv.Line(Redeemed()));
        Assert.Equal("2,REFUNDED,ABCD,spring,m-1,o-1,r-1,10000,-2000,2026-11-24T08:00:00.000Z", RedemptionEventCsv.Line(Refunded()));
    }

    [Fact]
    public void Fields_with_commas_quotes_or_line_breaks_are_quoted_rfc_4180_style()
    {
        var e = Redeemed();
        e.OrderId = "order,42";
        e.MerchantId = "the \"best\" shop";
        e.RefundId = "line\nbreak";

        Assert.Equal(
            "1,REDEEMED,ABCD,spring,\"the \"\"best\"\" shop\",\"order,42\",\"line\nbreak\",10000,2000,2026-11-23T10:15:30.123Z",
            RedemptionEventCsv.Line(e));
    }

    [Fact]
    public void An_event_without_a_time_leaves_occurred_at_empty()
    {
        var e = Redeemed();
        e.OccurredAt = null;

        Assert.EndsWith(",2000,", RedemptionEventCsv.Line(e), StringComparison.Ordinal);
    }

    [Fact]
    public void The_checksum_is_sha256_over_each_line_followed_by_a_newline()
    {
        Assert.Equal("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", RedemptionEventCsv.Checksum([]));
        Assert.Equal("87428fc522803d31065e7bce3cf03fe475096631e5e07bbd7a0fde60c4cf25c7", RedemptionEventCsv.Checksum(["a"]));

        string[] lines = [RedemptionEventCsv.Line(Redeemed()), RedemptionEventCsv.Line(Refunded())];
        Assert.Equal("f4bcd689fb1fd13af577c5dfd0694d0f14f47986c2d3a8597de3704eb787c8f8", RedemptionEventCsv.Checksum(lines));

        var independent = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(string.Concat(lines.Select(l => l + "\n")))));
        Assert.Equal(independent, RedemptionEventCsv.Checksum(lines));
    }

    [Fact]
    public void Non_ascii_text_is_hashed_as_utf8()
    {
        var e = Redeemed();
        e.MerchantId = "南京路-01";
        var line = RedemptionEventCsv.Line(e);

        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(line + "\n"))), RedemptionEventCsv.Checksum([line]));
    }

    [Fact]
    public void A_tally_builds_the_summary_the_server_sends_and_agrees_with_it()
    {
        using var server = new RedemptionExportTally();
        server.Add(Redeemed());
        server.Add(Refunded());
        var summary = server.ToSummary();

        Assert.Equal(2, summary.Events);
        Assert.Equal(1, summary.Redemptions);
        Assert.Equal(1, summary.Refunds);
        Assert.Equal(0, summary.NetDiscountCents);
        Assert.Equal("f4bcd689fb1fd13af577c5dfd0694d0f14f47986c2d3a8597de3704eb787c8f8", summary.ChecksumSha256);

        using var client = new RedemptionExportTally();
        client.Add(Redeemed());
        client.Add(Refunded());
        Assert.Empty(client.Differences(summary));
        Assert.Equal("# events=2 net_discount_cents=0 sha256=f4bcd689fb1fd13af577c5dfd0694d0f14f47986c2d3a8597de3704eb787c8f8", client.CommentLine());
    }

    [Fact]
    public void A_tally_that_missed_an_event_disagrees_with_the_summary()
    {
        using var server = new RedemptionExportTally();
        server.Add(Redeemed());
        server.Add(Refunded());

        using var client = new RedemptionExportTally();
        client.Add(Redeemed());

        var differences = client.Differences(server.ToSummary());
        Assert.Contains(differences, d => d.StartsWith("events:", StringComparison.Ordinal));
        Assert.Contains(differences, d => d.StartsWith("net_discount_cents:", StringComparison.Ordinal));
        Assert.Contains(differences, d => d.StartsWith("sha256:", StringComparison.Ordinal));
    }
}
