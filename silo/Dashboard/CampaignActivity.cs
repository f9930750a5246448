using System.Collections.Concurrent;

namespace Campaigns.Silo.Dashboard;

/// <summary>
/// What the organiser's dashboard shows beside the ledger's figures: the last refusals of each
/// campaign's claims and the merchants redeeming most, as this silo answered them since it
/// started. Fed by <see cref="Api.ApiMetrics"/>; held in memory, bounded, never a source of truth.
/// </summary>
public sealed class CampaignActivity
{
    public const int RefusalsKept = 20;

    // Campaign ids come from callers' requests: past this many, new ones are not followed.
    private const int MaxCampaigns = 1_000;

    private readonly ConcurrentDictionary<string, Tally> _campaigns = new(StringComparer.Ordinal);

    public void Refused(string campaignId, string channel, string reason, DateTimeOffset at)
    {
        if (For(campaignId) is { } tally)
        {
            lock (tally)
            {
                tally.Refusals.Enqueue(new RecentRefusal(at, channel, reason));
                while (tally.Refusals.Count > RefusalsKept)
                {
                    tally.Refusals.Dequeue();
                }
            }
        }
    }

    /// <summary>A merchant's redemption (+1) or refund (-1) of one of the campaign's vouchers.</summary>
    public void Redeemed(string campaignId, string merchantId, int change)
    {
        if (For(campaignId) is { } tally)
        {
            lock (tally)
            {
                tally.ByMerchant[merchantId] = tally.ByMerchant.GetValueOrDefault(merchantId) + change;
            }
        }
    }

    public ActivitySnapshot Snapshot(string campaignId, int topMerchants = 5)
    {
        if (!_campaigns.TryGetValue(campaignId, out var tally))
        {
            return new ActivitySnapshot([], []);
        }

        lock (tally)
        {
            return new ActivitySnapshot(
                [.. tally.Refusals.Reverse()],
                [.. tally.ByMerchant.Where(m => m.Value > 0).OrderByDescending(m => m.Value).ThenBy(m => m.Key, StringComparer.Ordinal)
                    .Take(topMerchants).Select(m => new MerchantRedemptions(m.Key, m.Value))]);
        }
    }

    private Tally? For(string campaignId) =>
        _campaigns.TryGetValue(campaignId, out var tally) ? tally
        : _campaigns.Count < MaxCampaigns ? _campaigns.GetOrAdd(campaignId, _ => new Tally())
        : null;

    private sealed class Tally
    {
        public Queue<RecentRefusal> Refusals { get; } = new();

        public Dictionary<string, long> ByMerchant { get; } = new(StringComparer.Ordinal);
    }
}

/// <param name="Refusals">The last refusals, newest first.</param>
public sealed record ActivitySnapshot(IReadOnlyList<RecentRefusal> Refusals, IReadOnlyList<MerchantRedemptions> TopMerchants);

public sealed record RecentRefusal(DateTimeOffset At, string Channel, string Reason);

public sealed record MerchantRedemptions(string MerchantId, long Redemptions);
