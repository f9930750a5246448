using System.Diagnostics;
using Campaigns.Client;
using Campaigns.Proto;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Campaigns.Tests.Client;

public sealed class RetryInterceptorTests
{
    private static readonly IssueVoucherResponse Issued = new() { Voucher = new Voucher { Code = "V1" } };

    private static CampaignsClientOptions Fast(int maxRetries = 4, List<RetryAttempt>? retries = null) => new()
    {
        ApiKey = "partner-secret",
        MaxRetries = maxRetries,
        RetryBaseDelay = TimeSpan.FromMilliseconds(1),
        RetryMaxDelay = TimeSpan.FromMilliseconds(5),
        OnRetry = retries is null ? null : retries.Add,
    };

    /// <summary>The interceptors in the order <see cref="CampaignsClient"/> stacks them.</summary>
    private static Vouchers.VouchersClient Client(CallInvoker invoker, CampaignsClientOptions options) =>
        new(invoker.Intercept(
            new RetryInterceptor(options),
            new DeadlineInterceptor(options.Deadline),
            new ApiKeyInterceptor(options.ApiKey)));

    private static IssueVoucherRequest Claim() => new() { CampaignId = "spring", UserId = "u-1", RequestId = "claim-42" };

    [Fact]
    public async Task Unavailable_is_retried_with_the_same_request_and_idempotency_key()
    {
        var invoker = new FlakyInvoker(i => i <= 2 ? Fail(StatusCode.Unavailable) : Issued);
        var retries = new List<RetryAttempt>();
        var request = Claim();

        var response = await Client(invoker, Fast(retries: retries)).IssueVoucherAsync(request);

        Assert.Equal("V1", response.Voucher.Code);
        Assert.Equal(3, invoker.Calls.Count);
        Assert.All(invoker.Calls, call => Assert.Same(request, call.Request));
        Assert.All(invoker.Calls, call => Assert.Equal("claim-42", ((IssueVoucherRequest)call.Request).RequestId));
        Assert.Equal([2, 3], retries.Select(r => r.NextAttempt));
        Assert.All(retries, r => Assert.Equal("/campaigns.v1.Vouchers/IssueVoucher", r.Method));
    }

    [Fact]
    public async Task Invalid_argument_is_not_retried()
    {
        var invoker = new FlakyInvoker(_ => Fail(StatusCode.InvalidArgument, "INVALID_ARGUMENT"));

        var error = await Assert.ThrowsAsync<RpcException>(() => Client(invoker, Fast()).IssueVoucherAsync(Claim()).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal("INVALID_ARGUMENT", error.Reason());
        Assert.Single(invoker.Calls);
    }

    [Fact]
    public async Task Sold_out_is_final_but_rate_limited_is_retried_after_the_servers_delay()
    {
        var soldOut = new FlakyInvoker(_ => Fail(StatusCode.ResourceExhausted, "SOLD_OUT"));
        await Assert.ThrowsAsync<RpcException>(() => Client(soldOut, Fast()).IssueVoucherAsync(Claim()).ResponseAsync);
        Assert.Single(soldOut.Calls);

        var retries = new List<RetryAttempt>();
        var limited = new FlakyInvoker(i => i == 1 ? Fail(StatusCode.ResourceExhausted, "RATE_LIMITED", TimeSpan.FromMilliseconds(120)) : Issued);
        var clock = Stopwatch.StartNew();

        await Client(limited, Fast(retries: retries)).IssueVoucherAsync(Claim());

        Assert.Equal(2, limited.Calls.Count);
        Assert.Equal(TimeSpan.FromMilliseconds(120), Assert.Single(retries).Delay);
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(100), $"retried after {clock.Elapsed}");
    }

    [Fact]
    public async Task Retrying_gives_up_after_max_retries_with_the_last_error()
    {
        var invoker = new FlakyInvoker(_ => Fail(StatusCode.Unavailable));

        var error = await Assert.ThrowsAsync<RpcException>(() => Client(invoker, Fast(maxRetries: 2)).IssueVoucherAsync(Claim()).ResponseAsync);

        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
        Assert.Equal(3, invoker.Calls.Count);
    }

    [Fact]
    public async Task No_retries_means_one_attempt()
    {
        var invoker = new FlakyInvoker(_ => Fail(StatusCode.Unavailable));

        await Assert.ThrowsAsync<RpcException>(() => Client(invoker, Fast(maxRetries: 0)).IssueVoucherAsync(Claim()).ResponseAsync);

        Assert.Single(invoker.Calls);
    }

