namespace Campaigns.Grains.Common;

/// <summary>
/// The ids of one kind of record, in order, so organisers can list them: merchants, API keys.
/// Keyed by the kind (<see cref="IdDirectories"/>). The record's own grain stays its only
/// owner: an id is listed before its record is written, and a listed id whose record never got
/// written is skipped by whoever reads the page.
/// </summary>
public interface IIdDirectoryGrain : IGrainWithStringKey
{
    /// <summary>Adds an id; adding one twice is harmless.</summary>
    Task AddAsync(string id);

    /// <summary>Up to <paramref name="count"/> ids after <paramref name="after"/> (ordinal order), from the start when null.</summary>
    [AlwaysInterleave]
    Task<IReadOnlyList<string>> PageAsync(string? after, int count);
}

public static class IdDirectories
{
    public const string Merchants = "merchants";
    public const string ApiKeys = "api-keys";
}

[GenerateSerializer]
public sealed record IdDirectoryState([property: Id(0)] string[] Ids)
{
    public IdDirectoryState()
        : this([])
    {
    }
}

public sealed class IdDirectoryGrain(
    [PersistentState("directory", StorageNames.Grains)] IPersistentState<IdDirectoryState> state) : Grain, IIdDirectoryGrain
{
    public async Task AddAsync(string id)
    {
        var ids = state.State.Ids;
        var at = Array.BinarySearch(ids, id, StringComparer.Ordinal);
        if (at >= 0)
        {
            return;
        }

        // Sorted on insert, so a page is a binary search and a slice. Each add rewrites the list:
        // fine for the thousands of merchants and keys of a city, written one registration at a time.
        string[] next = [.. ids[..~at], id, .. ids[~at..]];
        await state.ReplaceAsync(new IdDirectoryState(next), _ => DeactivateOnIdle());
    }

    public Task<IReadOnlyList<string>> PageAsync(string? after, int count)
    {
        var ids = state.State.Ids;
        var from = 0;
        if (after is not null)
        {
            var at = Array.BinarySearch(ids, after, StringComparer.Ordinal);
            from = at >= 0 ? at + 1 : ~at;
        }

        return Task.FromResult<IReadOnlyList<string>>(ids[from..Math.Min(ids.Length, from + count)]);
    }
}
