using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Campaigns.Tests.EndToEnd;

/// <summary>
/// A plain HTTP/JSON caller of the silo's HTTP port, as a till or a script would be: no SDK, only
/// an <see cref="HttpClient"/>, a bearer key and JSON text.
/// </summary>
internal sealed class HttpJson(Uri address, string? apiKey) : IDisposable
{
    private readonly HttpClient _http = new() { BaseAddress = address, Timeout = TimeSpan.FromSeconds(30) };

    public Task<HttpAnswer> GetAsync(string path) => SendAsync(HttpMethod.Get, path, body: null);

    public Task<HttpAnswer> PostAsync(string path, object body) => SendAsync(HttpMethod.Post, path, JsonSerializer.Serialize(body));

    /// <summary>Posts <paramref name="json"/> as it is, even when it is not JSON.</summary>
    public Task<HttpAnswer> PostTextAsync(string path, string json) => SendAsync(HttpMethod.Post, path, json);

    public async Task<HttpAnswer> SendAsync(HttpMethod method, string path, string? body)
    {
        using var request = new HttpRequestMessage(method, path);
        if (apiKey is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        }

        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        using var response = await _http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return new HttpAnswer(response.StatusCode, text);
    }

    public void Dispose() => _http.Dispose();
}

/// <summary>An HTTP answer: its status and its JSON body.</summary>
internal sealed record HttpAnswer(HttpStatusCode Status, string Text)
{
    public JsonElement Json => JsonDocument.Parse(Text).RootElement;

    /// <summary>The body of a 200 answer; anything else fails the test with the error it carried.</summary>
    public JsonElement Ok()
    {
        Assert.True(Status == HttpStatusCode.OK, $"expected 200, got {(int)Status}: {Text}");
        return Json;
    }

    /// <summary>
    /// Checks an error answer: the HTTP status, the body's gRPC code, and its google.rpc.ErrorInfo
    /// reason in domain campaigns.v1, with a readable message.
    /// </summary>
    public JsonElement Refused(HttpStatusCode status, Grpc.Core.StatusCode code, string reason)
    {
        Assert.True(Status == status, $"expected {(int)status}, got {(int)Status}: {Text}");
        var error = Json;
        Assert.Equal((int)code, error.GetProperty("code").GetInt32());
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()), "an error carries a readable message");
        var info = error.GetProperty("details").EnumerateArray()
            .Single(d => d.GetProperty("@type").GetString() == "type.googleapis.com/google.rpc.ErrorInfo");
        Assert.Equal(reason, info.GetProperty("reason").GetString());
        Assert.Equal("campaigns.v1", info.GetProperty("domain").GetString());
        return error;
    }
}
