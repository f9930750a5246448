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
public sealed class Scenarios(SiloProcess silo, LoadSettings settings, TextWriter log) : IDisposable
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
        await WarmUpAsync(Check);
        return [await LoadRunner.ClosedLoopAsync("health check", settings.Workers, settings.Duration, Check)];
    }

    /// <summary>Single-voucher IssueVoucher for distinct users: the most, then latency at half of it.</summary>
    public async Task<IReadOnlyList<LoadResult>> IssueAsync()
    {
        var campaign = await CampaignAsync("issue", stock: 50_000_000, peak: 20_000);
        var partner = await PartnerAsync();
        Task Issue(long n) => partner.IssueVoucherAsync(campaign, $"user-{n}", $"claim-{n}");
        await WarmUpAsync(n => Issue(n + 900_000_000));
        var most = await LoadRunner.ClosedLoopAsync("IssueVoucher", settings.Workers, settings.Duration, Issue);
        var half = await LoadRunner.OpenLoopAsync("IssueVoucher", most.PerSecond / 2, settings.Duration, Issue, firstSequence: 100_000_000);
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
                request.Items.Add(new IssueVouchersItem { UserId = $"b{n}-{i}", RequestId = $"b{n}-{i}" });
            }

            return partner.Vouchers.IssueVouchersAsync(request).ResponseAsync;
        }

        await WarmUpAsync(n => Batch(n + 900_000_000), calls: 5);
        var result = await LoadRunner.ClosedLoopAsync("IssueVouchers ×1000", settings.BatchWorkers, settings.Duration, Batch);
        return [result with { Name = "IssueVouchers ×1000 (vouchers)", Succeeded = result.Succeeded * 1_000 }];
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
                new IssueVoucherRequest { CampaignId = campaign, UserId = $"late-{n}", RequestId = $"late-{n}" });

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

        await WarmUpAsync(n => Refused(n + 900_000_000));
        return [await LoadRunner.ClosedLoopAsync("IssueVoucher, sold out", settings.Workers, settings.Duration, Refused)];
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

        log.WriteLine($"  issuing {settings.CheckoutVouchers:N0} vouchers to redeem...");
        var codes = new List<string>(settings.CheckoutVouchers);
        foreach (var chunk in Enumerable.Range(0, settings.CheckoutVouchers).Chunk(1_000))
        {
            var request = new IssueVouchersRequest { CampaignId = campaign };
            request.Items.AddRange(chunk.Select(i => new IssueVouchersItem { UserId = $"shopper-{i}", RequestId = $"shopper-{i}" }));
            var response = await partner.Vouchers.IssueVouchersAsync(request);
            codes.AddRange(response.Results.Where(r => r.Voucher is not null).Select(r => r.Voucher.Code));
        }

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
        await Parallel.ForEachAsync(Enumerable.Range(0, 1_000), new ParallelOptions { MaxDegreeOfParallelism = settings.Workers },
            async (n, _) => await Redeem(n));
        var most = await LoadRunner.ClosedLoopAsync("RedeemVoucher", settings.Workers, settings.Duration, Redeem, firstSequence: 1_000);
        var used = 1_000 + most.Succeeded + most.Failed + settings.Workers;
        var half = await LoadRunner.OpenLoopAsync("RedeemVoucher", most.PerSecond / 2, settings.Duration, Redeem, firstSequence: used);
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

    private async Task WarmUpAsync(Func<long, Task> operation, int calls = 2_000)
    {
        // JIT, connections, grain activations and leases: none of it belongs in the measurement.
        await LoadRunner.ClosedLoopAsync("warm-up", Math.Min(settings.Workers, calls), TimeSpan.FromSeconds(2), operation, firstSequence: 800_000_000);
    }

    private static CampaignsClient Client(Uri address, string key) =>
        new(new CampaignsClientOptions { Address = address, ApiKey = key, HttpHandler = Handler(), MaxRetries = 0 });

    private static SocketsHttpHandler Handler() => new()
    {
        EnableMultipleHttp2Connections = true,
        PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
    };
}

public sealed record LoadSettings(TimeSpan Duration, int Workers, int BatchWorkers, int CheckoutVouchers);
