using Campaigns.Proto;
using Google.Rpc;
using Grpc.Core;

namespace Campaigns.Client;

/// <summary>
/// A failed call as the contract describes it: the gRPC status code, the <c>google.rpc.ErrorInfo</c>
/// reason (e.g. <c>SOLD_OUT</c>) and the readable message.
/// </summary>
/// <param name="Code">The gRPC status code.</param>
/// <param name="Reason">The ErrorInfo reason, or the status code's name (e.g. <c>UNAVAILABLE</c>) when the server sent none.</param>
/// <param name="Message">The readable explanation.</param>
/// <param name="RetryDelay">When the server asked the caller to come back later, how much later.</param>
public sealed record CampaignsError(StatusCode Code, string Reason, string Message, TimeSpan? RetryDelay)
{
    /// <summary>The ErrorInfo domain of every error this service raises.</summary>
    public const string Domain = "campaigns.v1";

    /// <summary>Reads a failed call.</summary>
    public static CampaignsError From(RpcException error) =>
        new(error.StatusCode, error.Reason(), error.ErrorMessage(), error.RetryDelay());

    /// <summary>True when another attempt with the same idempotency key may succeed.</summary>
    public bool IsTransient => Code switch
    {
        StatusCode.Unavailable or StatusCode.DeadlineExceeded => true,
        // Not PARTNER_DROP_CAP_REACHED: its delay runs to the next minute, too long to hold a call for.
        StatusCode.ResourceExhausted => Reason == "RATE_LIMITED",
        _ => false,
    };

    /// <summary><c>REASON: message</c>.</summary>
    public override string ToString() => Message.Length == 0 ? Reason : $"{Reason}: {Message}";
}

/// <summary>Reads the contract's error details from an <see cref="RpcException"/>.</summary>
public static class CampaignsErrorExtensions
{
    /// <summary>
    /// The ErrorInfo reason, e.g. <c>SOLD_OUT</c>; without an ErrorInfo detail (a proxy, a refused
    /// connection), the status code in the same style, e.g. <c>UNAVAILABLE</c>.
    /// </summary>
    public static string Reason(this RpcException error)
    {
        var reason = ErrorDetails.Of(error).Reason;
        return string.IsNullOrEmpty(reason) ? StatusCodeName(error.StatusCode) : reason;
    }

    /// <summary>True when the error's reason is <paramref name="reason"/>.</summary>
    public static bool Is(this RpcException error, ErrorReason reason) =>
        error.Reason() == EnumText.Display(reason);

    /// <summary>The readable message: the rich status's message, else the plain status detail.</summary>
    public static string ErrorMessage(this RpcException error)
    {
        var message = ErrorDetails.Of(error).Message;
        return string.IsNullOrEmpty(message) ? error.Status.Detail : message;
    }

    /// <summary>The <c>google.rpc.ErrorInfo</c> detail, if the server sent one.</summary>
    public static ErrorInfo? ErrorInfo(this RpcException error) => ErrorDetails.StatusOf(error)?.GetDetail<ErrorInfo>();

    /// <summary>The <c>google.rpc.RetryInfo</c> delay (sent with <c>RATE_LIMITED</c> and <c>PARTNER_DROP_CAP_REACHED</c>), if any.</summary>
    public static TimeSpan? RetryDelay(this RpcException error) => ErrorDetails.Of(error).RetryDelay;

    /// <summary>The error as a <see cref="CampaignsError"/>.</summary>
    public static CampaignsError ToCampaignsError(this RpcException error) => CampaignsError.From(error);

    /// <summary><c>DeadlineExceeded</c> → <c>DEADLINE_EXCEEDED</c>.</summary>
    public static string StatusCodeName(StatusCode code)
    {
        var name = code.ToString();
        var builder = new System.Text.StringBuilder(name.Length + 4);
        for (var i = 0; i < name.Length; i++)
        {
            if (i > 0 && char.IsUpper(name[i]))
            {
                builder.Append('_');
            }

            builder.Append(char.ToUpperInvariant(name[i]));
        }

        return builder.ToString();
    }
}
