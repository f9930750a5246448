using System.Diagnostics;
using Campaigns.Proto;
using Campaigns.Silo.Api;
using Grpc.Core;

namespace Campaigns.Tests.EndToEnd;

/// <summary>The organiser's dashboard: a stats stream that pushes on change, and the claims the campaign refused.</summary>
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

    [Fact]
    public async Task Claims_the_campaign_refused_are_counted_by_reason_in_its_stats_and_bad_calls_are_not()
    {
        var campaign = await silo.StartedCampaignAsync(r => r.TotalStock = 2);
        var id = campaign.CampaignId;
        // The SDK's signature from before device ids still takes its token by position.
        await silo.Partner.IssueVoucherAsync(id, "user-first", "claim-1", null, CancellationToken.None);
        await Expect.RefusedAsync(StatusCode.ResourceExhausted, "USER_LIMIT_REACHED", () => silo.Partner.IssueVoucherAsync(id, "user-first", "claim-2"));
        await silo.Organiser.Admin.BlockUsersAsync(new BlockUsersRequest { CampaignId = id, UserIds = { "user-blocked" } });
        await Expect.RefusedAsync(StatusCode.PermissionDenied, "USER_BLOCKED", () => silo.Partner.IssueVoucherAsync(id, "user-blocked", "claim-1"));
        await silo.Partner.IssueVoucherAsync(id, "user-second", "claim-1");
        await Expect.RefusedAsync(StatusCode.ResourceExhausted, "SOLD_OUT", () => silo.Partner.IssueVoucherAsync(id, "user-late", "claim-1"));
        var batch = await silo.OtherPartner.IssueVouchersAsync(id,
        [
            new IssueVouchersItem { UserId = "user-later", RequestId = "claim-1" },
            new IssueVouchersItem { UserId = "user-latest", RequestId = "claim-1" },
        ]);
        Assert.Equal(["SOLD_OUT", "SOLD_OUT"], batch.Results.Select(r => r.ErrorReason));
        // Refused before they reached the campaign: they say nothing about it.
        await Expect.RefusedAsync(StatusCode.InvalidArgument, "INVALID_ARGUMENT", () => silo.Partner.IssueVoucherAsync(id, "user-late", new string('r', 129)));
        await Expect.RefusedAsync(StatusCode.NotFound, "CAMPAIGN_NOT_FOUND", () => silo.Partner.IssueVoucherAsync(id + "-none", "user-late", "claim-1"));

        var expected = new Dictionary<string, long> { ["USER_LIMIT_REACHED"] = 1, ["USER_BLOCKED"] = 1, ["SOLD_OUT"] = 3 };
        var waited = Stopwatch.StartNew();
        CampaignStats stats;
        do
        {
            await Task.Delay(RefusedClaimsReporter.Interval / 4);
            stats = await silo.StatsAsync(id);
        }
        while (!expected.OrderBy(e => e.Key).SequenceEqual(stats.RefusedClaims.OrderBy(e => e.Key)) && waited.Elapsed < TimeSpan.FromSeconds(10));

        Assert.Equal(expected.OrderBy(e => e.Key), stats.RefusedClaims.OrderBy(e => e.Key));
        var printed = await silo.RunAsync(SiloHost.BootstrapOrganiserKey, "campaign", "stats", id);
        Assert.Matches(@"REASON\s+CLAIMS\s+SOLD_OUT\s+3\s+USER_BLOCKED\s+1\s+USER_LIMIT_REACHED\s+1", printed.Out);
    }
}
