using Campaigns.Grains.Access;

namespace Campaigns.Grains.Events;

/// <summary>
/// One callback subscription (keyed by its id, <see cref="SubscriptionRules.IdFor"/>): its
/// definition and secret, and its parked events. Every call names the caller; a subscription of
/// another owner answers SUBSCRIPTION_NOT_FOUND, as one that does not exist.
/// </summary>
public interface ISubscriptionGrain : IGrainWithStringKey
{
    /// <summary>Creates it (SUBSCRIPTION_EXISTS if it is live already), its feed starting at the ledger's current end.</summary>
    Task<SubscriptionRecord> CreateAsync(SubscriptionRecord definition);

    /// <summary>The live subscription, or null (none, or deleted).</summary>
    [AlwaysInterleave]
    Task<SubscriptionRecord?> FindAsync();

    /// <summary>The subscription if <paramref name="caller"/> owns it; SUBSCRIPTION_NOT_FOUND otherwise.</summary>
    Task<SubscriptionRecord> GetAsync(Principal caller);

    /// <summary>Stops its deliveries and forgets its parked events; deleting twice is SUBSCRIPTION_NOT_FOUND.</summary>
    Task<SubscriptionRecord> DeleteAsync(Principal caller);

    /// <summary>A new secret signs every delivery from now on; the answer carries it, once.</summary>
    Task<SubscriptionRecord> RotateSecretAsync(Principal caller, string secret);

    /// <summary>Keeps an event whose retries ran out.</summary>
    Task ParkAsync(IReadOnlyList<ParkedDelivery> parked);

    /// <summary>Parked events, oldest first.</summary>
    Task<IReadOnlyList<ParkedDelivery>> ListParkedAsync(Principal caller);

    /// <summary>Sends a parked event once more, now; unparks it if acknowledged (DELIVERY_NOT_FOUND if it is not parked).</summary>
    Task<CallbackAttempt> RedeliverAsync(Principal caller, string eventId);

    /// <summary>Makes sure the live subscription's dispatcher runs (after a silo restart or failure).</summary>
    [AlwaysInterleave]
    Task WakeAsync();
}

/// <summary>
/// Dispatches one generation of one subscription (keyed by <see cref="SubscriptionRecord.DispatchKey"/>):
/// on a timer, reads the next events from the ledger and delivers them, then moves its cursor.
/// One activation in the cluster, so one silo dispatches each subscription.
/// </summary>
public interface IEventDispatchGrain : IGrainWithStringKey
{
    /// <summary>Activates it; a new dispatcher's cursor starts where its subscription's feed starts.</summary>
    [AlwaysInterleave]
    Task WakeAsync();
}
