using System.Security.Cryptography;
using System.Text;
using Campaigns.Grains.Access;
using Campaigns.Grains.Common;
using Campaigns.Silo.Hosting;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace Campaigns.Silo.Api;

/// <summary>Turns "authorization: Bearer &lt;key&gt;" into a <see cref="Principal"/>.</summary>
public sealed class ApiKeyAuthenticator(IGrainFactory grains, VerifiedKeyCache verifiedKeys, IOptions<CampaignsOptions> options)
{
    private readonly byte[] _bootstrap = Encoding.UTF8.GetBytes(options.Value.Auth.BootstrapOrganiserKey);
    private readonly string _bootstrapOrganiser = options.Value.Auth.BootstrapOrganiserId;
    private readonly Func<string, byte[], Task<Principal?>> _verifyWithGrain =
        (keyId, secretHash) => grains.GetGrain<IApiKeyGrain>(keyId).VerifyAsync(secretHash);

    public async ValueTask<Principal> AuthenticateAsync(string? authorization)
    {
        if (string.IsNullOrWhiteSpace(authorization))
        {
            throw new CampaignsException(Refusal.MissingApiKey, "send the API key as 'authorization: Bearer <key>'");
        }

        const string scheme = "Bearer ";
        if (!authorization.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
        {
            throw new CampaignsException(Refusal.InvalidApiKey, "the authorization header must be 'Bearer <key>'");
        }

        var token = authorization[scheme.Length..].Trim();
        if (_bootstrap.Length > 0 && CryptographicOperations.FixedTimeEquals(_bootstrap, Encoding.UTF8.GetBytes(token)))
        {
            return new Principal(Role.Admin, _bootstrapOrganiser, "bootstrap");
        }

        if (ApiKeySecret.TryParse(token, out var keyId, out var secretHash)
            && await verifiedKeys.VerifyAsync(keyId, secretHash, _verifyWithGrain) is { } principal)
        {
            return principal;
        }

        throw new CampaignsException(Refusal.InvalidApiKey, "unknown or revoked API key");
    }
}

/// <summary>
/// Authenticates a Campaigns call and checks its role against <see cref="AccessRules"/>
/// before the service runs, then applies the partner's rate limit. Standard services (health,
/// reflection) are open. A key this silo verified recently is checked without awaiting.
/// </summary>
public sealed class CallAuthorizer(ApiKeyAuthenticator authenticator, IPartnerRateLimiter rateLimits)
{
    public async ValueTask AuthorizeAsync(ServerCallContext context, object? request)
    {
        if (AccessRules.RolesFor(context.Method) is not { } roles)
        {
            return;
        }

        var principal = await authenticator.AuthenticateAsync(AuthorizationOf(context));
        if (!roles.Contains(principal.Role))
        {
            throw new CampaignsException(Refusal.WrongRole,
                $"{context.Method} is for {string.Join(" or ", roles.Select(r => r.ToString().ToUpperInvariant()))} keys; this key is {principal.Role.ToString().ToUpperInvariant()}");
        }

        context.UserState[typeof(Principal)] = principal;
        if (principal.Role == Role.Partner && request is not null)
        {
            await rateLimits.AdmitAsync(principal.PrincipalId, request);
        }
    }

    /// <summary>
    /// The call's <c>authorization</c> header, read off the HTTP request when there is one: the
    /// call's own collection of headers (<see cref="ServerCallContext.RequestHeaders"/>) is built
    /// from all of them on first use. Several such headers come joined by commas, which no key matches.
    /// </summary>
    private static string? AuthorizationOf(ServerCallContext context)
    {
        if (HttpRequestOf(context) is not { } http)
        {
            return context.RequestHeaders.GetValue("authorization");
        }

        var values = http.Headers.Authorization;
        return values.Count == 0 ? null : values.ToString();
    }

    private static HttpRequest? HttpRequestOf(ServerCallContext context)
    {
        try
        {
            return context.GetHttpContext().Request;
        }
        catch (InvalidOperationException)
        {
            // A call context not hosted by ASP.NET Core (the rules' tests make their own).
            return null;
        }
    }
}

/// <summary>
/// Which roles may call what (API.md, "Authentication and roles"). Deny by default: only the
/// standard health and reflection services are open. Names compare ignoring case because the
/// HTTP/2 router matches gRPC paths ignoring case: a rule that did not would be bypassed.
/// </summary>
public static class AccessRules
{
    // An ADMIN may do whatever an organiser may; tenancy (CampaignTenancy) then tells them apart.
    private static readonly Role[] Organiser = [Role.Organiser, Role.Admin];
    private static readonly Role[] OrganiserOrMerchant = [Role.Organiser, Role.Admin, Role.Merchant];
    private static readonly string[] OpenServicePrefixes = ["grpc.health.v1.", "grpc.reflection."];

    private static readonly Dictionary<string, Role[]> ByService = new(StringComparer.OrdinalIgnoreCase)
    {
        ["campaigns.v1.CampaignAdmin"] = Organiser,
        ["campaigns.v1.Access"] = Organiser,
        ["campaigns.v1.Reconciliation"] = Organiser,
        ["campaigns.v1.Vouchers"] = [Role.Partner],
        ["campaigns.v1.Redemptions"] = [Role.Merchant],
        ["campaigns.v1.Events"] = [Role.Organiser, Role.Admin, Role.Partner],
    };

    private static readonly Dictionary<string, Role[]> ByMethod = new(StringComparer.OrdinalIgnoreCase)
    {
        ["/campaigns.v1.Merchants/RegisterMerchant"] = Organiser,
        ["/campaigns.v1.Merchants/GetMerchant"] = OrganiserOrMerchant,
        ["/campaigns.v1.Merchants/JoinCampaign"] = [Role.Merchant],
        ["/campaigns.v1.Merchants/GetSettlement"] = OrganiserOrMerchant,
        ["/campaigns.v1.Merchants/ListMerchants"] = Organiser,
    };

    private static readonly Dictionary<string, Role[]>.AlternateLookup<ReadOnlySpan<char>> ByServiceSpan =
        ByService.GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>The roles allowed to call a method ("/package.Service/Method"): null = open, empty = nobody.</summary>
    public static Role[]? RolesFor(string method)
    {
        if (ByMethod.TryGetValue(method, out var roles))
        {
            return roles;
        }

        // Every call passes here: read the service name in place rather than splitting the path.
        var path = method.AsSpan().TrimStart('/');
        var slash = path.IndexOf('/');
        var service = slash < 0 ? path : path[..slash];
        if (ByServiceSpan.TryGetValue(service, out roles))
        {
            return roles;
        }

        foreach (var prefix in OpenServicePrefixes)
        {
            if (service.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            {
                return null;
            }
        }

        return [];
    }
}

public static class CallerExtensions
{
    public static Principal Caller(this ServerCallContext context) =>
        context.UserState.TryGetValue(typeof(Principal), out var p) && p is Principal principal
            ? principal
            : throw new CampaignsException(Refusal.MissingApiKey, "the call was not authenticated");

    /// <summary>A merchant key acts only as its own merchant; an organiser may act for any.</summary>
    public static Principal RequireMerchant(this ServerCallContext context, string merchantId)
    {
        var caller = context.Caller();
        if (caller.Role == Role.Merchant && caller.PrincipalId != merchantId)
        {
            throw new CampaignsException(Refusal.NotYourMerchant, $"this key belongs to merchant '{caller.PrincipalId}', not '{merchantId}'");
        }

        return caller;
    }
}
