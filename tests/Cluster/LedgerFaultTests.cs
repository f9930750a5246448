using Campaigns.Grains.Common;
using Campaigns.Grains.Issuance;
using Campaigns.Grains.Ledger;

namespace Campaigns.Tests.Cluster;

/// <summary>
/// Shards whose ledger writes fail, before writing or after (the answer lost): nothing
/// acknowledged is lost, nothing is issued twice, and no stock is stranded.
/// </summary>
[Collection(FaultyLedgerClusterCollection.Name)]
public sealed class LedgerFaultTests(FaultyLedgerClusterFixture fixture)
{
    private const string Channel = "partner-a";

    [Theory]
    [InlineData(LedgerFault.BeforeWriting)]
    [InlineData(LedgerFault.AnswerLost)]
    public async Task A_batch_whose_write_fails_is_answered_unavailable_and_its_retries_issue_each_voucher_once(LedgerFault fault)
    {
        var campaign = await fixture.StartCampaignAsync(d => d with { TotalStock = 30, ShardCount = 2 });
        var id = campaign.GetPrimaryKeyString();
        var claims = Enumerable.Range(0, 50).Select(u => new IssueClaim(Channel, $"user-{u}", $"req-{u}", "")).ToArray();
        var struck = fixture.Faults.Struck;
        fixture.Faults.FailNext(nameof(ILedger.CommitIssueBatchAsync), fault);

        var outcomes = await Task.WhenAll(claims.Select(c => IssueAsync(id, 2, c)));

        Assert.Equal(struck + 1, fixture.Faults.Struck);
        Assert.Contains(outcomes, o => o.Refusal == Refusal.Unavailable);
        // Partners retry UNAVAILABLE with the same request id; the shard comes back rebuilt from the ledger.
        for (var round = 0; round < 50 && outcomes.Any(o => o.Refusal == Refusal.Unavailable); round++)
        {
            await Task.Delay(100);
            for (var i = 0; i < claims.Length; i++)
            {
                if (outcomes[i].Refusal == Refusal.Unavailable)
                {
                    outcomes[i] = await IssueAsync(id, 2, claims[i]);
                }
            }
        }

        var issued = outcomes.Where(o => o.Voucher is not null).ToList();
        Assert.Equal(30, issued.Count);
        Assert.Equal(30, issued.Select(o => o.Voucher!.Code).Distinct().Count());
        Assert.All(outcomes.Where(o => o.Voucher is null), o => Assert.Equal(Refusal.SoldOut, o.Refusal));
        var ledger = fixture.Store.Ledger;
        Assert.Equal(30, (await ledger.GetCampaignTotalsAsync(id, fixture.Clock.GetUtcNow())).Issued);
        var stored = await fixture.LedgerVouchersAsync(id);
        foreach (var outcome in issued)
        {
            // What the caller holds is what the ledger holds for its request id: one voucher each.
            Assert.Equal(outcome.Voucher!.Code, Assert.Single(stored, v => v.Channel == Channel && v.RequestId == outcome.RequestId).Code);
        }

        // A batch that was written but never answered comes back on retry as the same voucher.
        Assert.Equal(fault == LedgerFault.AnswerLost, issued.Any(o => o.Replayed));
        var leases = await ledger.LoadLeasesAsync(id);
        Assert.Equal(30, leases.Sum(l => l.Issued));
        Assert.True(leases.Sum(l => l.Granted) <= 30);
    }

    [Theory]
    [InlineData(LedgerFault.BeforeWriting)]
    [InlineData(LedgerFault.AnswerLost)]
    public async Task A_shard_whose_give_back_fails_is_rebuilt_from_the_ledger_and_the_drop_still_sells_out_exactly(LedgerFault fault)
    {
        // 40 vouchers on 4 shards, each holding a lease; then all demand goes to shard 0, which
        // runs dry, so the campaign asks the idle shards to give back what they hold.
        var campaign = await fixture.StartCampaignAsync(d => d with { TotalStock = 40, ShardCount = 4 });
        var id = campaign.GetPrimaryKeyString();
        var users = FaultyLedgerClusterFixture.UsersByShard(4, 400);
        for (var shard = 0; shard < 4; shard++)
        {
            Assert.NotNull((await IssueAsync(id, 4, new IssueClaim(Channel, users[shard][0], "first-" + users[shard][0], ""))).Voucher);
        }

        var struck = fixture.Faults.Struck;
        fixture.Faults.FailNext(nameof(ILedger.ReturnLeaseAsync), fault);

        // Claims through shard 0 until the ledger holds the whole stock. A shard told "sold out"
        // remembers it for a second of the campaign's clock, so time moves on after each refusal.
        var ledger = fixture.Store.Ledger;
        var next = 1;
        while ((await ledger.GetCampaignTotalsAsync(id, fixture.Clock.GetUtcNow())).Issued < 40 && next < users[0].Count)
        {
            var user = users[0][next++];
            var outcome = await IssueAsync(id, 4, new IssueClaim(Channel, user, "r-" + user, ""));
            if (outcome.Voucher is null)
            {
                Assert.Equal(Refusal.SoldOut, outcome.Refusal);
                fixture.Clock.Advance(TimeSpan.FromSeconds(2));
            }
        }

        Assert.Equal(struck + 1, fixture.Faults.Struck);
        Assert.Equal(40, (await ledger.GetCampaignTotalsAsync(id, fixture.Clock.GetUtcNow())).Issued);
        var leases = await ledger.LoadLeasesAsync(id);
        Assert.Equal(40, leases.Sum(l => l.Issued));
        Assert.All(leases, lease => Assert.Equal(lease.Issued, lease.Granted));
        var late = users[0][next];
        Assert.Equal(Refusal.SoldOut, (await IssueAsync(id, 4, new IssueClaim(Channel, late, "r-" + late, ""))).Refusal);
    }

    private Task<IssueOutcome> IssueAsync(string campaignId, int shards, IssueClaim claim) => fixture.IssueAsync(campaignId, shards, claim);
}
