using Campaigns.Client;
using Campaigns.Proto;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using Status = Google.Rpc.Status;

namespace Campaigns.Tests.Client;

public sealed class CampaignsErrorTests
{
    internal static RpcException Refusal(StatusCode code, string reason, string message, TimeSpan? retryAfter = null)
    {
        var status = new Status
        {
            Code = (int)code,
            Message = message,
            Details = { Any.Pack(new ErrorInfo { Reason = reason, Domain = CampaignsError.Domain }) },
        };
        if (retryAfter is { } delay)
        {
            status.Details.Add(Any.Pack(new RetryInfo { RetryDelay = Duration.FromTimeSpan(delay) }));
        }

        return status.ToRpcException();
    }

    [Fact]
    public void The_reason_and_message_come_from_the_error_info_detail()
    {
        var error = Refusal(StatusCode.ResourceExhausted, "SOLD_OUT", "Campaign spring has no stock left.");

        Assert.Equal("SOLD_OUT", error.Reason());
        Assert.Equal("Campaign spring has no stock left.", error.ErrorMessage());
        Assert.True(error.Is(ErrorReason.SoldOut));
        Assert.False(error.Is(ErrorReason.BudgetExhausted));
        Assert.Equal(
            new CampaignsError(StatusCode.ResourceExhausted, "SOLD_OUT", "Campaign spring has no stock left.", null),
            error.ToCampaignsError());
        Assert.Equal("SOLD_OUT: Campaign spring has no stock left.", error.ToCampaignsError().ToString());
    }

    [Fact]
    public void Without_a_detail_the_status_code_stands_in_for_the_reason()
    {
        var error = new RpcException(new Grpc.Core.Status(StatusCode.DeadlineExceeded, "Deadline Exceeded"));

        Assert.Equal("DEADLINE_EXCEEDED", error.Reason());
        Assert.Equal("Deadline Exceeded", error.ErrorMessage());
        Assert.Null(error.ErrorInfo());
        Assert.Equal("UNAVAILABLE", new RpcException(new Grpc.Core.Status(StatusCode.Unavailable, "")).Reason());
    }

    [Fact]
    public void A_rate_limited_refusal_carries_its_retry_delay_and_is_transient()
    {
        var error = Refusal(StatusCode.ResourceExhausted, "RATE_LIMITED", "Slow down.", TimeSpan.FromMilliseconds(1500));

        Assert.Equal(TimeSpan.FromMilliseconds(1500), error.RetryDelay());
        Assert.True(CampaignsRetry.IsTransient(error));
    }

    [Fact]
    public void A_partner_drop_cap_refusal_carries_its_retry_delay_and_is_left_to_the_caller()
    {
        var error = Refusal(StatusCode.ResourceExhausted, "PARTNER_DROP_CAP_REACHED", "Next minute.", TimeSpan.FromSeconds(37));

        Assert.Equal(TimeSpan.FromSeconds(37), error.RetryDelay());
        Assert.False(CampaignsRetry.IsTransient(error));
    }

    [Fact]
    public void Errors_are_told_apart_by_their_details_however_often_the_same_details_come()
    {
        for (var round = 0; round < 3; round++)
        {
            // The same message with another reason, and the same reason with another message.
            Assert.Equal("SOLD_OUT", Refusal(StatusCode.ResourceExhausted, "SOLD_OUT", "Nothing left.").Reason());
            Assert.Equal("BUDGET_EXHAUSTED", Refusal(StatusCode.ResourceExhausted, "BUDGET_EXHAUSTED", "Nothing left.").Reason());
            Assert.Equal("Spent.", Refusal(StatusCode.ResourceExhausted, "SOLD_OUT", "Spent.").ErrorMessage());
        }

        // Each delay is the call's own.
        Assert.Equal(TimeSpan.FromSeconds(1), Refusal(StatusCode.ResourceExhausted, "RATE_LIMITED", "Slow down.", TimeSpan.FromSeconds(1)).RetryDelay());
        Assert.Equal(TimeSpan.FromSeconds(2), Refusal(StatusCode.ResourceExhausted, "RATE_LIMITED", "Slow down.", TimeSpan.FromSeconds(2)).RetryDelay());
    }

    [Fact]
    public void The_error_info_handed_out_is_the_callers_own()
    {
        var error = Refusal(StatusCode.ResourceExhausted, "SOLD_OUT", "Nothing left.");
        Assert.Equal("SOLD_OUT", error.Reason());

        error.ErrorInfo()!.Reason = "CHANGED";

        Assert.Equal("SOLD_OUT", error.ErrorInfo()!.Reason);
        Assert.Equal("SOLD_OUT", Refusal(StatusCode.ResourceExhausted, "SOLD_OUT", "Nothing left.").Reason());
    }

    [Fact]
    public void A_garbled_details_trailer_leaves_the_status_to_speak()
    {
        var error = new RpcException(
            new Grpc.Core.Status(StatusCode.ResourceExhausted, "No stock."),
            new Metadata { { "grpc-status-details-bin", new byte[] { 0xFF, 0x01, 0x02 } } });

        Assert.Equal("RESOURCE_EXHAUSTED", error.Reason());
        Assert.Equal("No stock.", error.ErrorMessage());
        Assert.Null(error.ErrorInfo());
        Assert.Null(error.RetryDelay());
    }

    [Theory]
    [InlineData(StatusCode.Unavailable, "UNAVAILABLE", true)]
    [InlineData(StatusCode.DeadlineExceeded, "", true)]
    [InlineData(StatusCode.ResourceExhausted, "RATE_LIMITED", true)]
    [InlineData(StatusCode.ResourceExhausted, "SOLD_OUT", false)]
    [InlineData(StatusCode.ResourceExhausted, "USER_LIMIT_REACHED", false)]
    [InlineData(StatusCode.InvalidArgument, "INVALID_ARGUMENT", false)]
    [InlineData(StatusCode.FailedPrecondition, "IDEMPOTENCY_KEY_REUSED", false)]
    [InlineData(StatusCode.Internal, "", false)]
    public void Only_failures_another_attempt_may_cure_are_transient(StatusCode code, string reason, bool transient) =>
        Assert.Equal(transient, CampaignsRetry.IsTransient(Refusal(code, reason, "x")));
}
