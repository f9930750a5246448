using System.Globalization;
using Campaigns.Client;
using Campaigns.Proto;

namespace Campaigns.Cli;

/// <summary>How each response reads on a terminal: money in yuan beside the cents, times local ISO-8601.</summary>
internal static class Views
{
    public static void Campaign(Report report, Campaign c) => report.Fields(
    [
        ("campaign", c.CampaignId),
        ("name", c.Name),
        ("status", EnumText.Display(c.Status)),
        ("organiser", Optional(c.OrganiserId)),
        ("kind", EnumText.Display(c.Kind)),
        ("discount", Discount(c.Kind, c.FaceValueCents, c.MinSpendCents, c.PercentOff, c.Fold, c.MaxDiscountCents)),
        ("stock", Count(c.TotalStock)),
        ("budget", c.BudgetCents == 0 ? "no cap beyond stock" : Money.FormatWithCents(c.BudgetCents)),
        ("per user", Count(c.PerUserLimit) + (c.PerUserDailyLimit > 0 ? $", at most {Count(c.PerUserDailyLimit)} a day" : "")),
        ("per device", c.PerDeviceLimit > 0 ? Count(c.PerDeviceLimit) : null),
        ("issuance", $"{TimeText.Local(c.StartsAt)} → {TimeText.Local(c.EndsAt)}"),
        ("voucher validity", Validity(c.VoucherValidDays, c.VoucherValidUntil)),
        ("redeemable from", c.VoucherValidFrom is null ? null : TimeText.Local(c.VoucherValidFrom)),
        ("refund window", $"{Count(c.RefundWindowDays)} days"),
        ("districts", c.Districts.Count == 0 ? "any" : string.Join(", ", c.Districts)),
        ("channel quotas", c.ChannelQuotas.Count == 0 ? null : string.Join(", ", c.ChannelQuotas.OrderBy(q => q.Key, StringComparer.Ordinal).Select(q => $"{q.Key}={Count(q.Value)}"))),
        ("pool shards", c.ShardCount == 0 ? null : Count(c.ShardCount)),
        ("partner cap", c.PartnerCapPerMinute == 0 ? null : $"{Count(c.PartnerCapPerMinute)} a minute per partner, for the first {Count(c.PartnerCapMinutes)} minutes"),
        ("created", TimeText.Local(c.CreatedAt)),
        ("updated", c.UpdatedAt is null ? null : TimeText.Local(c.UpdatedAt)),
    ]);

    public static void CampaignList(Report report, ListCampaignsResponse list)
    {
        report.Table(
            ["CAMPAIGN", "NAME", "STATUS", "KIND", "STOCK", "BUDGET", "STARTS", "ENDS"],
            list.Campaigns.Select(c => (IReadOnlyList<string>)
            [
                c.CampaignId, c.Name, EnumText.Display(c.Status), EnumText.Display(c.Kind), Count(c.TotalStock),
                c.BudgetCents == 0 ? "-" : Money.Format(c.BudgetCents), TimeText.Local(c.StartsAt), TimeText.Local(c.EndsAt),
            ]));
        More(report, "campaigns campaign list", list.NextPageToken);
    }

    public static void MerchantList(Report report, ListMerchantsResponse list)
    {
        report.Table(
            ["MERCHANT", "NAME", "DISTRICT", "CATEGORY", "CAMPAIGNS", "REGISTERED"],
            list.Merchants.Select(m => (IReadOnlyList<string>)
            [
                m.MerchantId, m.Name, m.District, m.Category, Count(m.CampaignIds.Count), TimeText.Local(m.RegisteredAt),
            ]));
        More(report, "campaigns merchant list", list.NextPageToken);
    }

    /// <summary>Keys as listed: never a secret (the server sends none, and none is shown).</summary>
    public static void ApiKeyList(Report report, ListApiKeysResponse list)
    {
        report.Table(
            ["KEY_ID", "ROLE", "PRINCIPAL", "STATUS", "CREATED", "DESCRIPTION"],
            list.ApiKeys.Select(k => (IReadOnlyList<string>)
            [
                k.KeyId, EnumText.Display(k.Role), k.PrincipalId, k.Revoked ? "revoked " + TimeText.Local(k.RevokedAt) : "live",
                TimeText.Local(k.CreatedAt), Blank(k.Description),
            ]));
        More(report, "campaigns key list", list.NextPageToken);
    }

