using Campaigns.Grains.Campaigns;
using Campaigns.Grains.Ledger;
using Microsoft.Data.Sqlite;

namespace Campaigns.Storage.Sqlite;

/// <summary>
/// How ledger records map to SQLite columns. Enums are stored as upper-case words and times as
/// Unix milliseconds (UTC), so that settlement SQL run by hand reads the way the API does.
/// </summary>
internal static class SqliteLedgerRows
{
    /// <summary>The column list <see cref="ReadVoucher"/> expects, in order.</summary>
    public const string VoucherColumns =
        "row_key, code, campaign_id, user_id, channel, request_id, district, status, version, " +
        "kind, face_value_cents, min_spend_cents, percent_off, fold, max_discount_cents, " +
        "valid_from, valid_until, issued_at, issued_day, pool, " +
        "merchant_id, order_id, order_amount_cents, discount_cents, reserved_until, redeemed_at, device_id, device_bucket";

    /// <summary>Columns written at issue, in the order <see cref="BindVoucher"/> binds them; each is bound as <c>@column</c>.</summary>
    public static readonly string[] VoucherInsertColumns = [.. VoucherColumns.Split(", "), "liability_cents"];

    /// <summary>Appends a voucher at its key. Built once: the writer looks statements up by their text.</summary>
    public static readonly string InsertVoucher = $"""
        INSERT INTO vouchers ({string.Join(", ", VoucherInsertColumns)})
        VALUES ({string.Join(", ", VoucherInsertColumns.Select(c => "@" + c))});
        """;

    /// <summary>Binds a voucher's values to <see cref="InsertVoucher"/>, in the order of <see cref="VoucherInsertColumns"/>.</summary>
    public static void BindVoucher(PreparedStatement.Parameters p, VoucherRecord v)
    {
        p.Number(0, v.Key.Packed);
        p.Text(1, v.Code);
        p.Text(2, v.CampaignId);
        p.Text(3, v.UserId);
        p.Text(4, v.Channel);
        p.Text(5, v.RequestId);
        p.Text(6, v.District);
        p.Text(7, Text(v.Status));
        p.Number(8, v.Version);
        p.Text(9, Text(v.Terms.Kind));
        p.Number(10, v.Terms.FaceValueCents);
        p.Number(11, v.Terms.MinSpendCents);
        p.Number(12, v.Terms.PercentOff);
        p.Number(13, v.Terms.Fold);
        p.Number(14, v.Terms.MaxDiscountCents);
        p.Number(15, Millis(v.ValidFrom));
        p.Number(16, Millis(v.ValidUntil));
        p.Number(17, Millis(v.IssuedAt));
        p.Number(18, DayNumber(v.IssuedDay));
        p.Text(19, v.Pool);
        p.Text(20, v.MerchantId);
        p.Text(21, v.OrderId);
        p.Number(22, v.OrderAmountCents);
        p.Number(23, v.DiscountCents);
        p.Number(24, v.ReservedUntil?.ToUnixTimeMilliseconds());
        p.Number(25, v.RedeemedAt?.ToUnixTimeMilliseconds());
        p.Text(26, v.DeviceId);
        p.Number(27, v.DeviceId is null ? null : v.DeviceBucket);
        p.Number(28, v.Terms.LiabilityCents);
    }

