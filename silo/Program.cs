using Campaigns.Silo.Hosting;
using Campaigns.Storage.Sqlite;
using Microsoft.Extensions.Options;

var app = await CampaignsHost.BuildAsync(args);
await app.StartAsync();

var options = app.Services.GetRequiredService<IOptions<CampaignsOptions>>().Value;
var store = app.Services.GetRequiredService<EmbeddedStore>();
var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Campaigns");
log.LogInformation("Campaigns serving gRPC on http://{Address}:{GrpcPort} (h2c), HTTP on http://{Address}:{HttpPort}; data in {Path}",
    options.ListenAddress, options.GrpcPort, options.ListenAddress, options.HttpPort, store.Path);
if (options.Auth.BootstrapOrganiserKey == AuthOptions.DevelopmentKey)
{
    log.LogWarning("Bootstrap organiser key is the development default '{Key}'. Set Campaigns__Auth__BootstrapOrganiserKey in production.",
        AuthOptions.DevelopmentKey);
}

await app.WaitForShutdownAsync();
