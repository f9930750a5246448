using Campaigns.Grains.Access;
using Campaigns.Grains.Common;
using Campaigns.Proto;
using Grpc.Core;

namespace Campaigns.Silo.Api;

public sealed class AccessService(IGrainFactory grains, IKeyRevocationNotice revocations, ILogger<AccessService> logger) : Proto.Access.AccessBase
{
    public override async Task<ApiKey> CreateApiKey(CreateApiKeyRequest request, ServerCallContext context)
    {
        var caller = context.Caller();
        var role = request.Role.FromProto();
        var (keyId, token, secretHash) = ApiKeySecret.New();
        var record = await grains.GetGrain<IApiKeyGrain>(keyId).CreateAsync(role, request.PrincipalId, request.Description, secretHash);
        logger.LogInformation("API key {KeyId} created for {Role} {Principal} by {Caller}", keyId, role, request.PrincipalId, caller.PrincipalId);
        return record.ToProto(secret: token);
    }

    public override async Task<ListApiKeysResponse> ListApiKeys(ListApiKeysRequest request, ServerCallContext context)
    {
        var (keys, next) = await Pages.ReadAsync(request.PageSize, request.PageToken,
            grains.GetGrain<IIdDirectoryGrain>(IdDirectories.ApiKeys).PageAsync,
            id => grains.GetGrain<IApiKeyGrain>(id).FindAsync());
        return new ListApiKeysResponse { ApiKeys = { keys.Select(k => k.ToProto(secret: "")) }, NextPageToken = next };
    }

    public override async Task<ApiKey> RevokeApiKey(RevokeApiKeyRequest request, ServerCallContext context)
    {
        var caller = context.Caller();
        if (!request.KeyId.StartsWith("key_", StringComparison.Ordinal) || request.KeyId.Length > 40)
        {
            throw CampaignsException.Invalid("key_id", "is not a key id (key_…)");
        }

        var record = await grains.GetGrain<IApiKeyGrain>(request.KeyId).RevokeAsync();
        // Only after the grain has revoked: forgetting first would let a request in between
        // verify the still-live key and cache it again.
        await revocations.RevokedAsync(request.KeyId);
        logger.LogInformation("API key {KeyId} revoked by {Caller}", request.KeyId, caller.PrincipalId);
        return record.ToProto();
    }
}
