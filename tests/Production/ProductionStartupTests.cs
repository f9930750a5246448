using System.Diagnostics;
using Campaigns.Grains.Ledger;
using Campaigns.LoadTests;
using Campaigns.Silo.Hosting;
using Campaigns.Tests.Ledger;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;

namespace Campaigns.Tests.Production;

/// <summary>
/// The one switch between the embedded default and production mode, and the one-line start-up
/// errors an operator gets for a half-set, malformed or unreachable configuration.
/// </summary>
public sealed class ProductionStartupTests : IClassFixture<PostgresTestDatabase>
{
    private readonly PostgresTestDatabase _database;

    public ProductionStartupTests(PostgresTestDatabase database) => _database = database;

    [Theory]
    [InlineData("--ConnectionStrings:Postgres=Host=127.0.0.1", "ConnectionStrings:Postgres is set but ConnectionStrings:Redis is not")]
    [InlineData("--ConnectionStrings:Redis=127.0.0.1:6379", "ConnectionStrings:Redis is set but ConnectionStrings:Postgres is not")]
    public async Task Only_one_production_connection_string_is_a_start_up_error_naming_the_missing_one(string setting, string expected)
    {
        var error = await Assert.ThrowsAsync<StartupException>(() => CampaignsHost.BuildAsync([setting, .. FreePorts()]));

        Assert.StartsWith(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_malformed_PostgreSQL_connection_string_is_told_as_such()
    {
        var error = await Assert.ThrowsAsync<StartupException>(() => CampaignsHost.BuildAsync(
            ["--ConnectionStrings:Postgres=Hots=127.0.0.1", "--ConnectionStrings:Redis=127.0.0.1:1", .. FreePorts()]));

        Assert.StartsWith("ConnectionStrings:Postgres is not a valid connection string", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unreachable_PostgreSQL_is_named_with_its_address_and_no_password()
    {
        var port = LoopbackPorts.Free();
        var error = await Assert.ThrowsAsync<StartupException>(() => CampaignsHost.BuildAsync(
            [$"--ConnectionStrings:Postgres=Host=127.0.0.1;Port={port};Username=u;Password=secret-pw;Timeout=3", "--ConnectionStrings:Redis=127.0.0.1:1", .. FreePorts()]));

        Assert.StartsWith($"PostgreSQL at 127.0.0.1:{port}/", error.Message, StringComparison.Ordinal);
        Assert.Contains("cannot be reached", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-pw", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unreachable_Redis_is_named_once_PostgreSQL_is_there()
    {
        var port = LoopbackPorts.Free();
        var error = await Assert.ThrowsAsync<StartupException>(() => CampaignsHost.BuildAsync(
            [$"--ConnectionStrings:Postgres={_database.ConnectionString}", $"--ConnectionStrings:Redis=127.0.0.1:{port}", .. FreePorts()]));

        Assert.Equal($"Redis at 127.0.0.1:{port} cannot be reached (no answer within 5 s)", error.Message);
    }

    [Fact]
    public async Task The_silo_process_prints_the_start_up_error_in_one_line_and_exits_with_code_2()
    {
        var silo = Path.Combine(AppContext.BaseDirectory, "Campaigns.Silo.dll");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var argument in new[] { silo, "--ConnectionStrings:Redis=127.0.0.1:6379" }.Concat(FreePorts()))
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        await output;

        Assert.Equal(2, process.ExitCode);
        Assert.Equal(
            "campaigns: cannot start: ConnectionStrings:Redis is set but ConnectionStrings:Postgres is not: production mode needs both (unset both to run the embedded default)",
            error.Trim());
    }

    [Fact]
    public void Ledger_failures_cross_silos_intact_in_Orleans_serializer()
    {
        using var services = new ServiceCollection().AddSerializer().BuildServiceProvider();
        var serializer = services.GetRequiredService<Serializer>();

        foreach (var failure in new Exception[]
        {
            new LedgerUnavailableException("the ledger could not serve a commit", new TimeoutException("no answer")),
            new LedgerFencedException("a newer activation holds the shard"),
            new LedgerConflictException("a lease would issue past its grant"),
        })
        {
            var copy = serializer.Deserialize<Exception>(serializer.SerializeToArray<Exception>(failure));

            Assert.IsType(failure.GetType(), copy);
            Assert.Equal(failure.Message, copy.Message);
        }
    }

    private static string[] FreePorts() =>
    [
        $"--Campaigns:GrpcPort={LoopbackPorts.Free()}", $"--Campaigns:HttpPort={LoopbackPorts.Free()}",
        $"--Orleans:SiloPort={LoopbackPorts.Free()}", $"--Orleans:GatewayPort={LoopbackPorts.Free()}",
        $"--Campaigns:DataDirectory={Path.Combine(Path.GetTempPath(), "campaigns-startup-" + Guid.NewGuid().ToString("N"))}",
    ];
}
