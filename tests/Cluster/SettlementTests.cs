using Campaigns.Client;
using Campaigns.Grains.Common;
using Campaigns.Grains.Issuance;
using Campaigns.Grains.Ledger;
using Campaigns.Grains.Merchants;
using Campaigns.Grains.Redemption;
using Campaigns.Silo.Api;

namespace Campaigns.Tests.Cluster;

[Collection(ClusterCollection.Name)]
public sealed class SettlementTests(ClusterFixture fixture)
{
    [Fact]
    public async Task Settlement_and_export_equal_the_ledger_after_a_random_mix_of_redemptions_cancels_and_refunds()
    {
        var campaign = await fixture.StartCampaignAsync(d => d with { TotalStock = 120, PerUserLimit = 1 });
        var id = campaign.GetPrimaryKeyString();
        string[] shops = [$"east-{id}", $"west-{id}", $"north-{id}"];
        foreach (var shop in shops)
        {
            await fixture.Grains.GetGrain<IMerchantGrain>(shop).RegisterAsync("Shop", "Huangpu", "retail");
            await fixture.Grains.GetGrain<IMerchantGrain>(shop).EnrollAsync(id);
        }

        var codes = new List<string>();
        for (var u = 0; u < 120; u++)
        {
            var user = $"mix-{id}-{u}";
            var pool = fixture.Grains.GetGrain<IVoucherPoolGrain>(ShardRouting.PoolKey(id, ShardRouting.ShardFor(user, 4)));
            codes.Add((await pool.IssueAsync([new IssueClaim("partner-a", user, user, "")]))[0].Voucher!.Code);
        }

        // The model: what each merchant should be owed, computed independently of the ledger.
        var expected = shops.ToDictionary(s => s, _ => (Redemptions: 0L, Refunds: 0L, Discount: 0L, Refunded: 0L, Orders: 0L));
        var random = new Random(20261123);
        var order = 0;
        foreach (var code in codes)
        {
            var voucher = fixture.Grains.GetGrain<IVoucherGrain>(code);
            for (var step = 0; step < 4; step++)
            {
                var shop = shops[random.Next(shops.Length)];
                var amount = 10_000 + random.Next(0, 20_000);
                var orderId = $"o-{++order}";
                switch (random.Next(4))
                {
                    case 0: // reserve then cancel: no money moves
                        await TryAsync(async () =>
                        {
                            await voucher.ReserveAsync(shop, orderId, amount, 60);
                            await voucher.CancelAsync(shop, orderId);
                        });
                        break;
                    case 1: // reserve then confirm
                        await TryAsync(async () =>
                        {
                            await voucher.ReserveAsync(shop, orderId, amount, 60);
                            var r = await voucher.ConfirmAsync(shop, orderId);
                            Count(shop, r);
                        });
                        break;
                    case 2: // one-step redeem
                        await TryAsync(async () => Count(shop, await voucher.RedeemAsync(shop, orderId, amount)));
                        break;
                    default: // refund whatever the voucher is redeemed for now
                        var current = (await voucher.GetAsync()).Record;
                        if (current.Status == StoredVoucherStatus.Redeemed)
                        {
                            await voucher.RefundAsync(current.MerchantId!, current.OrderId!, $"rf-{orderId}");
                            var e = expected[current.MerchantId!];
                            expected[current.MerchantId!] = e with { Refunds = e.Refunds + 1, Refunded = e.Refunded + current.DiscountCents };
                        }

                        break;
                }
            }
        }

        long netTotal = 0;
        foreach (var shop in shops)
        {
            var settlement = await fixture.Store.Ledger.GetSettlementAsync(shop, id);
            var e = expected[shop];
            Assert.Equal(e.Redemptions, settlement.Redemptions);
            Assert.Equal(e.Refunds, settlement.Refunds);
            Assert.Equal(e.Discount, settlement.DiscountCents);
            Assert.Equal(e.Orders, settlement.OrderTotalCents);
            Assert.Equal(e.Refunded, settlement.RefundedDiscountCents);
            Assert.Equal(e.Discount - e.Refunded, settlement.NetSubsidyCents);
            netTotal += settlement.NetSubsidyCents;
        }

        // The export: every redemption and refund, in order, summing to the net subsidy, with
        // the same checksum a client computes over the lines it receives.
        using var tally = new RedemptionExportTally();
        var lines = new List<string>();
        long previous = 0;
        await foreach (var record in fixture.Store.Ledger.ExportRedemptionEventsAsync(id))
        {
            Assert.True(record.Sequence > previous);
            previous = record.Sequence;
            lines.Add(tally.Add(record.ToProto()));
        }

        var summary = tally.ToSummary();
        Assert.Equal(netTotal, summary.NetDiscountCents);
        Assert.Equal(expected.Values.Sum(e => e.Redemptions), summary.Redemptions);
        Assert.Equal(expected.Values.Sum(e => e.Refunds), summary.Refunds);
        Assert.Equal(RedemptionEventCsv.Checksum(lines), summary.ChecksumSha256);

        var totals = await fixture.Store.Ledger.GetCampaignTotalsAsync(id, fixture.Clock.GetUtcNow());
        Assert.Equal(netTotal, totals.RedeemedDiscountCents);
        Assert.Equal(expected.Values.Sum(e => e.Refunds), totals.Refunded);

        void Count(string shop, RedemptionReceipt receipt)
        {
            var e = expected[shop];
            expected[shop] = e with { Redemptions = e.Redemptions + 1, Discount = e.Discount + receipt.DiscountCents, Orders = e.Orders + receipt.OrderAmountCents };
        }
    }

    /// <summary>Runs a step that a busy voucher may refuse (already redeemed, reserved): refusals move no money.</summary>
    private static async Task TryAsync(Func<Task> step)
    {
        try
        {
            await step();
        }
        catch (CampaignsException ex) when (ex.Code is Refusal.VoucherAlreadyRedeemed or Refusal.VoucherReserved)
        {
        }
    }
}
