using System.Collections.Concurrent;
using Campaigns.Client;
using Campaigns.Proto;
using Campaigns.Tests.EndToEnd;
using Grpc.Core;
using Npgsql;

namespace Campaigns.Tests.Production;

/// <summary>
/// A festival night in miniature, spread over every silo of a <see cref="ProductionCluster"/>:
/// partners claim on a roomy campaign and on a scarce one (demand beyond its stock), and a merchant
/// redeems half the roomy vouchers through a different silo than issued them. It records what
/// every client was told, then checks the ledger against it (<see cref="VerifyAsync"/>).
/// </summary>
public sealed class FestivalWorkload
{
    public const long ScarceStock = 150;
    private const string MerchantId = "night-market";

    private readonly ProductionCluster _cluster;
    private readonly string _partnerKey;
    private readonly string _merchantKey;

    private readonly ConcurrentDictionary<string, Claim> _acknowledged = new();
    private readonly ConcurrentDictionary<string, Claim> _uncertain = new();
    private readonly ConcurrentDictionary<string, string> _redeemed = new();
    private readonly ConcurrentDictionary<string, string> _redeemUncertain = new();
    private readonly ConcurrentQueue<string> _unexpected = new();
    private long _soldOut;

    private FestivalWorkload(ProductionCluster cluster, string roomy, string scarce, string partnerKey, string merchantKey)
    {
        _cluster = cluster;
        Roomy = roomy;
        Scarce = scarce;
        _partnerKey = partnerKey;
        _merchantKey = merchantKey;
    }

    public string Roomy { get; }

    public string Scarce { get; }

    public int Acknowledged => _acknowledged.Count;

    public int Redeemed => _redeemed.Count;

    /// <summary>Calls that ended in a transient failure after the SDK's retries (their outcome unknown to the client until it retries).</summary>
    public int Uncertain => _uncertain.Count + _redeemUncertain.Count;

    public static async Task<FestivalWorkload> PrepareAsync(ProductionCluster cluster)
    {
        var organiser = cluster.Client(0);
        var now = DateTimeOffset.UtcNow;
        var roomy = await organiser.Admin.CreateCampaignAsync(Scenario.Campaign(now, c => c.TotalStock = 1_000_000));
        var scarce = await organiser.Admin.CreateCampaignAsync(Scenario.Campaign(now, c => c.TotalStock = ScarceStock));
        foreach (var campaign in new[] { roomy, scarce })
        {
            await organiser.Admin.StartCampaignAsync(new CampaignActionRequest { CampaignId = campaign.CampaignId });
        }

        await organiser.Merchants.RegisterMerchantAsync(new RegisterMerchantRequest { MerchantId = MerchantId, Name = "Night market", District = "huangpu", Category = "food" });
        await organiser.Admin.EnrollMerchantAsync(new EnrollMerchantRequest { CampaignId = roomy.CampaignId, MerchantId = MerchantId });
        return new FestivalWorkload(cluster, roomy.CampaignId, scarce.CampaignId,
            await cluster.CreateKeyAsync(Role.Partner, "festival-partner"), await cluster.CreateKeyAsync(Role.Merchant, MerchantId));
    }

    private readonly CancellationTokenSource _stop = new();
    private Task _load = Task.CompletedTask;

    /// <summary>Starts claiming and redeeming from <paramref name="workersPerSilo"/> callers on each silo, until <see cref="StopAsync"/>.</summary>
    public void Start(int workersPerSilo)
    {
        var silos = _cluster.Silos.Count;
        _load = Task.WhenAll(Enumerable.Range(0, silos * workersPerSilo).Select(worker => Task.Run(() => WorkAsync(worker, worker % silos, _stop.Token))));
    }

