using System.Collections.Concurrent;
using System.Diagnostics;
using Campaigns.Grains.Common;
using Campaigns.Grains.Issuance;
using Campaigns.Proto;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;
using Orleans.Core.Internal;

namespace Campaigns.Tests.EndToEnd;

/// <summary>
/// The silo hands claims to shards activated in it without an Orleans message
/// (<see cref="LocalShard"/>). Orleans does not see those calls, so the shard itself must stay
/// alive while they come and answer them all when it deactivates. Each test runs its own silo,
/// one with idle activations collected after 3 s.
/// </summary>
public sealed class LocalShardSiloTests
{
    [Fact]
    public async Task A_shard_its_own_silo_keeps_busy_is_not_collected_as_idle()
    {
        await using var host = await SiloHost.StartWithAsync(services => services.Configure<GrainCollectionOptions>(options =>
        {
            options.CollectionQuantum = TimeSpan.FromSeconds(1);
            options.CollectionAge = TimeSpan.FromSeconds(3);
        }));
        var (campaign, partner) = await StartAsync(host, stock: 1_000);
        using var _ = partner;
        await partner.IssueVoucherAsync(campaign.CampaignId, "steady-user-0", "claim");
        var shard = ShardRouting.ShardFor("steady-user-0", campaign.ShardCount);
        var first = LocalShardOf(host, campaign.CampaignId, shard);
        Assert.NotNull(first);

        // Twice the collection age, and no grain call reaches the shard meanwhile.
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(7);
        while (DateTime.UtcNow < until)
        {
            Assert.True((await partner.IssueVoucherAsync(campaign.CampaignId, "steady-user-0", "claim")).Replayed);
            await Task.Delay(50);
        }

        Assert.Same(first, LocalShardOf(host, campaign.CampaignId, shard));
    }

    [Fact]
    public async Task Claims_in_flight_while_shards_deactivate_are_all_answered_once()
    {
        await using var host = await SiloHost.StartAsync();
        var (campaign, partner) = await StartAsync(host, stock: 100_000);
        using var _ = partner;
        var grains = host.Services.GetRequiredService<IGrainFactory>();
        await Task.WhenAll(Enumerable.Range(0, 40).Select(i => partner.IssueVoucherAsync(campaign.CampaignId, $"early-user-{i}", "claim")));
        var before = Enumerable.Range(0, campaign.ShardCount).Select(s => LocalShardOf(host, campaign.CampaignId, s)).ToList();
        Assert.All(before, Assert.NotNull);

        // 64 callers, 600 claims, with every shard told to deactivate three times meanwhile.
        var next = -1;
        var codes = new string[600];
        var callers = Enumerable.Range(0, 64).Select(async _ =>
        {
            for (var i = Interlocked.Increment(ref next); i < codes.Length; i = Interlocked.Increment(ref next))
            {
                codes[i] = (await partner.IssueVoucherAsync(campaign.CampaignId, $"busy-user-{i}", $"claim-{i}")).Voucher.Code;
            }
        }).ToList();
        for (var round = 0; round < 3; round++)
        {
            await Task.Delay(100);
            await Task.WhenAll(Enumerable.Range(0, campaign.ShardCount).Select(shard =>
                grains.GetGrain<IVoucherPoolGrain>(ShardRouting.PoolKey(campaign.CampaignId, shard)).Cast<IGrainManagementExtension>().DeactivateOnIdle().AsTask()));
        }

        await Task.WhenAll(callers);

        Assert.Equal(codes.Length, codes.Distinct().Count());
        var after = Enumerable.Range(0, campaign.ShardCount).Select(s => LocalShardOf(host, campaign.CampaignId, s)).ToList();
        Assert.All(before.Zip(after), pair => Assert.NotSame(pair.First, pair.Second));
        // Every claim replays to the voucher it was answered with, from the shards' new activations.
        for (var i = 0; i < codes.Length; i += 37)
        {
            var replay = await partner.IssueVoucherAsync(campaign.CampaignId, $"busy-user-{i}", $"claim-{i}");
            Assert.True(replay.Replayed);
            Assert.Equal(codes[i], replay.Voucher.Code);
        }

        Assert.Equal(codes.Length + 40, (await host.Client(SiloHost.BootstrapOrganiserKey).Admin.GetCampaignStatsAsync(
            new GetCampaignRequest { CampaignId = campaign.CampaignId })).Issued);
    }