    public static void SubscriptionList(Report report, ListSubscriptionsResponse list)
    {
        report.Table(
            ["SUBSCRIPTION_ID", "URL", "EVENTS", "CAMPAIGN", "CHANNEL", "CREATED"],
            list.Subscriptions.Select(s => (IReadOnlyList<string>)
            [
                s.SubscriptionId, s.Url, string.Join(",", s.EventTypes), Blank(s.CampaignId), Blank(s.Channel), TimeText.Local(s.CreatedAt),
            ]));
        More(report, "campaigns subscription list", list.NextPageToken);
    }

    public static void Subscription(Report report, Subscription s) => report.Fields(
    [
        ("subscription id", s.SubscriptionId),
        ("url", s.Url),
        ("events", string.Join(", ", s.EventTypes)),
        ("campaign", s.CampaignId.Length > 0 ? s.CampaignId : "every campaign"),
        ("channel", s.Channel.Length > 0 ? s.Channel : "every channel"),
        ("created", s.CreatedAt is null ? null : TimeText.Local(s.CreatedAt)),
        ("secret", Optional(s.Secret)),
    ]);

    public static void FailedDeliveries(Report report, ListFailedDeliveriesResponse list) => report.Table(
        ["EVENT_ID", "TYPE", "CAMPAIGN", "CODE", "HAPPENED", "PARKED", "ATTEMPTS", "LAST_ERROR"],
        list.Deliveries.Select(d => (IReadOnlyList<string>)
        [
            d.EventId, d.Type, d.CampaignId, Blank(d.Code), TimeText.Local(d.CreatedAt), TimeText.Local(d.ParkedAt),
            Count(d.Attempts), d.LastError,
        ]));

    private static void More(Report report, string command, string nextPageToken)
    {
        if (nextPageToken.Length > 0)
        {
            report.Line();
            report.Line($"more: {command} --page-token {nextPageToken}");
        }
    }

    public static void Stats(Report report, CampaignStats s)
    {
        report.Fields(
        [
            ("campaign", s.CampaignId),
            ("status", EnumText.Display(s.Status)),
            ("as of", TimeText.Local(s.AsOf)),
            ("stock", Count(s.TotalStock)),
            ("issued", $"{Count(s.Issued)} ({Percent(s.Issued, s.TotalStock)} of stock)"),
            ("remaining", Count(s.Remaining)),
            ("reserved", Count(s.Reserved)),
            ("redeemed", $"{Count(s.Redeemed)} ({Percent(s.Redeemed, s.Issued)} of issued)"),
            ("refunded", Count(s.Refunded)),
            ("expired", Count(s.Expired)),
            ("budget", s.BudgetCents == 0 ? "no cap beyond stock" : Money.FormatWithCents(s.BudgetCents)),
            ("issued liability", Money.FormatWithCents(s.IssuedLiabilityCents)),
            ("redeemed discount", Money.FormatWithCents(s.RedeemedDiscountCents)),
            ("spending driven", Money.FormatWithCents(s.RedeemedOrderTotalCents)),
        ]);

        if (s.ByChannel.Count > 0)
        {
            // A channel draws on its own quota first, then on the shared stock: issued past the
            // quota is shared stock, not an overrun, and the columns say so.
            report.Line();
            report.Line("by channel: a channel issues from its own quota first, then from the shared stock");
            report.Table(
                ["CHANNEL", "OWN_QUOTA", "ISSUED", "FROM_QUOTA", "FROM_SHARED", "REDEEMED"],
                s.ByChannel.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => (IReadOnlyList<string>)
                [
                    Blank(c.Key), c.Value.Quota == 0 ? "-" : Count(c.Value.Quota), Count(c.Value.Issued),
                    Count(Math.Min(c.Value.Issued, c.Value.Quota)), Count(Math.Max(0, c.Value.Issued - c.Value.Quota)), Count(c.Value.Redeemed),
                ]));
        }

        if (s.ByDistrict.Count > 0)
        {
            report.Line();
            report.Line("by district: ISSUED_FOR counts vouchers by the district they were issued for; REDEEMED_AT and DISCOUNT count redemptions by the merchant's district");
            report.Table(
                ["DISTRICT", "ISSUED_FOR", "REDEEMED_AT", "DISCOUNT", "DISCOUNT_CENTS"],
                s.ByDistrict.OrderBy(d => d.Key, StringComparer.Ordinal).Select(d => (IReadOnlyList<string>)
                [
                    Blank(d.Key), Count(d.Value.Issued), Count(d.Value.Redeemed), Money.Format(d.Value.RedeemedDiscountCents),
                    Count(d.Value.RedeemedDiscountCents),
                ]));
        }

