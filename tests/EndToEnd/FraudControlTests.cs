using Campaigns.Client;
using Campaigns.Grains.Issuance;
using Campaigns.Proto;
using Campaigns.Silo.Api;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace Campaigns.Tests.EndToEnd;

/// <summary>Claim fraud controls an organiser sets per campaign: blocked users, a cap per partner per minute early in the drop, a limit per device.</summary>
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

    [Fact]
    public async Task Many_users_on_one_device_across_shards_and_channels_get_per_device_limit_vouchers_and_the_rest_DEVICE_LIMIT_REACHED()
    {
        var campaign = await silo.StartedCampaignAsync(r => (r.PerDeviceLimit, r.ExpectedPeakClaimsPerSecond) = (3, 20_000));
        var id = campaign.CampaignId;
        var users = Enumerable.Range(0, 24).Select(i => Scenario.NewId($"farm-{i}")).ToList();
        Assert.True(users.Select(u => ShardRouting.ShardFor(u, campaign.ShardCount)).Distinct().Count() > 1, "the users must land on several shards");

        var claims = await Task.WhenAll(users.Select(async (user, i) =>
        {
            var partner = i % 2 == 0 ? silo.Partner : silo.OtherPartner;
            try
            {
                return (User: user, Partner: partner, Voucher: (await partner.IssueVoucherAsync(id, user, "claim-1", deviceId: "phone-farm")).Voucher, Reason: "");
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.ResourceExhausted)
            {
                return (User: user, Partner: partner, Voucher: (Voucher?)null, Reason: e.Reason());
            }
        }));

        var issued = claims.Where(c => c.Voucher is not null).ToList();
        Assert.Equal(3, issued.Count);
        Assert.All(claims.Where(c => c.Voucher is null), c => Assert.Equal("DEVICE_LIMIT_REACHED", c.Reason));

        // A replay answers the first voucher; a refused claim's retry is refused again.
        var winner = issued[0];
        var replay = await winner.Partner.IssueVoucherAsync(id, winner.User, "claim-1", deviceId: "phone-farm");
        Assert.True(replay.Replayed);
        Assert.Equal(winner.Voucher!.Code, replay.Voucher.Code);
        var loser = claims.First(c => c.Voucher is null);
        await Expect.RefusedAsync(StatusCode.ResourceExhausted, "DEVICE_LIMIT_REACHED",
            () => loser.Partner.IssueVoucherAsync(id, loser.User, "claim-1", deviceId: "phone-farm"));

        // Without a device, or on another one, the same users are not limited by it.
        await silo.Partner.IssueVoucherAsync(id, loser.User, "claim-2");
        await silo.Partner.IssueVoucherAsync(id, claims.Last(c => c.Voucher is null).User, "claim-2", deviceId: "phone-honest");
        Assert.Equal(5, (await silo.StatsAsync(id)).Issued);
    }

    [Fact]
    public async Task A_batch_refuses_the_items_of_a_device_past_its_limit_one_by_one()
    {
        var campaign = await silo.StartedCampaignAsync(r => r.PerDeviceLimit = 2);
        var id = campaign.CampaignId;

        var batch = await silo.Partner.IssueVouchersAsync(id, [.. Enumerable.Range(0, 5).Select(i =>
            new IssueVouchersItem { UserId = $"batch-user-{i}", RequestId = $"claim-{i}", DeviceId = i < 4 ? "phone-batch" : "" })]);

        Assert.Equal(2, batch.Results.Take(4).Count(r => r.Voucher is not null));
        Assert.Equal(2, batch.Results.Take(4).Count(r => r.ErrorReason == "DEVICE_LIMIT_REACHED"));
        Assert.NotNull(batch.Results[4].Voucher);

        // The batch's items replay as they were answered.
        var again = await silo.Partner.IssueVouchersAsync(id, [.. Enumerable.Range(0, 4).Select(i =>
            new IssueVouchersItem { UserId = $"batch-user-{i}", RequestId = $"claim-{i}", DeviceId = "phone-batch" })]);
        Assert.Equal(batch.Results.Take(4).Select(r => r.Voucher?.Code), again.Results.Select(r => r.Voucher?.Code));
        Assert.Equal(3, (await silo.StatsAsync(id)).Issued);
    }

    [Fact]
    public async Task Without_a_limit_per_device_claims_naming_one_device_are_not_limited_and_the_campaign_says_so()
    {
        var campaign = await silo.StartedCampaignAsync(r => r.PerUserLimit = 3);
        Assert.Equal(0, campaign.PerDeviceLimit);

        for (var i = 0; i < 4; i++)
        {
            await silo.Partner.IssueVoucherAsync(campaign.CampaignId, $"open-user-{i}", "claim-1", deviceId: "phone-open");
        }

        Assert.Equal(4, (await silo.StatsAsync(campaign.CampaignId)).Issued);
    }

    [Fact]
    public async Task The_limit_per_device_is_kept_in_the_campaign_s_definition()
    {
        var request = silo.Campaign(r => r.PerDeviceLimit = 2);
        var created = await silo.Organiser.Admin.CreateCampaignAsync(request);

        Assert.Equal(2, created.PerDeviceLimit);
        Assert.Equal(2, (await silo.GetCampaignAsync(created.CampaignId)).PerDeviceLimit);
        // A repeat of the create is the same definition only with the same limit.
        await silo.Organiser.Admin.CreateCampaignAsync(request);
        request.PerDeviceLimit = 3;
        await Expect.RefusedAsync(StatusCode.AlreadyExists, "CAMPAIGN_EXISTS", () => silo.Organiser.Admin.CreateCampaignAsync(request).ResponseAsync);
    }

    [Fact]
    public async Task Bad_device_ids_and_limits_are_INVALID_ARGUMENT_and_change_nothing()
    {
        await Expect.InvalidAsync("per_device_limit", () => silo.Organiser.Admin.CreateCampaignAsync(silo.Campaign(r => r.PerDeviceLimit = -1)).ResponseAsync);
        await Expect.InvalidAsync("per_device_limit", () => silo.Organiser.Admin.CreateCampaignAsync(silo.Campaign(r => r.PerDeviceLimit = 1_001)).ResponseAsync);

        var campaign = await silo.StartedCampaignAsync(r => r.PerDeviceLimit = 1);
        var id = campaign.CampaignId;
        await Expect.InvalidAsync("device_id", () => silo.Partner.IssueVoucherAsync(id, "user-1", "claim-1", deviceId: new string('d', 129)));
        await Expect.InvalidAsync("device_id", () => silo.Partner.IssueVoucherAsync(id, "user-1", "claim-2", deviceId: "phone\u0007"));
        await Expect.InvalidAsync("device_id", () => silo.Partner.IssueVoucherAsync(id, "user-1", "claim-3", deviceId: " phone"));
        var batch = await silo.Partner.IssueVouchersAsync(id, [new IssueVouchersItem { UserId = "user-2", RequestId = "claim-1", DeviceId = "phone\n" }]);
        Assert.Equal("INVALID_ARGUMENT", batch.Results[0].ErrorReason);
        Assert.Contains("device_id", batch.Results[0].ErrorMessage, StringComparison.Ordinal);

        Assert.Equal(0, (await silo.StatsAsync(id)).Issued);
        await silo.Partner.IssueVoucherAsync(id, "user-1", "claim-4", deviceId: new string('d', 128));
    }
}
