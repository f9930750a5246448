using System.Text.Json;
using Campaigns.Grains.Common;
using Campaigns.Proto;
using Campaigns.Silo.Api;
using Google.Protobuf;
using Microsoft.Extensions.FileProviders;

namespace Campaigns.Silo.Dashboard;

/// <summary>
/// The organiser's dashboard: static files from wwwroot at / (no build step: they are committed
/// as served), and one live feed per campaign that the page reads with its key in a header.
/// </summary>
public static class DashboardEndpoints
{
    /// <summary>The feed pushes at most this often, however often the figures change.</summary>
    public static readonly TimeSpan Every = TimeSpan.FromSeconds(1);

    public static void MapCampaignsDashboard(this WebApplication app)
    {
        // From beside the assembly, so the silo serves its page whatever directory it runs in.
        var files = new PhysicalFileProvider(Path.Combine(AppContext.BaseDirectory, "wwwroot"));
        app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files });
        app.UseStaticFiles(new StaticFileOptions { FileProvider = files });
        app.MapGet("/dashboard/live/{campaignId}", LiveAsync);
    }

    /// <summary>
    /// Server-sent events, one a second: the campaign's stats from the same shared read as
    /// WatchCampaignStats (<see cref="ICampaignStatsSource.GetRecentAsync"/>), with this silo's
    /// recent refusals and top merchants (the refusals of the whole campaign, by reason, are in the stats). The organiser key comes in the Authorization header
    /// (the page reads the stream with fetch), never in the URL.
    /// </summary>
    private static async Task LiveAsync(
        string campaignId, HttpContext http, ApiKeyAuthenticator authenticator, CampaignTenancy tenancy, ICampaignStatsSource stats, CampaignActivity activity)
    {
        CampaignStats first;
        try
        {
            var principal = await authenticator.AuthenticateAsync(http.Request.Headers.Authorization.ToString() is { Length: > 0 } header ? header : null);
            if (principal.Role is not (Grains.Access.Role.Organiser or Grains.Access.Role.Admin))
            {
                throw new CampaignsException(Refusal.WrongRole, $"the dashboard is for ORGANISER keys; this key is {principal.Role.ToString().ToUpperInvariant()}");
            }

            await tenancy.RequireAsync(principal, campaignId);
            first = await stats.GetRecentAsync(campaignId);
        }
        catch (CampaignsException refusal)
        {
            await RefuseAsync(http, refusal);
            return;
        }

        http.Response.ContentType = "text/event-stream";
        http.Response.Headers.CacheControl = "no-store";
        var stop = http.RequestAborted;
        using var timer = new PeriodicTimer(Every);
        try
        {
            var current = first;
            do
            {
                await http.Response.WriteAsync("data: " + Snapshot(current, activity.Snapshot(campaignId)) + "\n\n", stop);
                await http.Response.Body.FlushAsync(stop);
                await timer.WaitForNextTickAsync(stop);
                current = await stats.GetRecentAsync(campaignId);
            }
            while (!stop.IsCancellationRequested);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // The page was closed or moved to another campaign.
        }
    }

    /// <summary>One event's JSON: the stats in protobuf's JSON mapping (int64 as strings), and the activity.</summary>
    public static string Snapshot(CampaignStats stats, ActivitySnapshot activity)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WritePropertyName("stats");
            json.WriteRawValue(JsonFormatter.Default.Format(stats));
            json.WriteStartArray("refusals");
            foreach (var refusal in activity.Refusals)
            {
                json.WriteStartObject();
                json.WriteString("at", refusal.At);
                json.WriteString("channel", refusal.Channel);
                json.WriteString("reason", refusal.Reason);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteStartArray("topMerchants");
            foreach (var merchant in activity.TopMerchants)
            {
                json.WriteStartObject();
                json.WriteString("merchantId", merchant.MerchantId);
                json.WriteNumber("redemptions", merchant.Redemptions);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>The API's JSON error (as the HTTP/JSON routes answer it), with the matching HTTP status.</summary>
    private static async Task RefuseAsync(HttpContext http, CampaignsException refusal)
    {
        var code = ApiErrors.StatusOf(refusal.Code);
        http.Response.StatusCode = code switch
        {
            Grpc.Core.StatusCode.Unauthenticated => StatusCodes.Status401Unauthorized,
            Grpc.Core.StatusCode.PermissionDenied => StatusCodes.Status403Forbidden,
            Grpc.Core.StatusCode.NotFound => StatusCodes.Status404NotFound,
            Grpc.Core.StatusCode.Unavailable => StatusCodes.Status503ServiceUnavailable,
            _ => StatusCodes.Status400BadRequest,
        };
        await http.Response.WriteAsJsonAsync(new
        {
            code = (int)code,
            message = refusal.Message,
            details = new object[]
            {
                new Dictionary<string, object>
                {
                    ["@type"] = "type.googleapis.com/google.rpc.ErrorInfo", ["reason"] = refusal.Code.Reason(), ["domain"] = ApiErrors.Domain,
                },
            },
        });
    }
}
