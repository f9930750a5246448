using Campaigns.Grains.Access;
using Campaigns.Grains.Common;
using Campaigns.Proto;
using Grpc.Core;

namespace Campaigns.Silo.Api;

/// <summary>API keys: who may manage which is <see cref="KeyTenancy"/>'s to say.</summary>
public sealed class AccessService(IGrainFactory grains, IKeyRevocationNotice revocations, ILogger<AccessService> logger) : Proto.Access.AccessBase
{
    public override async Task<ApiKey> CreateApiKey(CreateApiKeyRequest request, ServerCallContext context)
    {
        var caller = context.Caller();
        var role = request.Role.FromProto();
        KeyTenancy.AuthorizeCreate(caller, role);
        var (keyId, token, secretHash) = ApiKeySecret.New();
        var record = await grains.GetGrain<IApiKeyGrain>(keyId).CreateAsync(role, request.PrincipalId, request.Description, secretHash, caller.PrincipalId);
        logger.LogInformation("API key {KeyId} created for {Role} {Principal} by {Caller}", keyId, role, request.PrincipalId, caller.PrincipalId);
        return record.ToProto(secret: token);
    }

    public override async Task<ListApiKeysResponse> ListApiKeys(ListApiKeysRequest request, ServerCallContext context)
    {
        var caller = context.Caller();
        var (keys, next) = await Pages.ReadAsync(request.PageSize, request.PageToken,
            grains.GetGrain<IIdDirectoryGrain>(IdDirectories.ApiKeys).PageAsync,
            id => grains.GetGrain<IApiKeyGrain>(id).FindAsync(),
            key => KeyTenancy.MayManage(caller, key));
        return new ListApiKeysResponse { ApiKeys = { keys.Select(k => k.ToProto(secret: "")) }, NextPageToken = next };
    }

    public override async Task<ApiKey> RevokeApiKey(RevokeApiKeyRequest request, ServerCallContext context)
    {
        var key = await ManagedKeyAsync(request.KeyId, context);
        var record = await key.RevokeAsync();
        // Only after the grain has revoked: forgetting first would let a request in between
        // verify the still-live key and cache it again. Every silo is told (through Redis in production mode).
        await revocations.RevokedAsync(request.KeyId);
        logger.LogInformation("API key {KeyId} revoked by {Caller}", request.KeyId, context.Caller().PrincipalId);
        return record.ToProto();
    }

    public override async Task<ApiKey> RotateApiKey(RotateApiKeyRequest request, ServerCallContext context)
    {
        var key = await ManagedKeyAsync(request.KeyId, context);
        var (token, secretHash) = ApiKeySecret.NewSecret(request.KeyId);
        var record = await key.RotateAsync(secretHash);
        // As for a revocation: the old secret is forgotten, on every silo, only once the new one is durable.
        await revocations.RevokedAsync(request.KeyId);
        logger.LogInformation("API key {KeyId} rotated by {Caller}", request.KeyId, context.Caller().PrincipalId);
        return record.ToProto(secret: token);
    }

    /// <summary>The key's grain, if the key exists and the caller may manage it; API_KEY_NOT_FOUND otherwise.</summary>
    private async Task<IApiKeyGrain> ManagedKeyAsync(string keyId, ServerCallContext context)
    {
        if (!ApiKeySecret.IsKeyId(keyId))
        {
            throw CampaignsException.Invalid("key_id", "is not a key id (key_…)");
        }

        var key = grains.GetGrain<IApiKeyGrain>(keyId);
        if (await key.FindAsync() is not { } record || !KeyTenancy.MayManage(context.Caller(), record))
        {
            throw new CampaignsException(Refusal.ApiKeyNotFound, $"no API key '{keyId}'");
        }

        return key;
    }
}
