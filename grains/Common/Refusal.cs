namespace Campaigns.Grains.Common;

/// <summary>
/// Why a call was refused. The names are the API's error reasons (ErrorInfo.reason) and are
/// fixed: partners match on them. The silo maps each to its gRPC status code in one place.
/// </summary>
public enum Refusal
{
    InvalidArgument,
    MissingApiKey,
    InvalidApiKey,
    WrongRole,
    NotYourMerchant,
    NotYourChannel,
    CampaignNotFound,
    VoucherNotFound,
    MerchantNotFound,
    ReservationNotFound,
    CampaignExists,
    MerchantExists,
    CampaignNotActive,
    CampaignNotStarted,
    CampaignEnded,
    VoucherAlreadyRedeemed,
    VoucherReserved,
    VoucherExpired,
    VoucherNotYetValid,
    VoucherNotRedeemed,
    RefundWindowClosed,
    MerchantNotEnrolled,
    MerchantOutOfDistrict,
    MinSpendNotMet,
    IdempotencyKeyReused,
    InvalidTransition,
    SoldOut,
    BudgetExhausted,
    UserLimitReached,
    UserDailyLimitReached,
    ChannelQuotaExhausted,
    RateLimited,
    Unavailable,

    // Added after v1's first reasons; appended so the values of the others stay as they were.
    OrderRefunded,
    ApiKeyNotFound,
    SubscriptionNotFound,
    SubscriptionExists,
    DeliveryNotFound,
    NotYourCampaign,
    UserBlocked,
    DeviceLimitReached,
    PartnerDropCapReached,
}

public static class RefusalNames
{
    private static readonly Dictionary<Refusal, string> Names = Enum.GetValues<Refusal>()
        .ToDictionary(code => code, code => string.Concat(code.ToString().Select((c, i) =>
            i > 0 && char.IsUpper(c) ? "_" + c : char.ToUpperInvariant(c).ToString())));

    /// <summary>The API reason word: <c>SoldOut</c> → <c>SOLD_OUT</c>.</summary>
    public static string Reason(this Refusal code) => Names[code];
}
