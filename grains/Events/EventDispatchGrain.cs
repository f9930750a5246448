using Campaigns.Grains.Common;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Campaigns.Grains.Events;

[GenerateSerializer, Immutable]
public sealed record EventDispatchState([property: Id(0)] FeedCursor? Cursor)
{
    public EventDispatchState()
        : this((FeedCursor?)null)
    {
    }
}

/// <summary>
/// The delivery loop of one subscription, off every claim's path: a grain timer reads the next
/// batch from the ledger, delivers it (<see cref="CallbackDelivery"/>), parks what ran out of
/// retries, then writes the cursor. A slow receiver holds back only its own subscription.
/// </summary>
public sealed class EventDispatchGrain(
    [PersistentState("dispatch", StorageNames.Grains)] IPersistentState<EventDispatchState> state,
    EventFeed feed,
    CallbackDelivery delivery,
    IOptions<CallbackOptions> options,
    IHostApplicationLifetime lifetime,
    [FromKeyedServices(CampaignClock.Key)] TimeProvider clock,
    ILogger<EventDispatchGrain> logger,
    ICampaignOwnership? ownership = null) : Grain, IEventDispatchGrain
{
    // A tick delivers at most this many batches, so a backlog does not hold the grain's turn for long.
    private const int BatchesPerTick = 20;

    private IGrainTimer? _timer;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _timer = this.RegisterGrainTimer(DispatchAsync, new GrainTimerCreationOptions
        {
            DueTime = TimeSpan.Zero,
            Period = options.Value.PollInterval,
            KeepAlive = true,
        });
        return Task.CompletedTask;
    }

    public Task WakeAsync() => Task.CompletedTask;

    private async Task DispatchAsync(CancellationToken timerCancelled)
    {
        var key = this.GetPrimaryKeyString();
        var slash = key.LastIndexOf('/');
        var subscriptionGrain = GrainFactory.GetGrain<ISubscriptionGrain>(key[..slash]);
        var subscription = await subscriptionGrain.FindAsync();
        if (subscription is null || subscription.DispatchKey != key)
        {
            // Deleted (or created again, as a new generation with a dispatcher of its own).
            _timer?.Dispose();
            DeactivateOnIdle();
            return;
        }

        if (state.State.Cursor is null)
        {
            await state.ReplaceAsync(new EventDispatchState(subscription.Start ?? await feed.HeadAsync()), _ => DeactivateOnIdle());
        }

        // Stopping the silo ends a retry at once: the batch is not acknowledged, so the cursor stays and it is sent again.
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(timerCancelled, lifetime.ApplicationStopping);
        try
        {
            for (var round = 0; round < BatchesPerTick && !cancel.IsCancellationRequested; round++)
            {
                var cursor = state.State.Cursor!;
                var batch = await feed.NextAsync(subscription, cursor, clock.GetUtcNow(), options.Value.BatchSize);
                var events = await OwnEventsAsync(subscription, batch.Events);
                if (events.Count > 0)
                {
                    var parked = await delivery.DeliverAsync(
                        async () => await subscriptionGrain.FindAsync() is { } now && now.DispatchKey == key ? now : null, events, cancel.Token);
                    if (parked.Count > 0)
                    {
                        logger.LogWarning("Subscription {Subscription}: {Count} event(s) parked after their retries ran out, first {EventId}: {Error}",
                            subscription.SubscriptionId, parked.Count, parked[0].Event.Id, parked[0].LastError);
                        await subscriptionGrain.ParkAsync(parked);
                    }
                }

                if (!batch.Next.SameAs(cursor))
                {
                    await state.ReplaceAsync(new EventDispatchState(batch.Next), _ => DeactivateOnIdle());
                }

                if (batch.CaughtUp)
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
        }
    }

    /// <summary>The events an organiser-scoped subscription may hear: those of its organiser's campaigns (the cursor still moves past the rest).</summary>
    private async Task<IReadOnlyList<CallbackEvent>> OwnEventsAsync(SubscriptionRecord subscription, IReadOnlyList<CallbackEvent> events)
    {
        if (subscription.OrganiserScope.Length == 0 || events.Count == 0)
        {
            return events;
        }

        if (ownership is null)
        {
            throw new InvalidOperationException("an organiser's subscription needs the silo's ICampaignOwnership to know its campaigns");
        }

        var owned = new Dictionary<string, bool>(StringComparer.Ordinal);
        var kept = new List<CallbackEvent>(events.Count);
        foreach (var e in events)
        {
            if (!owned.TryGetValue(e.CampaignId, out var mine))
            {
                owned[e.CampaignId] = mine = await ownership.IsOwnedByAsync(e.CampaignId, subscription.OrganiserScope);
            }

            if (mine)
            {
                kept.Add(e);
            }
        }

        return kept;
    }
}
