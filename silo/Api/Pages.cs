using Campaigns.Grains.Common;

namespace Campaigns.Silo.Api;

/// <summary>
/// One page of a listing keyed by id (campaigns, merchants, API keys): ids come from a directory
/// in order, each is looked up in the grain that owns it, and ids whose record is missing (or
/// that the filter drops) are skipped until the page is full. The next page token is the last id
/// read, empty on the last page.
/// </summary>
public static class Pages
{
    public const int DefaultSize = 20;
    public const int MaxSize = 100;

    public static async Task<(List<T> Items, string NextPageToken)> ReadAsync<T>(
        int pageSize,
        string pageToken,
        Func<string?, int, Task<IReadOnlyList<string>>> ids,
        Func<string, Task<T?>> find,
        Func<T, bool>? keep = null)
        where T : class
    {
        var size = Size(pageSize, DefaultSize);
        var after = pageToken.Length > 0 ? pageToken : null;
        if (after is not null)
        {
            Identifiers.RequireName("page_token", after);
        }

        var items = new List<T>();
        // Read ids a page at a time until the page is full: a filter or missing records may skip many.
        while (items.Count < size)
        {
            var batch = await ids(after, size);
            if (batch.Count == 0)
            {
                after = null;
                break;
            }

            var found = await Task.WhenAll(batch.Select(find));
            for (var i = 0; i < batch.Count && items.Count < size; i++)
            {
                after = batch[i];
                if (found[i] is { } item && (keep is null || keep(item)))
                {
                    items.Add(item);
                }
            }

            if (batch.Count < size && items.Count < size)
            {
                after = null;
                break;
            }
        }

        return (items, after ?? "");
    }

    /// <summary>
    /// One page of a listing read whole and already in its order (a user's wallet): the items
    /// after the one the token names. The next page token is the page's last key, empty on the last
    /// page; a token naming no item of this listing (tampered, or from another listing) is
    /// INVALID_ARGUMENT. Items added before the token's item since (newer vouchers) are not shown
    /// on later pages: a new listing shows them.
    /// </summary>
    public static (List<T> Items, string NextPageToken) Slice<T>(
        IReadOnlyList<T> ordered, int pageSize, string pageToken, Func<T, string> keyOf, int defaultSize = DefaultSize)
    {
        var size = Size(pageSize, defaultSize);
        var start = 0;
        if (pageToken.Length > 0)
        {
            start = 1 + ordered.Select(keyOf).ToList().FindIndex(key => key == pageToken);
            if (start == 0)
            {
                throw CampaignsException.Invalid("page_token", "is not a next_page_token of this listing");
            }
        }

        var items = ordered.Skip(start).Take(size).ToList();
        return (items, start + items.Count < ordered.Count ? keyOf(items[^1]) : "");
    }

    private static int Size(int pageSize, int defaultSize) => pageSize switch
    {
        < 0 or > MaxSize => throw CampaignsException.Invalid("page_size", $"must be 1-{MaxSize} (0 = {defaultSize})"),
        0 => defaultSize,
        _ => pageSize,
    };
}
