using System.Security.Cryptography;
using System.Text;
using Campaigns.Grains.Campaigns;
using Campaigns.Grains.Common;
using Campaigns.Grains.Ledger;
using Campaigns.Grains.Merchants;
using Campaigns.Proto;
using Grpc.Core;

namespace Campaigns.Silo.Api;

public sealed class CampaignAdminService(IGrainFactory grains, ICampaignDirectory ledger, ICampaignStatsSource stats) : CampaignAdmin.CampaignAdminBase
{
    public override async Task<Campaign> CreateCampaign(CreateCampaignRequest request, ServerCallContext context)
    {
        var organiser = context.Caller().PrincipalId;
        if (request.RequestId.Length > 0)
        {
            Identifiers.RequireKey("request_id", request.RequestId);
        }

        var campaignId = request.CampaignId.Length > 0 ? request.CampaignId : GeneratedId(organiser, request.RequestId);
        Identifiers.RequireName("campaign_id", campaignId);
        var definition = request.ToDefinition(campaignId, organiser);
        return (await Campaign(campaignId).CreateAsync(definition)).ToProto();
    }

    public override async Task<Campaign> GetCampaign(GetCampaignRequest request, ServerCallContext context) =>
        (await Campaign(request.CampaignId).GetAsync()).ToProto();

    public override async Task<ListCampaignsResponse> ListCampaigns(ListCampaignsRequest request, ServerCallContext context)
    {
        if (!Enum.IsDefined(request.Status))
        {
            throw CampaignsException.Invalid("status", "is not a campaign status");
        }

        var (campaigns, next) = await Pages.ReadAsync(request.PageSize, request.PageToken, ledger.ListCampaignIdsAsync,
            id => Campaign(id).FindAsync(),
            campaign => request.Status == Proto.CampaignStatus.Unspecified || campaign.Status.ToProto() == request.Status);
        return new ListCampaignsResponse { Campaigns = { campaigns.Select(c => c.ToProto()) }, NextPageToken = next };
    }

    public override async Task<Campaign> StartCampaign(CampaignActionRequest request, ServerCallContext context) =>
        (await Campaign(request.CampaignId).StartAsync()).ToProto();

    public override async Task<Campaign> PauseCampaign(CampaignActionRequest request, ServerCallContext context) =>
        (await Campaign(request.CampaignId).PauseAsync()).ToProto();

    public override async Task<Campaign> ResumeCampaign(CampaignActionRequest request, ServerCallContext context) =>
        (await Campaign(request.CampaignId).ResumeAsync()).ToProto();

    public override async Task<Campaign> EndCampaign(CampaignActionRequest request, ServerCallContext context) =>
        (await Campaign(request.CampaignId).EndAsync()).ToProto();

    public override async Task<Campaign> AddStock(AddStockRequest request, ServerCallContext context) =>
        (await Campaign(request.CampaignId).AddStockAsync(request.RequestId, request.AdditionalStock, request.AdditionalBudgetCents)).ToProto();

    public override async Task<Proto.Enrollment> EnrollMerchant(EnrollMerchantRequest request, ServerCallContext context)
    {
        Identifiers.RequireName("merchant_id", request.MerchantId);
        return (await grains.GetGrain<IMerchantGrain>(request.MerchantId).EnrollAsync(request.CampaignId)).ToProto();
    }

    public override async Task<CampaignStats> GetCampaignStats(GetCampaignRequest request, ServerCallContext context)
    {
        Identifiers.RequireName("campaign_id", request.CampaignId);
        return await stats.GetAsync(request.CampaignId);
    }

    public override async Task WatchCampaignStats(GetCampaignRequest request, IServerStreamWriter<CampaignStats> responseStream, ServerCallContext context)
    {
        Identifiers.RequireName("campaign_id", request.CampaignId);
        await foreach (var current in stats.WatchAsync(request.CampaignId, context.CancellationToken))
        {
            await responseStream.WriteAsync(current, context.CancellationToken);
        }
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
