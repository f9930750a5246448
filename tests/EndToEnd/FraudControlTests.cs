using Campaigns.Client;
using Campaigns.Grains.Issuance;
using Campaigns.Proto;
using Campaigns.Silo.Api;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace Campaigns.Tests.EndToEnd;

/// <summary>Claim fraud controls an organiser sets per campaign: blocked users, a cap per partner per minute early in the drop.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class FraudControlTests(SiloFixture silo)
{
    [Fact]
    public async Task A_blocked_user_is_refused_USER_BLOCKED_keeps_what_it_holds_and_claims_again_once_unblocked()
    {
        var campaign = await silo.StartedCampaignAsync(r => r.PerUserLimit = 3);
        var id = campaign.CampaignId;
        var held = await silo.Partner.IssueVoucherAsync(id, "user-scalper", "claim-1");

        var blocked = await silo.Organiser.Admin.BlockUsersAsync(new BlockUsersRequest { CampaignId = id, UserIds = { "user-scalper", "user-bot", "user-bot" } });
        Assert.Equal(["user-bot", "user-scalper"], blocked.UserIds);

        await Expect.RefusedAsync(StatusCode.PermissionDenied, "USER_BLOCKED", () => silo.Partner.IssueVoucherAsync(id, "user-scalper", "claim-2"));
        await Expect.RefusedAsync(StatusCode.PermissionDenied, "USER_BLOCKED", () => silo.OtherPartner.IssueVoucherAsync(id, "user-bot", "claim-1"));
        var batch = await silo.Partner.IssueVouchersAsync(id,
        [
            new IssueVouchersItem { UserId = "user-bot", RequestId = "claim-b1" },
            new IssueVouchersItem { UserId = "user-honest", RequestId = "claim-b2" },
        ]);
        Assert.Equal(["USER_BLOCKED", ""], batch.Results.Select(r => r.ErrorReason));

        // What was issued before stays, and its retry still answers it.
        var replay = await silo.Partner.IssueVoucherAsync(id, "user-scalper", "claim-1");
        Assert.True(replay.Replayed);
        Assert.Equal(held.Voucher.Code, replay.Voucher.Code);
        Assert.Equal(2, (await silo.StatsAsync(id)).Issued);

        var after = await silo.Organiser.Admin.UnblockUsersAsync(new BlockUsersRequest { CampaignId = id, UserIds = { "user-scalper", "user-never-blocked" } });
        Assert.Equal(["user-bot"], after.UserIds);
        await silo.Partner.IssueVoucherAsync(id, "user-scalper", "claim-3");
        Assert.Equal(["user-bot"], (await silo.Organiser.Admin.ListBlockedUsersAsync(new GetCampaignRequest { CampaignId = id })).UserIds);
    }

    [Fact]
    public async Task A_block_outlives_a_restart_of_the_campaign_s_shards()
    {
        var campaign = await silo.StartedCampaignAsync();
        await silo.Organiser.Admin.BlockUsersAsync(new BlockUsersRequest { CampaignId = campaign.CampaignId, UserIds = { "user-kept-out" } });
        // Pausing and resuming tells every shard the campaign again, from its stored state.
        await silo.PauseAsync(campaign.CampaignId);
        await silo.ResumeAsync(campaign.CampaignId);

        await Expect.RefusedAsync(StatusCode.PermissionDenied, "USER_BLOCKED",
            () => silo.Partner.IssueVoucherAsync(campaign.CampaignId, "user-kept-out", "claim-1"));
    }

    [Fact]
    public async Task Bad_block_requests_are_INVALID_ARGUMENT_or_CAMPAIGN_NOT_FOUND_and_change_nothing()
    {
        var campaign = await silo.StartedCampaignAsync();
        var id = campaign.CampaignId;
        var admin = silo.Organiser.Admin;

        await Expect.InvalidAsync("user_ids", () => admin.BlockUsersAsync(new BlockUsersRequest { CampaignId = id }));
        await Expect.InvalidAsync("user_ids", () => admin.BlockUsersAsync(new BlockUsersRequest { CampaignId = id, UserIds = { "" } }));
        await Expect.InvalidAsync("user_ids", () => admin.BlockUsersAsync(new BlockUsersRequest { CampaignId = id, UserIds = { "ok", new string('x', 200) } }));
        await Expect.InvalidAsync("user_ids", () => admin.UnblockUsersAsync(
            new BlockUsersRequest { CampaignId = id, UserIds = { Enumerable.Range(0, 1_001).Select(i => $"user-{i}") } }));
        await Expect.InvalidAsync("campaign_id", () => admin.BlockUsersAsync(new BlockUsersRequest { CampaignId = "", UserIds = { "u" } }));
        await Expect.RefusedAsync(StatusCode.NotFound, "CAMPAIGN_NOT_FOUND",
            () => admin.BlockUsersAsync(new BlockUsersRequest { CampaignId = Scenario.NewId("missing"), UserIds = { "u" } }));
        await Expect.RefusedAsync(StatusCode.NotFound, "CAMPAIGN_NOT_FOUND",
            () => admin.ListBlockedUsersAsync(new GetCampaignRequest { CampaignId = Scenario.NewId("missing") }));
        await Expect.RefusedAsync(StatusCode.PermissionDenied, "WRONG_ROLE",
            () => silo.Partner.Admin.BlockUsersAsync(new BlockUsersRequest { CampaignId = id, UserIds = { "u" } }));

        Assert.Empty((await admin.ListBlockedUsersAsync(new GetCampaignRequest { CampaignId = id })).UserIds);
        await silo.Partner.IssueVoucherAsync(id, "ok", "claim-1");
    }

    [Fact]
    public async Task A_partner_past_its_drop_cap_is_refused_PARTNER_DROP_CAP_REACHED_until_the_next_minute_and_another_partner_is_not()
    {
        var id = (await CappedCampaignAsync()).CampaignId;
        silo.Clock.Advance(TimeSpan.FromSeconds(20));
        var users = Enumerable.Range(0, 10).Select(u => Scenario.NewId("drop-user")).ToList();

        var refused = new List<(string User, RpcException Error)>();
        foreach (var user in users)
        {
            try
            {
                await silo.Partner.IssueVoucherAsync(id, user, "claim-" + user);
            }
            catch (RpcException error)
            {
                refused.Add((user, error));
            }
        }

        // 4 a minute over the default 4 shards: one per shard, whichever of its users came first.
        Assert.Equal(users.Count - ShardsOf(users), refused.Count);
        Assert.NotEmpty(refused);
        foreach (var (_, error) in refused)
        {
            await Expect.RefusedAsync(StatusCode.ResourceExhausted, "PARTNER_DROP_CAP_REACHED", () => Task.FromException(error));
            // Minutes count from starts_at at the ledger's millisecond: 40 s, less what the clock holds below it.
            Assert.InRange(error.RetryDelay()!.Value, TimeSpan.FromSeconds(39.999), TimeSpan.FromSeconds(40));
        }

        await silo.OtherPartner.IssueVoucherAsync(id, Scenario.NewId("drop-other"), "claim-1");

        // The next minute: the refused claim, retried with its request id after the delay, is issued.
        silo.Clock.Advance(refused[0].Error.RetryDelay()!.Value);
        var (user0, _) = refused[0];
        Assert.False((await silo.Partner.IssueVoucherAsync(id, user0, "claim-" + user0)).Replayed);
        Assert.Equal(ShardsOf(users) + 2, (await silo.StatsAsync(id)).Issued);
    }

    [Fact]
    public async Task A_batch_past_the_drop_cap_refuses_the_items_over_it_each_with_its_reason()
    {
        var id = (await CappedCampaignAsync()).CampaignId;
        var users = Enumerable.Range(0, 12).Select(u => Scenario.NewId("drop-batch")).ToList();

        var batch = await silo.Partner.IssueVouchersAsync(id, [.. users.Select(u => new IssueVouchersItem { UserId = u, RequestId = "claim-" + u })]);

        Assert.Equal(ShardsOf(users), batch.Results.Count(r => r.Voucher is not null));
        var refused = batch.Results.Where(r => r.Voucher is null).ToList();
        Assert.All(refused, r =>
        {
            Assert.Equal("PARTNER_DROP_CAP_REACHED", r.ErrorReason);
            Assert.Contains("retry at", r.ErrorMessage, StringComparison.Ordinal);
        });

        // Counted in the campaign's stats like its other rules' refusals, about a second later.
        var waited = System.Diagnostics.Stopwatch.StartNew();
        long counted;
        do
        {
            await Task.Delay(RefusedClaimsReporter.Interval / 4);
            counted = (await silo.StatsAsync(id)).RefusedClaims.GetValueOrDefault("PARTNER_DROP_CAP_REACHED");
        }
        while (counted != refused.Count && waited.Elapsed < TimeSpan.FromSeconds(10));

        Assert.Equal(refused.Count, counted);
    }

    [Fact]
    public async Task A_drop_cap_is_read_back_as_created_and_a_campaign_without_one_reads_zero()
    {
        var capped = await CappedCampaignAsync();
        var read = await silo.GetCampaignAsync(capped.CampaignId);
        Assert.Equal((4L, 3), (read.PartnerCapPerMinute, read.PartnerCapMinutes));
        Assert.Equal((4L, 3), (capped.PartnerCapPerMinute, capped.PartnerCapMinutes));

        var plain = await silo.GetCampaignAsync((await silo.StartedCampaignAsync()).CampaignId);
        Assert.Equal((0L, 0), (plain.PartnerCapPerMinute, plain.PartnerCapMinutes));
    }

    [Theory]
    [InlineData(-1L, 5, "partner_cap_per_minute")]
    [InlineData(3L, 5, "partner_cap_per_minute")] // fewer than the 4 shards
    [InlineData(100L, 0, "partner_cap_minutes")]
    [InlineData(100L, 1_441, "partner_cap_minutes")]
    [InlineData(100L, -1, "partner_cap_minutes")]
    [InlineData(0L, 5, "partner_cap_minutes")] // minutes without a cap
    public async Task A_bad_drop_cap_is_INVALID_ARGUMENT_naming_the_field_and_creates_nothing(long perMinute, int minutes, string field)
    {
        var request = silo.Campaign(r => (r.PartnerCapPerMinute, r.PartnerCapMinutes) = (perMinute, minutes));

        await Expect.InvalidAsync(field, () => silo.Organiser.Admin.CreateCampaignAsync(request));

        await Expect.RefusedAsync(StatusCode.NotFound, "CAMPAIGN_NOT_FOUND", () => silo.GetCampaignAsync(request.CampaignId));
    }

    /// <summary>A started campaign on the default 4 shards whose minute 0 begins now: 4 vouchers a minute per partner for 3 minutes.</summary>
    private Task<Campaign> CappedCampaignAsync() => silo.StartedCampaignAsync(r =>
    {
        r.StartsAt = Timestamp.FromDateTimeOffset(silo.Clock.GetUtcNow());
        (r.PartnerCapPerMinute, r.PartnerCapMinutes) = (4, 3);
    });

    private static int ShardsOf(IEnumerable<string> users) => users.Select(u => ShardRouting.ShardFor(u, 4)).Distinct().Count();
}
