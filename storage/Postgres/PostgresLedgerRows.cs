using System.Collections.Frozen;
using System.Text.Json;
using Campaigns.Grains.Campaigns;
using Campaigns.Grains.Ledger;
using Npgsql;

namespace Campaigns.Storage.Postgres;

/// <summary>
/// How ledger records map to PostgreSQL columns. Enums are stored as their upper-case snake names
/// (AMOUNT_OFF, REDEEMED), as the API spells them, so settlement SQL run by hand reads the same;
/// times are timestamptz, days are date.
/// </summary>
internal static class PostgresLedgerRows
{
    /// <summary>The column list <see cref="ReadVoucher"/> expects, in order.</summary>
    public const string VoucherColumns =
        "row_key, code, campaign_id, user_id, channel, request_id, district, status, version, " +
        "kind, face_value_cents, min_spend_cents, percent_off, fold, max_discount_cents, " +
        "valid_from, valid_until, issued_at, issued_day, pool, " +
        "merchant_id, order_id, order_amount_cents, discount_cents, reserved_until, redeemed_at, device_id, device_bucket";

    /// <summary>The column list <see cref="ReadEvent"/> expects, in order.</summary>
    public const string EventColumns =
        "sequence, type, code, campaign_id, merchant_id, merchant_district, order_id, refund_id, " +
        "order_amount_cents, discount_cents, occurred_at";

    public static VoucherRecord ReadVoucher(NpgsqlDataReader row)
    {
        var key = VoucherKey.Unpack(row.GetInt64(0));
        return new()
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
            Status = Stored<StoredVoucherStatus>.From(row.GetString(7)),
            Version = row.GetInt64(8),
            Terms = new VoucherTerms(
                Stored<DiscountKind>.From(row.GetString(9)),
                FaceValueCents: row.GetInt64(10),
                MinSpendCents: row.GetInt64(11),
                PercentOff: row.GetInt32(12),
                Fold: row.GetInt32(13),
                MaxDiscountCents: row.GetInt64(14)),
            ValidFrom = Time(row, 15),
            ValidUntil = Time(row, 16),
            IssuedAt = Time(row, 17),
            IssuedDay = row.GetFieldValue<DateOnly>(18),
            Pool = row.GetString(19),
            MerchantId = row.IsDBNull(20) ? null : row.GetString(20),
            OrderId = row.IsDBNull(21) ? null : row.GetString(21),
            OrderAmountCents = row.GetInt64(22),
            DiscountCents = row.GetInt64(23),
            ReservedUntil = row.IsDBNull(24) ? null : Time(row, 24),
            RedeemedAt = row.IsDBNull(25) ? null : Time(row, 25),
            DeviceId = row.IsDBNull(26) ? null : row.GetString(26),
            DeviceBucket = row.IsDBNull(27) ? 0 : row.GetInt32(27),
        };
    }

    /// <param name="at">Where <see cref="EventColumns"/> start in the row.</param>
    public static RedemptionEventRecord ReadEvent(NpgsqlDataReader row, int at = 0) => new()
    {
        Sequence = row.GetInt64(at),
        Type = Stored<RedemptionEventType>.From(row.GetString(at + 1)),
        Code = row.GetString(at + 2),
        CampaignId = row.GetString(at + 3),
        MerchantId = row.GetString(at + 4),
        MerchantDistrict = row.GetString(at + 5),
        OrderId = row.GetString(at + 6),
        RefundId = row.IsDBNull(at + 7) ? null : row.GetString(at + 7),
        OrderAmountCents = row.GetInt64(at + 8),
        DiscountCents = row.GetInt64(at + 9),
        OccurredAt = Time(row, at + 10),
    };

    /// <summary>timestamptz keeps microseconds; the records' times come back in UTC.</summary>
    public static DateTimeOffset Time(NpgsqlDataReader row, int ordinal) => row.GetFieldValue<DateTimeOffset>(ordinal);

    /// <summary>An enum's stored name, and back: every value of <typeparamref name="T"/> has one.</summary>
    public static class Stored<T>
        where T : struct, Enum
    {
        private static readonly FrozenDictionary<T, string> Names =
            Enum.GetValues<T>().ToFrozenDictionary(v => v, v => JsonNamingPolicy.SnakeCaseUpper.ConvertName(v.ToString()));

        private static readonly FrozenDictionary<string, T> Values = Names.ToFrozenDictionary(p => p.Value, p => p.Key, StringComparer.Ordinal);

        public static string Name(T value) => Names.TryGetValue(value, out var name)
            ? name
            : throw new ArgumentOutOfRangeException(nameof(value), value, $"not a {typeof(T).Name}");

        public static T From(string name) => Values.TryGetValue(name, out var value)
            ? value
            : throw new InvalidDataException($"{typeof(T).Name} '{name}' in the ledger is unknown to this build");
    }
}
