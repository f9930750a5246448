using Campaigns.Grains.Ledger;
using Campaigns.Storage.Sqlite;

namespace Campaigns.Tests.Ledger;

/// <summary>The ledger contract on SQLite: one file per test.</summary>
public sealed class SqliteLedgerContractTests : LedgerContractTests
{
    private readonly TemporaryDatabase _database = new();

    protected override Task<ILedger> OpenFreshAsync() => Task.FromResult<ILedger>(new SqliteLedger(_database.ConnectionString));

    protected override ILedger OpenAnother() => new SqliteLedger(_database.ConnectionString);

    protected override Task DropStoreAsync()
    {
        _database.Dispose();
        return Task.CompletedTask;
    }
}
