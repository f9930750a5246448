using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace Campaigns.Grains.Access;

public enum Role
{
    Organiser = 1,
    Partner = 2,
    Merchant = 3,

    /// <summary>An organiser over every organiser's campaigns; the bootstrap key's role.</summary>
    Admin = 4,
}

/// <summary>Who a call comes from: a role and the id it acts as (organiser, channel or merchant).</summary>
[GenerateSerializer, Immutable]
public sealed record Principal(
    [property: Id(0)] Role Role,
    [property: Id(1)] string PrincipalId,
    [property: Id(2)] string KeyId);

/// <summary>
/// The shape of an API key: "<c>keyId.secret</c>". The key id names the grain that holds the
/// key's record; only a SHA-256 of the secret is stored. A plain hash suffices because the
/// secret is 256 random bits, not a password: there is nothing to guess.
/// </summary>
public static class ApiKeySecret
{
    /// <summary>A new key: its id, the token shown once to its owner, and the hash that is stored.</summary>
    public static (string KeyId, string Token, byte[] SecretHash) New()
    {
        var keyId = "key_" + Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(9));
        var (token, secretHash) = NewSecret(keyId);
        return (keyId, token, secretHash);
    }

    /// <summary>A new secret for an existing key id (rotation): the token shown once, and the hash that is stored.</summary>
    public static (string Token, byte[] SecretHash) NewSecret(string keyId)
    {
        var secret = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        return (keyId + "." + secret, Hash(secret));
    }

    /// <summary>Whether <paramref name="keyId"/> is shaped like a key id ("key_…"), before any lookup.</summary>
    public static bool IsKeyId(string keyId) => keyId.StartsWith("key_", StringComparison.Ordinal) && keyId.Length is > 4 and <= 40;

    /// <summary>Splits a presented token; false for anything not shaped like one of ours.</summary>
    public static bool TryParse(string token, out string keyId, out byte[] secretHash)
    {
        keyId = "";
        secretHash = [];
        var dot = token.IndexOf('.', StringComparison.Ordinal);
        if (dot <= 4 || dot == token.Length - 1 || token.Length > 200 || !token.StartsWith("key_", StringComparison.Ordinal))
        {
            return false;
        }

        keyId = token[..dot];
        secretHash = Hash(token[(dot + 1)..]);
        return true;
    }

    public static byte[] Hash(string secret) => SHA256.HashData(Encoding.UTF8.GetBytes(secret));
}

/// <summary>A stored API key: never the secret itself.</summary>
[GenerateSerializer, Immutable]
public sealed record ApiKeyRecord
{
    [Id(0)] public required string KeyId { get; init; }
    [Id(1)] public required byte[] SecretHash { get; init; }
    [Id(2)] public required Role Role { get; init; }
    [Id(3)] public required string PrincipalId { get; init; }
    [Id(4)] public required string Description { get; init; }
    [Id(5)] public required DateTimeOffset CreatedAt { get; init; }
    [Id(6)] public DateTimeOffset? RevokedAt { get; init; }
    /// <summary>The organiser (or admin) id that created the key; empty for keys created before tenancy (the bootstrap organiser's).</summary>
    [Id(7)] public string CreatedBy { get; init; } = "";
    /// <summary>When the secret was last replaced; null if never.</summary>
    [Id(8)] public DateTimeOffset? RotatedAt { get; init; }
}

[GenerateSerializer, Immutable]
public sealed record ApiKeyState([property: Id(0)] ApiKeyRecord? Key);