    [Fact]
    public async Task A_sold_out_shard_refuses_users_it_does_not_know_without_a_turn_and_still_answers_its_own()
    {
        var turns = new ConcurrentBag<string>();
        using var listener = ClaimTurns(turns);
        await using var host = await SiloHost.StartAsync();
        // One shard, so that every user below shares its verdict; the campaign clock stands still, so the verdict does not run out.
        var (campaign, partner) = await StartAsync(host, stock: 2, peak: 1);
        using var _ = partner;
        int Turns() => turns.Count(id => id == campaign.CampaignId);
        var first = await partner.IssueVoucherAsync(campaign.CampaignId, "user-1", "claim-1");
        await partner.IssueVoucherAsync(campaign.CampaignId, "user-2", "claim-2");
        await Expect.RefusedAsync(StatusCode.ResourceExhausted, "SOLD_OUT", () => partner.IssueVoucherAsync(campaign.CampaignId, "late-0", "claim"));
        var before = Turns();

        for (var i = 1; i <= 20; i++)
        {
            await Expect.RefusedAsync(StatusCode.ResourceExhausted, "SOLD_OUT", () => partner.IssueVoucherAsync(campaign.CampaignId, $"late-{i}", "claim"));
        }

        Assert.Equal(before, Turns());

        // A user the shard knows still gets a turn: a retry its voucher, a new claim its limit.
        var retry = await partner.IssueVoucherAsync(campaign.CampaignId, "user-1", "claim-1");
        Assert.True(retry.Replayed);
        Assert.Equal(first.Voucher.Code, retry.Voucher.Code);
        await Expect.RefusedAsync(StatusCode.ResourceExhausted, "USER_LIMIT_REACHED", () => partner.IssueVoucherAsync(campaign.CampaignId, "user-1", "claim-again"));
        Assert.Equal(before + 2, Turns());

        // Stock added: the verdict no longer holds, and the next claim is issued.
        var organiser = host.Client(SiloHost.BootstrapOrganiserKey);
        await organiser.Admin.AddStockAsync(new AddStockRequest { CampaignId = campaign.CampaignId, RequestId = "top-up", AdditionalStock = 1 });
        Assert.False((await partner.IssueVoucherAsync(campaign.CampaignId, "late-1", "claim-after-top-up")).Replayed);
        await Expect.RefusedAsync(StatusCode.ResourceExhausted, "SOLD_OUT", () => partner.IssueVoucherAsync(campaign.CampaignId, "late-21", "claim"));

        // Blocked or paused, a claim gets that answer, not the verdict's.
        await organiser.Admin.BlockUsersAsync(new BlockUsersRequest { CampaignId = campaign.CampaignId, UserIds = { "late-22" } });
        await Expect.RefusedAsync(StatusCode.PermissionDenied, "USER_BLOCKED", () => partner.IssueVoucherAsync(campaign.CampaignId, "late-22", "claim"));
        await organiser.Admin.PauseCampaignAsync(new CampaignActionRequest { CampaignId = campaign.CampaignId });
        await Expect.RefusedAsync(StatusCode.FailedPrecondition, "CAMPAIGN_NOT_ACTIVE", () => partner.IssueVoucherAsync(campaign.CampaignId, "late-23", "claim"));
        Assert.Equal(3, (await organiser.Admin.GetCampaignStatsAsync(new GetCampaignRequest { CampaignId = campaign.CampaignId })).Issued);
    }

    /// <summary>Counts, by campaign, the claims run in a turn of a shard in the silo that took them (their span, as it starts: before the claim is answered).</summary>
    private static ActivityListener ClaimTurns(ConcurrentBag<string> campaigns)
    {
        var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == CampaignsTelemetry.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
            ActivityStarted = span =>
            {
                if (span.OperationName == "IVoucherPoolGrain/ClaimAsync (in this silo)" && span.GetTagItem("campaign.id") is string campaign)
                {
                    campaigns.Add(campaign);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);
        return listener;
    }

    private static LocalShard? LocalShardOf(SiloHost host, string campaignId, int shard) =>
        host.Services.GetRequiredService<LocalShards>().Find(campaignId, shard);

    /// <summary>A campaign issuing, and a partner whose client does not retry: an UNAVAILABLE on the way would fail the test.</summary>
    private static async Task<(Campaign Campaign, Campaigns.Client.CampaignsClient Partner)> StartAsync(SiloHost host, long stock, int peak = 10_000)
    {
        var organiser = host.Client(SiloHost.BootstrapOrganiserKey);
        var campaign = await organiser.Admin.CreateCampaignAsync(Scenario.Campaign(host.Clock.GetUtcNow(),
            r => (r.TotalStock, r.PerUserLimit, r.ExpectedPeakClaimsPerSecond) = (stock, 1, peak)));
        await organiser.Admin.StartCampaignAsync(new CampaignActionRequest { CampaignId = campaign.CampaignId });
        var key = await organiser.Access.CreateApiKeyAsync(new CreateApiKeyRequest { Role = Role.Partner, PrincipalId = "partner-local" });
        return (campaign, new(new() { Address = host.GrpcAddress, ApiKey = key.Secret, Deadline = TimeSpan.FromSeconds(30), MaxRetries = 0 }));
    }
}
