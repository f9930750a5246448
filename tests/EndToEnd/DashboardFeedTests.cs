using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Campaigns.Proto;
using Grpc.Core;

namespace Campaigns.Tests.EndToEnd;

/// <summary>The dashboard's live feed: organiser keys only, from a header, and the figures the API gives.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class DashboardFeedTests(SiloFixture silo) : IDisposable
{
    private readonly HttpClient _http = new() { BaseAddress = silo.Host.HttpAddress, Timeout = TimeSpan.FromSeconds(30) };

    [Fact]
    public async Task The_feed_refuses_missing_wrong_and_non_organiser_keys_and_unknown_campaigns()
    {
        var campaign = await silo.StartedCampaignAsync();
        var partner = (await silo.CreateKeyAsync(Role.Partner, "feed-partner")).Secret;

        (await RefusedAsync(campaign.CampaignId, null)).Refused(HttpStatusCode.Unauthorized, StatusCode.Unauthenticated, "MISSING_API_KEY");
        (await RefusedAsync(campaign.CampaignId, "not-a-key")).Refused(HttpStatusCode.Unauthorized, StatusCode.Unauthenticated, "INVALID_API_KEY");
        (await RefusedAsync(campaign.CampaignId, partner)).Refused(HttpStatusCode.Forbidden, StatusCode.PermissionDenied, "WRONG_ROLE");
        (await RefusedAsync("feed-no-such-campaign", SiloHost.BootstrapOrganiserKey)).Refused(HttpStatusCode.NotFound, StatusCode.NotFound, "CAMPAIGN_NOT_FOUND");
    }

    [Fact]
    public async Task The_feed_pushes_the_campaigns_stats_once_a_second_as_they_move()
    {
        var campaign = await silo.StartedCampaignAsync();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/dashboard/live/{campaign.CampaignId}");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", SiloHost.BootstrapOrganiserKey);
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var events = new StreamReader(await response.Content.ReadAsStreamAsync());

        var first = await NextEventAsync(events);
        Assert.Equal(campaign.CampaignId, first.GetProperty("stats").GetProperty("campaignId").GetString());
        Assert.Equal("100", first.GetProperty("stats").GetProperty("remaining").GetString());

        await silo.IssueAsync(campaign.CampaignId, Scenario.NewId("feed-user"));
        var started = DateTime.UtcNow;
        JsonElement moved;
        do
        {
            moved = await NextEventAsync(events);
        }
        while (moved.GetProperty("stats").GetProperty("remaining").GetString() != "99" && DateTime.UtcNow - started < TimeSpan.FromSeconds(5));

        Assert.Equal("1", moved.GetProperty("stats").GetProperty("issued").GetString());
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(3), "the feed showed the claim within two pushes");
    }

    public void Dispose() => _http.Dispose();

    private async Task<HttpAnswer> RefusedAsync(string campaignId, string? key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/dashboard/live/{campaignId}");
        if (key is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        using var response = await _http.SendAsync(request);
        return new HttpAnswer(response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>The next server-sent event's data, as JSON.</summary>
    private static async Task<JsonElement> NextEventAsync(StreamReader events)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        string? line;
        do
        {
            line = await events.ReadLineAsync(timeout.Token);
        }
        while (line is not null && !line.StartsWith("data: ", StringComparison.Ordinal));

        Assert.NotNull(line);
        return JsonDocument.Parse(line["data: ".Length..]).RootElement;
    }
}
