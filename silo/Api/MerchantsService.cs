using Campaigns.Grains.Campaigns;
using Campaigns.Grains.Common;
using Campaigns.Grains.Ledger;
using Campaigns.Grains.Merchants;
using Campaigns.Proto;
using Grpc.Core;

namespace Campaigns.Silo.Api;

public sealed class MerchantsService(IGrainFactory grains, IReportingLedger ledger) : Merchants.MerchantsBase
{
    public override async Task<Merchant> RegisterMerchant(RegisterMerchantRequest request, ServerCallContext context)
    {
        Identifiers.RequireName("merchant_id", request.MerchantId);
        return (await grains.GetGrain<IMerchantGrain>(request.MerchantId).RegisterAsync(request.Name, request.District, request.Category)).ToProto();
    }

    public override async Task<Merchant> GetMerchant(GetMerchantRequest request, ServerCallContext context) =>
        (await MerchantAsync(request.MerchantId, context)).ToProto();

    public override async Task<Proto.Enrollment> JoinCampaign(JoinCampaignRequest request, ServerCallContext context)
    {
        await MerchantAsync(request.MerchantId, context);
        return (await grains.GetGrain<IMerchantGrain>(request.MerchantId).EnrollAsync(request.CampaignId)).ToProto();
    }

    public override async Task<Settlement> GetSettlement(GetSettlementRequest request, ServerCallContext context)
    {
        await MerchantAsync(request.MerchantId, context);
        if (request.CampaignId.Length > 0)
        {
            Identifiers.RequireName("campaign_id", request.CampaignId);
            await grains.GetGrain<ICampaignGrain>(request.CampaignId).GetAsync();
        }

        var totals = await ledger.GetSettlementAsync(request.MerchantId, request.CampaignId.Length > 0 ? request.CampaignId : null);
        return totals.ToProto(request.MerchantId, request.CampaignId);
    }

    public override async Task<ListMerchantsResponse> ListMerchants(ListMerchantsRequest request, ServerCallContext context)
    {
        var (merchants, next) = await Pages.ReadAsync(request.PageSize, request.PageToken,
            grains.GetGrain<IIdDirectoryGrain>(IdDirectories.Merchants).PageAsync,
            id => grains.GetGrain<IMerchantGrain>(id).FindAsync());
        return new ListMerchantsResponse { Merchants = { merchants.Select(m => m.ToProto()) }, NextPageToken = next };
    }

    private async Task<MerchantProfile> MerchantAsync(string merchantId, ServerCallContext context)
    {
        Identifiers.RequireName("merchant_id", merchantId);
        context.RequireMerchant(merchantId);
        return await grains.GetGrain<IMerchantGrain>(merchantId).GetAsync();
    }
}
