using Campaigns.Grains.Campaigns;
using Campaigns.Grains.Common;
using Campaigns.Grains.Issuance;
using Campaigns.Grains.Ledger;
using Campaigns.Grains.Merchants;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Campaigns.Grains.Redemption;

/// <summary>
/// Applies <see cref="VoucherRedemption"/> to one voucher. Not reentrant: one call at a time.
/// Memory is a cache of the ledger row, read on activation; each transition is written with
/// "WHERE version = the version decided from", and a lost race rereads and decides again.
/// </summary>
// A voucher is touched a few times in its life (reserve, confirm, perhaps a refund): an idle
// activation is dropped after two minutes rather than holding memory for every redeemed voucher.
[CollectionAgeLimit(Minutes = 2)]
public sealed class VoucherGrain(
    ILedger ledger, VoucherCodes codes, [FromKeyedServices(CampaignClock.Key)] TimeProvider clock, ILogger<VoucherGrain> logger) : Grain, IVoucherGrain
{
    private VoucherKey? _key;
    private VoucherRecord? _voucher;
    private List<RedemptionEventRecord> _events = [];

    private string Code => this.GetPrimaryKeyString();

    public override Task OnActivateAsync(CancellationToken cancellationToken) => ReloadAsync();

    public Task<VoucherView> GetAsync() => Task.FromResult(View(Voucher()));

    public async Task<ReservationReceipt> ReserveAsync(string merchantId, string orderId, long orderAmountCents, int holdSeconds)
    {
        var merchant = await MerchantAsync(merchantId);
        var (after, _) = await ApplyAsync(v => VoucherRedemption.Reserve(v, _events, merchant, orderId, orderAmountCents,
            holdSeconds == 0 ? VoucherRedemption.DefaultHoldSeconds : holdSeconds, clock.LedgerNow()));
        // A replay of a reservation that has since been confirmed answers with its quote; the
        // hold's end is then the redemption time.
        return new ReservationReceipt(after.Code, after.CampaignId, merchantId, orderId, after.OrderAmountCents,
            after.DiscountCents, after.ReservedUntil ?? after.RedeemedAt ?? clock.LedgerNow());
    }

    public async Task<RedemptionReceipt> ConfirmAsync(string merchantId, string orderId)
    {
        var merchant = await MerchantAsync(merchantId);
        var step = await ApplyAsync(v => VoucherRedemption.Confirm(v, _events, merchant, orderId, clock.LedgerNow()));
        DropOnceRedeemed();
        return Receipt(orderId, replayed: !step.Changes);
    }

    public async Task<VoucherView> CancelAsync(string merchantId, string orderId)
    {
        var merchant = await MerchantAsync(merchantId);
        return View((await ApplyAsync(v => VoucherRedemption.Cancel(v, _events, merchant, orderId, clock.LedgerNow()))).After);
    }

    public async Task<RedemptionReceipt> RedeemAsync(string merchantId, string orderId, long orderAmountCents)
    {
        var merchant = await MerchantAsync(merchantId);
        var step = await ApplyAsync(v => VoucherRedemption.Redeem(v, _events, merchant, orderId, orderAmountCents, clock.LedgerNow()));
        DropOnceRedeemed();
        return Receipt(orderId, replayed: !step.Changes);
    }

    public async Task<VoucherView> RefundAsync(string merchantId, string orderId, string refundId)
    {
        var merchant = await MerchantAsync(merchantId);
        var campaign = await GrainFactory.GetGrain<ICampaignGrain>(Voucher().CampaignId).GetAsync();
        return View((await ApplyAsync(v => VoucherRedemption.Refund(v, _events, merchant, orderId, refundId,
            campaign.Definition.RefundWindowDays, clock.LedgerNow()))).After);
    }

    /// <summary>
    /// Decides on the cached row and writes conditionally. If the ledger moved under us (another
    /// activation wrote), reread and decide again: the second decision sees the winner's write.
    /// </summary>
    private async Task<RedemptionStep> ApplyAsync(Func<VoucherRecord, RedemptionStep> decide)
    {
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var current = Voucher();
            var step = decide(current);
            if (!step.Changes)
            {
                return step;
            }

            bool written;
            try
            {
                written = await ledger.TryTransitionAsync(step.After, current.Version, step.Event!);
            }
            catch (Exception ex)
            {
                // Unknown outcome: forget the cache so the next call rereads the ledger.
                logger.LogError(ex, "Voucher {Code}: transition write failed", Code);
                DeactivateOnIdle();
                throw new CampaignsException(Refusal.Unavailable, "the ledger is unavailable; retry with the same order id");
            }

            if (written)
            {
                _voucher = step.After;
                _events.Add(step.Event!);
                return step;
            }

            await ReloadAsync();
        }

        throw new CampaignsException(Refusal.Unavailable, "the voucher is changing under concurrent calls; retry");
    }

    private async Task ReloadAsync()
    {
        // The code carries the row's key; a code from before keyed rows is looked up once.
        _key ??= codes.TryRead(Code, out var code) ? code.Key ?? await ledger.FindLegacyCodeAsync(code.Text) : null;
        if (_key is not { } key)
        {
            return;
        }

        var (voucher, events) = await ledger.GetVoucherWithEventsAsync(key);
        _voucher = voucher;
        _events = [.. events];
    }

    private async Task<MerchantProfile> MerchantAsync(string merchantId)
    {
        Identifiers.RequireName("merchant_id", merchantId);
        Voucher(); // an unknown code is VOUCHER_NOT_FOUND before anything else
        return await GrainFactory.GetGrain<IMerchantGrain>(merchantId).GetAsync();
    }

    /// <summary>
    /// A redeemed voucher's next touch, if any, is a refund days later: its activation goes when
    /// this call ends instead of after the idle age. Measured at checkout rates, two minutes of
    /// redeemed activations were hundreds of MB of heap and tripled the GC's pauses.
    /// </summary>
    private void DropOnceRedeemed()
    {
        if (_voucher?.Status == StoredVoucherStatus.Redeemed)
        {
            DeactivateOnIdle();
        }
    }

    private RedemptionReceipt Receipt(string orderId, bool replayed) =>
        RedemptionReceipt.From(VoucherRedemption.RedeemedEvent(_events, orderId)
            ?? throw new InvalidOperationException($"voucher {Code}: no redemption event for order {orderId}")) with { Replayed = replayed };

    private VoucherView View(VoucherRecord v) => new(v, VoucherRedemption.StatusAt(v, clock.LedgerNow()));

    private VoucherRecord Voucher() => _voucher
        ?? throw new CampaignsException(Refusal.VoucherNotFound, "no voucher with this code");
}
