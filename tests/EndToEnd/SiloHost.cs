using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Campaigns.Client;
using Campaigns.LoadTests;
using Campaigns.Grains.Common;
using Campaigns.Silo.Hosting;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Campaigns.Tests.EndToEnd;

/// <summary>
/// The real silo (<see cref="CampaignsHost.BuildAsync"/>) running in-process on free ports and a
/// temp data directory, with a controlled clock. It can be restarted on the same data directory
/// and gRPC/HTTP ports, as an operator restarting the service would.
/// </summary>
public sealed class SiloHost : IAsyncDisposable
{
    public const string BootstrapOrganiserKey = "e2e-organiser-key-4f1d2c";

    private static readonly TimeSpan StartupTimeout = TimeSpan.FromSeconds(60);

    private readonly List<CampaignsClient> _clients = [];
    private WebApplication? _app;

    private SiloHost(FakeTimeProvider clock, string dataDirectory)
    {
        Clock = clock;
        DataDirectory = dataDirectory;
        GrpcPort = LoopbackPorts.Free();
        HttpPort = LoopbackPorts.Free();
    }

    /// <summary>The silo's clock: starts at the real now; tests only ever move it forward.</summary>
    private string[] _settings = [];

    private Action<IServiceCollection>? _services;

    public FakeTimeProvider Clock { get; }

    public string DataDirectory { get; }

    public int GrpcPort { get; }

    public int HttpPort { get; }

    /// <summary>Set for a silo started with TLS: its clients trust this certificate (and present <see cref="ClientCertificate"/>).</summary>
    public X509Certificate2? TrustedCertificate { get; private init; }

    public X509Certificate2? ClientCertificate { get; private init; }

    private string Scheme => TrustedCertificate is null ? "http" : "https";

    // With TLS, by the name the test certificate carries.
    private string Host => TrustedCertificate is null ? "127.0.0.1" : "localhost";

    public Uri GrpcAddress => new($"{Scheme}://{Host}:{GrpcPort}");

    public Uri HttpAddress => new($"{Scheme}://{Host}:{HttpPort}");

    /// <summary>The running silo's services (grain factory, local shards, ...).</summary>
    public IServiceProvider Services => _app?.Services ?? throw new InvalidOperationException("the silo is not running");

    /// <param name="settings">More configuration, as command-line arguments (e.g. "--Campaigns:RateLimits:PartnerClaimsPerSecond=3").</param>
    public static Task<SiloHost> StartAsync(params string[] settings) => StartAsync(DateTimeOffset.UtcNow, database: null, settings);

    /// <summary>A silo with more services registered before the host's own (e.g. AddSharedRedisServices).</summary>
    public static Task<SiloHost> StartWithAsync(Action<IServiceCollection> services, params string[] settings) =>
        StartAsync(new SiloHost(new FakeTimeProvider(DateTimeOffset.UtcNow), NewDataDirectory()) { _settings = settings, _services = services });

    /// <summary>A silo whose settings turn TLS on; its clients trust <paramref name="trusted"/> and present <paramref name="client"/>.</summary>
    public static Task<SiloHost> StartWithTlsAsync(X509Certificate2 trusted, X509Certificate2? client, params string[] settings) =>
        StartAsync(DateTimeOffset.UtcNow, database: null, settings, trusted, client);

    /// <param name="now">Where the silo's clock starts.</param>
    /// <param name="database">A database file to start on (copied into the data directory), instead of a new one.</param>
    public static Task<SiloHost> StartAsync(DateTimeOffset now, string? database, params string[] settings) =>
        StartAsync(now, database, settings, trusted: null, client: null);

    private static async Task<SiloHost> StartAsync(DateTimeOffset now, string? database, string[] settings, X509Certificate2? trusted, X509Certificate2? client)
    {
        var directory = NewDataDirectory();
        if (database is not null)
        {
            Directory.CreateDirectory(directory);
            File.Copy(database, Path.Combine(directory, Storage.Sqlite.EmbeddedStore.FileName));
        }

        return await StartAsync(new SiloHost(new FakeTimeProvider(now), directory) { _settings = settings, TrustedCertificate = trusted, ClientCertificate = client });
    }

    private static string NewDataDirectory() => Path.Combine(Path.GetTempPath(), "campaigns-e2e-" + Guid.NewGuid().ToString("N"));

