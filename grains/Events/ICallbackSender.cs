namespace Campaigns.Grains.Events;

/// <summary>What one POST of an event came to: acknowledged (any 2xx), or why not.</summary>
[GenerateSerializer, Immutable]
public sealed record CallbackAttempt(
    [property: Id(0)] bool Acknowledged,
    [property: Id(1)] int StatusCode,
    [property: Id(2)] string Error)
{
    public static CallbackAttempt Failed(string error) => new(false, 0, error);

    public override string ToString() => Acknowledged ? $"acknowledged ({StatusCode})" : StatusCode > 0 ? $"HTTP {StatusCode}" : Error;
}

/// <summary>Sends one event to one subscription's URL, signed with its secret; the silo's HTTP client does it.</summary>
public interface ICallbackSender
{
    Task<CallbackAttempt> SendAsync(SubscriptionRecord subscription, CallbackEvent callbackEvent, CancellationToken cancellationToken);
}
