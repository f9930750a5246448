namespace Campaigns.Silo.Api;

/// <summary>
/// Tells the silos that an API key was revoked, so their <see cref="VerifiedKeyCache"/> stops
/// trusting it. Called after the key's grain has revoked it.
/// </summary>
public interface IKeyRevocationNotice
{
    /// <summary>Drops the key from this silo's cache at once and, where the silos share a channel, from every other silo's.</summary>
    Task RevokedAsync(string keyId);
}

/// <summary>One silo alone: it forgets the key; other silos (if any) refuse it when their cache entry expires.</summary>
public sealed class SiloKeyRevocationNotice(VerifiedKeyCache verifiedKeys) : IKeyRevocationNotice
{
    public Task RevokedAsync(string keyId)
    {
        verifiedKeys.Forget(keyId);
        return Task.CompletedTask;
    }
}
