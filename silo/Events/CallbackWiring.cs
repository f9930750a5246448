using Campaigns.Grains.Events;
using Microsoft.Extensions.Options;

namespace Campaigns.Silo.Events;

/// <summary>Event callbacks' services: options ("Campaigns:Events"), the HTTP client, the feed, delivery and the keeper.</summary>
public static class CallbackWiring
{
    public static IServiceCollection AddCampaignCallbacks(this IServiceCollection services, IConfiguration configuration)
    {
        services.Configure<CallbackOptions>(configuration.GetSection(CallbackOptions.Section));
        services.AddHttpClient(HttpCallbackSender.ClientName, (provider, client) =>
        {
            client.Timeout = provider.GetRequiredService<IOptions<CallbackOptions>>().Value.RequestTimeout;
            client.DefaultRequestHeaders.UserAgent.ParseAdd("Campaigns-Callbacks/1");
        })
        // A redirect is an answer other than 2xx, retried like any: following it would send a
        // signed event to wherever the receiver points, unchecked.
        .ConfigurePrimaryHttpMessageHandler(provider => Handler(provider.GetRequiredService<IOptions<CallbackOptions>>().Value.AllowPrivateAddresses));
        services.AddSingleton<ICallbackSender, HttpCallbackSender>();
        services.AddSingleton<EventFeed>();
        // Retries wait on the system clock: the business clock (which tests hold still) is for what happened when.
        services.AddSingleton(provider => new CallbackDelivery(
            provider.GetRequiredService<ICallbackSender>(), provider.GetRequiredService<IOptions<CallbackOptions>>().Value, TimeProvider.System));
        services.AddHostedService<SubscriptionKeeper>();
        return services;
    }

    /// <summary>
    /// The callbacks' connection handler: every connection goes to a public address of the URL's
    /// host (unless private ones are allowed), checked when it is opened, after DNS.
    /// </summary>
    public static SocketsHttpHandler Handler(bool allowPrivateAddresses) => new()
    {
        AllowAutoRedirect = false,
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        ConnectCallback = (context, cancellationToken) =>
            CallbackAddresses.ConnectAsync(context.DnsEndPoint.Host, context.DnsEndPoint.Port, allowPrivateAddresses, cancellationToken),
    };
}