    /// <summary>Stops the callers and waits (at most a minute) for their last calls.</summary>
    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await _load.WaitAsync(TimeSpan.FromSeconds(60));
        _stop.Dispose();
    }

    private async Task WorkAsync(int worker, int silo, CancellationToken stop)
    {
        var partner = _cluster.Client(silo, _partnerKey);
        var merchant = _cluster.Client((silo + 1) % _cluster.Silos.Count, _merchantKey);
        for (var n = 0; !stop.IsCancellationRequested; n++)
        {
            var claim = new Claim(n % 4 == 3 ? Scarce : Roomy, $"user-{worker}-{n}", $"claim-{worker}-{n}");
            var code = await ClaimAsync(partner, claim);
            if (code is not null && claim.CampaignId == Roomy && n % 2 == 0)
            {
                await RedeemAsync(merchant, code);
            }

            await Task.Delay(2, CancellationToken.None);
        }
    }

    private async Task<string?> ClaimAsync(CampaignsClient partner, Claim claim)
    {
        try
        {
            var response = await partner.IssueVoucherAsync(claim.CampaignId, claim.UserId, claim.RequestId);
            _acknowledged[claim.RequestId] = claim with { Code = response.Voucher.Code };
            return response.Voucher.Code;
        }
        catch (RpcException error) when (CampaignsRetry.IsTransient(error))
        {
            _uncertain[claim.RequestId] = claim;
        }
        catch (RpcException error) when (error.Reason() == "SOLD_OUT")
        {
            Interlocked.Increment(ref _soldOut);
        }
        catch (RpcException error)
        {
            _unexpected.Enqueue($"claim {claim.RequestId}: {error.StatusCode} {error.Reason()} {error.Status.Detail}");
        }

        return null;
    }

    private async Task RedeemAsync(CampaignsClient merchant, string code)
    {
        var orderId = "order-" + code;
        try
        {
            await merchant.RedeemVoucherAsync(code, MerchantId, orderId, 20_000);
            _redeemed[code] = orderId;
        }
        catch (RpcException error) when (CampaignsRetry.IsTransient(error))
        {
            _redeemUncertain[code] = orderId;
        }
        catch (RpcException error)
        {
            _unexpected.Enqueue($"redeem {code}: {error.StatusCode} {error.Reason()} {error.Status.Detail}");
        }
    }

    /// <summary>
    /// Once the faults are over: every client retrying with its own keys gets its first answer; every
    /// acknowledged voucher is in the ledger and redeemable; no request id has two vouchers; the
    /// scarce campaign ends with exactly its stock; no voucher was redeemed twice; settlement and
    /// stats equal the ledger.
    /// </summary>
    public async Task VerifyAsync(int throughSilo)
    {
        Assert.True(_unexpected.IsEmpty, "calls refused for no good reason:\n" + string.Join("\n", _unexpected.Take(10)));
        var partner = _cluster.Client(throughSilo, _partnerKey);
        var merchant = _cluster.Client(throughSilo, _merchantKey);
        var organiser = _cluster.Client(throughSilo);

        // The clients retry what they were not told, with the same ids: now each gets a definite answer.
        await ForEachAsync(_uncertain.Values, async claim =>
        {
            try
            {
                var response = await partner.IssueVoucherAsync(claim.CampaignId, claim.UserId, claim.RequestId);
                _acknowledged[claim.RequestId] = claim with { Code = response.Voucher.Code };
            }
            catch (RpcException error) when (error.Reason() == "SOLD_OUT")
            {
                // Never issued: the stock had gone.
            }
        });
        await ForEachAsync(_redeemUncertain, async pair =>
        {
            await merchant.RedeemVoucherAsync(pair.Key, MerchantId, pair.Value, 20_000);
            _redeemed[pair.Key] = pair.Value;
        });

        // Every acknowledged claim, asked again, answers with the very voucher it acknowledged.
        await ForEachAsync(_acknowledged.Values, async claim =>
        {
            var replay = await partner.IssueVoucherAsync(claim.CampaignId, claim.UserId, claim.RequestId);
            Assert.True(replay.Replayed, $"claim {claim.RequestId} was not a replay");
            Assert.Equal(claim.Code, replay.Voucher.Code);
        });

        // Acknowledged and not yet spent: the ledger has them issued, and they can be redeemed.
        var unspent = _acknowledged.Values.Where(c => c.CampaignId == Roomy && !_redeemed.ContainsKey(c.Code!)).Take(60).ToList();
        await ForEachAsync(unspent, async claim =>
        {
            Assert.Equal(VoucherStatus.Issued, (await partner.GetVoucherAsync(claim.Code!)).Status);
            await merchant.RedeemVoucherAsync(claim.Code!, MerchantId, "order-" + claim.Code, 20_000);
            _redeemed[claim.Code!] = "order-" + claim.Code;
        });

        await using var ledger = new NpgsqlConnection(_cluster.LedgerConnectionString);
        await ledger.OpenAsync();
        Assert.Equal(0L, await ScalarAsync(ledger,
            "SELECT count(*) FROM (SELECT 1 FROM vouchers GROUP BY campaign_id, channel, request_id HAVING count(*) > 1) twice;"));
        Assert.Equal(0L, await ScalarAsync(ledger,
            "SELECT count(*) FROM (SELECT 1 FROM redemption_events WHERE type = 'REDEEMED' GROUP BY voucher_key HAVING count(*) > 1) twice;"));
        var issuedRoomy = await ScalarAsync(ledger, $"SELECT count(*) FROM vouchers WHERE campaign_id = '{Roomy}';");
        Assert.Equal(_acknowledged.Values.Count(c => c.CampaignId == Roomy), issuedRoomy);
        Assert.True(await ScalarAsync(ledger, $"SELECT count(*) FROM vouchers WHERE campaign_id = '{Scarce}';") <= ScarceStock);

        // Demand beyond the stock: claiming on until it says sold out again and again takes exactly the stock.
        await DrainAsync(partner);
        Assert.Equal(ScarceStock, await ScalarAsync(ledger, $"SELECT count(*) FROM vouchers WHERE campaign_id = '{Scarce}';"));

        var redeemedInLedger = await ScalarAsync(ledger, $"SELECT count(*) FROM vouchers WHERE campaign_id = '{Roomy}' AND status = 'REDEEMED';");
        Assert.Equal(_redeemed.Count, redeemedInLedger);
        var settlement = await merchant.SettlementAsync(MerchantId, Roomy);
        Assert.Equal(redeemedInLedger, settlement.Redemptions);
        Assert.Equal(redeemedInLedger * 2_000, settlement.DiscountCents);

        // The live figures may lag by a refresh; once the drop has settled they equal the ledger.
        var deadline = DateTime.UtcNow.AddSeconds(15);
        CampaignStats stats;
        do
        {
            stats = await organiser.Admin.GetCampaignStatsAsync(new GetCampaignRequest { CampaignId = Roomy });
            if (stats.Issued == issuedRoomy && stats.Redeemed == redeemedInLedger)
            {
                break;
            }

            await Task.Delay(250);
        }
        while (DateTime.UtcNow < deadline);
        Assert.Equal(issuedRoomy, stats.Issued);
        Assert.Equal(redeemedInLedger, stats.Redeemed);
    }

    private async Task DrainAsync(CampaignsClient partner)
    {
        var soldOutInARow = 0;
        for (var n = 0; soldOutInARow < 20 && n < 5_000; n++)
        {
            try
            {
                var response = await partner.IssueVoucherAsync(Scarce, $"late-{n}", $"late-{n}");
                _acknowledged[$"late-{n}"] = new Claim(Scarce, $"late-{n}", $"late-{n}", response.Voucher.Code);
                soldOutInARow = 0;
            }
            catch (RpcException error) when (error.Reason() == "SOLD_OUT")
            {
                soldOutInARow++;
                // Stock still leased to idle shards comes back to the campaign after a short while.
                await Task.Delay(100);
            }
        }
    }

    private static async Task<long> ScalarAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static Task ForEachAsync<T>(IEnumerable<T> items, Func<T, Task> check) =>
        Parallel.ForEachAsync(items.ToList(), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (item, _) => await check(item));

    private sealed record Claim(string CampaignId, string UserId, string RequestId, string? Code = null);
}
