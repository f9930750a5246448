using Campaigns.Client;
using Campaigns.Proto;
using Google.Protobuf.WellKnownTypes;

namespace Campaigns.Tests.Client;

public sealed class ArgumentTextTests
{
    private static readonly TimeZoneInfo Shanghai =
        TimeZoneInfo.CreateCustomTimeZone("UTC+08", TimeSpan.FromHours(8), "UTC+08", "UTC+08");

    private static readonly DateTimeOffset Now = new(2026, 10, 1, 2, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(0, "¥0.00")]
    [InlineData(5, "¥0.05")]
    [InlineData(1234, "¥12.34")]
    [InlineData(100000000, "¥1000000.00")]
    [InlineData(-2000, "-¥20.00")]
    public void Cents_are_shown_as_yuan_with_two_decimals(long cents, string expected) =>
        Assert.Equal(expected, Money.Format(cents));

    [Fact]
    public void Money_is_shown_with_its_cents_alongside() =>
        Assert.Equal("¥12.34 (1234)", Money.FormatWithCents(1234));

    [Theory]
    [InlineData("1234", 1234)]
    [InlineData("0", 0)]
    [InlineData("1_000_00", 100000)]
    [InlineData("¥12.34", 1234)]
    [InlineData("￥12", 1200)]
    [InlineData("¥0.5", 50)]
    [InlineData("12.34元", 1234)]
    [InlineData("20yuan", 2000)]
    public void Amounts_are_cents_unless_marked_as_yuan(string text, long cents) =>
        Assert.Equal(cents, Money.ParseCents(text));

    [Theory]
    [InlineData("12.34")]
    [InlineData("¥12.345")]
    [InlineData("-5")]
    [InlineData("ten")]
    [InlineData("")]
    [InlineData("¥")]
    public void Ambiguous_or_impossible_amounts_are_refused(string text) =>
        Assert.Throws<FormatException>(() => Money.ParseCents(text));

    [Theory]
    [InlineData("7d", 7 * 24 * 60)]
    [InlineData("12h", 12 * 60)]
    [InlineData("30m", 30)]
    [InlineData("1d12h", 36 * 60)]
    [InlineData("2w", 14 * 24 * 60)]
    [InlineData("90s", 1.5)]
    [InlineData("1H30M", 90)]
    public void Durations_are_sums_of_whole_units(string text, double minutes) =>
        Assert.Equal(TimeSpan.FromMinutes(minutes), TimeText.ParseDuration(text));

    [Theory]
    [InlineData("")]
    [InlineData("7")]
    [InlineData("7days")]
    [InlineData("12h1d")]
    [InlineData("-1d")]
    [InlineData("1.5h")]
    public void Malformed_durations_are_refused(string text) =>
        Assert.Throws<FormatException>(() => TimeText.ParseDuration(text));

    [Fact]
    public void Durations_read_back_as_written() =>
        Assert.Equal("1d12h30m", TimeText.Format(TimeText.ParseDuration("1d12h30m")));

    [Fact]
    public void An_instant_can_be_now_or_a_duration_after_a_reference()
    {
        var starts = Now.AddDays(1);

        Assert.Equal(Now, TimeText.ParseInstant("now", Now));
        Assert.Equal(Now.AddHours(2), TimeText.ParseInstant("2h", Now));
        Assert.Equal(starts.AddDays(7), TimeText.ParseInstant("+7d", Now, starts));
    }

    [Fact]
    public void An_iso_instant_with_an_offset_means_exactly_that_and_one_without_is_local()
    {
        Assert.Equal(new DateTimeOffset(2026, 10, 1, 2, 0, 0, TimeSpan.Zero), TimeText.ParseInstant("2026-10-01T10:00:00+08:00", Now, zone: Shanghai));
        Assert.Equal(new DateTimeOffset(2026, 10, 1, 10, 0, 0, TimeSpan.Zero), TimeText.ParseInstant("2026-10-01T10:00:00Z", Now, zone: Shanghai));
        Assert.Equal(new DateTimeOffset(2026, 10, 1, 2, 0, 0, TimeSpan.Zero), TimeText.ParseInstant("2026-10-01T10:00", Now, zone: Shanghai));
        Assert.Equal(new DateTimeOffset(2026, 9, 30, 16, 0, 0, TimeSpan.Zero), TimeText.ParseInstant("2026-10-01", Now, zone: Shanghai));
    }

    [Theory]
    [InlineData("tomorrow")]
    [InlineData("2026-13-01")]
    [InlineData("10/01/2026")]
    public void Anything_else_is_not_an_instant(string text) =>
        Assert.Throws<FormatException>(() => TimeText.ParseInstant(text, Now));

