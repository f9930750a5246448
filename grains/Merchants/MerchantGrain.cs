using Campaigns.Grains.Campaigns;
using Campaigns.Grains.Common;
using Microsoft.Extensions.DependencyInjection;

namespace Campaigns.Grains.Merchants;

public sealed class MerchantGrain(
    [PersistentState("merchant", StorageNames.Grains)] IPersistentState<MerchantState> state,
    [FromKeyedServices(CampaignClock.Key)] TimeProvider clock) : Grain, IMerchantGrain
{
    private string MerchantId => this.GetPrimaryKeyString();

    public async Task<MerchantProfile> RegisterAsync(string name, string district, string category)
    {
        var candidate = new MerchantProfile
        {
            MerchantId = MerchantId,
            Name = name,
            District = district,
            Category = category,
            RegisteredAt = clock.GetUtcNow(),
        };
        candidate.Validate();
        if (state.State.Profile is { } existing)
        {
            return existing.SameRegistrationAs(candidate)
                ? existing
                : throw new CampaignsException(Refusal.MerchantExists, $"merchant '{MerchantId}' is already registered with a different profile");
        }

        await GrainFactory.GetGrain<IIdDirectoryGrain>(IdDirectories.Merchants).AddAsync(MerchantId);
        await WriteAsync(candidate);
        return candidate;
    }

    public Task<MerchantProfile> GetAsync() => Task.FromResult(Profile());

    public Task<MerchantProfile?> FindAsync() => Task.FromResult(state.State.Profile);

    public async Task<Enrollment> EnrollAsync(string campaignId)
    {
        Identifiers.RequireName("campaign_id", campaignId);
        var profile = Profile();
        if (profile.Enrollments.TryGetValue(campaignId, out var since))
        {
            return new Enrollment(campaignId, MerchantId, profile.District, since);
        }

        var campaign = await GrainFactory.GetGrain<ICampaignGrain>(campaignId).GetAsync();
        var districts = campaign.Definition.Districts;
        if (districts.Count > 0 && !districts.Contains(profile.District))
        {
            throw new CampaignsException(Refusal.MerchantOutOfDistrict,
                $"merchant '{MerchantId}' is in district '{profile.District}'; campaign '{campaignId}' covers {string.Join(", ", districts)}");
        }

        var now = clock.GetUtcNow();
        await WriteAsync(profile with
        {
            Enrollments = new Dictionary<string, DateTimeOffset>(profile.Enrollments) { [campaignId] = now },
        });
        return new Enrollment(campaignId, MerchantId, profile.District, now);
    }

    private MerchantProfile Profile() => state.State.Profile
        ?? throw new CampaignsException(Refusal.MerchantNotFound, $"no merchant '{MerchantId}'");

    private Task WriteAsync(MerchantProfile profile) =>
        state.ReplaceAsync(new MerchantState(profile), _ => DeactivateOnIdle());
}
