using System.Collections.Concurrent;
using Google.Protobuf;
using Google.Rpc;
using Grpc.Core;

namespace Campaigns.Client;

/// <summary>
/// What the SDK reads from an error's rich status (the <c>grpc-status-details-bin</c> trailer),
/// parsed once per distinct trailer: in a flash crowd a partner's servers read the same
/// <c>SOLD_OUT</c> details thousands of times a second, and parsing them each time cost more
/// than the rest of reading the refusal.
/// </summary>
internal sealed record ErrorDetails(string? Reason, string? Message, TimeSpan? RetryDelay)
{
    private const string Trailer = "grpc-status-details-bin";

    // Enough for every reason and message a service sends alike; details naming a delay differ
    // from one call to the next and are never kept.
    private const int MaxKept = 256;

    private static readonly ErrorDetails None = new(null, null, null);
    private static readonly ConcurrentDictionary<byte[], ErrorDetails> Kept = new(ContentComparer.Instance);

    // Counted apart: ConcurrentDictionary.Count takes every one of its locks.
    private static int _kept;

    /// <summary>The error's details; all null when it carries none or they cannot be read.</summary>
    public static ErrorDetails Of(RpcException error)
    {
        if (error.Trailers.GetValueBytes(Trailer) is not { } trailer)
        {
            return None;
        }

        if (Kept.TryGetValue(trailer, out var known))
        {
            return known;
        }

        var details = Parse(trailer);
        if (details.RetryDelay is null && Volatile.Read(ref _kept) < MaxKept && Kept.TryAdd(trailer, details))
        {
            Interlocked.Increment(ref _kept);
        }

        return details;
    }

    /// <summary>The rich status itself, parsed afresh (the caller gets an object of its own); null when unreadable.</summary>
    public static Google.Rpc.Status? StatusOf(RpcException error)
    {
        try
        {
            return error.GetRpcStatus();
        }
        catch (InvalidProtocolBufferException)
        {
            // A garbled details trailer must not hide the error it came with.
            return null;
        }
    }

    private static ErrorDetails Parse(byte[] trailer)
    {
        try
        {
            var status = Google.Rpc.Status.Parser.ParseFrom(trailer);
            return new ErrorDetails(status.GetDetail<ErrorInfo>()?.Reason, status.Message, status.GetDetail<RetryInfo>()?.RetryDelay?.ToTimeSpan());
        }
        catch (InvalidProtocolBufferException)
        {
            return None;
        }
    }

    /// <summary>Trailers compared by their bytes.</summary>
    private sealed class ContentComparer : IEqualityComparer<byte[]>
    {
        public static readonly ContentComparer Instance = new();

        public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode(byte[] bytes)
        {
            var hash = new HashCode();
            hash.AddBytes(bytes);
            return hash.ToHashCode();
        }
    }
}