    [Fact]
    public void Timestamps_are_shown_as_local_iso_with_the_offset()
    {
        var timestamp = Timestamp.FromDateTimeOffset(new DateTimeOffset(2026, 10, 1, 2, 0, 0, TimeSpan.Zero));

        Assert.Equal("2026-10-01T10:00:00+08:00", TimeText.Local(timestamp, Shanghai));
        Assert.Equal("-", TimeText.Local(null, Shanghai));
    }

    [Theory]
    [InlineData("amount-off", DiscountKind.AmountOff)]
    [InlineData("AMOUNT_OFF", DiscountKind.AmountOff)]
    [InlineData("percent-off", DiscountKind.PercentOff)]
    [InlineData("fold", DiscountKind.FoldPrice)]
    [InlineData("fold-price", DiscountKind.FoldPrice)]
    [InlineData("DISCOUNT_KIND_FOLD_PRICE", DiscountKind.FoldPrice)]
    public void Discount_kinds_are_typed_by_their_short_names(string text, DiscountKind kind) =>
        Assert.Equal(kind, EnumText.Parse<DiscountKind>(text));

    [Theory]
    [InlineData("organiser", Role.Organiser)]
    [InlineData("Partner", Role.Partner)]
    [InlineData("merchant", Role.Merchant)]
    public void Roles_are_typed_by_their_short_names(string text, Role role) =>
        Assert.Equal(role, EnumText.Parse<Role>(text));

    [Theory]
    [InlineData("unspecified")]
    [InlineData("bogus")]
    [InlineData("")]
    public void The_unspecified_value_and_unknown_names_are_refused(string text)
    {
        var error = Assert.Throws<FormatException>(() => EnumText.Parse<DiscountKind>(text));
        Assert.Contains("amount-off, percent-off, fold-price", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Enum_values_are_shown_without_their_type_prefix()
    {
        Assert.Equal("ACTIVE", EnumText.Display(CampaignStatus.Active));
        Assert.Equal("FOLD_PRICE", EnumText.Display(DiscountKind.FoldPrice));
        Assert.Equal("SOLD_OUT", EnumText.Display(ErrorReason.SoldOut));
        Assert.Equal("CAMPAIGN_STATUS_PAUSED", EnumText.ProtoName(CampaignStatus.Paused));
        Assert.Equal(["draft", "active", "paused", "ended"], EnumText.Choices<CampaignStatus>());
    }

    [Theory]
    [InlineData("meituan=5000", "meituan", 5000)]
    [InlineData(" jd = 0 ", "jd", 0)]
    public void Channel_quotas_are_partner_equals_stock(string text, string partner, long stock) =>
        Assert.Equal(new KeyValuePair<string, long>(partner, stock), ChannelQuota.Parse(text));

    [Theory]
    [InlineData("meituan")]
    [InlineData("=5")]
    [InlineData("meituan=-1")]
    [InlineData("meituan=lots")]
    public void Malformed_channel_quotas_are_refused(string text) =>
        Assert.Throws<FormatException>(() => ChannelQuota.Parse(text));

    [Fact]
    public void Csv_records_split_back_into_the_fields_they_were_made_of()
    {
        string[] fields = ["plain", "with,comma", "with \"quotes\"", "", "末尾"];

        Assert.Equal(fields, Csv.Split(Csv.Record(fields)));
        Assert.Throws<FormatException>(() => Csv.Split("\"open"));
    }

    [Fact]
    public void A_batch_file_skips_its_header_comments_and_blank_lines_and_reads_an_optional_device()
    {
        var file = new StringReader("user_id,request_id,district\n# a comment\nu-1,req-1\n\n\"u,2\",req-2,黄浦\nu-3,req-3,,phone-9\n");

        var items = VoucherBatch.ParseCsv(file);

        Assert.Equal(3, items.Count);
        Assert.Equal(("u-1", "req-1", "", ""), (items[0].UserId, items[0].RequestId, items[0].District, items[0].DeviceId));
        Assert.Equal(("u,2", "req-2", "黄浦", ""), (items[1].UserId, items[1].RequestId, items[1].District, items[1].DeviceId));
        Assert.Equal(("u-3", "req-3", "", "phone-9"), (items[2].UserId, items[2].RequestId, items[2].District, items[2].DeviceId));
    }

    [Theory]
    [InlineData("u-1\n")]
    [InlineData("u-1,req-1,d,phone,extra\n")]
    [InlineData("u-1,\n")]
    public void A_batch_line_without_user_and_request_id_is_refused_with_its_number(string text)
    {
        var error = Assert.Throws<FormatException>(() => VoucherBatch.ParseCsv(new StringReader(text)));
        Assert.StartsWith("line 1:", error.Message, StringComparison.Ordinal);
    }
}
