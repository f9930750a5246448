using System.Text.Json;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Campaigns.Silo.Hosting;

/// <summary>
/// /healthz as JSON: the overall status and each check's own (silo, and in production PostgreSQL
/// and Redis), so an operator sees which part is down, not just that something is.
/// </summary>
public static class HealthReportJson
{
    public static Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        var body = new
        {
            status = report.Status.ToString(),
            checks = report.Entries.ToDictionary(
                entry => entry.Key,
                entry => new { status = entry.Value.Status.ToString(), description = entry.Value.Description }),
        };
        return context.Response.WriteAsync(JsonSerializer.Serialize(body));
    }
}
