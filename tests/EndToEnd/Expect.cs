using Campaigns.Client;
using Grpc.Core;

namespace Campaigns.Tests.EndToEnd;

/// <summary>
/// Assertions on the API's error model as a partner sees it on the wire: the gRPC status code,
/// the google.rpc.ErrorInfo reason, and the domain "campaigns.v1".
/// </summary>
internal static class Expect
{
    public static async Task<RpcException> RefusedAsync(StatusCode code, string reason, Func<Task> call)
    {
        var error = await Assert.ThrowsAsync<RpcException>(call);
        Assert.True(code == error.StatusCode && reason == error.Reason(),
            $"expected {code}/{reason}, got {error.StatusCode}/{error.Reason()}: {error.ErrorMessage()}");
        var info = error.ErrorInfo();
        Assert.NotNull(info);
        Assert.Equal(CampaignsError.Domain, info.Domain);
        Assert.False(string.IsNullOrWhiteSpace(error.ErrorMessage()), "a refusal carries a readable message");
        return error;
    }

    public static Task<RpcException> RefusedAsync<T>(StatusCode code, string reason, Func<AsyncUnaryCall<T>> call) =>
        RefusedAsync(code, reason, async () => await call());

    /// <summary>INVALID_ARGUMENT whose message names <paramref name="field"/>.</summary>
    public static async Task<RpcException> InvalidAsync(string field, Func<Task> call)
    {
        var error = await RefusedAsync(StatusCode.InvalidArgument, "INVALID_ARGUMENT", call);
        Assert.Contains(field, error.ErrorMessage(), StringComparison.Ordinal);
        return error;
    }

    public static Task<RpcException> InvalidAsync<T>(string field, Func<AsyncUnaryCall<T>> call) =>
        InvalidAsync(field, async () => await call());

    /// <summary>A server stream that must fail before yielding anything.</summary>
    public static Func<Task> Drain<T>(IAsyncEnumerable<T> stream) => async () =>
    {
        await foreach (var item in stream)
        {
            Assert.Fail($"the stream yielded {item} before failing");
        }
    };
}
