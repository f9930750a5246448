using System.Collections.Concurrent;
using Campaigns.Grains.Access;
using Campaigns.Grains.Campaigns;
using Campaigns.Grains.Common;
using Campaigns.Silo.Hosting;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace Campaigns.Silo.Api;

/// <summary>
/// Organiser tenancy, decided in one place: a campaign belongs to the organiser that created it,
/// and an ORGANISER key acts only on its own organiser's campaigns (NOT_YOUR_CAMPAIGN otherwise).
/// ADMIN keys act on every campaign. Partners and merchants are not tenants of an organiser:
/// partners issue on any campaign, merchants join any campaign of their district, each under
/// the rules of its own role.
/// </summary>
public sealed class CampaignTenancy(IGrainFactory grains, IOptions<CampaignsOptions> options) : Grains.Events.ICampaignOwnership
{
    // A campaign's owner never changes after creation, so it is learnt once per silo.
    private readonly ConcurrentDictionary<string, string> _owners = new(StringComparer.Ordinal);
    private readonly string _bootstrapOrganiser = options.Value.Auth.BootstrapOrganiserId;

    /// <summary>Whether <paramref name="caller"/> may see and run a campaign owned by <paramref name="owner"/>.</summary>
    public static bool MayAct(Principal caller, string owner) =>
        caller.Role != Role.Organiser || caller.PrincipalId == owner;

    /// <summary>NOT_YOUR_CAMPAIGN unless <paramref name="caller"/> may act on the campaign.</summary>
    public static void Authorize(Principal caller, string campaignId, string owner)
    {
        if (!MayAct(caller, owner))
        {
            throw new CampaignsException(Refusal.NotYourCampaign, $"campaign '{campaignId}' belongs to another organiser");
        }
    }

    /// <summary>
    /// The organiser that owns a campaign. A definition without one (a campaign stored before
    /// owners were checked) belongs to the bootstrap organiser.
    /// </summary>
    public string OwnerOf(CampaignDefinition definition) =>
        string.IsNullOrEmpty(definition.OrganiserId) ? _bootstrapOrganiser : definition.OrganiserId;

    /// <summary>Whether the caller may see <paramref name="campaign"/> (e.g. in a listing).</summary>
    public bool MaySee(Principal caller, CampaignSnapshot campaign) => MayAct(caller, OwnerOf(campaign.Definition));

    /// <summary>Refuses the call unless its caller may act on <paramref name="campaign"/>.</summary>
    public void Authorize(Principal caller, CampaignSnapshot campaign)
    {
        var owner = OwnerOf(campaign.Definition);
        _owners.TryAdd(campaign.Definition.CampaignId, owner);
        Authorize(caller, campaign.Definition.CampaignId, owner);
    }

    /// <summary>
    /// Checks a campaign id and that the caller may act on it: INVALID_ARGUMENT, CAMPAIGN_NOT_FOUND
    /// or NOT_YOUR_CAMPAIGN, before anything about the campaign is read or changed.
    /// </summary>
    public ValueTask RequireAsync(ServerCallContext context, string campaignId) => RequireAsync(context.Caller(), campaignId);

    /// <inheritdoc cref="RequireAsync(ServerCallContext, string)"/>
    public async ValueTask RequireAsync(Principal caller, string campaignId)
    {
        Identifiers.RequireName("campaign_id", campaignId);
        Authorize(caller, campaignId, await OwnerAsync(campaignId));
    }

    /// <summary>The campaign's owner; CAMPAIGN_NOT_FOUND if it was never created.</summary>
    public async ValueTask<string> OwnerAsync(string campaignId)
    {
        if (_owners.TryGetValue(campaignId, out var owner))
        {
            return owner;
        }

        var campaign = await grains.GetGrain<ICampaignGrain>(campaignId).GetAsync();
        return _owners.GetOrAdd(campaignId, OwnerOf(campaign.Definition));
    }

    /// <summary>For event callbacks: an unknown campaign is nobody's.</summary>
    public async ValueTask<bool> IsOwnedByAsync(string campaignId, string organiserId)
    {
        try
        {
            return await OwnerAsync(campaignId) == organiserId;
        }
        catch (CampaignsException)
        {
            return false;
        }
    }
}

/// <summary>
/// Who may manage which API keys. Partners and merchants are shared by every organiser, so any
/// organiser may create their keys; only ADMIN creates ORGANISER or ADMIN keys (an organiser
/// could otherwise mint a key for another organiser and act as it). An organiser sees, revokes and
/// rotates only the keys it created; a key created by someone else is, to it, API_KEY_NOT_FOUND.
/// </summary>
public static class KeyTenancy
{
    public static void AuthorizeCreate(Principal caller, Role role)
    {
        if (role is Role.Organiser or Role.Admin && caller.Role != Role.Admin)
        {
            throw new CampaignsException(Refusal.WrongRole, $"only an ADMIN key creates {role.ToString().ToUpperInvariant()} keys");
        }
    }

    /// <summary>Keys created before keys recorded their creator belong to the bootstrap organiser, an admin.</summary>
    public static bool MayManage(Principal caller, ApiKeyRecord key) =>
        caller.Role == Role.Admin || (caller.Role == Role.Organiser && key.CreatedBy == caller.PrincipalId);
}
