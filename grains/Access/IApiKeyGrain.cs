namespace Campaigns.Grains.Access;

/// <summary>One API key, keyed by its key id.</summary>
public interface IApiKeyGrain : IGrainWithStringKey
{
    /// <summary>Stores a new key (MERCHANT_NOT_FOUND for a merchant key of an unregistered merchant).</summary>
    Task<ApiKeyRecord> CreateAsync(Role role, string principalId, string description, byte[] secretHash, string createdBy);

    /// <summary>The principal if the secret matches a live key; null otherwise.</summary>
    [AlwaysInterleave]
    Task<Principal?> VerifyAsync(byte[] secretHash);

    /// <summary>The key's record (its secret only as a hash), or null if no key has this id.</summary>
    Task<ApiKeyRecord?> FindAsync();

    /// <summary>Revokes the key at once; revoking twice is harmless. VERIFY fails from then on.</summary>
    Task<ApiKeyRecord> RevokeAsync();

    /// <summary>
    /// Replaces the secret: from the durable write on, only the new one verifies (API_KEY_NOT_FOUND
    /// for an unknown key, INVALID_TRANSITION for a revoked one).
    /// </summary>
    Task<ApiKeyRecord> RotateAsync(byte[] secretHash);
}
