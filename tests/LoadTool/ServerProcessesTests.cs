using Campaigns.LoadTests;
using Campaigns.Tests.Ledger;
using Campaigns.Tests.Shared;
using Npgsql;

namespace Campaigns.Tests.LoadTool;

/// <summary>How a production run meters the servers beside the silo: /proc read right, and the test servers found.</summary>
public sealed class ServerProcessesTests
{
    [Fact]
    public void A_proc_stat_line_is_read_from_after_its_command_however_odd_the_command()
    {
        // Fields after the command: state, ppid, …, utime (14), stime (15), cutime (16), cstime (17), in hundredths of a second.
        var line = "4242 (post (gres) x) S 17 4242 4242 0 -1 4194560 1000 0 0 0 250 50 700 100 20 0 1 0 12345 1000000 500 18446744073709551615";

        var stat = ProcStat.Parse(line);

        Assert.NotNull(stat);
        Assert.Equal(4242, stat.ProcessId);
        Assert.Equal("post (gres) x", stat.Command);
        Assert.Equal(17, stat.ParentId);
        Assert.Equal(TimeSpan.FromSeconds(3), stat.OwnTime);
        Assert.Equal(TimeSpan.FromSeconds(8), stat.EndedChildrenTime);
    }

    [Theory]
    [InlineData("")]
    [InlineData("not a stat line")]
    [InlineData("12 (short) S 1 2 3")]
    [InlineData("x (cmd) S 1 1 1 0 -1 0 0 0 0 0 1 2 3 4")]
    public void A_line_that_is_not_a_stat_line_reads_as_nothing(string line) => Assert.Null(ProcStat.Parse(line));

    [Fact]
    public void This_process_reads_itself_with_its_parent()
    {
        var stat = ProcStat.Read(Environment.ProcessId);

        Assert.NotNull(stat);
        Assert.Equal(Environment.ProcessId, stat.ProcessId);
        Assert.True(stat.OwnTime > TimeSpan.Zero);
        Assert.Contains(ProcStat.ChildrenOf(stat.ParentId), child => child.ProcessId == Environment.ProcessId);
        Assert.Null(ProcStat.Read(int.MaxValue));
    }

    [Fact]
    public async Task The_test_servers_are_found_on_this_machine_and_their_work_is_counted()
    {
        using var servers = await ServerProcesses.FindAsync(PostgresTestServer.ConnectionString, RedisTestServer.ConnectionString, TextWriter.Null);
        Assert.NotNull(servers);
        var before = servers.ProcessorTime;
        Assert.NotNull(before);

        // Work for PostgreSQL's backend: the meter must see it.
        await using (var connection = new NpgsqlConnection(PostgresTestServer.ConnectionString))
        {
            await connection.OpenAsync();
            await using var busy = new NpgsqlCommand("SELECT count(*) FROM generate_series(1, 5000000);", connection);
            await busy.ExecuteScalarAsync();
        }

        Assert.True(servers.ProcessorTime > before + TimeSpan.FromMilliseconds(50), $"{servers.ProcessorTime} after {before}");
    }

    [Fact]
    public async Task Servers_elsewhere_are_not_metered()
    {
        var elsewhere = new NpgsqlConnectionStringBuilder(PostgresTestServer.ConnectionString) { Host = "db.example.org" }.ToString();
        var log = new StringWriter();

        Assert.Null(await ServerProcesses.FindAsync(elsewhere, RedisTestServer.ConnectionString, log));
        Assert.Null(await ServerProcesses.FindAsync(PostgresTestServer.ConnectionString, "redis.example.org:6379", log));
        Assert.Equal(2, log.ToString().Split("is not on this machine").Length - 1);
    }
}
