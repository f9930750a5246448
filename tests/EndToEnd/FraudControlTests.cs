using Campaigns.Proto;
using Grpc.Core;

namespace Campaigns.Tests.EndToEnd;

/// <summary>Claim fraud controls an organiser sets per campaign: blocked users.</summary>
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
}
