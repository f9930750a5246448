using System.Text.Json;
using System.Text.Json.Nodes;
using Campaigns.Grains.Common;
using Grpc.Core;
using Microsoft.AspNetCore.Grpc.JsonTranscoding;

namespace Campaigns.Silo.Api;

/// <summary>
/// Gives the HTTP/JSON errors that JSON transcoding raises itself (a body that is not JSON, a
/// field of the wrong type) the same <c>google.rpc.ErrorInfo</c> reason as every other error.
/// Such a request never reaches a service or the interceptor, so nothing else can name its reason.
/// </summary>
/// <remarks>
/// Only unary HTTP/JSON calls are buffered (a streamed answer must flow as it is written). HTTP/JSON
/// answers are small, and the flash crowd speaks gRPC.
/// </remarks>
public sealed class JsonErrorReasons(RequestDelegate next)
{
    public async Task InvokeAsync(HttpContext context)
    {
        if (context.GetEndpoint()?.Metadata.GetMetadata<GrpcJsonTranscodingMetadata>() is not { } transcoded
            || transcoded.MethodDescriptor.IsServerStreaming)
        {
            await next(context);
            return;
        }

        var original = context.Response.Body;
        using var buffer = new MemoryStream();
        context.Response.Body = buffer;
        try
        {
            await next(context);
        }
        finally
        {
            context.Response.Body = original;
        }

        if (context.Response.StatusCode == StatusCodes.Status400BadRequest && WithReason(buffer) is { } answered)
        {
            context.Response.ContentLength = answered.Length;
            await original.WriteAsync(answered, context.RequestAborted);
            return;
        }

        buffer.Position = 0;
        await buffer.CopyToAsync(original, context.RequestAborted);
    }

    /// <summary>The error body with an INVALID_ARGUMENT ErrorInfo added, or null when it already names a reason.</summary>
    private static byte[]? WithReason(MemoryStream buffer)
    {
        JsonNode? body;
        try
        {
            body = JsonNode.Parse(buffer.ToArray());
        }
        catch (JsonException)
        {
            return null;
        }

        if (body is not JsonObject error || error["code"]?.GetValue<int>() != (int)StatusCode.InvalidArgument
            || error["details"] is JsonArray { Count: > 0 })
        {
            return null;
        }

        error["details"] = new JsonArray(new JsonObject
        {
            ["@type"] = "type.googleapis.com/google.rpc.ErrorInfo",
            ["reason"] = Refusal.InvalidArgument.Reason(),
            ["domain"] = ApiErrors.Domain,
            ["metadata"] = new JsonObject(),
        });
        return JsonSerializer.SerializeToUtf8Bytes(error);
    }
}
