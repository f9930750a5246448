using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using Campaigns.Client;
using Campaigns.Client.Events;
using Campaigns.Proto;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Campaigns.Tests.EndToEnd;

/// <summary>One POST the receiver got: the event's id and type, its body as sent, and whether its signature held.</summary>
public sealed record ReceivedCallback(string Id, string Type, string Body, bool SignatureValid, int AnsweredWith)
{
    public JsonElement Data => JsonDocument.Parse(Body).RootElement.GetProperty("data");
}

/// <summary>
/// A partner's callback endpoint on a free loopback port (Kestrel): it checks each delivery's
/// signature with the SDK and answers as <see cref="Answer"/> says (200 unless told otherwise;
/// null = never answers).
/// </summary>
public sealed class CallbackReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<ReceivedCallback> _received = new();
    private readonly ConcurrentDictionary<string, int> _attempts = new();

    private CallbackReceiver(WebApplication app) => _app = app;

    public Uri Url { get; private set; } = null!;

    /// <summary>The subscription's secret, to check signatures with.</summary>
    public string Secret { get; set; } = "";

    /// <summary>The status to answer the n-th attempt (from 1) of an event with; null = hold the request open until the caller gives up.</summary>
    public Func<string, int, int?> Answer { get; set; } = (_, _) => 200;

    public IReadOnlyList<ReceivedCallback> Received => [.. _received];

    /// <summary>The events acknowledged (answered 2xx), first acknowledgement of each, in arrival order.</summary>
    public IReadOnlyList<ReceivedCallback> Acknowledged =>
        [.. Received.Where(r => r.AnsweredWith is >= 200 and < 300).DistinctBy(r => r.Id)];

    public static async Task<CallbackReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var receiver = new CallbackReceiver(app);
        app.MapPost("/hook", receiver.HandleAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        receiver.Url = new Uri(new Uri(address), "/hook");
        return receiver;
    }

    /// <summary>Subscribes this receiver with <paramref name="client"/>'s key ("" campaign = every one), and keeps the secret to check signatures.</summary>
    public async Task<Subscription> SubscribeAsync(CampaignsClient client, string campaignId, params string[] eventTypes)
    {
        var subscription = await client.Events.CreateSubscriptionAsync(new CreateSubscriptionRequest
        {
            Url = Url.ToString(), EventTypes = { eventTypes }, CampaignId = campaignId,
        });
        Secret = subscription.Secret;
        return subscription;
    }

    /// <summary>Waits (up to a minute) until <paramref name="done"/> holds of what was received.</summary>
    public async Task WaitUntilAsync(Func<CallbackReceiver, bool> done, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!done(this))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"the receiver did not get {what}; it got: {string.Join(", ", Received.Select(r => $"{r.Type} {r.Id} ({r.AnsweredWith})"))}");
            }

            await Task.Delay(50);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task HandleAsync(HttpContext context)
    {
        using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
        var body = await reader.ReadToEndAsync();
        var root = JsonDocument.Parse(body).RootElement;
        var id = root.GetProperty("id").GetString()!;
        var attempt = _attempts.AddOrUpdate(id, 1, (_, n) => n + 1);
        var valid = CampaignsSignature.Verify(context.Request.Headers[CampaignsSignature.HeaderName], body, Secret, CampaignsSignature.DefaultTolerance);
        var status = Answer(id, attempt);
        _received.Enqueue(new ReceivedCallback(id, root.GetProperty("type").GetString()!, body, valid, status ?? 0));
        if (status is not { } answer)
        {
            await Task.Delay(Timeout.Infinite, context.RequestAborted).ContinueWith(_ => { });
            return;
        }

        context.Response.StatusCode = answer;
    }
}
