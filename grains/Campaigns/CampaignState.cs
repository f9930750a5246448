namespace Campaigns.Grains.Campaigns;

/// <summary>A stock top-up, kept by its request id so a retried AddStock adds nothing.</summary>
[GenerateSerializer, Immutable]
public sealed record StockTopUp(
    [property: Id(0)] long AdditionalStock,
    [property: Id(1)] long AdditionalBudgetCents,
    [property: Id(2)] DateTimeOffset At);

/// <summary>
/// A campaign grain's durable state (Orleans grain state). Replaced whole on every change, so a
/// failed write can restore the previous value and memory never runs ahead of storage.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record CampaignState
{
    [Id(0)] public CampaignDefinition? Definition { get; init; }
    [Id(1)] public CampaignStatus Status { get; init; } = CampaignStatus.Draft;
    [Id(2)] public DateTimeOffset CreatedAt { get; init; }
    [Id(3)] public DateTimeOffset UpdatedAt { get; init; }
    /// <summary>Stock after top-ups.</summary>
    [Id(4)] public long TotalStock { get; init; }
    /// <summary>Budget after top-ups; 0 = no cap.</summary>
    [Id(5)] public long BudgetCents { get; init; }
    [Id(6)] public IReadOnlyDictionary<string, StockTopUp> TopUps { get; init; } = new Dictionary<string, StockTopUp>();
    /// <summary>Users whose claims the organiser refuses (fraud control), in id order; none by default.</summary>
    [Id(7)] public IReadOnlyList<string> BlockedUsers { get; init; } = [];
    /// <summary>Claims refused by the campaign's rules, by API reason (<see cref="Campaigns.RefusedClaims"/>).</summary>
    [Id(8)] public IReadOnlyDictionary<string, long> RefusedClaims { get; init; } = new Dictionary<string, long>();
}

/// <summary>A campaign as callers see it.</summary>
[GenerateSerializer, Immutable]
public sealed record CampaignSnapshot(
    [property: Id(0)] CampaignDefinition Definition,
    [property: Id(1)] CampaignStatus Status,
    [property: Id(2)] DateTimeOffset CreatedAt,
    [property: Id(3)] DateTimeOffset UpdatedAt,
    [property: Id(4)] long TotalStock,
    [property: Id(5)] long BudgetCents)
{
    private static readonly HashSet<string> NoOne = [];

    /// <summary>Users whose claims are refused with USER_BLOCKED.</summary>
    [Id(6)] public IReadOnlySet<string> BlockedUsers { get; init; } = NoOne;

    /// <summary>Claims refused by the campaign's rules so far, by API reason.</summary>
    [Id(7)] public IReadOnlyDictionary<string, long> RefusedClaims { get; init; } = new Dictionary<string, long>();

    public StockCapacity Capacity => new(TotalStock, BudgetCents, Definition.Terms.LiabilityCents, Definition.ChannelQuotas);

    /// <summary>Why a claim made at <paramref name="now"/> cannot be issued, or null if the campaign is issuing.</summary>
    public Common.Refusal? IssuanceRefusal(DateTimeOffset now) => Status switch
    {
        CampaignStatus.Ended => Common.Refusal.CampaignEnded,
        CampaignStatus.Draft or CampaignStatus.Paused => Common.Refusal.CampaignNotActive,
        _ when now < Definition.StartsAt => Common.Refusal.CampaignNotStarted,
        _ when now >= Definition.EndsAt => Common.Refusal.CampaignEnded,
        // A voucher that would be born expired is no voucher: the drop is over.
        _ when Definition.VoucherValidityEnd(now) <= now => Common.Refusal.CampaignEnded,
        _ => null,
    };
}
