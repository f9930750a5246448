using System.Security.Cryptography;
using Campaigns.Grains.Campaigns;
using Campaigns.Grains.Issuance;
using Campaigns.Grains.Ledger;
using Campaigns.Storage.Postgres;
using Campaigns.Storage.Sqlite;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Campaigns.LoadTests;

/// <summary>
/// The store on its own: the silo's SQLite ledger, opened in the tool's process on a fresh file
/// (or, given a PostgreSQL connection string, the PostgreSQL ledger in a fresh schema), committing
/// the same issue batches the shards commit (one voucher each, as single claims arrive, or a
/// thousand), with no gRPC and no grains in front of it. Every issuing figure of the service sits
/// under what this measures: it shows how much room the store alone leaves for a target.
/// </summary>
public sealed class LedgerCeiling(LoadSettings settings, TextWriter log, string? postgres = null)
{
    public const string Single = "ledger alone, 1 voucher a commit";
    public const string Batches = "ledger alone, 1,000 vouchers a commit (vouchers)";

    private const string Campaign = "load-ledger";
    private const string Channel = "load-partner";

    /// <summary>As many shards as the issuing scenarios' campaigns get from their peak hint.</summary>
    private const int Shards = 8;

    private const int BatchItems = 1_000;

    /// <summary>Where the batches' vouchers are numbered from; single claims use the numbers below it.</summary>
    private const long BatchSequences = 300_000_000;

    private static readonly VoucherTerms Terms = new(DiscountKind.AmountOff, 2_000, 10_000, 0, 0, 0);

    public async Task<IReadOnlyList<LoadResult>> RunAsync()
    {
        await using var store = postgres is null ? await SqliteStore.OpenAsync() : await PostgresStore.OpenAsync(postgres);
        var ledger = store.Ledger;
        log.WriteLine($"  the {store.Name} ledger");
        await ledger.EnsureSchemaAsync();
        var number = await ledger.RegisterCampaignAsync(Campaign, DateTimeOffset.UtcNow);
        var campaignEpoch = await ledger.ActivateCampaignAsync(Campaign);
        var epochs = new long[Shards];
        var seqs = new long[Shards];
        for (var shard = 0; shard < Shards; shard++)
        {
            epochs[shard] = (await ledger.ActivateShardAsync(Campaign, shard)).Epoch;
            await ledger.GrantLeaseAsync(Campaign, campaignEpoch, shard, pool: "", amount: 1_000_000_000_000, poolCapacity: Shards * 1_000_000_000_000L);
        }

        var codes = new VoucherCodes(RandomNumberGenerator.GetBytes(32));
        VoucherRecord Voucher(string prefix, long n, int shard)
        {
            var now = DateTimeOffset.UtcNow;
            // Seqs as a shard hands them out: in order within the shard, as the claims come.
            var key = new VoucherKey(number, shard, Interlocked.Increment(ref seqs[shard]));
            return new VoucherRecord
            {
                Code = codes.CodeFor(key),
                CampaignId = Campaign,
                CampaignNumber = number,
                Shard = shard,
                Seq = key.Seq,
                UserId = settings.Ids.User(prefix + "-user", n),
                Channel = Channel,
                RequestId = settings.Ids.Request(prefix + "-claim", n),
                District = "",
                Status = StoredVoucherStatus.Issued,
                Version = 1,
                Terms = Terms,
                ValidFrom = now,
                ValidUntil = now.AddDays(30),
                IssuedAt = now,
                Pool = "",
                IssuedDay = DateOnly.FromDateTime(now.UtcDateTime),
            };
        }

        Task Commit(int shard, VoucherRecord[] vouchers) =>
            ledger.CommitIssueBatchAsync(new IssueBatch(Campaign, number, shard, epochs[shard], vouchers));

        Task One(long n) => Commit((int)(n % Shards), [Voucher("single", n, (int)(n % Shards))]);
        Task Thousand(long n)
        {
            var shard = (int)(n % Shards);
            var vouchers = new VoucherRecord[BatchItems];
            for (var i = 0; i < BatchItems; i++)
            {
                // Each batch's vouchers belong to its shard, as a shard's batch does. Random ids
                // differ by number only, so batches number theirs apart from the single claims'.
                vouchers[i] = Voucher("batch", BatchSequences + (n * BatchItems) + i, shard);
            }

            return Commit(shard, vouchers);
        }

        // The tool's own runtime compiles the ledger's code as it goes: a fixed warm-up first.
        var warmUp = settings.Duration < WarmUp.Least ? settings.Duration : WarmUp.Least;
        await LoadRunner.ClosedLoopAsync("warm-up", settings.Workers, warmUp, One, firstSequence: 800_000_000);
        log.WriteLine($"  warm-up: {warmUp.TotalSeconds:0.#} s");

        // What each run appended to the store's write-ahead log.
        async Task<LoadResult> Logged(Func<Task<LoadResult>> run)
        {
            await store.TakeLogBytesAsync();
            var result = await Metered(run);
            return result with { LogBytes = await store.TakeLogBytesAsync() };
        }

        var most = await Logged(() => LoadRunner.ClosedLoopAsync(Named(Single), settings.Workers, settings.Duration, One));
        var half = await Logged(() => LoadRunner.OpenLoopAsync(Named(Single), most.PerSecond / 2, settings.Duration, One, firstSequence: 100_000_000));
        var batches = await Logged(() => LoadRunner.ClosedLoopAsync(Named(Batches), Shards, settings.Duration, Thousand));
        return [most, half, batches with { Succeeded = batches.Succeeded * BatchItems }];
    }

