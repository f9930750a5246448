using System.Net;
using System.Net.Sockets;
using Campaigns.Client;
using Campaigns.Proto;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;

namespace Campaigns.LoadTests;

/// <summary>
/// The load scenarios, each set up through the public API as a real organiser, partner and
/// merchant would, then driven over gRPC on the real path.
/// </summary>
public sealed class Scenarios(ILoadTarget silo, LoadSettings settings, TextWriter log, ServerProcesses? servers = null) : IDisposable
{
    private readonly CampaignsClient _organiser = Client(silo.Address, silo.OrganiserKey);
    private readonly List<IDisposable> _owned = [];
    private readonly string _run = DateTime.UtcNow.ToString("HHmmss", System.Globalization.CultureInfo.InvariantCulture);

    public void Dispose()
    {
        _organiser.Dispose();
        foreach (var owned in _owned)
        {
            owned.Dispose();
        }
    }

    /// <summary>The baseline: the gRPC health check, on a channel set up like the SDK's.</summary>
    public async Task<IReadOnlyList<LoadResult>> HealthAsync()
    {
        var channel = GrpcChannel.ForAddress(silo.Address, new GrpcChannelOptions { HttpHandler = Handler() });
        _owned.Add(channel);
        var health = new Health.HealthClient(channel);
        Task Check(long _) => health.CheckAsync(new HealthCheckRequest()).ResponseAsync;
        var warmUp = await WarmUpAsync(Check);
        return [await Metered(() => LoadRunner.ClosedLoopAsync("health check", settings.Workers, settings.Duration, Check)) with { WarmUp = warmUp }];
    }

    /// <summary>Single-voucher IssueVoucher for distinct users: the most, then latency at half of it.</summary>
    public Task<IReadOnlyList<LoadResult>> IssueAsync() => IssueRunsAsync("issue", "IssueVoucher");

    /// <summary>
    /// <see cref="IssueAsync"/> with an organiser subscribed to every voucher.issued at a receiver
    /// that accepts connections and never answers. Callbacks are delivered off the claim's path, so
    /// the claims' throughput and p99 should match <c>issue</c>'s within noise.
    /// </summary>
    public async Task<IReadOnlyList<LoadResult>> IssueWithDeadReceiverAsync()
    {
        // Connections complete in the kernel's backlog; nothing ever reads a request or answers.
        var dead = new TcpListener(IPAddress.Loopback, 0);
        dead.Start();
        try
        {
            var subscription = await _organiser.Events.CreateSubscriptionAsync(new CreateSubscriptionRequest
            {
                Url = $"http://127.0.0.1:{((IPEndPoint)dead.LocalEndpoint).Port}/never-answers",
                EventTypes = { "voucher.issued" },
            });
            try
            {
                return await IssueRunsAsync("deadhook", "IssueVoucher, dead callback receiver");
            }
            finally
            {
                // Its retries would go on weighing on the scenarios after this one.
                await _organiser.Events.DeleteSubscriptionAsync(new SubscriptionRequest { SubscriptionId = subscription.SubscriptionId });
            }
        }
        finally
        {
            dead.Stop();
        }
    }

    private async Task<IReadOnlyList<LoadResult>> IssueRunsAsync(string campaignName, string label)
    {
        var campaign = await CampaignAsync(campaignName, stock: 50_000_000, peak: 20_000);
        var partner = await PartnerAsync();
        Task Issue(long n) => partner.IssueVoucherAsync(campaign, settings.Ids.User("user", n), settings.Ids.Request("claim", n));
        var warmUp = await WarmUpAsync(n => Issue(n + 900_000_000));
        var most = await Metered(() => LoadRunner.ClosedLoopAsync(label, settings.Workers, settings.Duration, Issue)) with { WarmUp = warmUp };
        var half = await Metered(() => LoadRunner.OpenLoopAsync(label, most.PerSecond / 2, settings.Duration, Issue, firstSequence: 100_000_000));
        return [most, half];
    }

