using Campaigns.Grains.Access;
using Campaigns.Grains.Campaigns;
using Campaigns.Grains.Common;
using Campaigns.Grains.Events;
using Campaigns.Proto;
using Campaigns.Silo.Events;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace Campaigns.Silo.Api;

/// <summary>
/// Event callback subscriptions. An organiser subscribes to its campaigns' events (one campaign,
/// or all); a partner to its own channel's vouchers only. Each subscription is its creator's:
/// another key sees SUBSCRIPTION_NOT_FOUND.
/// </summary>
public sealed class EventsService(
    IGrainFactory grains, CampaignTenancy tenancy, IOptions<CallbackOptions> options, ILogger<EventsService> logger, [FromKeyedServices(CampaignClock.Key)] TimeProvider clock)
    : Proto.Events.EventsBase
{
    public override async Task<Subscription> CreateSubscription(CreateSubscriptionRequest request, ServerCallContext context)
    {
        var caller = context.Caller();
        var url = SubscriptionRules.RequireUrl(request.Url, options.Value.AllowPrivateAddresses);
        var types = SubscriptionRules.RequireEventTypes(request.EventTypes, caller.Role);
        var channel = ChannelFor(caller, request.Channel);
        if (request.CampaignId.Length > 0 && caller.Role is not Grains.Access.Role.Partner)
        {
            // An organiser subscribes to its own campaigns only (an admin to any).
            await tenancy.RequireAsync(caller, request.CampaignId);
        }
        else if (request.CampaignId.Length > 0)
        {
            Identifiers.RequireName("campaign_id", request.CampaignId);
            if (await grains.GetGrain<ICampaignGrain>(request.CampaignId).FindAsync() is null)
            {
                throw new CampaignsException(Refusal.CampaignNotFound, $"no campaign '{request.CampaignId}'");
            }
        }

        var id = SubscriptionRules.IdFor(caller.Role, caller.PrincipalId, url, types, request.CampaignId, channel);
        var created = await grains.GetGrain<ISubscriptionGrain>(id).CreateAsync(new SubscriptionRecord
        {
            SubscriptionId = id,
            OwnerRole = caller.Role,
            OwnerId = caller.PrincipalId,
            Url = url,
            EventTypes = types,
            CampaignId = request.CampaignId,
            Channel = channel,
            Secret = SubscriptionRules.NewSecret(),
            CreatedAt = clock.GetUtcNow(),
            Generation = 0,
            OrganiserScope = caller.Role == Grains.Access.Role.Organiser && request.CampaignId.Length == 0 ? caller.PrincipalId : "",
        });
        logger.LogInformation("Event subscription {Subscription} created by {Role} {Caller} for {Url}", id, caller.Role, caller.PrincipalId, url);
        return created.ToProto(showSecret: true);
    }

    public override async Task<ListSubscriptionsResponse> ListSubscriptions(ListSubscriptionsRequest request, ServerCallContext context)
    {
        var caller = context.Caller();
        var (subscriptions, next) = await Pages.ReadAsync(request.PageSize, request.PageToken,
            grains.GetGrain<IIdDirectoryGrain>(SubscriptionRules.OwnerDirectory(caller.Role, caller.PrincipalId)).PageAsync,
            id => grains.GetGrain<ISubscriptionGrain>(id).FindAsync());
        return new ListSubscriptionsResponse { Subscriptions = { subscriptions.Select(s => s.ToProto(showSecret: false)) }, NextPageToken = next };
    }

    public override async Task<Subscription> DeleteSubscription(SubscriptionRequest request, ServerCallContext context)
    {
        var caller = context.Caller();
        var deleted = await Subscription(request.SubscriptionId).DeleteAsync(caller);
        logger.LogInformation("Event subscription {Subscription} deleted by {Role} {Caller}", deleted.SubscriptionId, caller.Role, caller.PrincipalId);
        return deleted.ToProto(showSecret: false);
    }

    public override async Task<Subscription> RotateSubscriptionSecret(SubscriptionRequest request, ServerCallContext context)
    {
        var caller = context.Caller();
        var rotated = await Subscription(request.SubscriptionId).RotateSecretAsync(caller, SubscriptionRules.NewSecret());
        logger.LogInformation("Event subscription {Subscription}'s secret rotated by {Role} {Caller}", rotated.SubscriptionId, caller.Role, caller.PrincipalId);
        return rotated.ToProto(showSecret: true);
    }

    public override async Task<ListFailedDeliveriesResponse> ListFailedDeliveries(SubscriptionRequest request, ServerCallContext context)
    {
        var parked = await Subscription(request.SubscriptionId).ListParkedAsync(context.Caller());
        return new ListFailedDeliveriesResponse { Deliveries = { parked.Select(p => p.ToProto()) } };
    }

    public override async Task<RedeliverEventResponse> RedeliverEvent(RedeliverEventRequest request, ServerCallContext context)
    {
        if (request.EventId.Length is 0 or > 64 || !request.EventId.StartsWith("evt_", StringComparison.Ordinal))
        {
            throw CampaignsException.Invalid("event_id", "is not an event id (evt_…)");
        }

        var attempt = await Subscription(request.SubscriptionId).RedeliverAsync(context.Caller(), request.EventId);
        return new RedeliverEventResponse { Delivered = attempt.Acknowledged, StatusCode = attempt.StatusCode, Error = attempt.Error };
    }

    private ISubscriptionGrain Subscription(string subscriptionId) =>
        SubscriptionRules.LooksLikeId(subscriptionId)
            ? grains.GetGrain<ISubscriptionGrain>(subscriptionId)
            : throw CampaignsException.Invalid("subscription_id", "is not a subscription id (sub_…)");

    /// <summary>A partner is told only of its own channel's vouchers; an organiser may pick a channel or take all.</summary>
    private static string ChannelFor(Principal caller, string channel)
    {
        if (caller.Role == Grains.Access.Role.Partner)
        {
            return channel.Length == 0 || channel == caller.PrincipalId
                ? caller.PrincipalId
                : throw new CampaignsException(Refusal.NotYourChannel, $"this key issues on channel '{caller.PrincipalId}', not '{channel}'");
        }

        if (channel.Length > 0)
        {
            Identifiers.RequireName("channel", channel);
        }

        return channel;
    }
}