    private static async Task<SiloHost> StartAsync(SiloHost host)
    {
        try
        {
            await host.StartAppAsync();
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }

        return host;
    }

    /// <summary>A client of the silo acting with <paramref name="apiKey"/> ("" sends no key). Disposed with the host.</summary>
    public CampaignsClient Client(string apiKey)
    {
        var client = new CampaignsClient(new CampaignsClientOptions
        {
            Address = GrpcAddress,
            ApiKey = apiKey,
            TrustedCertificate = TrustedCertificate,
            ClientCertificate = ClientCertificate,
            Deadline = TimeSpan.FromSeconds(30),
        });
        lock (_clients)
        {
            _clients.Add(client);
        }

        return client;
    }

    /// <summary>A plain gRPC channel to the silo (trusting its test certificate, if any); the caller disposes it.</summary>
    public GrpcChannel Channel()
    {
        if (TrustedCertificate is not { } trusted)
        {
            return GrpcChannel.ForAddress(GrpcAddress);
        }

        var handler = new System.Net.Http.SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
            errors == System.Net.Security.SslPolicyErrors.None
            || (errors == System.Net.Security.SslPolicyErrors.RemoteCertificateChainErrors && certificate?.GetCertHashString() == trusted.GetCertHashString());
        if (ClientCertificate is { } client)
        {
            handler.SslOptions.ClientCertificates = [client];
        }

        return GrpcChannel.ForAddress(GrpcAddress, new GrpcChannelOptions { HttpHandler = handler });
    }

    /// <summary>
    /// Stops the silo and starts a new one on the same data directory and gRPC/HTTP ports (the
    /// Orleans ports are new). Clients made before keep working: they reconnect.
    /// </summary>
    public async Task RestartAsync()
    {
        await StopAppAsync();
        await StartAppAsync();
    }

    public async ValueTask DisposeAsync()
    {
        lock (_clients)
        {
            foreach (var client in _clients)
            {
                client.Dispose();
            }

            _clients.Clear();
        }

        await StopAppAsync();
        try
        {
            if (Directory.Exists(DataDirectory))
            {
                Directory.Delete(DataDirectory, recursive: true);
            }
        }
        catch (IOException)
        {
            // A temp directory left behind is harmless.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private async Task StartAppAsync()
    {
        string[] args =
        [
            $"--Campaigns:GrpcPort={GrpcPort}",
            $"--Campaigns:HttpPort={HttpPort}",
            $"--Orleans:SiloPort={LoopbackPorts.Free()}",
            $"--Orleans:GatewayPort={LoopbackPorts.Free()}",
            $"--Campaigns:DataDirectory={DataDirectory}",
            $"--Campaigns:Auth:BootstrapOrganiserKey={BootstrapOrganiserKey}",
            "--Logging:LogLevel:Default=Warning",
            .. _settings,
        ];

        // Right after a stop the old listener's port can take a moment to be free again.
        for (var attempt = 1; ; attempt++)
        {
            var app = await CampaignsHost.BuildAsync(args, builder =>
            {
                builder.Services.AddKeyedSingleton<TimeProvider>(CampaignClock.Key, Clock);
                _services?.Invoke(builder.Services);
            });
            try
            {
                await app.StartAsync();
                _app = app;
                break;
            }
            catch (IOException) when (attempt < 10)
            {
                await app.DisposeAsync();
                await Task.Delay(500);
            }
        }

        await WaitUntilServingAsync();
    }

    private async Task StopAppAsync()
    {
        if (_app is not { } app)
        {
            return;
        }

        _app = null;
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await app.StopAsync(timeout.Token);
        }
        finally
        {
            await app.DisposeAsync();
            // The SQLite file must be let go before the next silo (or the clean-up) opens it.
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        }
    }

    private async Task WaitUntilServingAsync()
    {
        using var channel = Channel();
        var health = new Health.HealthClient(channel);
        var deadline = DateTime.UtcNow + StartupTimeout;
        while (true)
        {
            try
            {
                var reply = await health.CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(5));
                if (reply.Status == HealthCheckResponse.Types.ServingStatus.Serving)
                {
                    return;
                }
            }
            catch (Grpc.Core.RpcException) when (DateTime.UtcNow < deadline)
            {
            }

            if (DateTime.UtcNow >= deadline)
            {
                throw new TimeoutException($"the silo on port {GrpcPort} did not report SERVING within {StartupTimeout}");
            }

            await Task.Delay(100);
        }
    }
}