    /// <summary>Sets a command's parameters, each bound as <c>@name</c>; null is SQL NULL.</summary>
    public static void SetParameters(SqliteCommand command, ReadOnlySpan<(string Name, object? Value)> parameters)
    {
        command.Parameters.Clear();
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue("@" + name, value ?? DBNull.Value);
        }
    }

    /// <summary>The column list <see cref="ReadEvent"/> expects, in order.</summary>
    public const string EventColumns =
        "sequence, type, code, campaign_id, merchant_id, merchant_district, order_id, refund_id, " +
        "order_amount_cents, discount_cents, occurred_at";

    public static VoucherRecord ReadVoucher(SqliteDataReader row) => ReadVoucher(row, VoucherKey.Unpack(row.GetInt64(0)));

    private static VoucherRecord ReadVoucher(SqliteDataReader row, VoucherKey key) => new()
    {
        CampaignNumber = key.CampaignNumber,
        Shard = key.Shard,
        Seq = key.Seq,
        Code = row.GetString(1),
        CampaignId = row.GetString(2),
        UserId = row.GetString(3),
        Channel = row.GetString(4),
        RequestId = row.GetString(5),
        District = row.GetString(6),
        Status = StatusFrom(row.GetString(7)),
        Version = row.GetInt64(8),
        Terms = new VoucherTerms(
            KindFrom(row.GetString(9)),
            FaceValueCents: row.GetInt64(10),
            MinSpendCents: row.GetInt64(11),
            PercentOff: row.GetInt32(12),
            Fold: row.GetInt32(13),
            MaxDiscountCents: row.GetInt64(14)),
        ValidFrom = Time(row.GetInt64(15)),
        ValidUntil = Time(row.GetInt64(16)),
        IssuedAt = Time(row.GetInt64(17)),
        IssuedDay = Day(row.GetInt64(18)),
        Pool = row.GetString(19),
        MerchantId = row.IsDBNull(20) ? null : row.GetString(20),
        OrderId = row.IsDBNull(21) ? null : row.GetString(21),
        OrderAmountCents = row.GetInt64(22),
        DiscountCents = row.GetInt64(23),
        ReservedUntil = row.IsDBNull(24) ? null : Time(row.GetInt64(24)),
        RedeemedAt = row.IsDBNull(25) ? null : Time(row.GetInt64(25)),
        DeviceId = row.IsDBNull(26) ? null : row.GetString(26),
        DeviceBucket = row.IsDBNull(27) ? 0 : row.GetInt32(27),
    };

    public static RedemptionEventRecord ReadEvent(SqliteDataReader row) => new()
    {
        Sequence = row.GetInt64(0),
        Type = EventTypeFrom(row.GetString(1)),
        Code = row.GetString(2),
        CampaignId = row.GetString(3),
        MerchantId = row.GetString(4),
        MerchantDistrict = row.GetString(5),
        OrderId = row.GetString(6),
        RefundId = row.IsDBNull(7) ? null : row.GetString(7),
        OrderAmountCents = row.GetInt64(8),
        DiscountCents = row.GetInt64(9),
        OccurredAt = Time(row.GetInt64(10)),
    };

    public static long Millis(DateTimeOffset time) => time.ToUnixTimeMilliseconds();

    public static object Millis(DateTimeOffset? time) => time is { } t ? t.ToUnixTimeMilliseconds() : DBNull.Value;

    public static DateTimeOffset Time(long millis) => DateTimeOffset.FromUnixTimeMilliseconds(millis);

    /// <summary>yyyymmdd: sortable, and readable in a query.</summary>
    public static long DayNumber(DateOnly day) => (day.Year * 10_000L) + (day.Month * 100L) + day.Day;

    public static DateOnly Day(long number) => new((int)(number / 10_000), (int)(number / 100 % 100), (int)(number % 100));

    public static object TextOrNull(string? value) => value is null ? DBNull.Value : value;

    public static string Text(StoredVoucherStatus status) => status switch
    {
        StoredVoucherStatus.Issued => "ISSUED",
        StoredVoucherStatus.Reserved => "RESERVED",
        StoredVoucherStatus.Redeemed => "REDEEMED",
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, "not a stored voucher status"),
    };

    public static string Text(RedemptionEventType type) => type switch
    {
        RedemptionEventType.Reserved => "RESERVED",
        RedemptionEventType.Cancelled => "CANCELLED",
        RedemptionEventType.Redeemed => "REDEEMED",
        RedemptionEventType.Refunded => "REFUNDED",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "not a redemption event type"),
    };

    public static string Text(DiscountKind kind) => kind switch
    {
        DiscountKind.AmountOff => "AMOUNT_OFF",
        DiscountKind.PercentOff => "PERCENT_OFF",
        DiscountKind.FoldPrice => "FOLD_PRICE",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "not a discount kind"),
    };

    public static string Text(CampaignEventType type) => type switch
    {
        CampaignEventType.SoldOut => "SOLD_OUT",
        CampaignEventType.Ended => "ENDED",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "not a campaign event type"),
    };

    public static CampaignEventType CampaignEventTypeFrom(string text) => text switch
    {
        "SOLD_OUT" => CampaignEventType.SoldOut,
        "ENDED" => CampaignEventType.Ended,
        _ => throw new InvalidDataException($"campaign event type '{text}' in the ledger is unknown to this build"),
    };

    private static StoredVoucherStatus StatusFrom(string text) => text switch
    {
        "ISSUED" => StoredVoucherStatus.Issued,
        "RESERVED" => StoredVoucherStatus.Reserved,
        "REDEEMED" => StoredVoucherStatus.Redeemed,
        _ => throw new InvalidDataException($"voucher status '{text}' in the ledger is unknown to this build"),
    };

    private static RedemptionEventType EventTypeFrom(string text) => text switch
    {
        "RESERVED" => RedemptionEventType.Reserved,
        "CANCELLED" => RedemptionEventType.Cancelled,
        "REDEEMED" => RedemptionEventType.Redeemed,
        "REFUNDED" => RedemptionEventType.Refunded,
        _ => throw new InvalidDataException($"redemption event type '{text}' in the ledger is unknown to this build"),
    };

    private static DiscountKind KindFrom(string text) => text switch
    {
        "AMOUNT_OFF" => DiscountKind.AmountOff,
        "PERCENT_OFF" => DiscountKind.PercentOff,
        "FOLD_PRICE" => DiscountKind.FoldPrice,
        _ => throw new InvalidDataException($"discount kind '{text}' in the ledger is unknown to this build"),
    };
}
