using Grpc.Core;
using Polly;
using Polly.Retry;

namespace Campaigns.Client;

/// <summary>Which failures are worth another attempt, and the Polly pipeline that makes them.</summary>
/// <remarks>
/// Retrying is safe only because a retry re-sends the very same request: every mutating call carries
/// the caller's idempotency key (request_id, order_id, refund_id), so a repeat returns the first
/// result instead of issuing or redeeming twice.
/// </remarks>
public static class CampaignsRetry
{
    /// <summary>
    /// The caller's own deadline, when it set one: past it, a further attempt cannot succeed.
    /// </summary>
    internal static readonly ResiliencePropertyKey<DateTime?> CallerDeadline = new("campaigns.caller-deadline");

    /// <summary>
    /// True for failures another attempt may cure: <c>UNAVAILABLE</c>, <c>DEADLINE_EXCEEDED</c>, and
    /// <c>RESOURCE_EXHAUSTED</c> only when the reason is <c>RATE_LIMITED</c> (sold out stays sold out).
    /// </summary>
    public static bool IsTransient(RpcException error) => CampaignsError.From(error).IsTransient;

    /// <summary>Builds the retry pipeline the <see cref="RetryInterceptor"/> runs unary calls in.</summary>
    public static ResiliencePipeline CreatePipeline(CampaignsClientOptions options)
    {
        if (options.MaxRetries <= 0)
        {
            return ResiliencePipeline.Empty;
        }

        var onRetry = options.OnRetry;
        return new ResiliencePipelineBuilder()
            .AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = options.MaxRetries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.RetryBaseDelay,
                MaxDelay = options.RetryMaxDelay,
                ShouldHandle = args => ValueTask.FromResult(
                    args.Outcome.Exception is RpcException error
                    && IsTransient(error)
                    && !CallerDeadlinePassed(args.Context)),
                // A rate-limited refusal says when to come back; earlier would only be refused again.
                DelayGenerator = args => ValueTask.FromResult(
                    args.Outcome.Exception is RpcException error ? error.RetryDelay() : null),
                OnRetry = args =>
                {
                    if (onRetry is not null && args.Outcome.Exception is RpcException error)
                    {
                        onRetry(new RetryAttempt(args.Context.OperationKey ?? "", args.AttemptNumber + 2, args.RetryDelay, error));
                    }

                    return ValueTask.CompletedTask;
                },
            })
            .Build();
    }

    private static bool CallerDeadlinePassed(ResilienceContext context) =>
        context.Properties.TryGetValue(CallerDeadline, out var deadline)
        && deadline is { } at
        && at <= DateTime.UtcNow;
}
