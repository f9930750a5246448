namespace Campaigns.Grains.Redemption;

/// <summary>
/// One voucher's redemption, keyed by its canonical code. Calls are handled one at a time and
/// every transition is a conditional ledger write, so a voucher is spent at most once at any
/// moment — even if a silo failure briefly leaves two activations. Every call is idempotent on
/// its key (order id, refund id).
/// </summary>
public interface IVoucherGrain : IGrainWithStringKey
{
    /// <summary>VOUCHER_NOT_FOUND if no such voucher was issued.</summary>
    Task<VoucherView> GetAsync();

    Task<ReservationReceipt> ReserveAsync(string merchantId, string orderId, long orderAmountCents, int holdSeconds);

    Task<RedemptionReceipt> ConfirmAsync(string merchantId, string orderId);

    Task<VoucherView> CancelAsync(string merchantId, string orderId);

    Task<RedemptionReceipt> RedeemAsync(string merchantId, string orderId, long orderAmountCents);

    Task<VoucherView> RefundAsync(string merchantId, string orderId, string refundId);
}