    /// <summary>IssueVouchers of 1,000 items: vouchers per second.</summary>
    public async Task<IReadOnlyList<LoadResult>> IssueBatchAsync()
    {
        // The same peak hint (8 shards) as the single-claim scenario: each 1,000-item call then
        // commits ~125 vouchers per shard batch.
        var campaign = await CampaignAsync("batch", stock: 50_000_000, peak: 20_000);
        var partner = await PartnerAsync();
        Task Batch(long n)
        {
            var request = new IssueVouchersRequest { CampaignId = campaign };
            for (var i = 0; i < 1_000; i++)
            {
                var item = (n * 1_000) + i;
                request.Items.Add(new IssueVouchersItem { UserId = settings.Ids.User("b", item), RequestId = settings.Ids.Request("b", item) });
            }

            return partner.Vouchers.IssueVouchersAsync(request).ResponseAsync;
        }

        var warmUp = await WarmUpAsync(n => Batch(n + 900_000_000), workers: settings.BatchWorkers);
        var result = await Metered(() => LoadRunner.ClosedLoopAsync("IssueVouchers ×1000", settings.BatchWorkers, settings.Duration, Batch));
        return [result with { Name = "IssueVouchers ×1000 (vouchers)", Succeeded = result.Succeeded * 1_000, WarmUp = warmUp }];
    }

    /// <summary>Claims on a sold-out campaign: refused from memory.</summary>
    public async Task<IReadOnlyList<LoadResult>> SoldOutAsync()
    {
        var campaign = await CampaignAsync("soldout", stock: 1, peak: 0);
        var partner = await PartnerAsync();
        await partner.IssueVoucherAsync(campaign, "first", "first");
        async Task Refused(long n)
        {
            using var call = partner.Vouchers.IssueVoucherAsync(
                new IssueVoucherRequest { CampaignId = campaign, UserId = settings.Ids.User("late", n), RequestId = settings.Ids.Request("late", n) });

            // The refusal is the expected answer: read it off the finished call rather than catch it,
            // so that the load tool, on the same cores, does not pay for throwing it a second time.
            await ((Task)call.ResponseAsync).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (call.ResponseAsync.Exception?.InnerException is RpcException error && error.Reason() == "SOLD_OUT")
            {
                return;
            }

            await call.ResponseAsync; // any other failure surfaces here and is counted by its status
            throw new InvalidOperationException("a sold-out campaign issued a voucher");
        }

        var warmUp = await WarmUpAsync(n => Refused(n + 900_000_000));
        return [await Metered(() => LoadRunner.ClosedLoopAsync("IssueVoucher, sold out", settings.Workers, settings.Duration, Refused)) with { WarmUp = warmUp }];
    }