    [Fact]
    public async Task Every_attempt_carries_the_api_key_once_and_a_fresh_deadline()
    {
        var invoker = new FlakyInvoker(i => i == 1 ? Fail(StatusCode.DeadlineExceeded) : Issued);
        var callerHeaders = new Metadata { { "x-trace", "t-1" } };

        await Client(invoker, Fast()).IssueVoucherAsync(Claim(), headers: callerHeaders);

        Assert.Equal(2, invoker.Calls.Count);
        foreach (var (_, options) in invoker.Calls)
        {
            Assert.Equal(["Bearer partner-secret"], options.Headers!.Where(h => h.Key == "authorization").Select(h => h.Value));
            Assert.Equal("t-1", options.Headers!.GetValue("x-trace"));
            Assert.NotNull(options.Deadline);
        }

        Assert.True(invoker.Calls[1].Options.Deadline >= invoker.Calls[0].Options.Deadline);
        Assert.Single(callerHeaders);
    }

    [Fact]
    public async Task A_deadline_the_caller_set_is_kept_and_not_retried_once_past()
    {
        var invoker = new FlakyInvoker(_ => Fail(StatusCode.DeadlineExceeded));
        var deadline = DateTime.UtcNow.AddMilliseconds(-1);

        await Assert.ThrowsAsync<RpcException>(() => Client(invoker, Fast()).IssueVoucherAsync(Claim(), deadline: deadline).ResponseAsync);

        Assert.Equal(deadline, Assert.Single(invoker.Calls).Options.Deadline);
    }

    [Fact]
    public async Task Cancelling_stops_the_retries()
    {
        var invoker = new FlakyInvoker(_ => Fail(StatusCode.Unavailable));
        var options = Fast(maxRetries: 10);
        options.RetryBaseDelay = TimeSpan.FromSeconds(5);
        options.RetryMaxDelay = TimeSpan.FromSeconds(5);
        using var cancellation = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));

        var error = await Assert.ThrowsAsync<RpcException>(
            () => Client(invoker, options).IssueVoucherAsync(Claim(), cancellationToken: cancellation.Token).ResponseAsync);

        Assert.Equal(StatusCode.Cancelled, error.StatusCode);
        Assert.Single(invoker.Calls);
    }

    [Fact]
    public void Blocking_calls_are_retried_too()
    {
        var invoker = new FlakyInvoker(i => i == 1 ? Fail(StatusCode.Unavailable) : Issued);
        var request = Claim();

        Assert.Equal("V1", Client(invoker, Fast()).IssueVoucher(request).Voucher.Code);
        Assert.Equal(2, invoker.Calls.Count);
        Assert.All(invoker.Calls, call => Assert.Same(request, call.Request));
    }

    private static RpcException Fail(StatusCode code, string reason = "", TimeSpan? retryAfter = null) =>
        reason.Length == 0 ? new RpcException(new Grpc.Core.Status(code, "injected")) : CampaignsErrorTests.Refusal(code, reason, "injected", retryAfter);

    /// <summary>
    /// A channel stand-in: the n-th unary call (from 1) gets <c>outcome(n)</c>, a response or an
    /// <see cref="RpcException"/>. Records each call's request object and options.
    /// </summary>
    private sealed class FlakyInvoker(Func<int, object> outcome) : CallInvoker
    {
        public List<(object Request, CallOptions Options)> Calls { get; } = [];

        public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(
            Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request)
        {
            lock (Calls)
            {
                Calls.Add((request, options));
            }

            var result = outcome(Calls.Count);
            var status = result is RpcException failed ? failed.Status : Grpc.Core.Status.DefaultSuccess;
            var trailers = result is RpcException withTrailers ? withTrailers.Trailers : [];
            var response = result is RpcException error ? Task.FromException<TResponse>(error) : Task.FromResult((TResponse)result);
            return new AsyncUnaryCall<TResponse>(response, Task.FromResult(new Metadata()), () => status, () => trailers, () => { });
        }

        public override TResponse BlockingUnaryCall<TRequest, TResponse>(
            Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request) =>
            AsyncUnaryCall(method, host, options, request).ResponseAsync.GetAwaiter().GetResult();

        public override AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(
            Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request) =>
            throw new NotSupportedException();

        public override AsyncClientStreamingCall<TRequest, TResponse> AsyncClientStreamingCall<TRequest, TResponse>(
            Method<TRequest, TResponse> method, string? host, CallOptions options) =>
            throw new NotSupportedException();

        public override AsyncDuplexStreamingCall<TRequest, TResponse> AsyncDuplexStreamingCall<TRequest, TResponse>(
            Method<TRequest, TResponse> method, string? host, CallOptions options) =>
            throw new NotSupportedException();
    }
}
