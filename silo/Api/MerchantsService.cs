using Campaigns.Grains.Access;
using Role = Campaigns.Grains.Access.Role;
using Campaigns.Grains.Common;
using Campaigns.Grains.Ledger;
using Campaigns.Grains.Merchants;
using Campaigns.Proto;
using Grpc.Core;

namespace Campaigns.Silo.Api;

public sealed class MerchantsService(IGrainFactory grains, IReportingLedger ledger, CampaignTenancy tenancy) : Merchants.MerchantsBase
{
    public override async Task<Merchant> RegisterMerchant(RegisterMerchantRequest request, ServerCallContext context)
    {
        Identifiers.RequireName("merchant_id", request.MerchantId);
        return (await grains.GetGrain<IMerchantGrain>(request.MerchantId).RegisterAsync(request.Name, request.District, request.Category)).ToProto();
    }

    /// <summary>Merchants are shared; an organiser sees only its own campaigns among the enrolments.</summary>
    public override async Task<Merchant> GetMerchant(GetMerchantRequest request, ServerCallContext context)
    {
        var merchant = await MerchantAsync(request.MerchantId, context);
        var visible = await VisibleCampaignsAsync(merchant, context.Caller());
        return (merchant with { Enrollments = merchant.Enrollments.Where(e => visible.Contains(e.Key)).ToDictionary() }).ToProto();
    }

    public override async Task<Proto.Enrollment> JoinCampaign(JoinCampaignRequest request, ServerCallContext context)
    {
        await MerchantAsync(request.MerchantId, context);
        return (await grains.GetGrain<IMerchantGrain>(request.MerchantId).EnrollAsync(request.CampaignId)).ToProto();
    }

    public override async Task<Settlement> GetSettlement(GetSettlementRequest request, ServerCallContext context)
    {
        var merchant = await MerchantAsync(request.MerchantId, context);
        var caller = context.Caller();
        if (request.CampaignId.Length > 0)
        {
            await tenancy.RequireAsync(caller, request.CampaignId);
        }
        else if (caller.Role == Role.Organiser)
        {
            // Across campaigns, an organiser settles only its own: the sum over its campaigns the merchant joined.
            var own = await VisibleCampaignsAsync(merchant, caller);
            var parts = await Task.WhenAll(own.Select(id => ledger.GetSettlementAsync(request.MerchantId, id)));
            return parts.Aggregate(SettlementTotals.None, (sum, part) => sum.Plus(part)).ToProto(request.MerchantId, "");
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

    /// <summary>The merchant's campaigns that <paramref name="caller"/> may see.</summary>
    private async Task<HashSet<string>> VisibleCampaignsAsync(MerchantProfile merchant, Principal caller)
    {
        if (caller.Role != Role.Organiser)
        {
            return [.. merchant.Enrollments.Keys];
        }

        var ids = merchant.Enrollments.Keys.ToList();
        var owners = await Task.WhenAll(ids.Select(id => tenancy.OwnerAsync(id).AsTask()));
        return [.. ids.Where((_, i) => CampaignTenancy.MayAct(caller, owners[i]))];
    }

    private async Task<MerchantProfile> MerchantAsync(string merchantId, ServerCallContext context)
    {
        Identifiers.RequireName("merchant_id", merchantId);
        context.RequireMerchant(merchantId);
        return await grains.GetGrain<IMerchantGrain>(merchantId).GetAsync();
    }
}
