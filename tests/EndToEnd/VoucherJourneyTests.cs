using Campaigns.Client;
using Campaigns.Proto;
using Google.Protobuf.WellKnownTypes;

namespace Campaigns.Tests.EndToEnd;

/// <summary>The happy paths of a festival, from the organiser's definition to the end-of-festival accounts.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class VoucherJourneyTests(SiloFixture silo)
{
    [Fact]
    public async Task A_campaign_runs_from_definition_through_issue_redeem_refund_and_redeem_again_to_reconciled_accounts()
    {
        var now = silo.Clock.GetUtcNow();
        var admin = silo.Organiser.Admin;

        // The bureau defines a "8折" campaign: pay 80%, at most ¥30 off, on orders of ¥50 or more.
        var created = await admin.CreateCampaignAsync(silo.Campaign(r =>
        {
            r.Name = "Spring Festival 8折";
            r.Kind = DiscountKind.FoldPrice;
            r.FaceValueCents = 0;
            r.Fold = 8;
            r.MaxDiscountCents = 3_000;
            r.MinSpendCents = 5_000;
        }));
        Assert.Equal(CampaignStatus.Draft, created.Status);
        Assert.Equal("bootstrap", created.OrganiserId);
        Assert.Equal(now, created.CreatedAt.ToDateTimeOffset());
        Assert.Equal(1, created.PerUserLimit);
        Assert.Equal(7, created.RefundWindowDays);
        var campaignId = created.CampaignId;
        Assert.Equal(CampaignStatus.Active, (await admin.StartCampaignAsync(new CampaignActionRequest { CampaignId = campaignId })).Status);

        // Two shops take part: one enrolled by the organiser, one joining by itself.
        var (huangpuId, huangpu) = await silo.NewMerchantAsync(district: "Huangpu");
        var (xuhuiId, xuhui) = await silo.NewMerchantAsync(district: "Xuhui");
        var enrolment = await admin.EnrollMerchantAsync(new EnrollMerchantRequest { CampaignId = campaignId, MerchantId = huangpuId });
        Assert.Equal(("Huangpu", huangpuId), (enrolment.District, enrolment.MerchantId));
        var joined = await xuhui.Merchants.JoinCampaignAsync(new JoinCampaignRequest { CampaignId = campaignId, MerchantId = xuhuiId });
        Assert.Equal(campaignId, joined.CampaignId);
        var joinedAgain = await xuhui.Merchants.JoinCampaignAsync(new JoinCampaignRequest { CampaignId = campaignId, MerchantId = xuhuiId });
        Assert.Equal(joined, joinedAgain);
        Assert.Contains(campaignId, (await silo.Organiser.Merchants.GetMerchantAsync(new GetMerchantRequest { MerchantId = huangpuId })).CampaignIds);

        // The partner app gives the user a voucher, finds it again, and shows the wallet.
        var issued = await silo.Partner.IssueVoucherAsync(campaignId, "user-lin", "claim-lin-1");
        Assert.False(issued.Replayed);
        var voucher = issued.Voucher;
        Assert.Equal((campaignId, "user-lin", SiloFixture.PartnerId, VoucherStatus.Issued), (voucher.CampaignId, voucher.UserId, voucher.Channel, voucher.Status));
        Assert.Equal((DiscountKind.FoldPrice, 8, 3_000L, 5_000L), (voucher.Kind, voucher.Fold, voucher.MaxDiscountCents, voucher.MinSpendCents));
        Assert.Equal(24, voucher.Code.Length);
        Assert.Equal(voucher.IssuedAt.ToDateTimeOffset().AddDays(30), voucher.ValidUntil.ToDateTimeOffset());
        Assert.Equal(voucher, await silo.Partner.GetVoucherAsync(voucher.Code));
        var wallet = await silo.Partner.Vouchers.ListUserVouchersAsync(new ListUserVouchersRequest { UserId = "user-lin", CampaignId = campaignId });
        Assert.Equal([voucher.Code], wallet.Vouchers.Select(v => v.Code));

        // Huangpu holds it for a ¥120 order, quoting ¥24 off; a retried reserve gets the same quote.
        var hold = await huangpu.ReserveVoucherAsync(voucher.Code, huangpuId, "order-hp-1", 12_000);
        Assert.Equal((2_400L, 9_600L), (hold.DiscountCents, hold.PayableCents));
        Assert.Equal(now.AddSeconds(300).ToUnixTimeMilliseconds(), hold.ExpiresAt.ToDateTimeOffset().ToUnixTimeMilliseconds());
        Assert.Equal(hold, await huangpu.ReserveVoucherAsync(voucher.Code, huangpuId, "order-hp-1", 12_000));
        Assert.Equal(VoucherStatus.Reserved, (await silo.Partner.GetVoucherAsync(voucher.Code)).Status);

        var confirmed = await huangpu.ConfirmRedemptionAsync(voucher.Code, huangpuId, "order-hp-1");
        Assert.Equal((campaignId, huangpuId, 12_000L, 2_400L, 9_600L), (confirmed.CampaignId, confirmed.MerchantId, confirmed.OrderAmountCents, confirmed.DiscountCents, confirmed.PayableCents));
        Assert.False(confirmed.Replayed);
        var confirmedAgain = await huangpu.ConfirmRedemptionAsync(voucher.Code, huangpuId, "order-hp-1");
        Assert.True(confirmedAgain.Replayed);
        Assert.Equal(confirmed, new Redemption(confirmedAgain) { Replayed = false });
        var redeemed = await silo.Partner.GetVoucherAsync(voucher.Code);
        Assert.Equal((VoucherStatus.Redeemed, huangpuId, "order-hp-1", 2_400L), (redeemed.Status, redeemed.MerchantId, redeemed.OrderId, redeemed.DiscountCents));

        // The customer returns the goods: the voucher is usable again (a retried refund changes nothing).
        silo.Clock.Advance(TimeSpan.FromHours(2));
        var refunded = await huangpu.RefundRedemptionAsync(voucher.Code, huangpuId, "order-hp-1", "refund-hp-1");
        Assert.Equal(VoucherStatus.Issued, refunded.Status);
        Assert.Empty(refunded.OrderId);
        Assert.Equal(refunded, await huangpu.RefundRedemptionAsync(voucher.Code, huangpuId, "order-hp-1", "refund-hp-1"));

        // ...and spends it in Xuhui on a ¥200 order: 20% would be ¥40, capped at ¥30.
        var second = await xuhui.RedeemVoucherAsync(voucher.Code, xuhuiId, "order-xh-1", 20_000);
        Assert.Equal((3_000L, 17_000L), (second.DiscountCents, second.PayableCents));

        // Another user's voucher is held and let go again.
        var other = await silo.IssueAsync(campaignId, "user-wu");
        await xuhui.ReserveVoucherAsync(other.Code, xuhuiId, "order-xh-2", 6_000);
        var released = await xuhui.CancelReservationAsync(other.Code, xuhuiId, "order-xh-2");
        Assert.Equal(VoucherStatus.Issued, released.Status);
        Assert.Equal(released, await xuhui.CancelReservationAsync(other.Code, xuhuiId, "order-xh-2"));

        // The organiser's figures.
        var stats = await silo.StatsAsync(campaignId);
        Assert.Equal(campaignId, stats.CampaignId);
        Assert.Equal(CampaignStatus.Active, stats.Status);
        Assert.Equal((100L, 2L, 98L, 0L, 1L, 1L, 0L), (stats.TotalStock, stats.Issued, stats.Remaining, stats.Reserved, stats.Redeemed, stats.Refunded, stats.Expired));
        Assert.Equal((6_000L, 3_000L, 20_000L), (stats.IssuedLiabilityCents, stats.RedeemedDiscountCents, stats.RedeemedOrderTotalCents));
        Assert.Equal((2L, 1L), (stats.ByChannel[SiloFixture.PartnerId].Issued, stats.ByChannel[SiloFixture.PartnerId].Redeemed));
        Assert.Equal((1L, 3_000L), (stats.ByDistrict["Xuhui"].Redeemed, stats.ByDistrict["Xuhui"].RedeemedDiscountCents));
        Assert.Equal((0L, 0L), (stats.ByDistrict["Huangpu"].Redeemed, stats.ByDistrict["Huangpu"].RedeemedDiscountCents));
        Assert.Equal(2, stats.ByDistrict[""].Issued);
        Assert.Equal(silo.Clock.GetUtcNow(), stats.AsOf.ToDateTimeOffset());

        // What the organiser owes each shop.
        var owedHuangpu = await huangpu.SettlementAsync(huangpuId, campaignId);
        Assert.Equal((1L, 1L, 2_400L, 12_000L, 0L, 2_400L, 12_000L),
            (owedHuangpu.Redemptions, owedHuangpu.Refunds, owedHuangpu.DiscountCents, owedHuangpu.OrderTotalCents,
             owedHuangpu.NetSubsidyCents, owedHuangpu.RefundedDiscountCents, owedHuangpu.RefundedOrderTotalCents));
        var owedXuhui = await silo.Organiser.SettlementAsync(xuhuiId);
        Assert.Equal("", owedXuhui.CampaignId);
        Assert.Equal((1L, 0L, 3_000L, 20_000L, 3_000L), (owedXuhui.Redemptions, owedXuhui.Refunds, owedXuhui.DiscountCents, owedXuhui.OrderTotalCents, owedXuhui.NetSubsidyCents));

        // The end-of-festival export: every redemption and refund, in ledger order, checksummed.
        var events = new List<RedemptionEvent>();
        ExportSummary? summary = null;
        await foreach (var record in silo.Organiser.ExportRedemptionEventsAsync(campaignId))
        {
            Assert.Null(summary); // the summary comes last
            if (record.RecordCase == ExportRecord.RecordOneofCase.Event)
            {
                events.Add(record.Event);
            }
            else
            {
                summary = record.Summary;
            }
        }

        Assert.NotNull(summary);
        Assert.Equal(["REDEEMED", "REFUNDED", "REDEEMED"], events.Select(e => e.EventType));
        Assert.Equal(["order-hp-1", "order-hp-1", "order-xh-1"], events.Select(e => e.OrderId));
        Assert.Equal([2_400L, -2_400L, 3_000L], events.Select(e => e.DiscountCents));
        Assert.Equal("refund-hp-1", events[1].RefundId);
        Assert.True(events.Zip(events.Skip(1)).All(p => p.First.Sequence < p.Second.Sequence), "sequences strictly increase");
        Assert.Equal((3L, 2L, 1L), (summary.Events, summary.Redemptions, summary.Refunds));
        Assert.Equal(RedemptionEventCsv.Checksum(events.Select(RedemptionEventCsv.Line)), summary.ChecksumSha256);
        Assert.Equal(owedHuangpu.NetSubsidyCents + owedXuhui.NetSubsidyCents, summary.NetDiscountCents);
        Assert.Equal(stats.RedeemedDiscountCents, summary.NetDiscountCents);
    }

    [Fact]
    public async Task A_repeated_claim_replays_the_same_voucher_as_it_is_now()
    {
        var (campaign, _, merchantId, merchant) = await silo.RedeemableVoucherAsync();
        var first = await silo.Partner.IssueVoucherAsync(campaign.CampaignId, "user-retrying", "claim-42");
        Assert.False(first.Replayed);

        var again = await silo.Partner.IssueVoucherAsync(campaign.CampaignId, "user-retrying", "claim-42");
        Assert.True(again.Replayed);
        Assert.Equal(first.Voucher, again.Voucher);

        // A later retry reports the voucher's current state, still the one voucher.
        await merchant.RedeemVoucherAsync(first.Voucher.Code, merchantId, "order-1", 20_000);
        var late = await silo.Partner.IssueVoucherAsync(campaign.CampaignId, "user-retrying", "claim-42");
        Assert.True(late.Replayed);
        Assert.Equal(first.Voucher.Code, late.Voucher.Code);
        Assert.Equal(VoucherStatus.Redeemed, late.Voucher.Status);
        Assert.Equal(2, (await silo.StatsAsync(campaign.CampaignId)).Issued);
    }

    [Fact]
    public async Task A_batch_issues_each_item_on_its_own_and_answers_in_the_order_given()
    {
        var campaign = await silo.StartedCampaignAsync(r => r.Districts.Add("Xuhui"));
        var earlier = await silo.Partner.IssueVoucherAsync(campaign.CampaignId, "user-z", "req-z");
        IssueVouchersItem[] items =
        [
            new() { UserId = "user-a", RequestId = "req-a" },
            new() { UserId = "user-b", RequestId = "req-b", District = "Xuhui" },
            new() { UserId = "user-a", RequestId = "req-a2" },                        // a second voucher for user-a
            new() { UserId = "user-c", RequestId = "req-c", District = "Atlantis" },  // not a campaign district
            new() { UserId = "user-z", RequestId = "req-z", District = "Xuhui" },    // req-z was user-z's, for no district
            new() { UserId = "user-z", RequestId = "req-z" },                         // a retry of user-z's claim
            new() { UserId = "", RequestId = "req-nobody" },
            new() { UserId = "user-e", RequestId = "req-e" },
        ];

        var response = await silo.Partner.Vouchers.IssueVouchersAsync(new IssueVouchersRequest { CampaignId = campaign.CampaignId, Items = { items } });

        Assert.Equal(items.Select(i => i.RequestId), response.Results.Select(r => r.RequestId));
        string[] expected = ["", "", "USER_LIMIT_REACHED", "INVALID_ARGUMENT", "IDEMPOTENCY_KEY_REUSED", "", "INVALID_ARGUMENT", ""];
        Assert.Equal(expected, response.Results.Select(r => r.ErrorReason));
        for (var i = 0; i < items.Length; i++)
        {
            var result = response.Results[i];
            if (expected[i].Length == 0)
            {
                Assert.Equal(items[i].UserId, result.Voucher.UserId);
                Assert.Empty(result.ErrorMessage);
            }
            else
            {
                Assert.Null(result.Voucher);
                Assert.NotEmpty(result.ErrorMessage);
            }
        }

        Assert.Equal("Xuhui", response.Results[1].Voucher.District);
        Assert.Contains("district", response.Results[3].ErrorMessage, StringComparison.Ordinal);
        Assert.True(response.Results[5].Replayed);
        Assert.Equal(earlier.Voucher.Code, response.Results[5].Voucher.Code);
        Assert.Equal(4, (await silo.StatsAsync(campaign.CampaignId)).Issued);

        // The SDK splits long lists into batches of at most 1,000 and keeps the order.
        var many = Enumerable.Range(0, 1_200).Select(i => new IssueVouchersItem { UserId = $"bulk-{i}", RequestId = $"bulk-req-{i}" }).ToList();
        var big = await silo.StartedCampaignAsync(r => r.TotalStock = 2_000);
        var batches = 0;
        var all = await silo.Partner.IssueVouchersAsync(big.CampaignId, many, _ => batches++);
        Assert.Equal(2, batches);
        Assert.Equal(many.Select(i => i.RequestId), all.Results.Select(r => r.RequestId));
        Assert.All(all.Results, r => Assert.Empty(r.ErrorReason));
        Assert.Equal(1_200, (await silo.StatsAsync(big.CampaignId)).Issued);
    }

    [Fact]
    public async Task ListCampaigns_pages_newest_first_and_filters_by_status()
    {
        var prefix = Scenario.NewId("page");
        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            silo.Clock.Advance(TimeSpan.FromSeconds(1));
            var campaign = await silo.Organiser.Admin.CreateCampaignAsync(silo.Campaign(r => r.CampaignId = $"{prefix}-{i}"));
            ids.Add(campaign.CampaignId);
            if (i % 2 == 0)
            {
                await silo.Organiser.Admin.StartCampaignAsync(new CampaignActionRequest { CampaignId = campaign.CampaignId });
            }
        }

        // Newest first: these five are the newest campaigns of the silo.
        var first = await silo.Organiser.Admin.ListCampaignsAsync(new ListCampaignsRequest { PageSize = 2 });
        Assert.Equal([ids[4], ids[3]], first.Campaigns.Select(c => c.CampaignId));
        Assert.NotEmpty(first.NextPageToken);
        var second = await silo.Organiser.Admin.ListCampaignsAsync(new ListCampaignsRequest { PageSize = 2, PageToken = first.NextPageToken });
        Assert.Equal([ids[2], ids[1]], second.Campaigns.Select(c => c.CampaignId));
        var third = await silo.Organiser.Admin.ListCampaignsAsync(new ListCampaignsRequest { PageSize = 2, PageToken = second.NextPageToken });
        Assert.Equal(ids[0], third.Campaigns[0].CampaignId);

        // Walking every page sees every campaign exactly once, and the last page says so.
        var seen = new List<string>();
        var token = "";
        do
        {
            var page = await silo.Organiser.Admin.ListCampaignsAsync(new ListCampaignsRequest { PageSize = 2, PageToken = token });
            Assert.InRange(page.Campaigns.Count, page.NextPageToken.Length > 0 ? 2 : 0, 2);
            seen.AddRange(page.Campaigns.Select(c => c.CampaignId));
            token = page.NextPageToken;
        }
        while (token.Length > 0);
        Assert.Equal(seen.Count, seen.Distinct().Count());
        Assert.Subset(seen.ToHashSet(), ids.ToHashSet());

        var drafts = await silo.Organiser.Admin.ListCampaignsAsync(new ListCampaignsRequest { PageSize = 2, Status = CampaignStatus.Draft });
        Assert.Equal([ids[3], ids[1]], drafts.Campaigns.Select(c => c.CampaignId));
        var active = await silo.Organiser.Admin.ListCampaignsAsync(new ListCampaignsRequest { PageSize = 2, Status = CampaignStatus.Active });
        Assert.Equal([ids[4], ids[2]], active.Campaigns.Select(c => c.CampaignId));
        var moreActive = await silo.Organiser.Admin.ListCampaignsAsync(new ListCampaignsRequest { PageSize = 2, Status = CampaignStatus.Active, PageToken = active.NextPageToken });
        Assert.Equal(ids[0], moreActive.Campaigns[0].CampaignId);
        Assert.All(moreActive.Campaigns, c => Assert.Equal(CampaignStatus.Active, c.Status));

        await Expect.InvalidAsync("page_size", () => silo.Organiser.Admin.ListCampaignsAsync(new ListCampaignsRequest { PageSize = 101 }));
        await Expect.InvalidAsync("page_size", () => silo.Organiser.Admin.ListCampaignsAsync(new ListCampaignsRequest { PageSize = -1 }));
    }

    [Fact]
    public async Task Campaigns_created_without_an_id_get_one_and_a_repeat_with_the_request_id_finds_it()
    {
        var request = silo.Campaign(r => (r.CampaignId, r.RequestId) = ("", Scenario.NewId("create")));
        var first = await silo.Organiser.Admin.CreateCampaignAsync(request);
        Assert.StartsWith("cmp_", first.CampaignId, StringComparison.Ordinal);

        var repeat = await silo.Organiser.Admin.CreateCampaignAsync(request);
        Assert.Equal(first, repeat);

        var unkeyed = silo.Campaign(r => r.CampaignId = "");
        var a = await silo.Organiser.Admin.CreateCampaignAsync(unkeyed);
        var b = await silo.Organiser.Admin.CreateCampaignAsync(unkeyed);
        Assert.NotEqual(a.CampaignId, b.CampaignId);
        Assert.Equal(first.CampaignId, (await silo.GetCampaignAsync(first.CampaignId)).CampaignId);
    }

    [Fact]
    public async Task Pause_resume_and_end_move_the_campaign_and_repeats_are_harmless()
    {
        var campaign = await silo.CreatedCampaignAsync();
        var id = campaign.CampaignId;
        var action = new CampaignActionRequest { CampaignId = id };

        Assert.Equal(CampaignStatus.Active, (await silo.Organiser.Admin.StartCampaignAsync(action)).Status);
        Assert.Equal(CampaignStatus.Active, (await silo.Organiser.Admin.StartCampaignAsync(action)).Status);
        var voucher = await silo.IssueAsync(id, "user-before-pause");

        silo.Clock.Advance(TimeSpan.FromMinutes(1));
        var paused = await silo.PauseAsync(id);
        Assert.Equal(CampaignStatus.Paused, paused.Status);
        Assert.True(paused.UpdatedAt.ToDateTimeOffset() > campaign.UpdatedAt.ToDateTimeOffset());
        Assert.Equal(CampaignStatus.Paused, (await silo.PauseAsync(id)).Status);
        Assert.Equal(CampaignStatus.Active, (await silo.ResumeAsync(id)).Status);
        Assert.Equal(CampaignStatus.Active, (await silo.ResumeAsync(id)).Status);
        await silo.IssueAsync(id, "user-after-resume");

        Assert.Equal(CampaignStatus.Ended, (await silo.EndAsync(id)).Status);
        Assert.Equal(CampaignStatus.Ended, (await silo.EndAsync(id)).Status);
        Assert.Equal(CampaignStatus.Ended, (await silo.GetCampaignAsync(id)).Status);
        Assert.Equal(CampaignStatus.Ended, (await silo.StatsAsync(id)).Status);

        // Vouchers already issued stay redeemable whatever the campaign's status.
        var (merchantId, merchant) = await silo.NewMerchantAsync();
        await merchant.Merchants.JoinCampaignAsync(new JoinCampaignRequest { CampaignId = id, MerchantId = merchantId });
        Assert.Equal(2_000, (await merchant.RedeemVoucherAsync(voucher.Code, merchantId, "order-after-end", 10_000)).DiscountCents);
    }

    [Fact]
    public async Task AddStock_tops_up_stock_and_budget_once_per_request_id()
    {
        var campaign = await silo.StartedCampaignAsync(r => r.TotalStock = 2);
        await silo.IssueAsync(campaign.CampaignId, "user-1");
        await silo.IssueAsync(campaign.CampaignId, "user-2");
        await Expect.RefusedAsync(Grpc.Core.StatusCode.ResourceExhausted, "SOLD_OUT", () => silo.Partner.IssueVoucherAsync(campaign.CampaignId, "user-3", "req-3"));

        var topUp = new AddStockRequest { CampaignId = campaign.CampaignId, RequestId = "festival-day-2", AdditionalStock = 3 };
        Assert.Equal(5, (await silo.Organiser.Admin.AddStockAsync(topUp)).TotalStock);
        Assert.Equal(5, (await silo.Organiser.Admin.AddStockAsync(topUp)).TotalStock);
        await silo.Partner.IssueVoucherAsync(campaign.CampaignId, "user-3", "req-3");
        var stats = await silo.StatsAsync(campaign.CampaignId);
        Assert.Equal((5L, 3L, 2L), (stats.TotalStock, stats.Issued, stats.Remaining));

        // A budget-capped campaign takes a budget top-up the same way.
        var capped = await silo.StartedCampaignAsync(r => (r.TotalStock, r.BudgetCents) = (10, 4_000));
        await silo.IssueAsync(capped.CampaignId, "user-1");
        await silo.IssueAsync(capped.CampaignId, "user-2");
        await Expect.RefusedAsync(Grpc.Core.StatusCode.ResourceExhausted, "BUDGET_EXHAUSTED", () => silo.Partner.IssueVoucherAsync(capped.CampaignId, "user-3", "req-3"));
        var raised = await silo.Organiser.Admin.AddStockAsync(new AddStockRequest { CampaignId = capped.CampaignId, RequestId = "more-money", AdditionalBudgetCents = 2_000 });
        Assert.Equal(6_000, raised.BudgetCents);
        await silo.Partner.IssueVoucherAsync(capped.CampaignId, "user-3", "req-3");

        await Expect.InvalidAsync("additional_stock", () => silo.Organiser.Admin.AddStockAsync(
            new AddStockRequest { CampaignId = campaign.CampaignId, RequestId = "nothing", AdditionalStock = 0 }));
        await Expect.InvalidAsync("request_id", () => silo.Organiser.Admin.AddStockAsync(
            new AddStockRequest { CampaignId = campaign.CampaignId, RequestId = "", AdditionalStock = 1 }));
        Assert.Equal(5, (await silo.GetCampaignAsync(campaign.CampaignId)).TotalStock);
    }

    [Fact]
    public async Task Definitions_with_bad_input_are_INVALID_ARGUMENT_naming_the_field_and_create_nothing()
    {
        var now = silo.Clock.GetUtcNow();
        var admin = silo.Organiser.Admin;
        var noName = silo.Campaign(r => r.Name = "");
        await Expect.InvalidAsync("name", () => admin.CreateCampaignAsync(noName));
        var noPercent = silo.Campaign(r => (r.Kind, r.FaceValueCents, r.PercentOff, r.MaxDiscountCents) = (DiscountKind.PercentOff, 0, 0, 5_000));
        await Expect.InvalidAsync("percent_off", () => admin.CreateCampaignAsync(noPercent));
        var backwards = silo.Campaign(r => (r.StartsAt, r.EndsAt) = (Timestamp.FromDateTimeOffset(now.AddDays(2)), Timestamp.FromDateTimeOffset(now.AddDays(1))));
        await Expect.InvalidAsync("ends_at", () => admin.CreateCampaignAsync(backwards));
        var noStart = silo.Campaign(r => r.StartsAt = null);
        await Expect.InvalidAsync("starts_at", () => admin.CreateCampaignAsync(noStart));
        var validityBeforeStart = silo.Campaign(r => r.VoucherValidUntil = Timestamp.FromDateTimeOffset(now.AddDays(-1)));
        await Expect.InvalidAsync("voucher_valid_until", () => admin.CreateCampaignAsync(validityBeforeStart));
        var noKind = silo.Campaign(r => r.Kind = DiscountKind.Unspecified);
        await Expect.InvalidAsync("kind", () => admin.CreateCampaignAsync(noKind));
        var badFold = silo.Campaign(r => (r.Kind, r.Fold, r.MaxDiscountCents) = (DiscountKind.FoldPrice, 10, 5_000));
        await Expect.InvalidAsync("fold", () => admin.CreateCampaignAsync(badFold));
        var badId = silo.Campaign(r => r.CampaignId = "no spaces allowed");
        await Expect.InvalidAsync("campaign_id", () => admin.CreateCampaignAsync(badId));
        var greedyQuota = silo.Campaign(r => r.ChannelQuotas[SiloFixture.PartnerId] = 101);
        await Expect.InvalidAsync("channel_quotas", () => admin.CreateCampaignAsync(greedyQuota));

        foreach (var refused in new[] { noName, noPercent, backwards, noStart, validityBeforeStart, noKind, badFold, greedyQuota })
        {
            await Expect.RefusedAsync(Grpc.Core.StatusCode.NotFound, "CAMPAIGN_NOT_FOUND", () => silo.GetCampaignAsync(refused.CampaignId));
        }

        await Expect.InvalidAsync("campaign_id", () => admin.GetCampaignAsync(new GetCampaignRequest { CampaignId = "" }));
    }
    [Fact]
    public async Task Request_ids_are_per_channel_so_two_partners_may_use_the_same_one()
    {
        var campaign = await silo.StartedCampaignAsync();
        var ours = await silo.Partner.IssueVoucherAsync(campaign.CampaignId, "user-on-alpha", "order-1001");
        var theirs = await silo.OtherPartner.IssueVoucherAsync(campaign.CampaignId, "user-on-beta", "order-1001");

        Assert.False(theirs.Replayed);
        Assert.NotEqual(ours.Voucher.Code, theirs.Voucher.Code);
        Assert.Equal(SiloFixture.OtherPartnerId, theirs.Voucher.Channel);
        Assert.Equal(2, (await silo.StatsAsync(campaign.CampaignId)).Issued);
    }

    [Fact]
    public async Task The_export_of_a_campaign_without_redemptions_is_an_empty_checksummed_summary()
    {
        var campaign = await silo.StartedCampaignAsync();
        await silo.IssueAsync(campaign.CampaignId, "user-idle");

        var records = new List<ExportRecord>();
        await foreach (var record in silo.Organiser.ExportRedemptionEventsAsync(campaign.CampaignId))
        {
            records.Add(record);
        }

        var summary = Assert.Single(records).Summary;
        Assert.Equal((0L, 0L, 0L, 0L), (summary.Events, summary.Redemptions, summary.Refunds, summary.NetDiscountCents));
        Assert.Equal(RedemptionEventCsv.Checksum([]), summary.ChecksumSha256);
    }
}
