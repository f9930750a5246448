using System.Security.Cryptography;
using Campaigns.Grains.Issuance;
using Campaigns.Grains.Ledger;
using Microsoft.Data.Sqlite;

namespace Campaigns.Storage.Sqlite;

/// <summary>
/// The embedded default's storage: one SQLite file holding both the Orleans grain state and the
/// voucher ledger, created or migrated at start-up, plus the voucher-code key kept in it so
/// every restart (and every silo on the same database) checks codes with the same key.
/// </summary>
public sealed class EmbeddedStore
{
    public const string FileName = "campaigns.db";
    private const string VoucherCodeKeyName = "voucher-code-key";

    private EmbeddedStore(string connectionString, string path, SqliteLedger ledger, VoucherCodes codes)
    {
        ConnectionString = connectionString;
        Path = path;
        Ledger = ledger;
        Codes = codes;
    }

    public string ConnectionString { get; }

    public string Path { get; }

    public SqliteLedger Ledger { get; }

    public VoucherCodes Codes { get; }

    public static async Task<EmbeddedStore> OpenAsync(string dataDirectory, CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(dataDirectory);
        var path = System.IO.Path.GetFullPath(System.IO.Path.Combine(dataDirectory, FileName));
        var connectionString = new SqliteConnectionStringBuilder { DataSource = path, Pooling = true }.ToString();
        var ledger = new SqliteLedger(connectionString);
        await ledger.EnsureSchemaAsync(cancellationToken);
        await SqliteGrainStateSchema.EnsureCreatedAsync(connectionString, cancellationToken);
        var key = await ledger.GetOrCreateSecretAsync(VoucherCodeKeyName, RandomNumberGenerator.GetBytes(32));
        return new EmbeddedStore(connectionString, path, ledger, new VoucherCodes(key));
    }
}
