using Campaigns.Grains.Common;
using Campaigns.Grains.Events;

namespace Campaigns.Silo.Events;

/// <summary>
/// Wakes every live subscription's dispatcher when the silo starts and every minute after, so a
/// dispatcher whose silo stopped or failed runs again somewhere. Waking a running one costs a call.
/// </summary>
public sealed class SubscriptionKeeper(IGrainFactory grains, ILogger<SubscriptionKeeper> logger) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromMinutes(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                string? after = null;
                IReadOnlyList<string> ids;
                do
                {
                    ids = await grains.GetGrain<IIdDirectoryGrain>(SubscriptionRules.AllDirectory).PageAsync(after, 100);
                    await Task.WhenAll(ids.Select(id => grains.GetGrain<ISubscriptionGrain>(id).WakeAsync()));
                    after = ids.Count > 0 ? ids[^1] : after;
                }
                while (ids.Count == 100 && !stoppingToken.IsCancellationRequested);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning(ex, "Could not wake every event subscription; trying again in {Interval}", Interval);
            }

            try
            {
                await Task.Delay(Interval, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
