using Campaigns.Grains.Common;

namespace Campaigns.Grains.Campaigns;

/// <summary>
/// A campaign as its organiser defined it. Immutable after creation: only the status and the
/// stock and budget top-ups change later, and those live in <see cref="CampaignState"/>.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record CampaignDefinition
{
    [Id(0)] public required string CampaignId { get; init; }
    [Id(1)] public required string Name { get; init; }
    [Id(2)] public required string OrganiserId { get; init; }
    [Id(3)] public required VoucherTerms Terms { get; init; }
    [Id(4)] public required long TotalStock { get; init; }
    /// <summary>0 = no money cap beyond the stock.</summary>
    [Id(5)] public required long BudgetCents { get; init; }
    [Id(6)] public required int PerUserLimit { get; init; }
    /// <summary>0 = no daily limit.</summary>
    [Id(7)] public required int PerUserDailyLimit { get; init; }
    [Id(8)] public required DateTimeOffset StartsAt { get; init; }
    [Id(9)] public required DateTimeOffset EndsAt { get; init; }
    /// <summary>0 = not set.</summary>
    [Id(10)] public required int VoucherValidDays { get; init; }
    [Id(11)] public required DateTimeOffset? VoucherValidUntil { get; init; }
    [Id(12)] public required int RefundWindowDays { get; init; }
    [Id(13)] public required IReadOnlyList<string> Districts { get; init; }
    [Id(14)] public required IReadOnlyDictionary<string, long> ChannelQuotas { get; init; }
    /// <summary>How many pool shards issue this campaign's vouchers.</summary>
    [Id(15)] public required int ShardCount { get; init; }
    /// <summary>The create call's idempotency key, if it had one.</summary>
    [Id(16)] public string RequestId { get; init; } = "";
    /// <summary>Vouchers are not redeemable before this instant; null = from receipt.</summary>
    [Id(17)] public DateTimeOffset? VoucherValidFrom { get; init; }
    /// <summary>Vouchers claims naming one device may receive, over all users and channels; 0 = no limit.</summary>
    [Id(18)] public int PerDeviceLimit { get; init; }
    /// <summary>Vouchers one partner may be issued per minute early in the drop (<see cref="Issuance.PartnerDropCap"/>); 0 = no cap.</summary>
    [Id(19)] public long PartnerCapPerMinute { get; init; }
    /// <summary>For how many whole minutes after <see cref="StartsAt"/> the partner cap applies; 0 without a cap.</summary>
    [Id(20)] public int PartnerCapMinutes { get; init; }

    public const int MaxStock = 100_000_000;

    /// <summary>The largest budget a campaign may have: ¥100 billion, far beyond any real drop, far from overflow.</summary>
    public const long MaxBudgetCents = 10_000_000_000_000;

    private static readonly DateTimeOffset Earliest = new(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Latest = new(2200, 1, 1, 0, 0, 0, TimeSpan.Zero);
    public const int MaxShards = 64;
    public const int MaxPerDeviceLimit = 1_000;

    /// <summary>The longest a partner cap may last: a day of minutes.</summary>
    public const int MaxPartnerCapMinutes = 1_440;

    /// <summary>Validates an organiser's definition; the message names the offending field.</summary>
    public void Validate()
    {
        Identifiers.RequireName("campaign_id", CampaignId);
        if (string.IsNullOrWhiteSpace(Name) || Name.Length > 200)
        {
            throw CampaignsException.Invalid("name", "is required, at most 200 characters");
        }

        Terms.Validate();
        if (TotalStock is < 1 or > MaxStock)
        {
            throw CampaignsException.Invalid("total_stock", $"must be 1-{MaxStock}");
        }

        if (BudgetCents is < 0 or > MaxBudgetCents)
        {
            throw CampaignsException.Invalid("budget_cents", $"must be 0-{MaxBudgetCents} (0 = no cap)");
        }

        if (BudgetCents > 0 && BudgetCents < Terms.LiabilityCents)
        {
            throw CampaignsException.Invalid("budget_cents", $"is below one voucher's liability of {MoneyText.Of(Terms.LiabilityCents)}");
        }

        if (PerUserLimit < 1)
        {
            throw CampaignsException.Invalid("per_user_limit", "must be at least 1 (leave it unset for 1)");
        }

        if (PerUserDailyLimit < 0)
        {
            throw CampaignsException.Invalid("per_user_daily_limit", "must not be negative (0 = none)");
        }

        if (PerDeviceLimit is < 0 or > MaxPerDeviceLimit)
        {
            throw CampaignsException.Invalid("per_device_limit", $"must be 0-{MaxPerDeviceLimit} (0 = none)");
        }

        if (StartsAt == default)
        {
            throw CampaignsException.Invalid("starts_at", "is required");
        }

        if (EndsAt <= StartsAt)
        {
            throw CampaignsException.Invalid("ends_at", "must be after starts_at");
        }

        // Instants far enough from the ends of the calendar that validity arithmetic cannot overflow.
        foreach (var (field, instant) in new[] { ("starts_at", (DateTimeOffset?)StartsAt), ("ends_at", EndsAt), ("voucher_valid_until", VoucherValidUntil), ("voucher_valid_from", VoucherValidFrom) })
        {
            if (instant is { } value && (value < Earliest || value > Latest))
            {
                throw CampaignsException.Invalid(field, $"must be between {Earliest:yyyy-MM-dd} and {Latest:yyyy-MM-dd}");
            }
        }

        if (VoucherValidDays < 0 || VoucherValidDays > 3660)
        {
            throw CampaignsException.Invalid("voucher_valid_days", "must be 0-3660");
        }

        if (VoucherValidDays == 0 && VoucherValidUntil is null)
        {
            throw CampaignsException.Invalid("voucher_valid_days", "or voucher_valid_until is required");
        }

        // Refused rather than warned about: a voucher claimed after valid_until would be expired
        // on receipt, and one claimed just before it nearly so.
        if (VoucherValidUntil is { } until && until < EndsAt)
        {
            throw CampaignsException.Invalid("voucher_valid_until",
                $"must not be before ends_at ({EndsAt:O}): a voucher claimed late in the window would expire before the window closes");
        }

        if (VoucherValidFrom is { } from && VoucherValidityEnd(from) <= from)
        {
            throw CampaignsException.Invalid("voucher_valid_from", "must be before voucher_valid_until");
        }

        if (RefundWindowDays is < 0 or > 365)
        {
            throw CampaignsException.Invalid("refund_window_days", "must be 0-365");
        }

        foreach (var district in Districts)
        {
            if (string.IsNullOrWhiteSpace(district) || district.Length > 64)
            {
                throw CampaignsException.Invalid("districts", "entries must be non-empty, at most 64 characters");
            }
        }

        if (Districts.Distinct().Count() != Districts.Count)
        {
            throw CampaignsException.Invalid("districts", "must not repeat a district");
        }

        foreach (var (channel, quota) in ChannelQuotas)
        {
            Identifiers.RequireName("channel_quotas", channel);
            if (quota < 1)
            {
                throw CampaignsException.Invalid("channel_quotas", $"quota of '{channel}' must be positive");
            }
        }

        // Each quota is at most the stock (checked above the sum), so the sum cannot overflow.
        if (ChannelQuotas.Values.Any(q => q > TotalStock) || ChannelQuotas.Values.Sum() > TotalStock)
        {
            throw CampaignsException.Invalid("channel_quotas", "add up to more than total_stock");
        }

        if (ShardCount is < 1 or > MaxShards)
        {
            throw CampaignsException.Invalid("expected_peak_claims_per_second", $"gives {ShardCount} shards; at most {MaxShards}");
        }

        ValidatePartnerCap();
    }

    private void ValidatePartnerCap()
    {
        if (PartnerCapPerMinute == 0)
        {
            if (PartnerCapMinutes != 0)
            {
                throw CampaignsException.Invalid("partner_cap_minutes", "must be 0 (unset) without a partner_cap_per_minute");
            }

            return;
        }

        // Each shard enforces its part of the cap: with fewer than one voucher a shard, some
        // shards' users could not be issued anything while the cap is on.
        if (PartnerCapPerMinute < ShardCount || PartnerCapPerMinute > MaxStock)
        {
            throw CampaignsException.Invalid("partner_cap_per_minute",
                $"must be 0 (no cap) or {ShardCount}-{MaxStock}: at least one voucher a minute for each of the campaign's {ShardCount} pool shards");
        }

        if (PartnerCapMinutes is < 1 or > MaxPartnerCapMinutes)
        {
            throw CampaignsException.Invalid("partner_cap_minutes", $"must be 1-{MaxPartnerCapMinutes} with a partner_cap_per_minute");
        }
    }

    /// <summary>Same definition, ignoring fields the system fills in (organiser, shard count).</summary>
    public bool SameAs(CampaignDefinition other) =>
        CampaignId == other.CampaignId && Name == other.Name && Terms == other.Terms && TotalStock == other.TotalStock
        && BudgetCents == other.BudgetCents && PerUserLimit == other.PerUserLimit && PerUserDailyLimit == other.PerUserDailyLimit
        && PerDeviceLimit == other.PerDeviceLimit
        && StartsAt == other.StartsAt && EndsAt == other.EndsAt && VoucherValidDays == other.VoucherValidDays
        && VoucherValidUntil == other.VoucherValidUntil && VoucherValidFrom == other.VoucherValidFrom && RefundWindowDays == other.RefundWindowDays
        && PartnerCapPerMinute == other.PartnerCapPerMinute && PartnerCapMinutes == other.PartnerCapMinutes
        && Districts.SequenceEqual(other.Districts)
        && ChannelQuotas.Count == other.ChannelQuotas.Count
        && ChannelQuotas.All(q => other.ChannelQuotas.TryGetValue(q.Key, out var v) && v == q.Value);

    /// <summary>
    /// When a voucher received at <paramref name="issuedAt"/> stops being valid: the earlier of the
    /// relative and the absolute validity.
    /// </summary>
    public DateTimeOffset VoucherValidityEnd(DateTimeOffset issuedAt)
    {
        var relative = VoucherValidDays > 0 ? issuedAt.AddDays(VoucherValidDays) : DateTimeOffset.MaxValue;
        var absolute = VoucherValidUntil ?? DateTimeOffset.MaxValue;
        return relative < absolute ? relative : absolute;
    }

    /// <summary>When a voucher received at <paramref name="issuedAt"/> becomes redeemable.</summary>
    public DateTimeOffset VoucherValidityStart(DateTimeOffset issuedAt) =>
        VoucherValidFrom is { } from && from > issuedAt ? from : issuedAt;

    /// <summary>
    /// Shards for an expected peak: one per 2,500 claims/s. Each shard keeps exactly one batch
    /// write outstanding, so shards are the issuing pipelines (measured: 2 shards issue half what
    /// 8 do for single claims), while very many shards split large IssueVouchers calls into
    /// small batches (40 shards: 25 vouchers per shard batch).
    /// </summary>
    public static int ShardsFor(int expectedPeakClaimsPerSecond) =>
        expectedPeakClaimsPerSecond <= 0 ? 4 : (int)Math.Clamp((expectedPeakClaimsPerSecond + 2_499L) / 2_500, 1, MaxShards);
}
