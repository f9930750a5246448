using Campaigns.Grains.Events;
using Campaigns.Silo.Api;

namespace Campaigns.Silo.Events;

public static class SubscriptionMapping
{
    public static Proto.Subscription ToProto(this SubscriptionRecord s, bool showSecret) => new()
    {
        SubscriptionId = s.SubscriptionId,
        Url = s.Url,
        EventTypes = { s.EventTypes.Select(t => t.Name()) },
        CampaignId = s.CampaignId,
        Channel = s.Channel,
        Secret = showSecret ? s.Secret : "",
        CreatedAt = s.CreatedAt.ToProto(),
    };

    public static Proto.FailedDelivery ToProto(this ParkedDelivery p) => new()
    {
        EventId = p.Event.Id,
        Type = p.Event.Type.Name(),
        CreatedAt = p.Event.CreatedAt.ToProto(),
        ParkedAt = p.ParkedAt.ToProto(),
        Attempts = p.Attempts,
        LastError = p.LastError,
        CampaignId = p.Event.CampaignId,
        Code = p.Event.Voucher?.Code ?? "",
    };
}
