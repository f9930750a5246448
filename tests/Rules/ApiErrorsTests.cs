using Campaigns.Grains.Common;
using Campaigns.Silo.Api;
using Google.Rpc;
using Grpc.Core;

namespace Campaigns.Tests.Rules;

public sealed class ApiErrorsTests
{
    /// <summary>API.md, "Errors": the status code of every reason.</summary>
    private static readonly Dictionary<StatusCode, string[]> Table = new()
    {
        [StatusCode.InvalidArgument] = ["INVALID_ARGUMENT"],
        [StatusCode.Unauthenticated] = ["MISSING_API_KEY", "INVALID_API_KEY"],
        [StatusCode.PermissionDenied] = ["WRONG_ROLE", "NOT_YOUR_MERCHANT", "NOT_YOUR_CHANNEL",
            "NOT_YOUR_CAMPAIGN", // API.md, "Tenancy and TLS"
            "USER_BLOCKED"], // added to API.md's list: a campaign's blocked users (docs/api-guide.md, §4)
        [StatusCode.NotFound] = ["CAMPAIGN_NOT_FOUND", "VOUCHER_NOT_FOUND", "MERCHANT_NOT_FOUND", "RESERVATION_NOT_FOUND",
            "API_KEY_NOT_FOUND", "SUBSCRIPTION_NOT_FOUND", "DELIVERY_NOT_FOUND"], // added to API.md's list (docs/api-guide.md, §4)
        [StatusCode.AlreadyExists] = ["CAMPAIGN_EXISTS", "MERCHANT_EXISTS", "SUBSCRIPTION_EXISTS"],
        [StatusCode.FailedPrecondition] =
        [
            "CAMPAIGN_NOT_ACTIVE", "CAMPAIGN_NOT_STARTED", "CAMPAIGN_ENDED", "VOUCHER_ALREADY_REDEEMED", "VOUCHER_RESERVED",
            "VOUCHER_EXPIRED", "VOUCHER_NOT_YET_VALID", "VOUCHER_NOT_REDEEMED", "REFUND_WINDOW_CLOSED", "MERCHANT_NOT_ENROLLED",
            "MERCHANT_OUT_OF_DISTRICT", "MIN_SPEND_NOT_MET", "IDEMPOTENCY_KEY_REUSED", "INVALID_TRANSITION",
            // Added to API.md's list: a repeat of a refunded order (docs/api-guide.md, §4).
            "ORDER_REFUNDED",
        ],
        [StatusCode.ResourceExhausted] =
        [
            "SOLD_OUT", "BUDGET_EXHAUSTED", "USER_LIMIT_REACHED", "USER_DAILY_LIMIT_REACHED", "CHANNEL_QUOTA_EXHAUSTED", "RATE_LIMITED",
            "DEVICE_LIMIT_REACHED", // added to API.md's list: a campaign's limit per device (docs/api-guide.md, §4)
            "PARTNER_DROP_CAP_REACHED", // added to API.md's list: a campaign's cap per partner per minute (docs/api-guide.md, §4)
        ],
        [StatusCode.Unavailable] = ["UNAVAILABLE"],
    };

    public static TheoryData<Refusal> AllRefusals => [.. Enum.GetValues<Refusal>()];

    [Fact]
    public void Every_reason_in_the_api_table_is_a_refusal_and_every_refusal_is_in_the_table()
    {
        var tabled = Table.Values.SelectMany(r => r).ToList();

        Assert.Equal(tabled.Count, tabled.Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(tabled.Order(StringComparer.Ordinal), Enum.GetValues<Refusal>().Select(r => r.Reason()).Order(StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(AllRefusals))]
    public void Each_refusal_has_the_status_code_of_the_api_table(Refusal refusal)
    {
        var expected = Table.Single(row => row.Value.Contains(refusal.Reason())).Key;

        Assert.Equal(expected, ApiErrors.StatusOf(refusal));
    }

    [Theory]
    [MemberData(nameof(AllRefusals))]
    public void Each_refusal_becomes_an_RpcException_with_its_code_message_and_a_campaigns_v1_ErrorInfo(Refusal refusal)
    {
        var exception = ApiErrors.ToRpcException(refusal, "something precise went wrong");

        Assert.Equal(ApiErrors.StatusOf(refusal), exception.StatusCode);
        Assert.Equal("something precise went wrong", exception.Status.Detail);
        var status = exception.GetRpcStatus();
        Assert.NotNull(status);
        Assert.Equal((int)ApiErrors.StatusOf(refusal), status.Code);
        Assert.Equal("something precise went wrong", status.Message);
        var info = status.GetDetail<ErrorInfo>();
        Assert.NotNull(info);
        Assert.Equal("campaigns.v1", info.Domain);
        Assert.Equal(refusal.Reason(), info.Reason);
    }

    [Fact]
    public void A_refusal_exception_keeps_its_reason_and_message()
    {
        var exception = ApiErrors.ToRpcException(CampaignsException.Invalid("percent_off", "must be 1-99 for PERCENT_OFF"));

        Assert.Equal(StatusCode.InvalidArgument, exception.StatusCode);
        Assert.Equal("percent_off: must be 1-99 for PERCENT_OFF", exception.Status.Detail);
        Assert.Equal("INVALID_ARGUMENT", exception.GetRpcStatus()!.GetDetail<ErrorInfo>()!.Reason);
    }

    [Fact]
    public void A_rate_limit_carries_its_retry_delay()
    {
        var exception = ApiErrors.ToRpcException(Refusal.RateLimited, "slow down", TimeSpan.FromMilliseconds(1500));

        var retry = exception.GetRpcStatus()!.GetDetail<RetryInfo>();
        Assert.NotNull(retry);
        Assert.Equal(TimeSpan.FromMilliseconds(1500), retry.RetryDelay.ToTimeSpan());
        Assert.Equal("RATE_LIMITED", exception.GetRpcStatus()!.GetDetail<ErrorInfo>()!.Reason);
    }

    [Fact]
    public void A_partner_drop_cap_refusal_carries_its_retry_delay()
    {
        var exception = ApiErrors.ToRpcException(Refusal.PartnerDropCapReached, "next minute", TimeSpan.FromSeconds(42));

        Assert.Equal(StatusCode.ResourceExhausted, exception.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(42), exception.GetRpcStatus()!.GetDetail<RetryInfo>()!.RetryDelay.ToTimeSpan());
        Assert.Equal("PARTNER_DROP_CAP_REACHED", exception.GetRpcStatus()!.GetDetail<ErrorInfo>()!.Reason);
    }

    [Fact]
    public void A_refusal_without_a_delay_carries_no_retry_info() =>
        Assert.Null(ApiErrors.ToRpcException(Refusal.SoldOut, "sold out").GetRpcStatus()!.GetDetail<RetryInfo>());
}
