using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Campaigns.Client;

/// <summary>Gives each attempt of a unary call a deadline, unless the caller set one.</summary>
/// <remarks>
/// It sits inside <see cref="RetryInterceptor"/>, so every attempt gets a fresh deadline: a retry
/// after <c>DEADLINE_EXCEEDED</c> would be pointless under one deadline shared by all attempts.
/// Streaming calls are left alone: a watch runs until its caller cancels it.
/// </remarks>
public sealed class DeadlineInterceptor(TimeSpan deadline, TimeProvider? timeProvider = null) : Interceptor
{
    private readonly TimeProvider clock = timeProvider ?? TimeProvider.System;

    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(
        TRequest request, ClientInterceptorContext<TRequest, TResponse> context,
        AsyncUnaryCallContinuation<TRequest, TResponse> continuation) =>
        continuation(request, WithDeadline(context));

    public override TResponse BlockingUnaryCall<TRequest, TResponse>(
        TRequest request, ClientInterceptorContext<TRequest, TResponse> context,
        BlockingUnaryCallContinuation<TRequest, TResponse> continuation) =>
        continuation(request, WithDeadline(context));

    private ClientInterceptorContext<TRequest, TResponse> WithDeadline<TRequest, TResponse>(
        ClientInterceptorContext<TRequest, TResponse> context)
        where TRequest : class
        where TResponse : class
    {
        if (context.Options.Deadline is not null || deadline == Timeout.InfiniteTimeSpan || deadline <= TimeSpan.Zero)
        {
            return context;
        }

        var at = clock.GetUtcNow().UtcDateTime + deadline;
        return new ClientInterceptorContext<TRequest, TResponse>(
            context.Method, context.Host, context.Options.WithDeadline(at));
    }
}
