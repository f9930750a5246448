using Microsoft.Extensions.DependencyInjection.Extensions;
using Campaigns.Silo.Api;
using Campaigns.Silo.Dashboard;
using Campaigns.Storage.Sqlite;

namespace Campaigns.Silo.Hosting;

/// <summary>
/// Builds the silo: ASP.NET Core serving gRPC (h2c) and plain HTTP, co-hosting one Orleans silo
/// on the embedded SQLite store. The tests build it the same way on free ports.
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
        var ports = builder.Configuration.GetSection(OrleansPortOptions.Section).Get<OrleansPortOptions>() ?? new OrleansPortOptions();

        // First: a certificate that cannot be read stops the start before any store is opened.
        builder.ConfigureCampaignsListeners(options);
        var store = await EmbeddedStore.OpenAsync(options.DataDirectory);

        builder.UseOrleans(silo =>
        {
            silo.UseLocalhostClustering(ports.SiloPort, ports.GatewayPort, serviceId: ServiceId, clusterId: ServiceId)
                .AddEmbeddedStorage(store)
                .AddCampaignGrains();
            builder.AddCampaignsObservability(silo);
        });

        builder.Services.AddGrpc(grpc =>
        {
            grpc.Interceptors.Add<ApiInterceptor>();
            grpc.EnableDetailedErrors = false;
        }).AddCampaignsHttpJson();
        builder.Services.AddGrpcReflection();
        builder.Services.AddGrpcHealthChecks().AddCheck<SiloHealthCheck>("silo");
        builder.Services.AddSingleton<VerifiedKeyCache>();
        builder.Services.AddSingleton<ApiKeyAuthenticator>();
        builder.Services.AddSingleton<CallAuthorizer>();
        builder.Services.AddSingleton<ApiInterceptor>();
        builder.Services.AddSingleton<ApiMetrics>();
        builder.Services.AddSingleton<CampaignActivity>();
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<PartnerRateLimits>();
        builder.Services.AddSingleton<CampaignShards>();
        builder.Services.AddSingleton<CampaignTenancy>();
        builder.Services.AddSingleton<UserWallets>();
        builder.Services.AddSingleton<CampaignStatsReader>();
        builder.Services.AddHostedService<LedgerActivityLog>();

        var app = builder.Build();
        app.UseCampaignsHttpJson();
        app.MapGrpcService<CampaignAdminService>();
        app.MapGrpcService<VouchersService>();
        app.MapGrpcService<RedemptionsService>();
        app.MapGrpcService<MerchantsService>();
        app.MapGrpcService<AccessService>();
        app.MapGrpcService<ReconciliationService>();
        app.MapGrpcHealthChecksService();
        app.MapGrpcReflectionService();
        app.MapHealthChecks("/healthz");
        app.MapCampaignsObservability();
        app.MapCampaignsDashboard();
        return app;
    }
}
