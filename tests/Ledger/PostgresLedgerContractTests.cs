using Campaigns.Grains.Ledger;
using Campaigns.Storage.Postgres;

namespace Campaigns.Tests.Ledger;

/// <summary>The ledger contract on PostgreSQL: a database for the class, a schema per test.</summary>
public sealed class PostgresLedgerContractTests(PostgresTestDatabase database) : LedgerContractTests, IClassFixture<PostgresTestDatabase>
{
    private string _connectionString = "";

    protected override async Task<ILedger> OpenFreshAsync()
    {
        _connectionString = await database.CreateSchemaAsync();
        return new PostgresLedger(_connectionString);
    }

    protected override ILedger OpenAnother() => new PostgresLedger(_connectionString);
}
