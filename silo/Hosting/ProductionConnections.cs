namespace Campaigns.Silo.Hosting;

/// <summary>
/// The two connection strings that switch a silo to production mode (PostgreSQL for the ledger and
/// grain state, Redis for membership and what the silos share). Both or neither: one alone is a
/// mistake worth stopping for, since half a production set-up would run a cluster of one.
/// </summary>
public sealed record ProductionConnections(string Postgres, string Redis)
{
    public const string PostgresKey = "ConnectionStrings:Postgres";
    public const string RedisKey = "ConnectionStrings:Redis";

    /// <summary>Production mode's connection strings, or null for the embedded default.</summary>
    /// <exception cref="StartupException">Only one of the two is set.</exception>
    public static ProductionConnections? From(IConfiguration configuration)
    {
        var postgres = configuration.GetConnectionString("Postgres");
        var redis = configuration.GetConnectionString("Redis");
        return (string.IsNullOrWhiteSpace(postgres), string.IsNullOrWhiteSpace(redis)) switch
        {
            (true, true) => null,
            (false, false) => new ProductionConnections(postgres!, redis!),
            (false, true) => throw OnlyOne(PostgresKey, RedisKey),
            (true, false) => throw OnlyOne(RedisKey, PostgresKey),
        };
    }

    private static StartupException OnlyOne(string set, string missing) => new(
        $"{set} is set but {missing} is not: production mode needs both (unset both to run the embedded default)");
}
