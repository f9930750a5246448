using Campaigns.Silo.Hosting;
using Campaigns.Storage.Sqlite;
using Microsoft.Extensions.Options;

WebApplication app;
try
{
    app = await CampaignsHost.BuildAsync(args);
}
catch (CampaignsConfigurationException bad)
{
    await Console.Error.WriteLineAsync("error: " + bad.Message);
    return 1;
}

await app.StartAsync();

var options = app.Services.GetRequiredService<IOptions<CampaignsOptions>>().Value;
var store = app.Services.GetRequiredService<EmbeddedStore>();
var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Campaigns");
var tls = options.Tls.CertificatePath.Length > 0;
log.LogInformation("Campaigns serving gRPC on {Scheme}://{Address}:{GrpcPort} ({Protocol}), HTTP on {Scheme}://{Address}:{HttpPort}; data in {Path}",
    tls ? "https" : "http", options.ListenAddress, options.GrpcPort, tls ? "HTTP/2 over TLS" : "h2c", tls ? "https" : "http", options.ListenAddress, options.HttpPort, store.Path);
if (options.Auth.BootstrapOrganiserKey == AuthOptions.DevelopmentKey)
{
    log.LogWarning("Bootstrap organiser key is the development default '{Key}'. Set Campaigns__Auth__BootstrapOrganiserKey in production.",
        AuthOptions.DevelopmentKey);
}

await app.WaitForShutdownAsync();
return 0;
