using Campaigns.Grains.Ledger;
using Campaigns.Storage.Postgres;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Campaigns.Tests.Ledger;

/// <summary>What only the PostgreSQL ledger has: its migrations under an advisory lock, its layout, its faults.</summary>
public sealed class PostgresLedgerTests(PostgresTestDatabase database) : IClassFixture<PostgresTestDatabase>
{
    [Fact]
    public async Task Silos_starting_at_once_apply_each_migration_once()
    {
        var connectionString = await database.CreateSchemaAsync();
        var ledgers = Enumerable.Range(0, 6).Select(_ => new PostgresLedger(connectionString)).ToList();
        try
        {
            // Without the advisory lock, the racing CREATE TABLEs fail on each other's catalogue rows.
            await Task.WhenAll(ledgers.Select(l => Task.Run(() => l.EnsureSchemaAsync())));

            Assert.Equal((long)PostgresLedgerSchema.Migrations.Count, await PostgresTestDatabase.ScalarAsync(connectionString, "SELECT COUNT(*) FROM schema_version"));
            Assert.Equal(1, await ledgers[5].RegisterCampaignAsync("spring", DateTimeOffset.UtcNow));
        }
        finally
        {
            foreach (var ledger in ledgers)
            {
                await ledger.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task The_vouchers_table_has_no_index_but_its_key_and_the_partial_one_of_devices()
    {
        var connectionString = await database.CreateSchemaAsync();
        await using var ledger = new PostgresLedger(connectionString);
        await ledger.EnsureSchemaAsync();

        // Every other index would put a write at a random place into each claim. The devices' one
        // is written only for vouchers that carry a device, in key order within their bucket.
        Assert.Equal(
            "ix_vouchers_device: CREATE INDEX ix_vouchers_device ON vouchers USING btree (device_bucket, row_key) WHERE (device_id IS NOT NULL)" +
            "|vouchers_pkey",
            await PostgresTestDatabase.ScalarAsync(connectionString,
                """
                SELECT string_agg(CASE WHEN indexname = 'vouchers_pkey' THEN indexname ELSE indexname || ': ' || replace(indexdef, current_schema() || '.', '') END, '|' ORDER BY indexname)
                FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'vouchers'
                """));
    }

    [Fact]
    public async Task The_ledger_s_sessions_wait_for_the_WAL_flush_at_every_commit()
    {
        // The server's own default is off here: the ledger must not inherit it.
        var connectionString = new NpgsqlConnectionStringBuilder(await database.CreateSchemaAsync()) { Options = "-c synchronous_commit=off" }.ToString();
        await using var ledger = new PostgresLedger(connectionString);

        Assert.Equal("on", await ledger.SettingAsync("synchronous_commit"));
    }

    [Fact]
    public async Task An_export_waits_for_events_in_flight_so_a_resume_after_its_last_sequence_skips_none()
    {
        var connectionString = await database.CreateSchemaAsync();
        await using var ledger = new PostgresLedger(connectionString);
        await ledger.EnsureSchemaAsync();
        const string insert = """
            INSERT INTO redemption_events (type, code, campaign_id, merchant_id, merchant_district, order_id, order_amount_cents, discount_cents, occurred_at)
            VALUES ('REDEEMED', $1, 'c', 'm1', 'xuhui', $1, 10000, 2000, now());
            """;

        // The first event takes its sequence now but commits after the second.
        await using var slow = new NpgsqlConnection(connectionString);
        await slow.OpenAsync();
        await using var inFlight = await slow.BeginTransactionAsync();
        await using (var first = new NpgsqlCommand(insert, slow, inFlight) { Parameters = { new() { Value = "early" } } })
        {
            await first.ExecuteNonQueryAsync();
        }

        await using (var fast = new NpgsqlConnection(connectionString))
        {
            await fast.OpenAsync();
            await using var second = new NpgsqlCommand(insert, fast) { Parameters = { new() { Value = "late" } } };
            await second.ExecuteNonQueryAsync();
        }

        var export = Task.Run(async () =>
        {
            var orders = new List<(long Sequence, string Order)>();
            await foreach (var e in ledger.ExportRedemptionEventsAsync("c"))
            {
                orders.Add((e.Sequence, e.OrderId));
            }

            return orders;
        });
        await Task.Delay(TimeSpan.FromMilliseconds(300));
        Assert.False(export.IsCompleted, "the export must wait for the event still in flight");
        await inFlight.CommitAsync();

        // Had it sent "late" alone, a resume after late's sequence would never see "early".
        var exported = await export;
        Assert.Equal(["early", "late"], exported.Select(e => e.Order));
        Assert.True(exported[0].Sequence < exported[1].Sequence);
    }

    [Fact]
    public async Task A_server_that_cannot_be_reached_makes_every_call_unavailable()
    {
        // A port nothing listens on: bound, then released.
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        await using var ledger = new PostgresLedger($"Host=127.0.0.1;Port={port};Username=nobody;Timeout=2");

        await Assert.ThrowsAsync<LedgerUnavailableException>(() => ledger.EnsureSchemaAsync());
        await Assert.ThrowsAsync<LedgerUnavailableException>(() => ledger.ActivateShardAsync("c", 0));
        await Assert.ThrowsAsync<LedgerUnavailableException>(() => ledger.GetVoucherAsync(new VoucherKey(1, 0, 1)));
        await Assert.ThrowsAsync<LedgerUnavailableException>(async () =>
        {
            await foreach (var _ in ledger.ExportRedemptionEventsAsync("c"))
            {
            }
        });
    }

    [Fact]
    public async Task Connections_the_server_dropped_fail_as_unavailable_and_the_ledger_reconnects_by_itself()
    {
        var connectionString = await database.CreateSchemaAsync();
        await using var ledger = new PostgresLedger(new NpgsqlConnectionStringBuilder(connectionString) { ApplicationName = "dropped-ledger" }.ToString());
        await ledger.EnsureSchemaAsync();
        await ledger.RegisterCampaignAsync("spring", DateTimeOffset.UtcNow);

        // As a server restart does to every pooled connection: each is cut under the ledger.
        await PostgresTestDatabase.ScalarAsync(connectionString,
            "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'dropped-ledger'");

        var calls = 0;
        while (true)
        {
            calls++;
            try
            {
                Assert.Equal(1, await ledger.FindCampaignNumberAsync("spring"));
                break;
            }
            catch (LedgerUnavailableException) when (calls < 5)
            {
                // A pooled connection the server had cut: that call fails, retrying is safe.
            }
        }

        Assert.True(calls > 1, "a call on a connection the server had cut did not fail");
        Assert.Equal(1, await ledger.ActivateCampaignAsync("spring"));
    }

    [Fact]
    public async Task Silos_opening_the_production_store_check_codes_with_one_key_and_get_one_ledger_under_every_role()
    {
        var connectionString = await database.CreateSchemaAsync();
        var first = await ProductionStore.OpenAsync(connectionString);
        var second = await ProductionStore.OpenAsync(connectionString);
        var key = new VoucherKey(1, 3, 42);

        // A code one silo issued is valid at the other.
        Assert.True(second.Codes.TryRead(first.Codes.CodeFor(key), out var code));
        Assert.Equal(key, code.Key);

        var services = new ServiceCollection().AddProductionLedger(first).BuildServiceProvider();
        await using (services)
        {
            var ledger = services.GetRequiredService<PostgresLedger>();
            Assert.Same(first.Ledger, ledger);
            Assert.Same(ledger, services.GetRequiredService<ILedger>());
            Assert.Same(ledger, services.GetRequiredService<ICampaignDirectory>());
            Assert.Same(ledger, services.GetRequiredService<IReportingLedger>());
            Assert.Same(ledger, services.GetRequiredService<ILedgerDiagnostics>());
            Assert.Same(first.Codes, services.GetRequiredService<Campaigns.Grains.Issuance.VoucherCodes>());
        }

        // Disposed with the container: its pool is closed.
        await Assert.ThrowsAsync<ObjectDisposedException>(() => first.Ledger.FindCampaignNumberAsync("any"));
        await second.Ledger.DisposeAsync();
    }
}
