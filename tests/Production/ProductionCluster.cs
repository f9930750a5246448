using Campaigns.Client;
using Campaigns.LoadTests;
using Campaigns.Proto;

namespace Campaigns.Tests.Production;

/// <summary>
/// Silos in production mode, each a real process (the Release build) on its own loopback ports,
/// sharing one PostgreSQL database and one Redis of the test's own, so a test can kill a silo,
/// stop PostgreSQL or wipe Redis under load. Membership is tuned to notice a dead silo in seconds.
/// </summary>
public sealed class ProductionCluster : IAsyncDisposable
{
    public const string OrganiserKey = "production-organiser-key-7c2e";

    private readonly List<CampaignsClient> _clients = [];

    private ProductionCluster(PostgresServer postgres, RedisServer redis, LoadDatabase database)
    {
        Postgres = postgres;
        Redis = redis;
        _database = database;
    }

    private readonly LoadDatabase _database;

    public PostgresServer Postgres { get; }

    public RedisServer Redis { get; }

    public string LedgerConnectionString => _database.ConnectionString;

    public List<SiloProcess> Silos { get; } = [];

    /// <param name="splitBrain">
    /// Each silo in a cluster of its own on the same database (a membership split at its worst:
    /// every side sure it is the whole cluster, and each activating the same grains).
    /// </param>
    public static async Task<ProductionCluster> StartAsync(int silos, bool splitBrain = false)
    {
        var postgres = await PostgresServer.StartAsync();
        RedisServer? redis = null;
        try
        {
            redis = await RedisServer.StartAsync();
            var database = await LoadDatabase.CreateAsync(postgres.ConnectionString());
            var cluster = new ProductionCluster(postgres, redis, database) { _splitBrain = splitBrain };
            try
            {
                // The first silo migrates the schema; the others then join it together.
                cluster.Silos.Add(await cluster.StartSiloAsync());
                var others = await Task.WhenAll(Enumerable.Range(1, silos - 1).Select(_ => cluster.StartSiloAsync()));
                cluster.Silos.AddRange(others);
                return cluster;
            }
            catch
            {
                await cluster.DisposeAsync();
                throw;
            }
        }
        catch
        {
            if (redis is not null)
            {
                await redis.DisposeAsync();
            }

            await postgres.DisposeAsync();
            throw;
        }
    }

    private bool _splitBrain;

    private Task<SiloProcess> StartSiloAsync() => SiloProcess.StartAsync(Args.RepositoryRoot(),
    [
        .. _database.SiloSettings(Redis.ConnectionString),
        // A later setting wins: in a split, each silo names a cluster of its own.
        .. (string[])(_splitBrain ? [$"--Orleans:ClusterId=side-{Guid.NewGuid():N}"] : []),
        // A dead silo is voted out after a few missed one-second probes, not the default's ~30 s.
        "--Orleans:Membership:ProbeTimeout=00:00:01",
        "--Orleans:Membership:NumMissedProbesLimit=2",
        "--Orleans:Membership:TableRefreshTimeout=00:00:02",
    ], OrganiserKey, echoWarnings: false);

    /// <summary>A client of silo <paramref name="silo"/> with <paramref name="apiKey"/> (the organiser's by default), disposed with the cluster.</summary>
    public CampaignsClient Client(int silo, string? apiKey = null, int maxRetries = 6)
    {
        var client = new CampaignsClient(new CampaignsClientOptions
        {
            Address = Silos[silo].Address,
            ApiKey = apiKey ?? OrganiserKey,
            Deadline = TimeSpan.FromSeconds(5),
            MaxRetries = maxRetries,
            RetryBaseDelay = TimeSpan.FromMilliseconds(100),
            RetryMaxDelay = TimeSpan.FromSeconds(1),
        });
        lock (_clients)
        {
            _clients.Add(client);
        }

        return client;
    }

    /// <summary>The silos' recent log lines that contain <paramref name="marker"/>, each with the few lines after it, for a failure's story.</summary>
    public string LogExcerpt(string marker)
    {
        var excerpt = new List<string>();
        foreach (var (silo, index) in Silos.Select((s, i) => (s, i)))
        {
            var lines = silo.RecentLog;
            for (var i = 0; i < lines.Count; i++)
            {
                if (lines[i].Contains(marker, StringComparison.Ordinal))
                {
                    excerpt.AddRange(lines.Skip(i).Take(4).Select(line => $"silo {index}: {line}"));
                }
            }
        }

        return string.Join('\n', excerpt.Take(40));
    }

    /// <summary>A new API key's secret for <paramref name="role"/> / <paramref name="principal"/>.</summary>
    public async Task<string> CreateKeyAsync(Role role, string principal) =>
        (await Client(0).Access.CreateApiKeyAsync(new CreateApiKeyRequest { Role = role, PrincipalId = principal, Description = "fault test" })).Secret;

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _clients)
        {
            client.Dispose();
        }

        foreach (var silo in Silos)
        {
            await silo.DisposeAsync();
        }

        await Redis.DisposeAsync();
        // The database goes with the server.
        await Postgres.DisposeAsync();
    }
}
