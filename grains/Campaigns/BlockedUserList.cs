using Campaigns.Grains.Common;

namespace Campaigns.Grains.Campaigns;

/// <summary>A campaign's list of blocked users (fraud control): the organiser's changes to it, checked.</summary>
public static class BlockedUserList
{
    public const int MaxPerCall = 1_000;

    /// <summary>Kept small: the list lives in the campaign's grain state, written whole on each change, and in every shard.</summary>
    public const int MaxPerCampaign = 10_000;

    /// <summary>The list after blocking or unblocking <paramref name="userIds"/>, in id order; INVALID_ARGUMENT names what is wrong.</summary>
    public static IReadOnlyList<string> Change(IReadOnlyList<string> current, IReadOnlyList<string> userIds, bool blocked)
    {
        if (userIds.Count is 0 or > MaxPerCall)
        {
            throw CampaignsException.Invalid("user_ids", $"must hold 1-{MaxPerCall} user ids");
        }

        foreach (var userId in userIds)
        {
            Identifiers.RequireKey("user_ids", userId);
        }

        var next = new SortedSet<string>(current, StringComparer.Ordinal);
        if (blocked)
        {
            next.UnionWith(userIds);
        }
        else
        {
            next.ExceptWith(userIds);
        }

        return next.Count > MaxPerCampaign
            ? throw CampaignsException.Invalid("user_ids", $"would block more than {MaxPerCampaign} users in one campaign")
            : [.. next];
    }
}
