using System.Buffers;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Campaigns.Grains.Access;
using Campaigns.Grains.Common;

namespace Campaigns.Grains.Events;

/// <summary>
/// What a subscription may be, and its id. The id is a hash of the owner and the definition, so
/// registering the same owner, URL, event types, campaign and channel again reaches the same
/// grain, which answers ALREADY_EXISTS (SUBSCRIPTION_EXISTS) naming the one there is: repeats
/// cannot race into two subscriptions that would each deliver every event.
/// </summary>
public static class SubscriptionRules
{
    public const int MaxUrlLength = 2_000;

    /// <summary>The URL, checked: absolute http or https, with a host, no credentials in it.</summary>
    /// <param name="allowPrivate"><see cref="CallbackOptions.AllowPrivateAddresses"/>.</param>
    public static string RequireUrl(string url, bool allowPrivate = false)
    {
        if (string.IsNullOrWhiteSpace(url))
        {
            throw CampaignsException.Invalid("url", "is required");
        }

        if (url.Length > MaxUrlLength || !Uri.TryCreate(url, UriKind.Absolute, out var uri)
            || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps) || uri.Host.Length == 0)
        {
            throw CampaignsException.Invalid("url", $"must be an absolute http:// or https:// URL of at most {MaxUrlLength} characters");
        }

        if (uri.UserInfo.Length > 0)
        {
            throw CampaignsException.Invalid("url", "must not carry credentials; the signature authenticates each delivery");
        }

        if (!allowPrivate && CallbackAddresses.RefusedHost(uri) is { } why)
        {
            throw CampaignsException.Invalid("url", $"{why}; callbacks go to addresses on the public internet");
        }

        return uri.AbsoluteUri;
    }

    /// <summary>The event types, checked, sorted and without repeats. A partner is told of its vouchers only, not of campaigns.</summary>
    public static CallbackEventType[] RequireEventTypes(IEnumerable<string> names, Role role)
    {
        var types = RequireEventTypes(names);
        return role != Role.Partner || types.All(t => t.IsAboutAVoucher())
            ? types
            : throw CampaignsException.Invalid("event_types", "campaign.* events are for organiser keys; a partner key subscribes to its vouchers' events");
    }

    /// <summary>The event types, checked, sorted and without repeats.</summary>
    public static CallbackEventType[] RequireEventTypes(IEnumerable<string> names)
    {
        var types = new SortedSet<CallbackEventType>();
        foreach (var name in names)
        {
            if (!CallbackEventTypes.TryParse(name, out var type))
            {
                throw CampaignsException.Invalid("event_types", $"'{name}' is not one of {string.Join(", ", CallbackEventTypes.All)}");
            }

            types.Add(type);
        }

        return types.Count > 0 ? [.. types] : throw CampaignsException.Invalid("event_types", "name at least one event type");
    }

    public static string IdFor(Role ownerRole, string ownerId, string url, IEnumerable<CallbackEventType> types, string campaignId, string channel)
    {
        var definition = string.Join('\n', ownerRole, ownerId, url, string.Join(',', types), campaignId, channel);
        return "sub_" + Base64Url.EncodeToString(SHA256.HashData(Encoding.UTF8.GetBytes(definition)).AsSpan(0, 15));
    }

    /// <summary>Whether <paramref name="id"/> could be a subscription id (checked before any grain is asked).</summary>
    public static bool LooksLikeId(string id) => id.StartsWith("sub_", StringComparison.Ordinal) && id.Length == 24
        && id.AsSpan(4).IndexOfAnyExcept(IdCharacters) < 0;

    private static readonly SearchValues<char> IdCharacters = SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");

    /// <summary>A new signing secret: 256 random bits.</summary>
    public static string NewSecret() => "whsec_" + Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));

    /// <summary>The directory listing one owner's subscriptions.</summary>
    public static string OwnerDirectory(Role role, string ownerId) => $"subscriptions/{role}/{ownerId}";

    /// <summary>The directory of every subscription, which silos read to wake their dispatchers.</summary>
    public const string AllDirectory = "subscriptions";
}
