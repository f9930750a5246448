using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Campaigns.Client;

/// <summary>Adds <c>authorization: Bearer &lt;key&gt;</c> to every call, unary and streaming.</summary>
/// <remarks>
/// An interceptor rather than <see cref="CallCredentials"/>: call credentials are refused on an
/// <c>http://</c> channel unless explicitly allowed, and h2c is how the silo is reached.
/// </remarks>
public sealed class ApiKeyInterceptor(string apiKey) : Interceptor
{
    private const string HeaderName = "authorization";

    private readonly string headerValue = "Bearer " + apiKey;

    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(
        TRequest request, ClientInterceptorContext<TRequest, TResponse> context,
        AsyncUnaryCallContinuation<TRequest, TResponse> continuation) =>
        continuation(request, WithKey(context));

    public override TResponse BlockingUnaryCall<TRequest, TResponse>(
        TRequest request, ClientInterceptorContext<TRequest, TResponse> context,
        BlockingUnaryCallContinuation<TRequest, TResponse> continuation) =>
        continuation(request, WithKey(context));

    public override AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(
        TRequest request, ClientInterceptorContext<TRequest, TResponse> context,
        AsyncServerStreamingCallContinuation<TRequest, TResponse> continuation) =>
        continuation(request, WithKey(context));

    public override AsyncClientStreamingCall<TRequest, TResponse> AsyncClientStreamingCall<TRequest, TResponse>(
        ClientInterceptorContext<TRequest, TResponse> context,
        AsyncClientStreamingCallContinuation<TRequest, TResponse> continuation) =>
        continuation(WithKey(context));

    public override AsyncDuplexStreamingCall<TRequest, TResponse> AsyncDuplexStreamingCall<TRequest, TResponse>(
        ClientInterceptorContext<TRequest, TResponse> context,
        AsyncDuplexStreamingCallContinuation<TRequest, TResponse> continuation) =>
        continuation(WithKey(context));

    private ClientInterceptorContext<TRequest, TResponse> WithKey<TRequest, TResponse>(
        ClientInterceptorContext<TRequest, TResponse> context)
        where TRequest : class
        where TResponse : class
    {
        if (apiKey.Length == 0 || context.Options.Headers?.Get(HeaderName) is not null)
        {
            return context;
        }

        // A fresh collection each time: a retried call passes the caller's headers through here
        // once per attempt, and adding to the caller's own collection would repeat the header.
        var headers = new Metadata();
        foreach (var entry in context.Options.Headers ?? [])
        {
            headers.Add(entry);
        }

        headers.Add(HeaderName, headerValue);
        return new ClientInterceptorContext<TRequest, TResponse>(
            context.Method, context.Host, context.Options.WithHeaders(headers));
    }
}
