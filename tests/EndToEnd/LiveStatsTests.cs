using System.Diagnostics;
using Campaigns.Proto;
using Grpc.Core;

namespace Campaigns.Tests.EndToEnd;

/// <summary>The organiser's dashboard: a stats stream that pushes on change.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class LiveStatsTests(SiloFixture silo)
{
    [Fact]
    public async Task WatchCampaignStats_sends_a_snapshot_at_once_then_one_after_each_issue_and_stops_when_cancelled()
    {
        var campaign = await silo.StartedCampaignAsync();
        using var watching = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var stream = silo.Organiser.WatchCampaignStatsAsync(campaign.CampaignId, watching.Token).GetAsyncEnumerator(watching.Token);
        try
        {
            var clock = Stopwatch.StartNew();
            Assert.True(await stream.MoveNextAsync());
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"first snapshot took {clock.Elapsed}");
            Assert.Equal((campaign.CampaignId, 0L, 100L), (stream.Current.CampaignId, stream.Current.Issued, stream.Current.Remaining));

            await silo.IssueAsync(campaign.CampaignId, "user-watched");
            // A moment passes on the silo's clock too: the stream reads at most every ~250 ms of it.
            silo.Clock.Advance(TimeSpan.FromSeconds(1));
            clock.Restart();
            var next = stream.MoveNextAsync().AsTask();
            Assert.Same(next, await Task.WhenAny(next, Task.Delay(TimeSpan.FromSeconds(3))));
            Assert.True(await next);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2.5), $"the change took {clock.Elapsed} to arrive");
            Assert.Equal((1L, 99L), (stream.Current.Issued, stream.Current.Remaining));
            Assert.Equal(1, stream.Current.ByChannel[SiloFixture.PartnerId].Issued);

            // Nothing changes: nothing is pushed.
            var quiet = stream.MoveNextAsync().AsTask();
            silo.Clock.Advance(TimeSpan.FromSeconds(1));
            Assert.NotSame(quiet, await Task.WhenAny(quiet, Task.Delay(TimeSpan.FromMilliseconds(800))));

            await watching.CancelAsync();
            var ended = await Record.ExceptionAsync(() => quiet);
            Assert.True(ended is OperationCanceledException || ended is RpcException { StatusCode: StatusCode.Cancelled },
                $"cancelling ends the stream as cancelled, not with {ended}");
        }
        finally
        {
            await stream.DisposeAsync();
        }

        // The silo is none the worse for it.
        Assert.Equal(1, (await silo.StatsAsync(campaign.CampaignId)).Issued);
    }
}
