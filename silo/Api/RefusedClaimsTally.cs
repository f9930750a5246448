using System.Collections.Concurrent;
using Campaigns.Grains.Campaigns;

namespace Campaigns.Silo.Api;

/// <summary>
/// The claims this silo refused for a campaign's rules since they were last taken, by campaign
/// and reason (<see cref="RefusedClaims.Counts"/>); <see cref="RefusedClaimsReporter"/> hands them
/// to the campaigns. Safe for any number of threads.
/// </summary>
public sealed class RefusedClaimsTally
{
    private readonly ConcurrentDictionary<(string CampaignId, string Reason), long> _counts = new();

    /// <summary>Counts <paramref name="claims"/> claims refused for <paramref name="reason"/>; ignored unless the reason counts.</summary>
    public void Refused(string campaignId, string reason, long claims = 1)
    {
        if (claims > 0 && RefusedClaims.Counts(reason))
        {
            // Static lambdas: a sold-out drop counts tens of thousands a second, with no allocation each.
            _counts.AddOrUpdate((campaignId, reason), static (_, more) => more, static (_, count, more) => count + more, claims);
        }
    }

    /// <summary>Everything counted so far, by campaign then reason, leaving nothing behind.</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, long>> Take()
    {
        var taken = new Dictionary<string, Dictionary<string, long>>(StringComparer.Ordinal);
        foreach (var (key, count) in _counts)
        {
            // Taken by subtracting what was read, so a refusal counted meanwhile stays for the next round.
            _counts.AddOrUpdate(key, -count, (_, now) => now - count);
            _counts.TryRemove(new KeyValuePair<(string, string), long>(key, 0));
            if (count > 0)
            {
                (taken.TryGetValue(key.CampaignId, out var reasons) ? reasons : taken[key.CampaignId] = new(StringComparer.Ordinal))[key.Reason] = count;
            }
        }

        return taken.ToDictionary(c => c.Key, c => (IReadOnlyDictionary<string, long>)c.Value, StringComparer.Ordinal);
    }
}
