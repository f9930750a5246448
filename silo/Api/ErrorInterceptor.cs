using System.Data.Common;
using Campaigns.Grains.Common;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Campaigns.Silo.Api;

/// <summary>
/// Outermost interceptor: every failure leaves as the API's error model. Refusals keep their
/// reason; storage and cluster faults are UNAVAILABLE (safe to retry with the same idempotency
/// key); anything else is INTERNAL, logged, and never a crash.
/// </summary>
public sealed class ErrorInterceptor(ILogger<ErrorInterceptor> logger) : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(request, context);
        }
        catch (Exception ex) when (Translate(ex, context) is { } rpc)
        {
            throw rpc;
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(request, responseStream, context);
        }
        catch (Exception ex) when (Translate(ex, context) is { } rpc)
        {
            throw rpc;
        }
    }

    private RpcException? Translate(Exception ex, ServerCallContext context)
    {
        switch (ex)
        {
            case RpcException:
                return null;
            case CampaignsException refusal:
                return ApiErrors.ToRpcException(refusal);
            case OperationCanceledException when context.CancellationToken.IsCancellationRequested:
                return new RpcException(new Status(StatusCode.Cancelled, "the call was cancelled"));
            case DbException or TimeoutException or OrleansException or IOException:
                logger.LogWarning(ex, "{Method}: transient failure", context.Method);
                return ApiErrors.ToRpcException(Refusal.Unavailable, "the service is briefly unavailable; retry with the same idempotency key");
            default:
                logger.LogError(ex, "{Method}: unexpected failure", context.Method);
                return new RpcException(new Status(StatusCode.Internal, "internal error; the request may be retried with the same idempotency key"));
        }
    }
}