        if (s.RefusedClaims.Count > 0)
        {
            report.Line();
            report.Line("refused claims: by reason, as the silos counted them (added about once a second)");
            report.Table(
                ["REASON", "CLAIMS"],
                s.RefusedClaims.OrderByDescending(r => r.Value).ThenBy(r => r.Key, StringComparer.Ordinal)
                    .Select(r => (IReadOnlyList<string>)[r.Key, Count(r.Value)]));
        }
    }

    /// <summary>One line per snapshot, for <c>campaign watch</c>.</summary>
    public static string StatsLine(CampaignStats s) =>
        $"{TimeText.Local(s.AsOf)}  {EnumText.Display(s.Status)}  issued {Count(s.Issued)}/{Count(s.TotalStock)}  remaining {Count(s.Remaining)}"
        + $"  reserved {Count(s.Reserved)}  redeemed {Count(s.Redeemed)}  refunded {Count(s.Refunded)}"
        + $"  discount {Money.Format(s.RedeemedDiscountCents)}  spending {Money.Format(s.RedeemedOrderTotalCents)}";

    public static void Voucher(Report report, Voucher v, bool? replayed = null) => report.Fields(
    [
        ("code", v.Code),
        ("status", EnumText.Display(v.Status)),
        ("campaign", v.CampaignId),
        ("user", v.UserId),
        ("channel", Optional(v.Channel)),
        ("district", v.District.Length == 0 ? "any" : v.District),
        ("discount", Discount(v.Kind, v.FaceValueCents, v.MinSpendCents, v.PercentOff, v.Fold, v.MaxDiscountCents)),
        ("valid", $"{TimeText.Local(v.ValidFrom)} → {TimeText.Local(v.ValidUntil)}"),
        ("issued", TimeText.Local(v.IssuedAt)),
        ("merchant", Optional(v.MerchantId)),
        ("order", Optional(v.OrderId)),
        ("reserved until", v.ReservedUntil is null ? null : TimeText.Local(v.ReservedUntil)),
        ("redeemed", v.RedeemedAt is null ? null : TimeText.Local(v.RedeemedAt)),
        ("discount granted", v.DiscountCents == 0 && v.RedeemedAt is null ? null : Money.FormatWithCents(v.DiscountCents)),
        ("replayed", replayed is true ? "yes (an earlier request with this request id)" : null),
    ]);

    public static void Wallet(Report report, ListUserVouchersResponse wallet, string userId)
    {
        report.Table(
            ["CODE", "CAMPAIGN", "STATUS", "DISTRICT", "DISCOUNT", "VALID_UNTIL", "ISSUED"],
            wallet.Vouchers.Select(v => (IReadOnlyList<string>)
            [
                v.Code, v.CampaignId, EnumText.Display(v.Status), Blank(v.District),
                ShortDiscount(v.Kind, v.FaceValueCents, v.PercentOff, v.Fold), TimeText.Local(v.ValidUntil), TimeText.Local(v.IssuedAt),
            ]));
        More(report, $"campaigns voucher wallet {userId}", wallet.NextPageToken);
    }

    public static void Reservation(Report report, Reservation r) => report.Fields(
    [
        ("code", r.Code),
        ("campaign", Optional(r.CampaignId)),
        ("merchant", Optional(r.MerchantId)),
        ("order", r.OrderId),
        ("order amount", r.OrderAmountCents == 0 ? null : Money.FormatWithCents(r.OrderAmountCents)),
        ("discount", Money.FormatWithCents(r.DiscountCents)),
        ("payable", Money.FormatWithCents(r.PayableCents)),
        ("held until", TimeText.Local(r.ExpiresAt)),
    ]);

    public static void Redemption(Report report, Redemption r) => report.Fields(
    [
        ("code", r.Code),
        ("campaign", r.CampaignId),
        ("merchant", r.MerchantId),
        ("order", r.OrderId),
        ("order amount", Money.FormatWithCents(r.OrderAmountCents)),
        ("discount", Money.FormatWithCents(r.DiscountCents)),
        ("payable", Money.FormatWithCents(r.PayableCents)),
        ("redeemed", TimeText.Local(r.RedeemedAt)),
        // A cashier must not read a retry's answer as a second discount granted now.
        ("replayed", r.Replayed ? "yes: this order had already redeemed the voucher; nothing changed" : null),
    ]);

    public static void Merchant(Report report, Merchant m) => report.Fields(
    [
        ("merchant", m.MerchantId),
        ("name", m.Name),
        ("district", m.District),
        ("category", m.Category),
        ("campaigns", m.CampaignIds.Count == 0 ? "none" : string.Join(", ", m.CampaignIds)),
        ("registered", TimeText.Local(m.RegisteredAt)),
    ]);

    public static void Enrollment(Report report, Enrollment e) => report.Fields(
    [
        ("campaign", e.CampaignId),
        ("merchant", e.MerchantId),
        ("district", Blank(e.District)),
        ("enrolled", TimeText.Local(e.EnrolledAt)),
    ]);

    public static void Settlement(Report report, Settlement s) => report.Fields(
    [
        ("merchant", s.MerchantId),
        ("campaign", s.CampaignId.Length == 0 ? "all campaigns" : s.CampaignId),
        ("redemptions", Count(s.Redemptions)),
        ("refunds", Count(s.Refunds)),
        ("discount granted", Money.FormatWithCents(s.DiscountCents)),
        ("discount refunded", Money.FormatWithCents(s.RefundedDiscountCents)),
        ("order totals", Money.FormatWithCents(s.OrderTotalCents)),
        ("refunded orders", Money.FormatWithCents(s.RefundedOrderTotalCents)),
        ("net subsidy owed", Money.FormatWithCents(s.NetSubsidyCents)),
    ]);

    public static void ApiKey(Report report, ApiKey k) => report.Fields(
    [
        ("key id", k.KeyId),
        ("role", EnumText.Display(k.Role)),
        ("principal", k.PrincipalId),
        ("description", Optional(k.Description)),
        ("created", k.CreatedAt is null ? null : TimeText.Local(k.CreatedAt)),
        ("created by", Optional(k.CreatedBy)),
        ("rotated", k.RotatedAt is null ? null : TimeText.Local(k.RotatedAt)),
        ("revoked", k.Revoked ? (k.RevokedAt is null ? "yes" : TimeText.Local(k.RevokedAt)) : null),
        ("secret", Optional(k.Secret)),
    ]);

    /// <summary>What a voucher of these terms takes off, e.g. <c>¥20.00 (2000) off orders of at least ¥100.00 (10000)</c>.</summary>
    public static string Discount(DiscountKind kind, long faceValueCents, long minSpendCents, int percentOff, int fold, long maxDiscountCents)
    {
        var floor = minSpendCents > 0 ? $" on orders of at least {Money.FormatWithCents(minSpendCents)}" : "";
        return kind switch
        {
            DiscountKind.AmountOff => $"{Money.FormatWithCents(faceValueCents)} off{floor}",
            DiscountKind.PercentOff => $"{Count(percentOff)}% off{floor}, at most {Money.FormatWithCents(maxDiscountCents)}",
            DiscountKind.FoldPrice => $"pay {Count(fold)}/10 ({Count(fold)}折){floor}, discount at most {Money.FormatWithCents(maxDiscountCents)}",
            _ => EnumText.Display(kind),
        };
    }

    private static string ShortDiscount(DiscountKind kind, long faceValueCents, int percentOff, int fold) => kind switch
    {
        DiscountKind.AmountOff => $"{Money.Format(faceValueCents)} off",
        DiscountKind.PercentOff => $"{Count(percentOff)}% off",
        DiscountKind.FoldPrice => $"{Count(fold)}折",
        _ => EnumText.Display(kind),
    };

    private static string Validity(int days, Google.Protobuf.WellKnownTypes.Timestamp? until) => (days, until) switch
    {
        ( > 0, not null) => $"{Count(days)} days from receipt, but not past {TimeText.Local(until)}",
        ( > 0, null) => $"{Count(days)} days from receipt",
        (_, not null) => $"until {TimeText.Local(until)}",
        _ => "-",
    };

    public static string Count(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Percent(long part, long whole) =>
        whole <= 0 ? "-" : (100.0 * part / whole).ToString("0.#", CultureInfo.InvariantCulture) + "%";

    private static string Blank(string text) => text.Length == 0 ? "(none)" : text;

    private static string? Optional(string text) => text.Length == 0 ? null : text;
}
