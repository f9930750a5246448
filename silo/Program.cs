using Campaigns.Silo.Hosting;
using Microsoft.Extensions.Options;

WebApplication app;
try
{
    app = await CampaignsHost.BuildAsync(args);
    await app.StartAsync();
}
catch (Exception ex) when (ex is StartupException || ex is IOException { Message: var message } && message.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
{
    // What the operator has to fix, in one line; the details are in the inner exception, not needed here.
    await Console.Error.WriteLineAsync($"campaigns: cannot start: {ex.Message}");
    return 2;
}

var options = app.Services.GetRequiredService<IOptions<CampaignsOptions>>().Value;
var mode = app.Services.GetRequiredService<SiloMode>();
var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Campaigns");
var tls = options.Tls.CertificatePath.Length > 0;
log.LogInformation("Campaigns serving gRPC on {Scheme}://{Address}:{GrpcPort} ({Protocol}), HTTP on {Scheme}://{Address}:{HttpPort}; {Mode} mode, {Storage}",
    tls ? "https" : "http", options.ListenAddress, options.GrpcPort, tls ? "HTTP/2 over TLS" : "h2c", tls ? "https" : "http", options.ListenAddress,
    options.HttpPort, mode.Name, mode.Storage);
if (options.Auth.BootstrapOrganiserKey == AuthOptions.DevelopmentKey)
{
    log.LogWarning("Bootstrap organiser key is the development default '{Key}'. Set Campaigns__Auth__BootstrapOrganiserKey in production.",
        AuthOptions.DevelopmentKey);
}

await app.WaitForShutdownAsync();
return 0;
