using System.Collections.Concurrent;
using Campaigns.Grains.Common;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;

namespace Campaigns.Silo.Api;

/// <summary>
/// The one place that turns a refusal into the API's error model: a gRPC status code and a
/// google.rpc.ErrorInfo (domain campaigns.v1, reason = the refusal's word) in grpc-status-details-bin.
/// </summary>
public static class ApiErrors
{
    public const string Domain = "campaigns.v1";

    private const int MaxCachedRefusals = 1_024;

    // Entries and statuses are immutable, so one answer serves every call that refuses alike.
    private static readonly ConcurrentDictionary<(Refusal, string), RefusalAnswer> Refusals = new();

    // Counted apart: ConcurrentDictionary.Count takes every one of its locks, on every miss.
    private static int _cachedRefusals;

    public static StatusCode StatusOf(Refusal refusal) => refusal switch
    {
        Refusal.InvalidArgument => StatusCode.InvalidArgument,
        Refusal.MissingApiKey or Refusal.InvalidApiKey => StatusCode.Unauthenticated,
        Refusal.WrongRole or Refusal.NotYourMerchant or Refusal.NotYourChannel or Refusal.NotYourCampaign
            or Refusal.UserBlocked => StatusCode.PermissionDenied,
        Refusal.CampaignNotFound or Refusal.VoucherNotFound or Refusal.MerchantNotFound or Refusal.ReservationNotFound
            or Refusal.ApiKeyNotFound or Refusal.SubscriptionNotFound or Refusal.DeliveryNotFound => StatusCode.NotFound,
        Refusal.CampaignExists or Refusal.MerchantExists or Refusal.SubscriptionExists => StatusCode.AlreadyExists,
        Refusal.SoldOut or Refusal.BudgetExhausted or Refusal.UserLimitReached or Refusal.UserDailyLimitReached
            or Refusal.ChannelQuotaExhausted or Refusal.RateLimited or Refusal.DeviceLimitReached or Refusal.PartnerDropCapReached
                => StatusCode.ResourceExhausted,
        Refusal.Unavailable => StatusCode.Unavailable,
        _ => StatusCode.FailedPrecondition,
    };

    public static RpcException ToRpcException(Refusal refusal, string message, TimeSpan? retryAfter = null)
    {
        var status = new Google.Rpc.Status
        {
            Code = (int)StatusOf(refusal),
            Message = message,
            Details = { Any.Pack(new ErrorInfo { Domain = Domain, Reason = refusal.Reason() }) },
        };
        if (retryAfter is { } delay)
        {
            status.Details.Add(Any.Pack(new RetryInfo { RetryDelay = Duration.FromTimeSpan(delay) }));
        }

        return status.ToRpcException();
    }

    public static RpcException ToRpcException(CampaignsException refusal) => ToRpcException(refusal.Code, refusal.Message);

    /// <summary>
    /// Ends a unary call with <paramref name="error"/> without throwing it: the status and trailers
    /// a thrown <see cref="RpcException"/> would have produced, set on the call. The wire then
    /// carries one empty message before the non-OK status, which gRPC clients discard: callers see
    /// exactly the same error. Refusals are the common answer in a flash crowd (SOLD_OUT), and a
    /// thrown one is rethrown at every await on its way out of the gRPC pipeline.
    /// </summary>
    public static TResponse Answer<TResponse>(ServerCallContext context, RpcException error)
        where TResponse : class =>
        Answer<TResponse>(context, error.Status, error.Trailers);

    /// <summary>
    /// Ends a unary call with a refusal, without throwing (see <see cref="Answer{TResponse}"/>).
    /// The status and its encoded details are built once per refusal and message: a sold-out
    /// drop answers the same SOLD_OUT thousands of times a second, and building the details
    /// (a packed ErrorInfo, serialized) was about 5% of the silo's CPU per refusal. A refusal with
    /// a retry delay (one per instant) is built each time.
    /// </summary>
    public static TResponse Refuse<TResponse>(ServerCallContext context, Refusal refusal, string message, TimeSpan? retryAfter = null)
        where TResponse : class
    {
        ApiMetrics.NoteRefusal(context, refusal);
        if (retryAfter is not null)
        {
            return Answer<TResponse>(context, ToRpcException(refusal, message, retryAfter));
        }

        if (!Refusals.TryGetValue((refusal, message), out var answer))
        {
            var error = ToRpcException(refusal, message);
            answer = new RefusalAnswer(error.Status, [.. error.Trailers]);
            // Most messages are fixed phrases; one naming an id is built each time once the cache is full.
            if (Volatile.Read(ref _cachedRefusals) < MaxCachedRefusals && Refusals.TryAdd((refusal, message), answer))
            {
                Interlocked.Increment(ref _cachedRefusals);
            }
        }

        return Answer<TResponse>(context, answer.Status, answer.Trailers);
    }

    private static TResponse Answer<TResponse>(ServerCallContext context, Grpc.Core.Status status, IEnumerable<Metadata.Entry> trailers)
        where TResponse : class
    {
        foreach (var entry in trailers)
        {
            context.ResponseTrailers.Add(entry);
        }

        context.Status = status;
        return EmptyMessage<TResponse>.Instance;
    }

    private sealed record RefusalAnswer(Grpc.Core.Status Status, Metadata.Entry[] Trailers);

    // Never changed after construction, so one instance per message type serves every call.
    private static class EmptyMessage<TResponse>
        where TResponse : class
    {
        public static readonly TResponse Instance = Activator.CreateInstance<TResponse>();
    }
}
