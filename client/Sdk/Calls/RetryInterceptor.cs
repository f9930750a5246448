using Grpc.Core;
using Grpc.Core.Interceptors;
using Polly;

namespace Campaigns.Client;

/// <summary>
/// Retries unary calls that failed transiently (see <see cref="CampaignsRetry.IsTransient"/>),
/// re-sending the same request object, hence the same idempotency key. Streaming calls are not
/// retried: a half-consumed stream cannot be replayed transparently.
/// </summary>
public sealed class RetryInterceptor(ResiliencePipeline pipeline) : Interceptor
{
    public RetryInterceptor(CampaignsClientOptions options)
        : this(CampaignsRetry.CreatePipeline(options))
    {
    }

    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(
        TRequest request, ClientInterceptorContext<TRequest, TResponse> context,
        AsyncUnaryCallContinuation<TRequest, TResponse> continuation)
    {
        var call = new RetriedUnaryCall<TRequest, TResponse>(pipeline, request, context, continuation);
        return call.Start();
    }

    public override TResponse BlockingUnaryCall<TRequest, TResponse>(
        TRequest request, ClientInterceptorContext<TRequest, TResponse> context,
        BlockingUnaryCallContinuation<TRequest, TResponse> continuation)
    {
        var resilience = ResilienceContextPool.Shared.Get(context.Method.FullName, context.Options.CancellationToken);
        resilience.Properties.Set(CampaignsRetry.CallerDeadline, context.Options.Deadline);
        try
        {
            return pipeline.Execute(
                static (_, state) => state.continuation(state.request, state.context),
                resilience,
                (request, context, continuation));
        }
        finally
        {
            ResilienceContextPool.Shared.Return(resilience);
        }
    }

    /// <summary>One logical unary call made of one or more attempts; exposes the last attempt's status.</summary>
    private sealed class RetriedUnaryCall<TRequest, TResponse>(
        ResiliencePipeline pipeline,
        TRequest request,
        ClientInterceptorContext<TRequest, TResponse> context,
        AsyncUnaryCallContinuation<TRequest, TResponse> continuation)
        where TRequest : class
        where TResponse : class
    {
        // Cancelled when the caller disposes the call: stops the attempt in flight and any back-off.
        private readonly CancellationTokenSource cancellation =
            CancellationTokenSource.CreateLinkedTokenSource(context.Options.CancellationToken);

        private AsyncUnaryCall<TResponse>? attempt;

        public AsyncUnaryCall<TResponse> Start()
        {
            var response = RunAsync();
            return new AsyncUnaryCall<TResponse>(
                response,
                HeadersAsync(response),
                () => Volatile.Read(ref attempt)?.GetStatus() ?? new Status(StatusCode.Cancelled, "No attempt was made."),
                () => Volatile.Read(ref attempt)?.GetTrailers() ?? [],
                Dispose);
        }

        private async Task<TResponse> RunAsync()
        {
            var token = cancellation.Token;
            var attemptContext = new ClientInterceptorContext<TRequest, TResponse>(
                context.Method, context.Host, context.Options.WithCancellationToken(token));
            var resilience = ResilienceContextPool.Shared.Get(context.Method.FullName, token);
            resilience.Properties.Set(CampaignsRetry.CallerDeadline, context.Options.Deadline);
            try
            {
                // Attempts report failures as outcomes, not exceptions: a refusal (SOLD_OUT in a
                // flash crowd) is an ordinary answer, and each rethrow of it costs real CPU.
                var outcome = await pipeline.ExecuteOutcomeAsync(
                    static async (_, self) =>
                    {
                        var call = self.continuation(self.request, self.attemptContext);
                        Interlocked.Exchange(ref self.owner.attempt, call)?.Dispose();
                        var response = call.ResponseAsync;
                        await ((Task)response).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                        return response.IsCompletedSuccessfully
                            ? Outcome.FromResult(response.Result)
                            : Outcome.FromException<TResponse>(response.Exception?.InnerException ?? new TaskCanceledException(response));
                    },
                    resilience,
                    (owner: this, request, attemptContext, continuation)).ConfigureAwait(false);
                if (outcome.Exception is OperationCanceledException && token.IsCancellationRequested)
                {
                    // Cancelled during a back-off: report it the way gRPC reports any cancelled call.
                    throw new RpcException(new Status(StatusCode.Cancelled, "The call was cancelled while waiting to retry."));
                }

                outcome.ThrowIfException();
                return outcome.Result!;
            }
            finally
            {
                ResilienceContextPool.Shared.Return(resilience);
                cancellation.Dispose();
            }
        }

        private async Task<Metadata> HeadersAsync(Task<TResponse> response)
        {
            // Only the final attempt's headers mean anything, and which attempt is final is known at
            // the end. The headers of a failed call are still worth returning.
            await ((Task)response).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);

            var last = Volatile.Read(ref attempt);
            return last is null ? [] : await last.ResponseHeadersAsync.ConfigureAwait(false);
        }

        private void Dispose()
        {
            try
            {
                cancellation.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // The call had already finished.
            }

            Volatile.Read(ref attempt)?.Dispose();
        }
    }
}
