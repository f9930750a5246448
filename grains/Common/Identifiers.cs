using System.Buffers.Text;
using System.Security.Cryptography;

namespace Campaigns.Grains.Common;

/// <summary>Rules for the ids callers choose (campaign, merchant, user, request and order ids).</summary>
public static class Identifiers
{
    public const int MaxIdLength = 64;
    public const int MaxKeyLength = 128;

    /// <summary>Campaign and merchant ids: letters, digits, '-', '_' and '.', 1-64 characters.</summary>
    public static void RequireName(string field, string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            throw CampaignsException.Invalid(field, "is required");
        }

        if (value.Length > MaxIdLength || !value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
        {
            throw CampaignsException.Invalid(field, $"must be 1-{MaxIdLength} letters, digits, '-', '_' or '.'");
        }
    }

    /// <summary>User ids and idempotency keys: 1-128 printable characters, no spaces at the ends.</summary>
    public static void RequireKey(string field, string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            throw CampaignsException.Invalid(field, "is required");
        }

        if (value.Length > MaxKeyLength || value.Any(char.IsControl) || value.Trim().Length != value.Length)
        {
            throw CampaignsException.Invalid(field, $"must be 1-{MaxKeyLength} printable characters without leading or trailing spaces");
        }
    }

    /// <summary>A random id with a readable prefix, e.g. <c>cmp_k3x9…</c>.</summary>
    public static string NewId(string prefix) =>
        prefix + "_" + Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(12)).Replace('-', 'x').Replace('_', 'z');
}
