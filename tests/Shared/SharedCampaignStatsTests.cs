using System.Diagnostics;
using Campaigns.Grains.Common;
using Campaigns.Grains.Issuance;
using Campaigns.Grains.Ledger;
using Campaigns.Proto;
using Campaigns.Silo.Api;
using Campaigns.Silo.Shared;
using Campaigns.Tests.Cluster;
using Google.Protobuf;
using StackExchange.Redis;

namespace Campaigns.Tests.Shared;

/// <summary>
/// The live stats read model in Redis, on the real grains and ledger of the test cluster: two
/// in-process "silos" share one Redis and one ledger, as silos of one deployment do.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class SharedCampaignStatsTests(ClusterFixture fixture)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    /// <summary>The ledger's own figures, read the embedded way (the source of truth).</summary>
    private CampaignStatsReader Truth() => new(fixture.Grains, fixture.Store.Ledger, fixture.Clock);

    private async Task<string> CampaignWithVouchersAsync(int vouchers)
    {
        var id = (await fixture.StartCampaignAsync()).GetPrimaryKeyString();
        await IssueAsync(id, vouchers);
        return id;
    }

    private async Task IssueAsync(string campaignId, int vouchers)
    {
        for (var i = 0; i < vouchers; i++)
        {
            var user = $"u-{Guid.NewGuid():N}";
            Assert.NotNull((await fixture.IssueAsync(campaignId, 4, new IssueClaim("partner-a", user, user, ""))).Voucher);
        }
    }

    private static async Task<CampaignStats> NextWithAsync(IAsyncEnumerator<CampaignStats> watch, long issued)
    {
        while (await watch.MoveNextAsync())
        {
            if (watch.Current.Issued == issued)
            {
                return watch.Current;
            }
        }

        throw new InvalidOperationException("the watch ended");
    }

    private static async Task<CampaignStats?> SnapshotInRedisAsync(string connectionString, string prefix, string campaignId)
    {
        await using var inspect = await ConnectionMultiplexer.ConnectAsync(connectionString);
        var value = await inspect.GetDatabase().StringGetAsync(prefix + "stats:" + campaignId);
        return value.IsNullOrEmpty ? null : CampaignStats.Parser.ParseFrom((byte[])value!);
    }

    [Fact]
    public async Task The_snapshot_equals_the_ledgers_figures_and_a_watcher_on_the_other_silo_is_pushed_the_change()
    {
        var id = await CampaignWithVouchersAsync(3);
        var prefix = RedisTestServer.NewPrefix();
        await using var a = await SharedSilo.StartAsync(RedisTestServer.ConnectionString, prefix, ledger: Truth());
        await using var b = await SharedSilo.StartAsync(RedisTestServer.ConnectionString, prefix, ledger: Truth());

        var fromA = await a.Stats!.GetAsync(id);
        Assert.True(CampaignStatsReader.SameFigures(await Truth().ReadAsync(id), fromA));
        Assert.Equal(3, fromA.Issued);
        Assert.Equal(97, fromA.Remaining);
        Assert.Equal(3, (await SnapshotInRedisAsync(RedisTestServer.ConnectionString, prefix, id))?.Issued);

        using var stop = new CancellationTokenSource(Patience);
        await using var watch = b.Stats!.WatchAsync(id, stop.Token).GetAsyncEnumerator(stop.Token);
        Assert.True(await watch.MoveNextAsync());
        Assert.Equal(3, watch.Current.Issued);

        await IssueAsync(id, 2);

        var pushed = await NextWithAsync(watch, issued: 5);
        Assert.True(CampaignStatsReader.SameFigures(await Truth().ReadAsync(id), pushed));
        // When b writes, its own watcher is handed the figures just before they are set in Redis:
        // read until they are.
        var deadline = DateTime.UtcNow + Patience;
        var fromAAgain = await a.Stats.GetAsync(id);
        while (fromAAgain.Issued != 5 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
            fromAAgain = await a.Stats.GetAsync(id);
        }

        Assert.Equal(5, fromAAgain.Issued);
    }

    [Fact]
    public async Task Two_silos_watching_one_campaign_read_the_ledger_through_one_writer_at_a_time()
    {
        var id = await CampaignWithVouchersAsync(1);
        var prefix = RedisTestServer.NewPrefix();
        var ledgerA = new CountingLedger(fixture.Store.Ledger);
        var ledgerB = new CountingLedger(fixture.Store.Ledger);
        await using var a = await SharedSilo.StartAsync(RedisTestServer.ConnectionString, prefix, ledger: new CampaignStatsReader(fixture.Grains, ledgerA, fixture.Clock));
        await using var b = await SharedSilo.StartAsync(RedisTestServer.ConnectionString, prefix, ledger: new CampaignStatsReader(fixture.Grains, ledgerB, fixture.Clock));
        using var stop = new CancellationTokenSource(Patience);
        await using var watchA = a.Stats!.WatchAsync(id, stop.Token).GetAsyncEnumerator(stop.Token);
        await using var watchB = b.Stats!.WatchAsync(id, stop.Token).GetAsyncEnumerator(stop.Token);
        Assert.True(await watchA.MoveNextAsync());
        Assert.True(await watchB.MoveNextAsync());

        await Task.Delay(TimeSpan.FromSeconds(3));
        await IssueAsync(id, 1);
        Assert.Equal(2, (await NextWithAsync(watchA, issued: 2)).Issued);
        Assert.Equal(2, (await NextWithAsync(watchB, issued: 2)).Issued);

        // One writer reads about every 250 ms (14 or so here, fewer on a busy machine); the other only
        // its first read, if any, or a few more should a stalled writer lose the lease for a moment.
        // Two writers at once would each read about 14 times.
        Assert.InRange(Math.Min(ledgerA.Reads, ledgerB.Reads), 0, 6);
        Assert.InRange(Math.Max(ledgerA.Reads, ledgerB.Reads), 2, 30);
    }

    [Fact]
    public async Task When_the_writing_silo_stops_another_takes_the_lease_and_its_watcher_still_sees_changes()
    {
        var id = await CampaignWithVouchersAsync(1);
        var prefix = RedisTestServer.NewPrefix();
        var ledgers = new[] { new CountingLedger(fixture.Store.Ledger), new CountingLedger(fixture.Store.Ledger) };
        var silos = new List<SharedSilo>();
        foreach (var ledger in ledgers)
        {
            silos.Add(await SharedSilo.StartAsync(RedisTestServer.ConnectionString, prefix, ledger: new CampaignStatsReader(fixture.Grains, ledger, fixture.Clock)));
        }

        try
        {
            using var stop = new CancellationTokenSource(Patience);
            var watches = silos.Select(s => s.Stats!.WatchAsync(id, stop.Token).GetAsyncEnumerator(stop.Token)).ToList();
            foreach (var watch in watches)
            {
                Assert.True(await watch.MoveNextAsync());
            }

            await Task.Delay(TimeSpan.FromSeconds(1));
            var writer = ledgers[0].Reads > ledgers[1].Reads ? 0 : 1;
            var survivor = 1 - writer;
            await watches[writer].DisposeAsync();
            await silos[writer].DisposeAsync();
            var readsBefore = ledgers[survivor].Reads;

            await IssueAsync(id, 1);

            Assert.Equal(2, (await NextWithAsync(watches[survivor], issued: 2)).Issued);
            Assert.True(ledgers[survivor].Reads > readsBefore, "the surviving silo did not take over the writing"); // a silo that only reads never reads the ledger
            await watches[survivor].DisposeAsync();
        }
        finally
        {
            foreach (var silo in silos)
            {
                await silo.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task With_Redis_unreachable_stats_come_straight_from_the_ledger_within_the_timeout_and_watchers_still_see_changes()
    {
        var id = await CampaignWithVouchersAsync(2);
        var ledger = new CountingLedger(fixture.Store.Ledger);
        await using var a = await SharedSilo.StartAsync(RedisTestServer.ClosedPort(), RedisTestServer.NewPrefix(),
            ledger: new CampaignStatsReader(fixture.Grains, ledger, fixture.Clock), timeoutMilliseconds: 200);

        var clock = Stopwatch.StartNew();
        var stats = await a.Stats!.GetAsync(id);

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"GetAsync took {clock.ElapsedMilliseconds} ms");
        Assert.Equal(2, stats.Issued);
        Assert.True(ledger.Reads >= 1);
        Assert.False(a.Redis.IsAvailable);

        using var stop = new CancellationTokenSource(Patience);
        await using var watch = a.Stats.WatchAsync(id, stop.Token).GetAsyncEnumerator(stop.Token);
        Assert.True(await watch.MoveNextAsync());
        await IssueAsync(id, 1);
        Assert.Equal(3, (await NextWithAsync(watch, issued: 3)).Issued);
    }

    [Fact]
    public async Task After_Redis_is_wiped_the_snapshot_is_rebuilt_from_the_ledger_and_watchers_carry_on()
    {
        await using var server = await PrivateRedisServer.StartAsync();
        var id = await CampaignWithVouchersAsync(2);
        var prefix = RedisTestServer.NewPrefix();
        await using var a = await SharedSilo.StartAsync(server.ConnectionString, prefix, ledger: Truth());
        await using var b = await SharedSilo.StartAsync(server.ConnectionString, prefix, ledger: Truth());
        using var stop = new CancellationTokenSource(Patience);
        await using var watch = b.Stats!.WatchAsync(id, stop.Token).GetAsyncEnumerator(stop.Token);
        Assert.True(await watch.MoveNextAsync());
        Assert.Equal(2, (await a.Stats!.GetAsync(id)).Issued);

        Assert.Equal("+OK", await server.CommandAsync("FLUSHDB"));
        await IssueAsync(id, 1);

        var rebuilt = await a.Stats.GetAsync(id);
        Assert.Equal(3, rebuilt.Issued);
        Assert.True(CampaignStatsReader.SameFigures(await Truth().ReadAsync(id), rebuilt));
        Assert.Equal(3, (await SnapshotInRedisAsync(server.ConnectionString, prefix, id))?.Issued);
        Assert.Equal(3, (await NextWithAsync(watch, issued: 3)).Issued);
        Assert.True(a.Redis.IsAvailable);
    }

    [Fact]
    public async Task A_campaign_that_does_not_exist_is_CAMPAIGN_NOT_FOUND_and_leaves_nothing_in_Redis()
    {
        var prefix = RedisTestServer.NewPrefix();
        await using var a = await SharedSilo.StartAsync(RedisTestServer.ConnectionString, prefix, ledger: Truth());

        var get = await Assert.ThrowsAsync<CampaignsException>(() => a.Stats!.GetAsync("no-such-campaign"));
        Assert.Equal(Refusal.CampaignNotFound, get.Code);
        var watch = await Assert.ThrowsAsync<CampaignsException>(async () =>
        {
            await foreach (var _ in a.Stats!.WatchAsync("no-such-campaign", CancellationToken.None))
            {
            }
        });
        Assert.Equal(Refusal.CampaignNotFound, watch.Code);
        Assert.Null(await SnapshotInRedisAsync(RedisTestServer.ConnectionString, prefix, "no-such-campaign"));
    }

    [Fact]
    public async Task A_snapshot_that_is_not_a_campaigns_stats_is_rebuilt_from_the_ledger()
    {
        var id = await CampaignWithVouchersAsync(1);
        var prefix = RedisTestServer.NewPrefix();
        await using (var inspect = await ConnectionMultiplexer.ConnectAsync(RedisTestServer.ConnectionString))
        {
            await inspect.GetDatabase().StringSetAsync(prefix + "stats:" + id, "not protobuf \u00ff\u00ff\u00ff", TimeSpan.FromSeconds(30));
        }

        await using var a = await SharedSilo.StartAsync(RedisTestServer.ConnectionString, prefix, ledger: Truth());

        Assert.Equal(1, (await a.Stats!.GetAsync(id)).Issued);
        Assert.Equal(1, (await SnapshotInRedisAsync(RedisTestServer.ConnectionString, prefix, id))?.Issued);
    }

    [Fact]
    public async Task A_writer_that_lost_its_lease_sets_nothing_and_a_rebuild_never_replaces_a_snapshot_set_meanwhile()
    {
        var id = await CampaignWithVouchersAsync(2);
        var prefix = RedisTestServer.NewPrefix();
        await using var a = await SharedSilo.StartAsync(RedisTestServer.ConnectionString, prefix, ledger: Truth());
        await using var inspect = await ConnectionMultiplexer.ConnectAsync(RedisTestServer.ConnectionString);
        var redis = inspect.GetDatabase();
        var figures = await Truth().ReadAsync(id);
        var pushed = 0;
        await inspect.GetSubscriber().SubscribeAsync(RedisChannel.Literal(prefix + SharedCampaignStats.ChannelName), (_, _) => Interlocked.Increment(ref pushed));

        // The lease lapsed while this silo stalled, and another silo took it.
        await redis.StringSetAsync(a.Stats!.LeaseKey(id), "another-silo", TimeSpan.FromSeconds(30));
        Assert.False(await a.Stats.WriteAsync(figures, changed: true));
        Assert.Null(await SnapshotInRedisAsync(RedisTestServer.ConnectionString, prefix, id));

        // The other silo's snapshot arrived after this one found none and read the ledger.
        var newer = figures.Clone();
        newer.Issued = 99;
        await redis.StringSetAsync(prefix + "stats:" + id, newer.ToByteArray(), TimeSpan.FromSeconds(30));
        Assert.False(await a.Stats.ReplaceSnapshotAsync(figures, RedisValue.Null));
        Assert.Equal(99, (await SnapshotInRedisAsync(RedisTestServer.ConnectionString, prefix, id))?.Issued);

        // Over what it found itself, the rebuild is set.
        Assert.True(await a.Stats.ReplaceSnapshotAsync(figures, newer.ToByteArray()));
        Assert.Equal(2, (await SnapshotInRedisAsync(RedisTestServer.ConnectionString, prefix, id))?.Issued);
        await Task.Delay(200);
        Assert.Equal(0, Volatile.Read(ref pushed));
    }

    /// <summary>Counts the campaign-figure reads that reach the ledger.</summary>
    private sealed class CountingLedger(IReportingLedger inner) : IReportingLedger
    {
        private int _reads;

        public int Reads => Volatile.Read(ref _reads);

        public Task<CampaignTotals> GetCampaignTotalsAsync(string campaignId, DateTimeOffset asOf)
        {
            Interlocked.Increment(ref _reads);
            return inner.GetCampaignTotalsAsync(campaignId, asOf);
        }

        public Task<SettlementTotals> GetSettlementAsync(string merchantId, string? campaignId) => inner.GetSettlementAsync(merchantId, campaignId);

        public IAsyncEnumerable<RedemptionEventRecord> ExportRedemptionEventsAsync(string campaignId, long afterSequence = 0, CancellationToken cancellationToken = default) =>
            inner.ExportRedemptionEventsAsync(campaignId, afterSequence, cancellationToken);
    }
}
