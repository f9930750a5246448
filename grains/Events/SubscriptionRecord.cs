using Campaigns.Grains.Access;

namespace Campaigns.Grains.Events;

/// <summary>
/// A callback subscription: who owns it, where events go, which events, and the secret that signs
/// them. The secret is kept as it is (it must sign every delivery) and shown to the owner only
/// at creation and rotation.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record SubscriptionRecord
{
    [Id(0)] public required string SubscriptionId { get; init; }
    [Id(1)] public required Role OwnerRole { get; init; }
    [Id(2)] public required string OwnerId { get; init; }
    [Id(3)] public required string Url { get; init; }
    /// <summary>Sorted, without repeats.</summary>
    [Id(4)] public required CallbackEventType[] EventTypes { get; init; }
    /// <summary>"" = every campaign the owner may see.</summary>
    [Id(5)] public required string CampaignId { get; init; }
    /// <summary>Only this channel's vouchers ("" = every channel): a partner's own.</summary>
    [Id(6)] public required string Channel { get; init; }
    [Id(7)] public required string Secret { get; init; }
    [Id(8)] public required DateTimeOffset CreatedAt { get; init; }
    /// <summary>Counts creations of this id: a subscription deleted and created again starts a new feed.</summary>
    [Id(9)] public required int Generation { get; init; }
    [Id(10)] public DateTimeOffset? DeletedAt { get; init; }
    /// <summary>Where the ledger's orders ended when it was created: its dispatcher starts there.</summary>
    [Id(11)] public FeedCursor? Start { get; init; }
    /// <summary>
    /// For an organiser's subscription to every campaign, that organiser: it hears only its own
    /// campaigns' events. "" for an admin's, a partner's (its channel bounds it) or one campaign's.
    /// </summary>
    [Id(12)] public string OrganiserScope { get; init; } = "";

    public bool IsLive => DeletedAt is null;

    /// <summary>The grain that dispatches this generation's events.</summary>
    public string DispatchKey => $"{SubscriptionId}/{Generation}";

    public bool Wants(CallbackEventType type) => Array.IndexOf(EventTypes, type) >= 0;

    public bool WantsCampaign(string campaignId) => CampaignId.Length == 0 || CampaignId == campaignId;

    /// <summary>Whether this subscription is told of <paramref name="e"/>: its type, its campaign, and for a voucher its channel.</summary>
    public bool Wants(CallbackEvent e) =>
        Wants(e.Type) && WantsCampaign(e.CampaignId) && (Channel.Length == 0 || e.Voucher is null || e.Voucher.Channel == Channel);
}

/// <summary>An event whose retries ran out, kept until it is redelivered or the subscription is deleted.</summary>
[GenerateSerializer, Immutable]
public sealed record ParkedDelivery(
    [property: Id(0)] CallbackEvent Event,
    [property: Id(1)] DateTimeOffset ParkedAt,
    [property: Id(2)] int Attempts,
    [property: Id(3)] string LastError);