    /// <summary>A run's name, saying which store it measured when it is not the embedded default's.</summary>
    private string Named(string run) => postgres is null ? run : "PostgreSQL " + run;

    /// <summary>All the processor time is the tool's here: the ledger runs inside it.</summary>
    private static Task<LoadResult> Metered(Func<Task<LoadResult>> run) => CpuUse.MeterAsync(() => TimeSpan.Zero, run);

    /// <summary>A ledger on a store of its own for the run, removed afterwards.</summary>
    private abstract class Store : IAsyncDisposable
    {
        public abstract string Name { get; }

        public abstract ILedger Ledger { get; }

        /// <summary>Bytes appended to the store's write-ahead log since the last call.</summary>
        public abstract Task<long?> TakeLogBytesAsync();

        public abstract ValueTask DisposeAsync();
    }

    private sealed class SqliteStore(DirectoryInfo directory, SqliteLedger ledger) : Store
    {
        public override string Name => "SQLite";

        public override ILedger Ledger => ledger;

        public static Task<Store> OpenAsync()
        {
            var directory = Directory.CreateTempSubdirectory("campaigns-ledger-");
            var file = Path.Combine(directory.FullName, "ledger.db");
            return Task.FromResult<Store>(new SqliteStore(directory, new SqliteLedger(new SqliteConnectionStringBuilder { DataSource = file, Pooling = true }.ToString())));
        }

        // As the checkpointer (every 100 ms) counted it: a pause either side lets it count the run's last commits.
        public override async Task<long?> TakeLogBytesAsync()
        {
            await Task.Delay(TimeSpan.FromMilliseconds(300));
            return ledger.TakeActivity().LogBytes;
        }

        public override ValueTask DisposeAsync()
        {
            ledger.Dispose();
            SqliteConnection.ClearAllPools();
            directory.Delete(recursive: true);
            return ValueTask.CompletedTask;
        }
    }

    private sealed class PostgresStore(NpgsqlDataSource admin, string schema, PostgresLedger ledger) : Store
    {
        private long? _lastLsn;

        public override string Name => "PostgreSQL";

        public override ILedger Ledger => ledger;

        public static async Task<Store> OpenAsync(string connectionString)
        {
            var schema = $"campaigns_ledger_{Guid.NewGuid():N}";
            var admin = NpgsqlDataSource.Create(connectionString);
            await using (var create = admin.CreateCommand($"CREATE SCHEMA {schema};"))
            {
                await create.ExecuteNonQueryAsync();
            }

            return new PostgresStore(admin, schema, new PostgresLedger(new NpgsqlConnectionStringBuilder(connectionString) { SearchPath = schema }.ToString()));
        }

        // The server's WAL position moves with every write on it: a quiet server is assumed.
        public override async Task<long?> TakeLogBytesAsync()
        {
            await using var position = admin.CreateCommand("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint;");
            var now = (long)(await position.ExecuteScalarAsync())!;
            var appended = now - _lastLsn;
            _lastLsn = now;
            return appended;
        }

        public override async ValueTask DisposeAsync()
        {
            await ledger.DisposeAsync();
            await using (var drop = admin.CreateCommand($"DROP SCHEMA {schema} CASCADE;"))
            {
                await drop.ExecuteNonQueryAsync();
            }

            await admin.DisposeAsync();
        }
    }
}
