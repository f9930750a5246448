using System.Security.Cryptography;
using System.Text;
using Campaigns.Proto.Callbacks;

namespace Campaigns.Client.Events;

/// <summary>
/// Checks an event callback's <c>Campaigns-Signature</c> header before trusting its body: the
/// HMAC-SHA256 of "&lt;t&gt;.&lt;body&gt;" with the subscription's secret must match, and t must be
/// within <c>tolerance</c> of now (a replayed old delivery fails). Pass the body exactly as
/// received, before any JSON parsing. During a secret rotation, try the new secret, then the old.
/// </summary>
public static class CampaignsSignature
{
    public const string HeaderName = CallbackSignature.HeaderName;

    public static readonly TimeSpan DefaultTolerance = TimeSpan.FromMinutes(5);

    public static bool Verify(string? header, ReadOnlySpan<byte> body, string secret, TimeSpan tolerance) =>
        Verify(header, body, secret, tolerance, DateTimeOffset.UtcNow);

    public static bool Verify(string? header, string body, string secret, TimeSpan tolerance) =>
        Verify(header, Encoding.UTF8.GetBytes(body), secret, tolerance, DateTimeOffset.UtcNow);

    /// <param name="now">The receiver's clock (a parameter so it can be tested).</param>
    public static bool Verify(string? header, ReadOnlySpan<byte> body, string secret, TimeSpan tolerance, DateTimeOffset now)
    {
        if (!CallbackSignature.TryParse(header, out var seconds, out var signatures)
            || Math.Abs(now.ToUnixTimeSeconds() - seconds) > tolerance.TotalSeconds)
        {
            return false;
        }

        var expected = Encoding.ASCII.GetBytes(CallbackSignature.Hex(secret, seconds, body));
        // Fixed time: how much of a guess matched must not show in how long the check takes.
        return signatures.Any(s => CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(s), expected));
    }
}
