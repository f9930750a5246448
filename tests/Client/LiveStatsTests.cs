using System.Runtime.CompilerServices;
using Campaigns.Cli;
using Campaigns.Proto;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Spectre.Console.Testing;

namespace Campaigns.Tests.Client;

/// <summary><c>campaigns watch</c>: rates and sparklines from cumulative counts, and a live view that ends cleanly on Ctrl-C.</summary>
public sealed class LiveStatsTests
{
    [Fact]
    public void Rates_are_the_rise_per_second_between_samples_and_the_sparkline_scales_to_the_peak()
    {
        var history = new RateHistory(capacity: 3);
        history.Sample(100, 10.0);
        Assert.Equal(0, history.Current);
        Assert.Equal("", history.Sparkline());

        history.Sample(100, 11.0);
        history.Sample(140, 11.5);
        history.Sample(160, 12.5);
        history.Sample(160, 13.5);

        Assert.Equal([80, 20, 0], history.Rates);
        Assert.Equal(0, history.Current);
        Assert.Equal("█▃▁", history.Sparkline());
    }

    [Fact]
    public async Task The_view_shows_the_pushed_figures_and_ends_cleanly_when_cancelled()
    {
        var console = new TestConsole().Width(120);
        using var ctrlC = new CancellationTokenSource();
        var pushed = new TaskCompletionSource();

        var watching = LiveStats.RunAsync(console, Stream(pushed), TimeSpan.FromMilliseconds(50), ctrlC.Token);
        await pushed.Task.WaitAsync(TimeSpan.FromSeconds(10));
        await Task.Delay(200);
        ctrlC.Cancel();
        await watching.WaitAsync(TimeSpan.FromSeconds(10));

        var screen = console.Output;
        Assert.Contains("spring-2027", screen, StringComparison.Ordinal);
        Assert.Contains("1,234", screen, StringComparison.Ordinal); // the second push's issued count
        Assert.Contains("partner-alpha", screen, StringComparison.Ordinal);
        Assert.Contains("claims/s", screen, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_refusal_before_the_first_figures_is_thrown_for_the_command_to_report()
    {
        var console = new TestConsole();
        var refused = await Assert.ThrowsAsync<RpcException>(() =>
            LiveStats.RunAsync(console, Refused(), TimeSpan.FromSeconds(1), CancellationToken.None));
        Assert.Equal(StatusCode.NotFound, refused.StatusCode);
    }

    private static CampaignStats Stats(long issued) => new()
    {
        CampaignId = "spring-2027",
        Status = CampaignStatus.Active,
        TotalStock = 10_000,
        Issued = issued,
        Remaining = 10_000 - issued,
        AsOf = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
        ByChannel = { ["partner-alpha"] = new ChannelStats { Issued = issued } },
    };

    private static async IAsyncEnumerable<CampaignStats> Stream(TaskCompletionSource pushed, [EnumeratorCancellation] CancellationToken until = default)
    {
        yield return Stats(1_000);
        await Task.Delay(100, CancellationToken.None);
        yield return Stats(1_234);
        pushed.SetResult();
        // The server pushes nothing more while nothing changes, until the watcher cancels.
        await Task.Delay(Timeout.Infinite, until);
    }

    private static async IAsyncEnumerable<CampaignStats> Refused([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await Task.Yield();
        throw new RpcException(new Status(StatusCode.NotFound, "no campaign 'x'"));
#pragma warning disable CS0162 // an iterator needs a yield
        yield break;
#pragma warning restore CS0162
    }
}
