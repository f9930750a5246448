using System.Buffers;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using Campaigns.Grains.Campaigns;
using Campaigns.Grains.Events;
using Campaigns.Proto.Callbacks;
using Campaigns.Silo.Api;
using Google.Protobuf;

namespace Campaigns.Silo.Events;

/// <summary>
/// POSTs one event: <c>{"id", "type", "created_at", "data"}</c>, data being the voucher or the
/// campaign in the API's JSON mapping, signed (<see cref="CallbackSignature"/>). Any 2xx
/// acknowledges it. Never throws for the receiver's faults: they are an unacknowledged attempt.
/// </summary>
public sealed class HttpCallbackSender(IHttpClientFactory clients, IGrainFactory grains, TimeProvider time) : ICallbackSender
{
    public const string ClientName = "campaigns-callbacks";

    public async Task<CallbackAttempt> SendAsync(SubscriptionRecord subscription, CallbackEvent callbackEvent, CancellationToken cancellationToken)
    {
        var body = await BodyAsync(callbackEvent);
        using var request = new HttpRequestMessage(HttpMethod.Post, subscription.Url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        // Signed when sent, with the system clock (the unkeyed one): receivers check the time against their own.
        request.Headers.TryAddWithoutValidation(CallbackSignature.HeaderName,
            CallbackSignature.Header(subscription.Secret, time.GetUtcNow().ToUnixTimeSeconds(), body));
        request.Headers.TryAddWithoutValidation("Campaigns-Event-Id", callbackEvent.Id);
        try
        {
            using var response = await clients.CreateClient(ClientName).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            return new CallbackAttempt(response.IsSuccessStatusCode, (int)response.StatusCode, response.IsSuccessStatusCode ? "" : $"HTTP {(int)response.StatusCode}");
        }
        catch (HttpRequestException ex)
        {
            return CallbackAttempt.Failed(ex.Message);
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return CallbackAttempt.Failed("no answer within the request timeout");
        }
    }

    private async Task<byte[]> BodyAsync(CallbackEvent e)
    {
        var data = e.Voucher is { } voucher
            ? JsonFormatter.Default.Format(voucher.ToProto(e.VoucherStatus))
            : JsonFormatter.Default.Format((await grains.GetGrain<ICampaignGrain>(e.CampaignId).GetAsync()).ToProto());
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("id", e.Id);
            json.WriteString("type", e.Type.Name());
            json.WriteString("created_at", e.CreatedAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
            json.WritePropertyName("data");
            json.WriteRawValue(data);
            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }
}
