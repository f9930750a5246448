using Campaigns.Silo.Events;

namespace Campaigns.Tests.EndToEnd;

/// <summary>
/// Callbacks' connections go to public addresses only, checked after DNS, when they are opened:
/// a name that points into the silo's own network is refused even if it looked harmless when the
/// subscription was made. The operator may allow private addresses (development, tests).
/// </summary>
public sealed class CallbackAddressTests
{
    [Fact]
    public async Task A_name_that_resolves_to_loopback_is_not_connected_to_unless_private_addresses_are_allowed()
    {
        await using var receiver = await CallbackReceiver.StartAsync();
        var byName = new UriBuilder(receiver.Url) { Host = "localhost" }.Uri;

        using (var guarded = new HttpClient(CallbackWiring.Handler(allowPrivateAddresses: false)))
        {
            var refused = await Assert.ThrowsAsync<HttpRequestException>(() => guarded.PostAsync(byName, new StringContent("{}")));
            Assert.Contains("resolves to no address on the public internet", refused.Message, StringComparison.Ordinal);
        }

        // Allowed, the same name connects and the receiver answers (whatever it makes of the body).
        using var allowed = new HttpClient(CallbackWiring.Handler(allowPrivateAddresses: true));
        using var answer = await allowed.PostAsync(byName, new StringContent("{}"));
        Assert.True((int)answer.StatusCode >= 200);
    }
}
