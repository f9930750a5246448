using Campaigns.Client;
using Campaigns.Proto;
using Google.Protobuf.WellKnownTypes;

namespace Campaigns.Tests.EndToEnd;

/// <summary>The organiser's and partners' usual moves, so each test shows only what it varies.</summary>
internal static class Scenario
{
    /// <summary>
    /// A valid 满减 campaign: ¥20 off ¥100, 100 vouchers, one per user, open from a minute ago for
    /// a week, vouchers valid 30 days from receipt.
    /// </summary>
    public static CreateCampaignRequest Campaign(this SiloFixture silo, Action<CreateCampaignRequest>? adjust = null) =>
        Campaign(silo.Clock.GetUtcNow(), adjust);

    public static CreateCampaignRequest Campaign(DateTimeOffset now, Action<CreateCampaignRequest>? adjust = null)
    {
        var request = new CreateCampaignRequest
        {
            CampaignId = NewId("cmp"),
            Name = "Golden Week drop",
            Kind = DiscountKind.AmountOff,
            FaceValueCents = 2_000,
            MinSpendCents = 10_000,
            TotalStock = 100,
            PerUserLimit = 1,
            StartsAt = Timestamp.FromDateTimeOffset(now.AddMinutes(-1)),
            EndsAt = Timestamp.FromDateTimeOffset(now.AddDays(7)),
            VoucherValidDays = 30,
        };
        adjust?.Invoke(request);
        return request;
    }

    public static async Task<Campaign> CreatedCampaignAsync(this SiloFixture silo, Action<CreateCampaignRequest>? adjust = null) =>
        await silo.Organiser.Admin.CreateCampaignAsync(silo.Campaign(adjust));

    /// <summary>Creates and starts a campaign; it is ACTIVE and issuing.</summary>
    public static async Task<Campaign> StartedCampaignAsync(this SiloFixture silo, Action<CreateCampaignRequest>? adjust = null)
    {
        var created = await silo.CreatedCampaignAsync(adjust);
        return await silo.Organiser.Admin.StartCampaignAsync(new CampaignActionRequest { CampaignId = created.CampaignId });
    }

    /// <summary>A started campaign, a voucher issued on <see cref="SiloFixture.PartnerId"/>'s channel, and a merchant enrolled in it.</summary>
    public static async Task<(Campaign Campaign, Voucher Voucher, string MerchantId, CampaignsClient Merchant)> RedeemableVoucherAsync(
        this SiloFixture silo, Action<CreateCampaignRequest>? adjust = null)
    {
        var campaign = await silo.StartedCampaignAsync(adjust);
        var voucher = await silo.IssueAsync(campaign.CampaignId, NewId("user"));
        var (merchantId, merchant) = await silo.NewMerchantAsync();
        await merchant.Merchants.JoinCampaignAsync(new JoinCampaignRequest { CampaignId = campaign.CampaignId, MerchantId = merchantId });
        return (campaign, voucher, merchantId, merchant);
    }

    public static async Task<Voucher> IssueAsync(this SiloFixture silo, string campaignId, string userId, string? district = null) =>
        (await silo.Partner.IssueVoucherAsync(campaignId, userId, NewId("req"), district)).Voucher;

    public static async Task<CampaignStats> StatsAsync(this SiloFixture silo, string campaignId) =>
        await silo.Organiser.Admin.GetCampaignStatsAsync(new GetCampaignRequest { CampaignId = campaignId });

    public static async Task<Campaign> GetCampaignAsync(this SiloFixture silo, string campaignId) =>
        await silo.Organiser.Admin.GetCampaignAsync(new GetCampaignRequest { CampaignId = campaignId });

    public static async Task<Voucher> GetVoucherAsync(this CampaignsClient partner, string code) =>
        await partner.Vouchers.GetVoucherAsync(new GetVoucherRequest { Code = code });

    public static async Task<Settlement> SettlementAsync(this CampaignsClient client, string merchantId, string campaignId = "") =>
        await client.Merchants.GetSettlementAsync(new GetSettlementRequest { MerchantId = merchantId, CampaignId = campaignId });

    public static Task<Campaign> PauseAsync(this SiloFixture silo, string campaignId) =>
        silo.Organiser.Admin.PauseCampaignAsync(new CampaignActionRequest { CampaignId = campaignId }).ResponseAsync;

    public static Task<Campaign> ResumeAsync(this SiloFixture silo, string campaignId) =>
        silo.Organiser.Admin.ResumeCampaignAsync(new CampaignActionRequest { CampaignId = campaignId }).ResponseAsync;

    public static Task<Campaign> EndAsync(this SiloFixture silo, string campaignId) =>
        silo.Organiser.Admin.EndCampaignAsync(new CampaignActionRequest { CampaignId = campaignId }).ResponseAsync;

    /// <summary>Moves the clock to just after the next midnight in Shanghai (UTC+8).</summary>
    public static void AdvanceToNextShanghaiDay(this SiloFixture silo, TimeSpan after)
    {
        var now = silo.Clock.GetUtcNow();
        var local = now.ToOffset(TimeSpan.FromHours(8));
        var nextMidnight = new DateTimeOffset(local.Date.AddDays(1), TimeSpan.FromHours(8));
        silo.Clock.Advance(nextMidnight - now + after);
    }

    /// <summary>A code with one character changed: it fails the code's keyed check.</summary>
    public static string Mistyped(string code)
    {
        var last = code[^1];
        return code[..^1] + (last == '7' ? '8' : '7');
    }

    public static string NewId(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 17)];
}
