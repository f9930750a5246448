using Campaigns.Grains.Common;
using Campaigns.Silo.Api;
using Orleans.Dashboard;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Campaigns.Silo.Hosting;

/// <summary>
/// Metrics, traces and logs for operators: OpenTelemetry metrics in Prometheus text on /metrics
/// (ours, Orleans' and ASP.NET Core's), traces and logs over OTLP only when an endpoint is
/// configured, and the Orleans dashboard under /orleans for admin keys.
/// </summary>
public static class Observability
{
    /// <summary>The standard OpenTelemetry setting; when unset, no span is collected and nothing is sent.</summary>
    public const string OtlpEndpointSetting = "OTEL_EXPORTER_OTLP_ENDPOINT";

    public const string MetricsPath = "/metrics";

    public const string OrleansDashboardPath = "/orleans";

    private const string OrleansMeter = "Microsoft.Orleans";

    // Of Orleans' instruments, only the active grains: the others (messaging, directory, …) record
    // on every grain call once listened to, a cost the issuing path does not need to pay.
    private static readonly HashSet<string> OrleansInstruments = ["orleans-grains", "orleans-catalog-activations"];

    // Of ASP.NET Core's, the request durations by route and status; Kestrel's and routing's are left out.
    private static readonly HashSet<string> AspNetCoreInstruments = ["http.server.request.duration", "http.server.active_requests"];

    public static void AddCampaignsObservability(this WebApplicationBuilder builder, ISiloBuilder silo)
    {
        var otlp = !string.IsNullOrWhiteSpace(builder.Configuration[OtlpEndpointSetting]);
        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(CampaignsHost.ServiceId))
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(CampaignsTelemetry.Name, OrleansMeter).AddAspNetCoreInstrumentation()
                    .AddView(instrument => Kept(instrument) ? null : MetricStreamConfiguration.Drop)
                    // Every scrape reads the counters afresh: a cached answer would hide the last second.
                    .AddPrometheusExporter(prometheus => prometheus.ScrapeResponseCacheDurationMilliseconds = 0);
                if (otlp)
                {
                    metrics.AddOtlpExporter();
                }
            });
        if (otlp)
        {
            silo.AddActivityPropagation();
            telemetry.WithTracing(tracing => tracing
                .AddSource(CampaignsTelemetry.Name, "Microsoft.Orleans.Runtime", "Microsoft.Orleans.Application")
                .AddAspNetCoreInstrumentation()
                .AddOtlpExporter());
            telemetry.WithLogging(configureBuilder: null, options => options.IncludeScopes = true);
            builder.Logging.AddOpenTelemetry(logs => logs.AddOtlpExporter());
        }

        // Profiling grain calls for the dashboard stops by itself a minute after nobody looks.
        silo.AddDashboard();
    }

    private static bool Kept(System.Diagnostics.Metrics.Instrument instrument) => instrument.Meter.Name switch
    {
        CampaignsTelemetry.Name => true,
        OrleansMeter => OrleansInstruments.Contains(instrument.Name),
        _ => AspNetCoreInstruments.Contains(instrument.Name),
    };

    public static void MapCampaignsObservability(this WebApplication app)
    {
        app.MapPrometheusScrapingEndpoint(MetricsPath);
        app.UseWhen(http => http.Request.Path.StartsWithSegments(OrleansDashboardPath), branch => branch.UseMiddleware<AdminOnly>());
        app.MapOrleansDashboard(routePrefix: OrleansDashboardPath);
    }
}
