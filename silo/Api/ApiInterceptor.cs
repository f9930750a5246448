using System.Data.Common;
using Campaigns.Grains.Common;
using Campaigns.Grains.Ledger;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Campaigns.Silo.Api;

/// <summary>
/// The one interceptor every call passes: it authorizes the call (<see cref="CallAuthorizer"/>),
/// runs it, and makes every failure leave as the API's error model. Refusals keep their reason;
/// storage and cluster faults are UNAVAILABLE (safe to retry with the same idempotency key);
/// anything else is INTERNAL, logged, and never a crash.
/// </summary>
/// <remarks>
/// A unary call's failure never travels as an exception past this point: it is answered with
/// <see cref="ApiErrors.Answer{TResponse}"/>. In a flash crowd most answers are refusals
/// (SOLD_OUT), and every <c>await</c> of a faulted task throws it again: with separate auth and
/// error interceptors a refusal was thrown nine times on its way out, and exception dispatch was
/// a quarter of the silo's CPU for sold-out claims.
/// </remarks>
public sealed class ApiInterceptor(CallAuthorizer authorizer, ApiMetrics metrics, ILogger<ApiInterceptor> logger) : Interceptor
{
    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        // Everything logged while serving the call, down through the grains, carries its scope.
        using var scope = logger.BeginScope(new CallScope(context, request));
        Task<TResponse> call;
        try
        {
            var authorized = authorizer.AuthorizeAsync(context, request);
            call = authorized.IsCompletedSuccessfully
                ? continuation(request, context)
                : AfterAuthorizationAsync(authorized, request, context, continuation);
        }
        catch (Exception ex)
        {
            call = Task.FromResult(AnswerWith<TResponse>(ex, context));
        }

        var answered = call.IsCompletedSuccessfully ? call : AnswerFailure(call, context);
        return ApiMetrics.Counts(context.Method) ? CountedAsync(answered, request, context) : answered;
    }

    /// <summary>The answer, once counted (<see cref="ApiMetrics"/>); it never fails, failures being answered.</summary>
    private async Task<TResponse> CountedAsync<TResponse>(Task<TResponse> answered, object request, ServerCallContext context)
    {
        var response = await answered;
        metrics.Record(context, request, response!);
        return response;
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        using var scope = logger.BeginScope(new CallScope(context, request));
        try
        {
            await authorizer.AuthorizeAsync(context, request: null);
            await continuation(request, responseStream, context);
        }
        catch (Exception ex) when (Translate(ex, context) is var rpc && !ReferenceEquals(rpc, ex))
        {
            throw rpc;
        }
    }

    private static async Task<TResponse> AfterAuthorizationAsync<TRequest, TResponse>(
        ValueTask authorized, TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
        where TRequest : class
        where TResponse : class
    {
        await authorized;
        return await continuation(request, context);
    }

    /// <summary>The same outcome, with a failure answered as its API error instead of thrown again.</summary>
    private Task<TResponse> AnswerFailure<TResponse>(Task<TResponse> call, ServerCallContext context)
        where TResponse : class =>
        call.ContinueWith(
            static (done, state) =>
            {
                if (done.IsCompletedSuccessfully)
                {
                    return done.Result;
                }

                var (self, context) = ((ApiInterceptor, ServerCallContext))state!;
                return self.AnswerWith<TResponse>(done.Exception?.InnerException ?? new TaskCanceledException(done), context);
            },
            (this, context),
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);

    /// <summary>Ends a unary call with the API error of <paramref name="failure"/>, without throwing it.</summary>
    private TResponse AnswerWith<TResponse>(Exception failure, ServerCallContext context)
        where TResponse : class =>
        failure is CampaignsException refusal
            ? ApiErrors.Refuse<TResponse>(context, refusal.Code, refusal.Message)
            : ApiErrors.Answer<TResponse>(context, Translate(failure, context));

    /// <summary>The API error a failure leaves as; an <see cref="RpcException"/> is one already.</summary>
    private RpcException Translate(Exception ex, ServerCallContext context)
    {
        switch (ex)
        {
            case RpcException rpc:
                return rpc;
            case CampaignsException refusal:
                return ApiErrors.ToRpcException(refusal);
            case OperationCanceledException when context.CancellationToken.IsCancellationRequested:
                return new RpcException(new Status(StatusCode.Cancelled, "the call was cancelled"));
            case LedgerUnavailableException or LedgerFencedException or DbException or TimeoutException or OrleansException or IOException:
                logger.LogWarning(ex, "{Method}: transient failure", context.Method);
                return ApiErrors.ToRpcException(Refusal.Unavailable, "the service is briefly unavailable; retry with the same idempotency key");
            default:
                logger.LogError(ex, "{Method}: unexpected failure", context.Method);
                return new RpcException(new Status(StatusCode.Internal, "internal error; the request may be retried with the same idempotency key"));
        }
    }
}
