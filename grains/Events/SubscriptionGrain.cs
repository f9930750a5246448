using Campaigns.Grains.Access;
using Campaigns.Grains.Common;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Campaigns.Grains.Events;

[GenerateSerializer, Immutable]
public sealed record SubscriptionState(
    [property: Id(0)] SubscriptionRecord? Subscription,
    [property: Id(1)] ParkedDelivery[] Parked)
{
    public SubscriptionState()
        : this(null, [])
    {
    }
}

public sealed class SubscriptionGrain(
    [PersistentState("subscription", StorageNames.Grains)] IPersistentState<SubscriptionState> state,
    ICallbackSender sender,
    EventFeed feed,
    IOptions<CallbackOptions> options,
    [FromKeyedServices(CampaignClock.Key)] TimeProvider clock,
    ILogger<SubscriptionGrain> logger) : Grain, ISubscriptionGrain
{
    public async Task<SubscriptionRecord> CreateAsync(SubscriptionRecord definition)
    {
        if (state.State.Subscription is { IsLive: true } existing)
        {
            throw new CampaignsException(Refusal.SubscriptionExists,
                $"subscription '{existing.SubscriptionId}' already sends these events to this URL; rotate its secret if it was lost");
        }

        // The feed starts here, written with the subscription: events committed from now on are its.
        var created = definition with
        {
            SubscriptionId = this.GetPrimaryKeyString(),
            Generation = (state.State.Subscription?.Generation ?? 0) + 1,
            DeletedAt = null,
            Start = await feed.HeadAsync(),
        };

        // Listed before it is written: a listed id with no live record is skipped by readers.
        await GrainFactory.GetGrain<IIdDirectoryGrain>(SubscriptionRules.OwnerDirectory(created.OwnerRole, created.OwnerId)).AddAsync(created.SubscriptionId);
        await GrainFactory.GetGrain<IIdDirectoryGrain>(SubscriptionRules.AllDirectory).AddAsync(created.SubscriptionId);
        await state.ReplaceAsync(new SubscriptionState(created, []), _ => DeactivateOnIdle());

        try
        {
            await GrainFactory.GetGrain<IEventDispatchGrain>(created.DispatchKey).WakeAsync();
        }
        catch (Exception ex)
        {
            // Created all the same (its secret is shown only now): the silos' keeper wakes the
            // dispatcher within a minute, and it starts from the stored start, missing nothing.
            logger.LogWarning(ex, "Subscription {Subscription}: its dispatcher did not start yet", created.SubscriptionId);
        }

        return created;
    }

    public Task<SubscriptionRecord?> FindAsync() => Task.FromResult(state.State.Subscription is { IsLive: true } live ? live : null);

    public Task<SubscriptionRecord> GetAsync(Principal caller) => Task.FromResult(Owned(caller));

    public async Task<SubscriptionRecord> DeleteAsync(Principal caller)
    {
        var deleted = Owned(caller) with { DeletedAt = clock.GetUtcNow() };
        await state.ReplaceAsync(new SubscriptionState(deleted, []), _ => DeactivateOnIdle());
        return deleted;
    }

    public async Task<SubscriptionRecord> RotateSecretAsync(Principal caller, string secret)
    {
        var rotated = Owned(caller) with { Secret = secret };
        await state.ReplaceAsync(state.State with { Subscription = rotated }, _ => DeactivateOnIdle());
        return rotated;
    }

    public async Task ParkAsync(IReadOnlyList<ParkedDelivery> parked)
    {
        if (state.State.Subscription is not { IsLive: true } || parked.Count == 0)
        {
            return;
        }

        ParkedDelivery[] kept = [.. state.State.Parked.Where(p => parked.All(n => n.Event.Id != p.Event.Id)), .. parked];
        await state.ReplaceAsync(state.State with { Parked = kept[Math.Max(0, kept.Length - options.Value.MaxParked)..] }, _ => DeactivateOnIdle());
    }

    public Task<IReadOnlyList<ParkedDelivery>> ListParkedAsync(Principal caller)
    {
        _ = Owned(caller);
        return Task.FromResult<IReadOnlyList<ParkedDelivery>>(state.State.Parked);
    }

    public async Task<CallbackAttempt> RedeliverAsync(Principal caller, string eventId)
    {
        var subscription = Owned(caller);
        var parked = state.State.Parked.FirstOrDefault(p => p.Event.Id == eventId)
            ?? throw new CampaignsException(Refusal.DeliveryNotFound, $"no parked event '{eventId}' in subscription '{subscription.SubscriptionId}'");
        using var timeout = new CancellationTokenSource(options.Value.RequestTimeout + TimeSpan.FromSeconds(5));
        var attempt = await sender.SendAsync(subscription, parked.Event, timeout.Token);
        if (attempt.Acknowledged)
        {
            await state.ReplaceAsync(state.State with { Parked = [.. state.State.Parked.Where(p => p.Event.Id != eventId)] }, _ => DeactivateOnIdle());
        }

        return attempt;
    }

    public async Task WakeAsync()
    {
        if (state.State.Subscription is { IsLive: true } live)
        {
            await GrainFactory.GetGrain<IEventDispatchGrain>(live.DispatchKey).WakeAsync();
        }
    }

    /// <summary>The live subscription if the caller owns it; another owner's is as good as absent to them.</summary>
    private SubscriptionRecord Owned(Principal caller) =>
        state.State.Subscription is { IsLive: true } live && live.OwnerRole == caller.Role && live.OwnerId == caller.PrincipalId
            ? live
            : throw new CampaignsException(Refusal.SubscriptionNotFound, $"no subscription '{this.GetPrimaryKeyString()}'");
}
