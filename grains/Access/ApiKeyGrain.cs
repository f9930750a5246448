using System.Security.Cryptography;
using Campaigns.Grains.Common;
using Campaigns.Grains.Merchants;
using Microsoft.Extensions.DependencyInjection;

namespace Campaigns.Grains.Access;

public sealed class ApiKeyGrain(
    [PersistentState("apikey", StorageNames.Grains)] IPersistentState<ApiKeyState> state,
    [FromKeyedServices(CampaignClock.Key)] TimeProvider clock) : Grain, IApiKeyGrain
{
    public async Task<ApiKeyRecord> CreateAsync(Role role, string principalId, string description, byte[] secretHash, string createdBy)
    {
        if (!Enum.IsDefined(role))
        {
            throw CampaignsException.Invalid("role", "must be ORGANISER, PARTNER, MERCHANT or ADMIN");
        }

        Identifiers.RequireName("principal_id", principalId);
        if (description.Length > 200)
        {
            throw CampaignsException.Invalid("description", "must be at most 200 characters");
        }

        if (state.State.Key is not null)
        {
            // Key ids are random; a collision means a caller is replaying someone else's id.
            throw new CampaignsException(Refusal.InvalidArgument, "key id already in use");
        }

        if (role == Role.Merchant && await GrainFactory.GetGrain<IMerchantGrain>(principalId).FindAsync() is null)
        {
            throw new CampaignsException(Refusal.MerchantNotFound, $"no merchant '{principalId}': register it before creating its key");
        }

        var record = new ApiKeyRecord
        {
            KeyId = this.GetPrimaryKeyString(),
            SecretHash = secretHash,
            Role = role,
            PrincipalId = principalId,
            Description = description,
            CreatedAt = clock.GetUtcNow(),
            CreatedBy = createdBy,
        };
        await GrainFactory.GetGrain<IIdDirectoryGrain>(IdDirectories.ApiKeys).AddAsync(record.KeyId);
        await state.ReplaceAsync(new ApiKeyState(record), _ => DeactivateOnIdle());
        return record;
    }

    public Task<ApiKeyRecord?> FindAsync() => Task.FromResult(state.State.Key);

    public Task<Principal?> VerifyAsync(byte[] secretHash)
    {
        var key = state.State.Key;
        var valid = key is { RevokedAt: null } && CryptographicOperations.FixedTimeEquals(key.SecretHash, secretHash);
        return Task.FromResult(valid ? new Principal(key!.Role, key.PrincipalId, key.KeyId) : null);
    }

    public async Task<ApiKeyRecord> RotateAsync(byte[] secretHash)
    {
        var key = Existing();
        if (key.RevokedAt is not null)
        {
            throw new CampaignsException(Refusal.InvalidTransition, $"API key '{key.KeyId}' is revoked; create a new key instead");
        }

        var rotated = key with { SecretHash = secretHash, RotatedAt = clock.GetUtcNow() };
        await state.ReplaceAsync(new ApiKeyState(rotated), _ => DeactivateOnIdle());
        return rotated;
    }

    public async Task<ApiKeyRecord> RevokeAsync()
    {
        var key = Existing();
        if (key.RevokedAt is not null)
        {
            return key;
        }

        var revoked = key with { RevokedAt = clock.GetUtcNow() };
        await state.ReplaceAsync(new ApiKeyState(revoked), _ => DeactivateOnIdle());
        return revoked;
    }

    private ApiKeyRecord Existing() =>
        state.State.Key ?? throw new CampaignsException(Refusal.ApiKeyNotFound, $"no API key '{this.GetPrimaryKeyString()}'");
}
