using Campaigns.Grains.Issuance;
using Campaigns.Grains.Redemption;
using Campaigns.Proto;
using Grpc.Core;

namespace Campaigns.Silo.Api;

/// <summary>Merchants use vouchers at checkout, as themselves only.</summary>
public sealed class RedemptionsService(IGrainFactory grains, VoucherCodes codes) : Redemptions.RedemptionsBase
{
    public override async Task<Reservation> ReserveVoucher(ReserveVoucherRequest request, ServerCallContext context) =>
        (await Voucher(request.Code, request.MerchantId, context)
            .ReserveAsync(request.MerchantId, request.OrderId, request.OrderAmountCents, request.HoldSeconds)).ToProto();

    public override async Task<Redemption> ConfirmRedemption(ConfirmRedemptionRequest request, ServerCallContext context) =>
        (await Voucher(request.Code, request.MerchantId, context).ConfirmAsync(request.MerchantId, request.OrderId)).ToProto();

    public override async Task<Voucher> CancelReservation(CancelReservationRequest request, ServerCallContext context) =>
        (await Voucher(request.Code, request.MerchantId, context).CancelAsync(request.MerchantId, request.OrderId)).ToProto();

    public override async Task<Redemption> RedeemVoucher(RedeemVoucherRequest request, ServerCallContext context) =>
        (await Voucher(request.Code, request.MerchantId, context)
            .RedeemAsync(request.MerchantId, request.OrderId, request.OrderAmountCents)).ToProto();

    public override async Task<Voucher> RefundRedemption(RefundRedemptionRequest request, ServerCallContext context) =>
        (await Voucher(request.Code, request.MerchantId, context)
            .RefundAsync(request.MerchantId, request.OrderId, request.RefundId)).ToProto();

    private IVoucherGrain Voucher(string code, string merchantId, ServerCallContext context)
    {
        context.RequireMerchant(merchantId);
        return grains.GetGrain<IVoucherGrain>(codes.Require(code));
    }
}