    /// <summary>
    /// A flash drop: 1,000,000 IssueVoucher calls for 100,000 vouchers, every tenth a retry of the
    /// claim nine before it (same user, same request id). Afterwards the tool checks what a drop
    /// must keep: exactly the stock issued, one voucher per request, every retry answered with its
    /// claim's voucher, every acknowledged voucher readable; and the peak memory of the silo, started
    /// afresh for the drop.
    /// </summary>
    public async Task<IReadOnlyList<LoadResult>> FlashAsync()
    {
        const int Stock = 100_000, Claims = 1_000_000;
        // On a silo started afresh, so that its peak memory is the drop's own, not that of the
        // shards the scenarios before it left active (each keeps its users' books in memory).
        await silo.RestartAsync();
        var campaign = await CampaignAsync("flash", stock: Stock, peak: 20_000);
        var partner = await PartnerAsync();
        var codes = new string?[Claims];
        var replays = new bool[Claims];
        static long Origin(long i) => i % 10 == 9 ? i - 9 : i;
        async Task Claim(long n)
        {
            var i = n - 1;
            var origin = Origin(i);
            using var call = partner.Vouchers.IssueVoucherAsync(new IssueVoucherRequest
            {
                CampaignId = campaign, UserId = settings.Ids.User("fan", origin), RequestId = settings.Ids.Request("tap", origin),
            });
            await ((Task)call.ResponseAsync).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (call.ResponseAsync.Exception?.InnerException is RpcException refused && refused.Reason() == "SOLD_OUT")
            {
                return; // the expected answer for nine claims in ten
            }

            var answer = await call.ResponseAsync;
            codes[i] = answer.Voucher.Code;
            replays[i] = answer.Replayed;
        }

        var drop = await Metered(() => LoadRunner.ClosedLoopAsync("flash drop: 1,000,000 claims, 100,000 vouchers", settings.Workers, TimeSpan.FromMinutes(10), Claim, calls: Claims));
        var peak = silo.PeakMemoryBytes;

        var stats = await _organiser.Admin.GetCampaignStatsAsync(new GetCampaignRequest { CampaignId = campaign });
        var acknowledged = codes.Where(c => c is not null).ToList();
        var retries = Enumerable.Range(0, Claims).Where(i => i % 10 == 9 && codes[i] is not null).ToList();
        var sample = acknowledged.Take(1_000).ToList();
        var readable = 0;
        foreach (var code in sample)
        {
            readable += (await partner.Vouchers.GetVoucherAsync(new GetVoucherRequest { Code = code })).Code == code ? 1 : 0;
        }

        // The first claims answered with a voucher: their codes are checked here, their users' wallets read below.
        var winners = Enumerable.Range(0, Claims).Where(i => i % 10 != 9 && codes[i] is not null).ToList();
        var firsts = winners.ConvertAll(i => codes[i]!);
        Check[] checks =
        [
            new("exactly the stock issued", stats.Issued == Stock && stats.Remaining == 0, $"{stats.Issued:N0} issued, {stats.Remaining:N0} left"),
            new("one voucher per request", firsts.Distinct(StringComparer.Ordinal).Count() == firsts.Count && firsts.Count <= Stock,
                $"{firsts.Count:N0} first claims answered with {firsts.Distinct(StringComparer.Ordinal).Count():N0} codes"),
            new("every answered retry got its claim's voucher", retries.All(i => codes[Origin(i)] is null || codes[Origin(i)] == codes[i]),
                $"{retries.Count:N0} retries answered, {retries.Count(i => replays[i]):N0} of them as replays"),
            new("every acknowledged voucher is in the ledger", acknowledged.Distinct(StringComparer.Ordinal).Count() == stats.Issued && readable == sample.Count,
                $"{acknowledged.Distinct(StringComparer.Ordinal).Count():N0} codes acknowledged; {readable:N0} of {sample.Count:N0} read back"),
            new("no call failed but with SOLD_OUT", drop.Failed == 0, $"{drop.Failed:N0} failed"),
        ];
        foreach (var check in checks)
        {
            log.WriteLine($"  {(check.Held ? "held" : "BROKEN")}: {check.What} ({check.Detail})");
        }

        // Wallets after the drop: read from the users' shards, by key (there is no user index).
        Task Wallet(long n, string? campaignId) =>
            partner.Vouchers.ListUserVouchersAsync(new ListUserVouchersRequest { UserId = settings.Ids.User("fan", winners[(int)(n % winners.Count)]), CampaignId = campaignId ?? "" }).ResponseAsync;
        var inCampaign = await Metered(() => LoadRunner.ClosedLoopAsync("ListUserVouchers, one campaign", settings.Workers, settings.Duration, n => Wallet(n, campaign)));
        var everywhere = await Metered(() => LoadRunner.ClosedLoopAsync("ListUserVouchers, every campaign", settings.Workers, settings.Duration, n => Wallet(n, null)));
        return [drop with { Checks = checks, PeakMemoryBytes = peak }, inCampaign, everywhere];
    }

    /// <summary>
    /// A shard holding 200,000 vouchers, its silo killed and started again: how long the first
    /// claim takes (the campaign's and the shard's activation, the rebuild from its rows, a lease
    /// and the claim's commit), and whether a repeat of a claim made before is still a replay.
    /// </summary>
    public async Task<IReadOnlyList<LoadResult>> RebuildAsync()
    {
        const int Vouchers = 200_000;
        var campaign = await CampaignAsync("rebuild", stock: 1_000_000, peak: 1); // one shard
        var partner = await PartnerAsync();
        log.WriteLine($"  issuing {Vouchers:N0} vouchers into one shard...");
        var issued = await LoadRunner.ClosedLoopAsync("setup", settings.BatchWorkers, TimeSpan.FromMinutes(10), n =>
        {
            var request = new IssueVouchersRequest { CampaignId = campaign };
            for (var i = 0; i < 1_000; i++)
            {
                var item = ((n - 1) * 1_000) + i;
                request.Items.Add(new IssueVouchersItem { UserId = settings.Ids.User("r", item), RequestId = settings.Ids.Request("r", item) });
            }

            return partner.Vouchers.IssueVouchersAsync(request).ResponseAsync;
        }, calls: Vouchers / 1_000);
        if (issued.Failed > 0)
        {
            throw new IOException($"{issued.Failed} of the setup's batches failed");
        }

        await silo.RestartAsync();
        var first = await LoadRunner.ClosedLoopAsync("first claim after a restart (shard of 200,000 vouchers)", 1, TimeSpan.FromMinutes(1),
            _ => partner.IssueVoucherAsync(campaign, settings.Ids.User("after", 0), settings.Ids.Request("after", 0)), calls: 1);
        var repeat = await partner.IssueVoucherAsync(campaign, settings.Ids.User("r", 17), settings.Ids.Request("r", 17));
        Check[] checks = [new("a claim made before the restart is replayed", repeat.Replayed, repeat.Replayed ? "replayed" : "issued anew")];
        return [first with { Checks = checks, PeakMemoryBytes = silo.PeakMemoryBytes }];
    }

