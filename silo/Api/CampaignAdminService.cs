using System.Security.Cryptography;
using System.Text;
using Campaigns.Grains.Campaigns;
using Campaigns.Grains.Common;
using Campaigns.Grains.Ledger;
using Campaigns.Grains.Merchants;
using Campaigns.Proto;
using Grpc.Core;

namespace Campaigns.Silo.Api;

public sealed class CampaignAdminService(IGrainFactory grains, ICampaignDirectory ledger, ICampaignStatsSource stats, CampaignTenancy tenancy) : CampaignAdmin.CampaignAdminBase
{
    public override async Task<Campaign> CreateCampaign(CreateCampaignRequest request, ServerCallContext context)
    {
        var caller = context.Caller();
        var organiser = caller.PrincipalId;
        if (request.RequestId.Length > 0)
        {
            Identifiers.RequireKey("request_id", request.RequestId);
        }

        var campaignId = request.CampaignId.Length > 0 ? request.CampaignId : GeneratedId(organiser, request.RequestId);
        Identifiers.RequireName("campaign_id", campaignId);
        var definition = request.ToDefinition(campaignId, organiser);
        // Another organiser's campaign of the same id is refused before and after: the grain
        // answers an identical repeat with the campaign as it stands, whoever repeats it.
        if (await Campaign(campaignId).FindAsync() is { } existing)
        {
            tenancy.Authorize(caller, existing);
        }

        var created = await Campaign(campaignId).CreateAsync(definition);
        tenancy.Authorize(caller, created);
        return created.ToProto();
    }

    public override async Task<Campaign> GetCampaign(GetCampaignRequest request, ServerCallContext context)
    {
        var campaign = await Campaign(request.CampaignId).GetAsync();
        tenancy.Authorize(context.Caller(), campaign);
        return campaign.ToProto();
    }

    public override async Task<ListCampaignsResponse> ListCampaigns(ListCampaignsRequest request, ServerCallContext context)
    {
        if (!Enum.IsDefined(request.Status))
        {
            throw CampaignsException.Invalid("status", "is not a campaign status");
        }

        var caller = context.Caller();
        var (campaigns, next) = await Pages.ReadAsync(request.PageSize, request.PageToken, ledger.ListCampaignIdsAsync,
            id => Campaign(id).FindAsync(),
            campaign => tenancy.MaySee(caller, campaign)
                && (request.Status == Proto.CampaignStatus.Unspecified || campaign.Status.ToProto() == request.Status));
        return new ListCampaignsResponse { Campaigns = { campaigns.Select(c => c.ToProto()) }, NextPageToken = next };
    }

    public override async Task<Campaign> StartCampaign(CampaignActionRequest request, ServerCallContext context) =>
        (await (await OwnCampaignAsync(request.CampaignId, context)).StartAsync()).ToProto();

    public override async Task<Campaign> PauseCampaign(CampaignActionRequest request, ServerCallContext context) =>
        (await (await OwnCampaignAsync(request.CampaignId, context)).PauseAsync()).ToProto();

    public override async Task<Campaign> ResumeCampaign(CampaignActionRequest request, ServerCallContext context) =>
        (await (await OwnCampaignAsync(request.CampaignId, context)).ResumeAsync()).ToProto();

    public override async Task<Campaign> EndCampaign(CampaignActionRequest request, ServerCallContext context) =>
        (await (await OwnCampaignAsync(request.CampaignId, context)).EndAsync()).ToProto();

    public override async Task<Campaign> AddStock(AddStockRequest request, ServerCallContext context) =>
        (await (await OwnCampaignAsync(request.CampaignId, context)).AddStockAsync(request.RequestId, request.AdditionalStock, request.AdditionalBudgetCents)).ToProto();

    public override Task<BlockedUsers> BlockUsers(BlockUsersRequest request, ServerCallContext context) =>
        SetBlockedAsync(request, blocked: true, context);

    public override Task<BlockedUsers> UnblockUsers(BlockUsersRequest request, ServerCallContext context) =>
        SetBlockedAsync(request, blocked: false, context);

    public override async Task<BlockedUsers> ListBlockedUsers(GetCampaignRequest request, ServerCallContext context)
    {
        var campaign = await Campaign(request.CampaignId).GetAsync();
        tenancy.Authorize(context.Caller(), campaign);
        return Blocked(campaign);
    }

    private async Task<BlockedUsers> SetBlockedAsync(BlockUsersRequest request, bool blocked, ServerCallContext context) =>
        Blocked(await (await OwnCampaignAsync(request.CampaignId, context)).SetBlockedAsync([.. request.UserIds], blocked));

    private static BlockedUsers Blocked(CampaignSnapshot campaign) => new()
    {
        CampaignId = campaign.Definition.CampaignId,
        UserIds = { campaign.BlockedUsers.Order(StringComparer.Ordinal) },
    };

    public override async Task<Proto.Enrollment> EnrollMerchant(EnrollMerchantRequest request, ServerCallContext context)
    {
        Identifiers.RequireName("merchant_id", request.MerchantId);
        await tenancy.RequireAsync(context, request.CampaignId);
        return (await grains.GetGrain<IMerchantGrain>(request.MerchantId).EnrollAsync(request.CampaignId)).ToProto();
    }

    public override async Task<CampaignStats> GetCampaignStats(GetCampaignRequest request, ServerCallContext context)
    {
        await tenancy.RequireAsync(context, request.CampaignId);
        return await stats.GetAsync(request.CampaignId);
    }

    public override async Task WatchCampaignStats(GetCampaignRequest request, IServerStreamWriter<CampaignStats> responseStream, ServerCallContext context)
    {
        await tenancy.RequireAsync(context, request.CampaignId);
        await foreach (var current in stats.WatchAsync(request.CampaignId, context.CancellationToken))
        {
            await responseStream.WriteAsync(current, context.CancellationToken);
        }
    }

    /// <summary>The campaign's grain, once the caller is known to own it (or to be an admin).</summary>
    private async ValueTask<ICampaignGrain> OwnCampaignAsync(string campaignId, ServerCallContext context)
    {
        await tenancy.RequireAsync(context, campaignId);
        return grains.GetGrain<ICampaignGrain>(campaignId);
    }

    private ICampaignGrain Campaign(string campaignId)
    {
        Identifiers.RequireName("campaign_id", campaignId);
        return grains.GetGrain<ICampaignGrain>(campaignId);
    }

    /// <summary>
    /// An id for a campaign created without one. With a request id it is derived from it, so a
    /// retried create finds the campaign the first attempt made instead of making a second.
    /// </summary>
    private static string GeneratedId(string organiser, string requestId) => requestId.Length == 0
        ? Identifiers.NewId("cmp")
        : "cmp_" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(organiser + "\n" + requestId)))[..20];
}
