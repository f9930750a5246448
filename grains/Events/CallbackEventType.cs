namespace Campaigns.Grains.Events;

/// <summary>What a callback tells: the API's event type names (<c>voucher.issued</c>, …) are fixed.</summary>
public enum CallbackEventType
{
    VoucherIssued = 1,
    VoucherRedeemed = 2,
    VoucherRefunded = 3,
    VoucherExpired = 4,
    CampaignSoldOut = 5,
    CampaignEnded = 6,
}

public static class CallbackEventTypes
{
    private static readonly Dictionary<CallbackEventType, string> Names = new()
    {
        [CallbackEventType.VoucherIssued] = "voucher.issued",
        [CallbackEventType.VoucherRedeemed] = "voucher.redeemed",
        [CallbackEventType.VoucherRefunded] = "voucher.refunded",
        [CallbackEventType.VoucherExpired] = "voucher.expired",
        [CallbackEventType.CampaignSoldOut] = "campaign.sold_out",
        [CallbackEventType.CampaignEnded] = "campaign.ended",
    };

    private static readonly Dictionary<string, CallbackEventType> ByName = Names.ToDictionary(p => p.Value, p => p.Key, StringComparer.Ordinal);

    public static IReadOnlyCollection<string> All => Names.Values;

    /// <summary>The API's name: <c>VoucherIssued</c> → <c>voucher.issued</c>.</summary>
    public static string Name(this CallbackEventType type) => Names[type];

    public static bool TryParse(string name, out CallbackEventType type) => ByName.TryGetValue(name, out type);

    public static bool IsAboutAVoucher(this CallbackEventType type) => type <= CallbackEventType.VoucherExpired;
}
