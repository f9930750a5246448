using Campaigns.Grains.Common;
using Campaigns.Grains.Issuance;
using Campaigns.Grains.Ledger;
using Campaigns.Grains.Redemption;
using Campaigns.Proto;
using Grpc.Core;

namespace Campaigns.Silo.Api;

/// <summary>Partners issue vouchers on their own channel (the key's partner id).</summary>
public sealed class VouchersService(
    IGrainFactory grains, CampaignShards shards, UserWallets wallets, VoucherCodes codes, [FromKeyedServices(CampaignClock.Key)] TimeProvider clock) : Vouchers.VouchersBase
{
    public const int MaxBatch = 1_000;

    public override async Task<IssueVoucherResponse> IssueVoucher(IssueVoucherRequest request, ServerCallContext context)
    {
        var channel = context.Caller().PrincipalId;
        var outcome = await shards.ClaimAsync(request.CampaignId, new IssueClaim(channel, request.UserId, request.RequestId, request.District, request.DeviceId));
        return outcome.Voucher is { } voucher
            ? new IssueVoucherResponse { Voucher = ToProto(voucher), Replayed = outcome.Replayed }
            : ApiErrors.Refuse<IssueVoucherResponse>(context, outcome.Refusal!.Value, outcome.Message ?? "refused", outcome.RetryAfter);
    }

    public override async Task<IssueVouchersResponse> IssueVouchers(IssueVouchersRequest request, ServerCallContext context)
    {
        if (request.Items.Count is 0 or > MaxBatch)
        {
            throw CampaignsException.Invalid("items", $"must hold 1-{MaxBatch} items");
        }

        var channel = context.Caller().PrincipalId;
        var pools = await shards.ShardsAsync(request.CampaignId);
        // One call per shard, all shards at once; each shard commits its part as one batch.
        var byShard = request.Items
            .Select((item, index) => (item, index))
            .GroupBy(x => ShardRouting.ShardFor(x.item.UserId, pools.Count));
        var results = new IssueVouchersResult[request.Items.Count];
        await Task.WhenAll(byShard.Select(async group =>
        {
            var items = group.ToList();
            var outcomes = await shards.IssueAsync(request.CampaignId, group.Key,
                [.. items.Select(x => new IssueClaim(channel, x.item.UserId, x.item.RequestId, x.item.District, x.item.DeviceId))]);
            for (var i = 0; i < items.Count; i++)
            {
                results[items[i].index] = ToResult(outcomes[i]);
            }
        }));
        return new IssueVouchersResponse { Results = { results } };
    }

    public override async Task<Voucher> GetVoucher(GetVoucherRequest request, ServerCallContext context)
    {
        var view = await grains.GetGrain<IVoucherGrain>(codes.Require(request.Code)).GetAsync();
        if (view.Record.Channel != context.Caller().PrincipalId)
        {
            throw new CampaignsException(Refusal.NotYourChannel, "the voucher was issued on another channel");
        }

        return view.ToProto();
    }

    public override async Task<ListUserVouchersResponse> ListUserVouchers(ListUserVouchersRequest request, ServerCallContext context)
    {
        Identifiers.RequireKey("user_id", request.UserId);
        if (request.CampaignId.Length > 0)
        {
            Identifiers.RequireName("campaign_id", request.CampaignId);
        }

        var wallet = await wallets.ListAsync(request.UserId, request.CampaignId.Length > 0 ? request.CampaignId : null, context.Caller().PrincipalId);
        // Wallets are small and were answered whole before paging: the default page holds the most.
        var (page, next) = Pages.Slice(wallet, request.PageSize, request.PageToken, v => v.Code, defaultSize: Pages.MaxSize);
        return new ListUserVouchersResponse { Vouchers = { page.Select(ToProto) }, NextPageToken = next };
    }

    private Voucher ToProto(VoucherRecord record) => record.ToProto(VoucherRedemption.StatusAt(record, clock.GetUtcNow()));

    private IssueVouchersResult ToResult(IssueOutcome outcome) => outcome.Voucher is { } voucher
        ? new IssueVouchersResult { RequestId = outcome.RequestId, Voucher = ToProto(voucher), Replayed = outcome.Replayed }
        : new IssueVouchersResult { RequestId = outcome.RequestId, ErrorReason = outcome.Refusal!.Value.Reason(), ErrorMessage = outcome.Message ?? "" };
}
