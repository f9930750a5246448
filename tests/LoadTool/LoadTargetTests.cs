using Campaigns.LoadTests;

namespace Campaigns.Tests.LoadTool;

/// <summary>Which silo a load run drives: one it starts (embedded or production mode), or a running one it is pointed at.</summary>
public sealed class LoadTargetTests
{
    private static readonly string[] Scenarios = ["health", "issue", "flash"];

    [Fact]
    public void Production_mode_needs_both_servers()
    {
        Assert.False(Args.TryParse(["--postgres", "Host=127.0.0.1"], Scenarios, out _, out var problem));
        Assert.Equal("--postgres and --redis go together: production mode needs both", problem);
        Assert.False(Args.TryParse(["--redis", "127.0.0.1:6379"], Scenarios, out _, out problem));
        Assert.Equal("--postgres and --redis go together: production mode needs both", problem);

        Assert.True(Args.TryParse(["--postgres", "Host=127.0.0.1", "--redis", "127.0.0.1:6379"], Scenarios, out var parsed, out problem), problem);
        Assert.Equal(("Host=127.0.0.1", "127.0.0.1:6379"), (parsed.Postgres, parsed.Redis));
    }

    [Theory]
    [InlineData("127.0.0.1:5010")]
    [InlineData("ftp://127.0.0.1:5010")]
    [InlineData("silo-1")]
    public void An_address_that_is_not_an_http_endpoint_is_refused_before_anything_runs(string address)
    {
        Assert.False(Args.TryParse(["--address", address], Scenarios, out _, out var problem));
        Assert.StartsWith("--address takes the silo's gRPC endpoint as http://host:port", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void A_running_silo_is_driven_with_the_organiser_key_given_or_the_development_one()
    {
        Assert.True(Args.TryParse(["--address", "http://127.0.0.1:5010"], Scenarios, out var parsed, out var problem), problem);
        Assert.Equal(("http://127.0.0.1:5010", "dev-organiser-key"), (parsed.Address, parsed.OrganiserKey));

        Assert.True(Args.TryParse(["--address", "http://127.0.0.1:5010", "--organiser-key", "k-1"], Scenarios, out parsed, out problem), problem);
        Assert.Equal("k-1", parsed.OrganiserKey);

        Assert.False(Args.TryParse(["--address", "http://127.0.0.1:5010", "--postgres", "Host=x", "--redis", "y:1"], Scenarios, out _, out problem));
        Assert.StartsWith("--address drives a running silo", problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_silo_the_tool_did_not_start_is_neither_metered_nor_restarted()
    {
        var remote = new RemoteSilo(new Uri("http://127.0.0.1:5010"), "dev-organiser-key");

        Assert.Null(remote.ProcessorTime);
        Assert.Null(remote.PeakMemoryBytes);
        var metered = await CpuUse.MeterAsync(() => remote.ProcessorTime, () => Task.FromResult(new LoadResult("x", "closed loop", 10, 0, TimeSpan.FromSeconds(1), new HdrHistogram.LongHistogram(1_000_000, 3), new Dictionary<string, long>())));
        Assert.Null(metered.Cpu);
        var refused = await Assert.ThrowsAsync<NotSupportedException>(remote.RestartAsync);
        Assert.Contains("run it without --address", refused.Message, StringComparison.Ordinal);
    }
}
