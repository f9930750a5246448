using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using Campaigns.Grains.Campaigns;
using Campaigns.Grains.Common;
using Campaigns.Grains.Ledger;
using Campaigns.Proto;

namespace Campaigns.Silo.Api;

/// <summary>
/// Campaign stats from the ledger (the source of truth) and the campaign grain (stock, status).
/// Watchers share one read per campaign per interval, however many dashboards are open. The
/// embedded default's <see cref="ICampaignStatsSource"/>, and what the Redis snapshot is built from.
/// </summary>
public sealed class CampaignStatsReader(IGrainFactory grains, IReportingLedger ledger, [FromKeyedServices(CampaignClock.Key)] TimeProvider clock)
    : ICampaignStatsSource
{
    public static readonly TimeSpan WatchInterval = TimeSpan.FromMilliseconds(250);

    // Freshness is an operational interval, so it runs on the monotonic clock, not business time.
    private readonly ConcurrentDictionary<string, (long At, Task<CampaignStats> Stats)> _shared = new(StringComparer.Ordinal);

    public async Task<CampaignStats> ReadAsync(string campaignId)
    {
        var campaign = await grains.GetGrain<ICampaignGrain>(campaignId).GetAsync();
        var now = clock.GetUtcNow();
        var totals = await ledger.GetCampaignTotalsAsync(campaignId, now);
        var stats = new CampaignStats
        {
            CampaignId = campaignId,
            Status = campaign.Status.ToProto(),
            TotalStock = campaign.TotalStock,
            Issued = totals.Issued,
            Remaining = Math.Max(0, campaign.Capacity.Capacity - totals.Issued),
            Reserved = totals.Reserved,
            Redeemed = totals.Redeemed,
            Refunded = totals.Refunded,
            Expired = totals.Expired,
            BudgetCents = campaign.BudgetCents,
            IssuedLiabilityCents = totals.IssuedLiabilityCents,
            RedeemedDiscountCents = totals.RedeemedDiscountCents,
            RedeemedOrderTotalCents = totals.RedeemedOrderTotalCents,
            AsOf = now.ToProto(),
        };
        var quotas = campaign.Definition.ChannelQuotas;
        foreach (var channel in totals.ByChannel.Keys.Union(quotas.Keys))
        {
            var (issued, redeemed) = totals.ByChannel.GetValueOrDefault(channel);
            stats.ByChannel[channel] = new ChannelStats { Issued = issued, Redeemed = redeemed, Quota = quotas.GetValueOrDefault(channel) };
        }

        foreach (var (district, (issued, redeemed, discount)) in totals.ByDistrict)
        {
            stats.ByDistrict[district] = new DistrictStats { Issued = issued, Redeemed = redeemed, RedeemedDiscountCents = discount };
        }

        foreach (var (reason, count) in campaign.RefusedClaims)
        {
            stats.RefusedClaims[reason] = count;
        }

        return stats;
    }

    /// <summary>A read no older than <see cref="WatchInterval"/>, shared by every watcher of the campaign.</summary>
    public Task<CampaignStats> ReadSharedAsync(string campaignId)
    {
        var now = Stopwatch.GetTimestamp();
        var entry = _shared.AddOrUpdate(campaignId,
            _ => (now, ReadAsync(campaignId)),
            (_, old) => Stopwatch.GetElapsedTime(old.At, now) < WatchInterval && !old.Stats.IsFaulted ? old : (now, ReadAsync(campaignId)));
        return entry.Stats;
    }

    public Task<CampaignStats> GetAsync(string campaignId) => ReadAsync(campaignId);

    public Task<CampaignStats> GetRecentAsync(string campaignId) => ReadSharedAsync(campaignId);

    /// <summary>Polls the shared read every interval and yields what changed.</summary>
    public async IAsyncEnumerable<CampaignStats> WatchAsync(string campaignId, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        CampaignStats? last = null;
        using var timer = new PeriodicTimer(WatchInterval);
        do
        {
            var current = await ReadSharedAsync(campaignId);
            if (last is null || !SameFigures(last, current))
            {
                yield return current;
                last = current;
            }
        }
        while (await timer.WaitForNextTickAsync(cancellationToken));
    }

    /// <summary>Equal apart from the time of reading: nothing to push.</summary>
    public static bool SameFigures(CampaignStats a, CampaignStats b)
    {
        var x = a.Clone();
        var y = b.Clone();
        x.AsOf = null;
        y.AsOf = null;
        return x.Equals(y);
    }
}