    /// <summary>RedeemVoucher at the till for vouchers issued beforehand: the most, then latency at half of it.</summary>
    public async Task<IReadOnlyList<LoadResult>> CheckoutAsync()
    {
        var campaign = await CampaignAsync("checkout", stock: 50_000_000, peak: 20_000);
        var merchantId = $"till-{_run}";
        await _organiser.Merchants.RegisterMerchantAsync(new RegisterMerchantRequest { MerchantId = merchantId, Name = "Load till", District = "huangpu", Category = "food" });
        await _organiser.Admin.EnrollMerchantAsync(new EnrollMerchantRequest { CampaignId = campaign, MerchantId = merchantId });
        var merchant = await KeyAsync(Role.Merchant, merchantId);
        var partner = await PartnerAsync();

        var codes = new List<string>(settings.CheckoutVouchers);
        var shoppers = 0; // a new shopper for every item, even after an item that issued nothing
        // Between runs only: the runs read the list without a lock.
        async Task IssueUpToAsync(long wanted)
        {
            if (codes.Count >= wanted)
            {
                return;
            }

            log.WriteLine($"  issuing {wanted - codes.Count:N0} vouchers to redeem...");
            var first = shoppers;
            shoppers += (int)(wanted - codes.Count);
            foreach (var chunk in Enumerable.Range(first, shoppers - first).Chunk(1_000))
            {
                var request = new IssueVouchersRequest { CampaignId = campaign };
                request.Items.AddRange(chunk.Select(i => new IssueVouchersItem { UserId = $"shopper-{i}", RequestId = $"shopper-{i}" }));
                var response = await partner.Vouchers.IssueVouchersAsync(request);
                codes.AddRange(response.Results.Where(r => r.Voucher is not null).Select(r => r.Voucher.Code));
            }
        }

        await IssueUpToAsync(settings.CheckoutVouchers);

        // Each voucher is redeemed once: the sequence number picks it.
        Task Redeem(long n) => n < codes.Count
            ? merchant.Redemptions.RedeemVoucherAsync(new RedeemVoucherRequest
            {
                Code = codes[(int)n],
                MerchantId = merchantId,
                OrderId = $"order-{n}",
                OrderAmountCents = 15_000,
            }).ResponseAsync
            : throw new InvalidOperationException("out of vouchers: raise --checkout-vouchers");
        // The warm-up redeems vouchers too, at most a third of them: the runs need the rest.
        var warmUp = await WarmUpAsync(Redeem, firstSequence: 0, maxCalls: codes.Count / 3);
        var most = await Metered(() => LoadRunner.ClosedLoopAsync("RedeemVoucher", settings.Workers, settings.Duration, Redeem, firstSequence: warmUp.NextSequence)) with { WarmUp = warmUp };
        var used = warmUp.NextSequence + most.Succeeded + most.Failed + 1;
        // The open loop needs half the closed loop's rate for as long, with room for calls that start late.
        await IssueUpToAsync(used + (long)(most.PerSecond / 2 * settings.Duration.TotalSeconds * 1.25) + 1_000);
        var half = await Metered(() => LoadRunner.OpenLoopAsync("RedeemVoucher", most.PerSecond / 2, settings.Duration, Redeem, firstSequence: used));
        return [most, half];
    }

    private async Task<string> CampaignAsync(string name, long stock, int peak)
    {
        var now = DateTimeOffset.UtcNow;
        var campaign = await _organiser.Admin.CreateCampaignAsync(new CreateCampaignRequest
        {
            CampaignId = $"load-{name}-{_run}",
            Name = $"Load test: {name}",
            Kind = DiscountKind.AmountOff,
            FaceValueCents = 2_000,
            MinSpendCents = 10_000,
            TotalStock = stock,
            StartsAt = Timestamp.FromDateTimeOffset(now.AddMinutes(-1)),
            EndsAt = Timestamp.FromDateTimeOffset(now.AddDays(1)),
            VoucherValidDays = 30,
            ExpectedPeakClaimsPerSecond = peak,
        });
        await _organiser.Admin.StartCampaignAsync(new CampaignActionRequest { CampaignId = campaign.CampaignId });
        return campaign.CampaignId;
    }

