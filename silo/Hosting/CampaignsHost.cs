using Microsoft.Extensions.DependencyInjection.Extensions;
using Campaigns.Silo.Api;
using Campaigns.Silo.Dashboard;
using Campaigns.Silo.Shared;
using Campaigns.Silo.Events;
using Campaigns.Storage.Sqlite;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Orleans.Configuration;

namespace Campaigns.Silo.Hosting;

/// <summary>
/// Builds the silo: ASP.NET Core serving gRPC (h2c) and plain HTTP, co-hosting one Orleans silo,
/// on the embedded SQLite store or, when both production connection strings are set, on
/// PostgreSQL with Redis membership (<see cref="ProductionMode"/>). The tests build it the same way on free ports.
/// </summary>
public static class CampaignsHost
{
    public const string ServiceId = "campaigns";

    public static async Task<WebApplication> BuildAsync(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        configure?.Invoke(builder);
        var section = builder.Configuration.GetSection(CampaignsOptions.Section);
        builder.Services.Configure<CampaignsOptions>(section);
        var options = section.Get<CampaignsOptions>() ?? new CampaignsOptions();
        var orleans = builder.Configuration.GetSection(OrleansOptions.Section).Get<OrleansOptions>() ?? new OrleansOptions();
        // Before any store is opened: a certificate that cannot be read stops the start at once.
        builder.ConfigureCampaignsListeners(options);
        var production = ProductionConnections.From(builder.Configuration) is { } connections
            ? await ProductionMode.OpenAsync(connections)
            : null;
        var embedded = production is null ? await OpenEmbeddedAsync(options.DataDirectory) : null;

        builder.UseOrleans(silo =>
        {
            if (production is not null)
            {
                production.Join(silo, orleans, options);
            }
            else
            {
                silo.UseLocalhostClustering(orleans.SiloPort, orleans.GatewayPort, serviceId: ServiceId, clusterId: ServiceId)
                    .AddEmbeddedStorage(embedded!);
            }

            // How fast a dead silo is noticed and voted out (production clusters; tests shorten it).
            silo.Configure<ClusterMembershipOptions>(builder.Configuration.GetSection($"{OrleansOptions.Section}:Membership"));
            silo.AddCampaignGrains();
            builder.AddCampaignsObservability(silo);
        });

        builder.Services.AddGrpc(grpc =>
        {
            grpc.Interceptors.Add<ApiInterceptor>();
            grpc.EnableDetailedErrors = false;
        }).AddCampaignsHttpJson();
        builder.Services.AddGrpcReflection();
        var health = builder.Services.AddGrpcHealthChecks().AddCheck<SiloHealthCheck>("silo");
        builder.Services.AddSingleton(new SiloMode(
            production is null ? "embedded" : "production",
            production?.Description ?? $"data in {embedded!.Path}"));
        if (production is not null)
        {
            // Made by a factory, so the container disposes the silo's Redis connection on shutdown.
            builder.Services.AddSingleton(_ => production.Redis);
            production.AddHealthChecks(health);
            // Partner limits, key revocations and live stats shared by every silo, on the same
            // connection; they replace the in-process ones registered below.
            builder.Services.AddSharedRedisServices(production.Redis);
        }

        builder.Services.AddSingleton<ApiKeyAuthenticator>();
        builder.Services.AddSingleton<CallAuthorizer>();
        builder.Services.AddSingleton<ApiInterceptor>();
        builder.Services.AddSingleton<ApiMetrics>();
        builder.Services.AddSingleton<RefusedClaimsTally>();
        builder.Services.AddHostedService<RefusedClaimsReporter>();
        builder.Services.AddSingleton<CampaignActivity>();
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddInProcessSharedServices();
        builder.Services.AddSingleton<CampaignShards>();
        builder.Services.AddSingleton<CampaignTenancy>();
        builder.Services.AddSingleton<Grains.Events.ICampaignOwnership>(services => services.GetRequiredService<CampaignTenancy>());
        builder.Services.AddSingleton<UserWallets>();
        builder.Services.AddHostedService<LedgerActivityLog>();
        builder.Services.AddCampaignCallbacks(builder.Configuration);

        var app = builder.Build();
        app.UseCampaignsHttpJson();
        app.MapGrpcService<CampaignAdminService>();
        app.MapGrpcService<VouchersService>();
        app.MapGrpcService<RedemptionsService>();
        app.MapGrpcService<MerchantsService>();
        app.MapGrpcService<AccessService>();
        app.MapGrpcService<ReconciliationService>();
        app.MapGrpcService<EventsService>();
        app.MapGrpcHealthChecksService();
        app.MapGrpcReflectionService();
        app.MapHealthChecks("/healthz", new HealthCheckOptions { ResponseWriter = HealthReportJson.WriteAsync });
        app.MapCampaignsObservability();
        app.MapCampaignsDashboard();
        return app;
    }

    private static async Task<EmbeddedStore> OpenEmbeddedAsync(string dataDirectory)
    {
        try
        {
            return await EmbeddedStore.OpenAsync(dataDirectory);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new StartupException($"the data directory '{Path.GetFullPath(dataDirectory)}' cannot be used: {ex.Message}", ex);
        }
    }
}

/// <summary>Which mode the silo runs in and where its data lives, for the start-up line.</summary>
public sealed record SiloMode(string Name, string Storage);
