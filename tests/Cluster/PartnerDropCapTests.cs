using Campaigns.Grains.Common;
using Campaigns.Grains.Issuance;

namespace Campaigns.Tests.Cluster;

/// <summary>A campaign's cap per partner per minute in the first minutes of its drop, on the real shards.</summary>
[Collection(ClusterCollection.Name)]
public sealed class PartnerDropCapTests(ClusterFixture fixture)
{
    private const string Alipay = "alipay";
    private const string Meituan = "meituan";

    [Fact]
    public async Task A_partner_capped_at_12_a_minute_over_4_shards_gets_12_a_minute_until_the_cap_ends_and_others_keep_their_own()
    {
        var start = fixture.Clock.GetUtcNow();
        var id = await CappedCampaignAsync(start, shards: 4, perMinute: 12, minutes: 2);
        fixture.Clock.Advance(TimeSpan.FromSeconds(15));

        // Minute 0: a flash crowd of 200 users on one partner, all at once.
        var first = await ClaimAsync(id, 4, Alipay, "m0", users: 200);
        Assert.Equal(12, first.Count(o => o.Voucher is not null));
        Assert.All(first.Where(o => o.Voucher is null), o =>
        {
            Assert.Equal(Refusal.PartnerDropCapReached, o.Refusal);
            Assert.Equal(TimeSpan.FromSeconds(45), o.RetryAfter);
        });

        // Another partner has its own 12 in the same minute.
        Assert.Equal(12, (await ClaimAsync(id, 4, Meituan, "m0", users: 200)).Count(o => o.Voucher is not null));

        // Minute 1: 12 more; the claims refused in minute 0 took no place.
        fixture.Clock.SetUtcNow(start.AddMinutes(1));
        Assert.Equal(12, (await ClaimAsync(id, 4, Alipay, "m1", users: 200)).Count(o => o.Voucher is not null));

        // Minute 2 is past partner_cap_minutes: no cap.
        fixture.Clock.SetUtcNow(start.AddMinutes(2));
        var uncapped = await ClaimAsync(id, 4, Alipay, "m2", users: 100);
        Assert.All(uncapped, o => Assert.NotNull(o.Voucher));

        var issued = await fixture.LedgerVouchersAsync(id, 4);
        Assert.Equal(12 + 12 + 12 + 100, issued.Count);
        Assert.Equal([12, 12], issued.Where(v => v.Channel == Alipay && v.IssuedAt < start.AddMinutes(2))
            .GroupBy(v => (v.IssuedAt - start).Ticks / TimeSpan.TicksPerMinute).OrderBy(g => g.Key).Select(g => g.Count()));
    }

    [Fact]
    public async Task A_replay_is_answered_with_its_first_voucher_and_takes_no_place_under_the_cap()
    {
        var id = await CappedCampaignAsync(fixture.Clock.GetUtcNow(), shards: 1, perMinute: 2, minutes: 5);
        var first = await IssueAsync(id, 1, Alipay, "user-1", "claim-1");

        var replays = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => IssueAsync(id, 1, Alipay, "user-1", "claim-1")));

        Assert.All(replays, r => Assert.Equal((first.Voucher!.Code, true), (r.Voucher!.Code, r.Replayed)));
        Assert.NotNull((await IssueAsync(id, 1, Alipay, "user-2", "claim-2")).Voucher);
        Assert.Equal(Refusal.PartnerDropCapReached, (await IssueAsync(id, 1, Alipay, "user-3", "claim-3")).Refusal);
        // Even at the cap, a retry still gets its voucher.
        Assert.True((await IssueAsync(id, 1, Alipay, "user-1", "claim-1")).Replayed);
        Assert.Equal(2, (await fixture.LedgerVouchersAsync(id, 1)).Count);
    }

    [Fact]
    public async Task The_cap_holds_across_a_shard_s_reactivation_rebuilt_from_its_rows()
    {
        var id = await CappedCampaignAsync(fixture.Clock.GetUtcNow(), shards: 1, perMinute: 3, minutes: 5);
        Assert.NotNull((await IssueAsync(id, 1, Alipay, "user-1", "claim-1")).Voucher);
        Assert.NotNull((await IssueAsync(id, 1, Alipay, "user-2", "claim-2")).Voucher);

        // A newer activation takes the shard's epoch: this one's next write is fenced off, it
        // answers UNAVAILABLE and gives way to a fresh activation, which knows only the rows.
        await fixture.Store.Ledger.ActivateShardAsync(id, 0);
        Assert.Equal(Refusal.Unavailable, (await IssueAsync(id, 1, Alipay, "user-3", "claim-3")).Refusal);

        var retried = await RetryWhileUnavailableAsync(() => IssueAsync(id, 1, Alipay, "user-3", "claim-3"));
        Assert.NotNull(retried.Voucher);
        Assert.Equal(Refusal.PartnerDropCapReached, (await IssueAsync(id, 1, Alipay, "user-4", "claim-4")).Refusal);
        Assert.NotNull((await IssueAsync(id, 1, Meituan, "user-5", "claim-5")).Voucher);
    }

    /// <summary>A started campaign whose window (and so minute 0) begins at <paramref name="start"/>, with 1,000 vouchers.</summary>
    private async Task<string> CappedCampaignAsync(DateTimeOffset start, int shards, long perMinute, int minutes)
    {
        var campaign = await fixture.StartCampaignAsync(d => d with
        {
            TotalStock = 1_000, ShardCount = shards, StartsAt = start, PartnerCapPerMinute = perMinute, PartnerCapMinutes = minutes,
        });
        return campaign.GetPrimaryKeyString();
    }

    private async Task<IssueOutcome[]> ClaimAsync(string id, int shards, string channel, string prefix, int users) =>
        await Task.WhenAll(Enumerable.Range(0, users).Select(u => IssueAsync(id, shards, channel, $"{channel}-{prefix}-{u}", $"{prefix}-{u}")));

    private Task<IssueOutcome> IssueAsync(string id, int shards, string channel, string userId, string requestId) =>
        fixture.IssueAsync(id, shards, new IssueClaim(channel, userId, requestId, ""));

    private static async Task<IssueOutcome> RetryWhileUnavailableAsync(Func<Task<IssueOutcome>> claim)
    {
        for (var attempt = 0; ; attempt++)
        {
            var outcome = await claim();
            if (outcome.Refusal != Refusal.Unavailable || attempt == 50)
            {
                return outcome;
            }

            await Task.Delay(20);
        }
    }
}
