using System.Net.Http.Headers;
using System.Text;
using Campaigns.Grains.Access;
using Campaigns.Grains.Common;

namespace Campaigns.Silo.Api;

/// <summary>
/// Lets only admin keys through to a browser page of the silo (the Orleans dashboard). A
/// browser cannot add a bearer header to a page it navigates to, so the key may also come as the
/// password of HTTP Basic authentication, which the browser asks for once and then sends itself.
/// </summary>
public sealed class AdminOnly(RequestDelegate next, ApiKeyAuthenticator authenticator)
{
    public async Task InvokeAsync(HttpContext context)
    {
        Principal principal;
        try
        {
            principal = await authenticator.AuthenticateAsync(BearerOf(context.Request.Headers.Authorization.ToString()));
        }
        catch (CampaignsException refusal)
        {
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            context.Response.Headers.WWWAuthenticate = "Basic realm=\"Campaigns organiser\", charset=\"UTF-8\"";
            await context.Response.WriteAsync($"{refusal.Code.Reason()}: {refusal.Message}. Give an organiser key as the password.\n");
            return;
        }

        // The Orleans dashboard shows every grain, hence every organiser's campaigns: admins only.
        if (principal.Role != Role.Admin)
        {
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            await context.Response.WriteAsync($"{Refusal.WrongRole.Reason()}: this page is for ADMIN keys.\n");
            return;
        }

        await next(context);
    }

    /// <summary>"Basic base64(user:key)" as "Bearer key"; anything else as it came.</summary>
    private static string? BearerOf(string authorization)
    {
        if (AuthenticationHeaderValue.TryParse(authorization, out var header)
            && header.Scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase) && header.Parameter is { } encoded)
        {
            try
            {
                var pair = Encoding.UTF8.GetString(Convert.FromBase64String(encoded));
                var colon = pair.IndexOf(':', StringComparison.Ordinal);
                return colon < 0 ? null : "Bearer " + pair[(colon + 1)..];
            }
            catch (FormatException)
            {
                return null;
            }
        }

        return authorization.Length == 0 ? null : authorization;
    }
}