    private Task<CampaignsClient> PartnerAsync() => KeyAsync(Role.Partner, $"partner-{_run}");

    private async Task<CampaignsClient> KeyAsync(Role role, string principal)
    {
        var key = await _organiser.Access.CreateApiKeyAsync(new CreateApiKeyRequest { Role = role, PrincipalId = principal, Description = "load test" });
        var client = Client(silo.Address, key.Secret);
        _owned.Add(client);
        return client;
    }

    private Task<LoadResult> Metered(Func<Task<LoadResult>> run) => CpuUse.MeterAsync(() => silo.ProcessorTime, run, servers is null ? null : () => servers.ProcessorTime);

    /// <summary>
    /// Runs the operation until the silo is warm: connections open, grains active, leases held,
    /// and the runtime done compiling. None of that belongs in a measurement of the service.
    /// </summary>
    /// <remarks>
    /// The runtime compiles a method quickly the first time and again, optimised, once it proves
    /// hot, on one background thread. On these two shared cores that compiler was still taking
    /// 20-60% of a core 8 seconds into the IssueVoucher run after a fixed 2-second warm-up, and
    /// the run measured it. So the warm-up goes on, one-second slices at a time, until the silo's
    /// compiler has used under 5% of a core in three slices running (at least 5 s, at most 30 s).
    /// </remarks>
    private async Task<WarmUp> WarmUpAsync(Func<long, Task> operation, long firstSequence = 800_000_000, int? workers = null, long maxCalls = long.MaxValue)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var calls = 0L;
        var quiet = 0;
        while (true)
        {
            var compiler = silo.CompilerThreads();
            var slice = await LoadRunner.ClosedLoopAsync("warm-up", workers ?? settings.Workers, TimeSpan.FromSeconds(1), operation, firstSequence + calls);
            calls += slice.Succeeded + slice.Failed;
            quiet = silo.CompilerTimeSince(compiler) < WarmUp.QuietCompiler ? quiet + 1 : 0;
            var settled = quiet >= WarmUp.QuietSlices && clock.Elapsed >= WarmUp.Least;
            if (settled || clock.Elapsed >= WarmUp.Most || calls >= maxCalls)
            {
                var warm = new WarmUp(clock.Elapsed, settled, firstSequence + calls);
                log.WriteLine($"  warm-up: {warm}");
                return warm;
            }
        }
    }

    private static CampaignsClient Client(Uri address, string key) =>
        new(new CampaignsClientOptions { Address = address, ApiKey = key, HttpHandler = Handler(), MaxRetries = 0 });

    private static SocketsHttpHandler Handler() => new()
    {
        EnableMultipleHttp2Connections = true,
        PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
    };
}

/// <summary>How a scenario's warm-up went, and where its sequence numbers ended (the next run starts after it).</summary>
public sealed record WarmUp(TimeSpan Took, bool CompilerSettled, long NextSequence)
{
    public static readonly TimeSpan Least = TimeSpan.FromSeconds(5);
    public static readonly TimeSpan Most = TimeSpan.FromSeconds(30);

    /// <summary>5% of one core over a one-second slice.</summary>
    public static readonly TimeSpan QuietCompiler = TimeSpan.FromMilliseconds(50);

    /// <summary>Quiet slices in a row that end a warm-up: hot code can start its recompiling seconds in.</summary>
    public const int QuietSlices = 3;

    public override string ToString() => CompilerSettled
        ? $"{Took.TotalSeconds:0} s, until the silo's compiler was quiet"
        : $"{Took.TotalSeconds:0} s, stopped before the silo's compiler had been quiet for {QuietSlices} s";
}

/// <param name="Ids">How issuing scenarios name users and requests. Checkout's setup always uses sequential ids: it measures redemption, which finds vouchers by code.</param>
public sealed record LoadSettings(TimeSpan Duration, int Workers, int BatchWorkers, int CheckoutVouchers, IdStyle Ids = IdStyle.Random, bool Production = false, string? Target = null);
