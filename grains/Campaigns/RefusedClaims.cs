using Campaigns.Grains.Common;

namespace Campaigns.Grains.Campaigns;

/// <summary>
/// A campaign's count of the claims its rules refused, by reason. Only reasons a claim meets
/// once it reached the campaign count: a bad key, bad input or a rate limit says nothing about
/// the campaign (and may name a campaign that does not exist).
/// </summary>
public static class RefusedClaims
{
    private static readonly HashSet<string> Counted = new[]
    {
        Refusal.CampaignNotActive, Refusal.CampaignNotStarted, Refusal.CampaignEnded, Refusal.IdempotencyKeyReused,
        Refusal.SoldOut, Refusal.BudgetExhausted, Refusal.UserLimitReached, Refusal.UserDailyLimitReached,
        Refusal.ChannelQuotaExhausted, Refusal.UserBlocked, Refusal.DeviceLimitReached, Refusal.PartnerDropCapReached,
    }.Select(r => r.Reason()).ToHashSet(StringComparer.Ordinal);

    /// <summary>Whether a claim refused for <paramref name="reason"/> (an API reason word) counts in the campaign's stats.</summary>
    public static bool Counts(string reason) => Counted.Contains(reason);

    /// <summary><paramref name="counts"/> with <paramref name="more"/> added; reasons that do not count and non-positive numbers are left out.</summary>
    public static IReadOnlyDictionary<string, long> Add(IReadOnlyDictionary<string, long> counts, IReadOnlyDictionary<string, long> more)
    {
        var sum = new SortedDictionary<string, long>(counts.ToDictionary(), StringComparer.Ordinal);
        foreach (var (reason, count) in more)
        {
            if (count > 0 && Counts(reason))
            {
                sum[reason] = sum.GetValueOrDefault(reason) + count;
            }
        }

        return sum;
    }
}
