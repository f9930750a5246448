using Campaigns.Grains.Common;
using Polly;
using Polly.Retry;

namespace Campaigns.Grains.Events;

/// <summary>
/// Delivers a batch of events to one subscription: events of one voucher (or campaign) one after
/// another in order, different ones side by side up to the concurrency bound; each retried on the
/// <see cref="CallbackBackoff"/> schedule (Polly) until acknowledged or its window is over, when
/// it is handed back to be parked.
/// </summary>
public sealed class CallbackDelivery(ICallbackSender sender, CallbackOptions options, TimeProvider time)
{
    private static readonly ResiliencePropertyKey<DateTimeOffset> WindowEnd = new("campaigns.callback.window-end");

    /// <summary>What an attempt comes to once the subscription is deleted: no more retries.</summary>
    private static readonly CallbackAttempt Deleted = CallbackAttempt.Failed("the subscription was deleted");

    private readonly ResiliencePipeline<CallbackAttempt> _retries = new ResiliencePipelineBuilder<CallbackAttempt> { TimeProvider = time }
        .AddRetry(new RetryStrategyOptions<CallbackAttempt>
        {
            MaxRetryAttempts = int.MaxValue,
            ShouldHandle = args => ValueTask.FromResult(
                args.Outcome.Result is not { Acknowledged: true } && !ReferenceEquals(args.Outcome.Result, Deleted) && args.Outcome.Exception is not OperationCanceledException
                && time.GetUtcNow() < args.Context.Properties.GetValue(WindowEnd, DateTimeOffset.MinValue)),
            DelayGenerator = args => ValueTask.FromResult(CallbackBackoff.Next(
                args.AttemptNumber, Random.Shared.NextDouble(), options.FirstRetryDelay, options.MaxRetryDelay,
                time.GetUtcNow(), args.Context.Properties.GetValue(WindowEnd, DateTimeOffset.MinValue))),
        })
        .Build();

    /// <summary>
    /// Delivers <paramref name="events"/>; returns those whose retries ran out, to be parked. Each
    /// attempt asks <paramref name="subscription"/> for the subscription as it is then: a rotated
    /// secret signs the next attempt, and a deleted subscription gets none.
    /// </summary>
    public async Task<IReadOnlyList<ParkedDelivery>> DeliverAsync(
        Func<Task<SubscriptionRecord?>> subscription, IReadOnlyList<CallbackEvent> events, CancellationToken cancellationToken)
    {
        var parked = new List<ParkedDelivery>();
        var parallel = new ParallelOptions
        {
            MaxDegreeOfParallelism = Math.Max(1, options.MaxConcurrency),
            CancellationToken = cancellationToken,
            // Stay on the caller's scheduler: in a grain, its own turn.
            TaskScheduler = TaskScheduler.Current,
        };
        await Parallel.ForEachAsync(events.GroupBy(e => e.OrderingKey), parallel, async (inOrder, cancel) =>
        {
            foreach (var e in inOrder)
            {
                var (attempt, attempts) = await DeliverOneAsync(subscription, e, cancel);
                if (ReferenceEquals(attempt, Deleted))
                {
                    return;
                }

                if (!attempt.Acknowledged)
                {
                    CampaignsTelemetry.CallbackParked(e.CampaignId, e.Type.Name());
                    lock (parked)
                    {
                        parked.Add(new ParkedDelivery(e, time.GetUtcNow(), attempts, attempt.ToString()));
                    }
                }
            }
        });
        return parked;
    }

    private async Task<(CallbackAttempt Last, int Attempts)> DeliverOneAsync(
        Func<Task<SubscriptionRecord?>> subscription, CallbackEvent e, CancellationToken cancellationToken)
    {
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        context.Properties.Set(WindowEnd, time.GetUtcNow() + options.RetryWindow);
        var attempts = 0;
        try
        {
            var last = await _retries.ExecuteAsync(
                async c =>
                {
                    if (await subscription() is not { } current)
                    {
                        return Deleted;
                    }

                    attempts++;
                    var attempt = await sender.SendAsync(current, e, c.CancellationToken);
                    CampaignsTelemetry.CallbackAttempted(e.CampaignId, e.Type.Name(), attempt.Acknowledged);
                    return attempt;
                },
                context);
            return (last, attempts);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return (CallbackAttempt.Failed(ex.Message), attempts);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }
}
