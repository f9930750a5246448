namespace Campaigns.Grains.Common;

public static class DurableState
{
    /// <summary>
    /// Makes <paramref name="next"/> the grain's state only once it is durable. If the write fails
    /// the previous state is restored, <paramref name="onFailure"/> runs (grains deactivate there,
    /// so the next activation rereads storage) and the caller gets UNAVAILABLE: memory never runs
    /// ahead of storage.
    /// </summary>
    public static async Task ReplaceAsync<T>(this IPersistentState<T> state, T next, Action<Exception> onFailure)
    {
        var previous = state.State;
        state.State = next;
        try
        {
            await state.WriteStateAsync();
        }
        catch (Exception ex)
        {
            state.State = previous;
            onFailure(ex);
            throw new CampaignsException(Refusal.Unavailable, "storage is unavailable; retry");
        }
    }
}
