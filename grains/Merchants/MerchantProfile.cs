using Campaigns.Grains.Common;

namespace Campaigns.Grains.Merchants;

/// <summary>A merchant as registered by the organiser, with the campaigns it takes vouchers for.</summary>
[GenerateSerializer, Immutable]
public sealed record MerchantProfile
{
    [Id(0)] public required string MerchantId { get; init; }
    [Id(1)] public required string Name { get; init; }
    [Id(2)] public required string District { get; init; }
    [Id(3)] public required string Category { get; init; }
    [Id(4)] public required DateTimeOffset RegisteredAt { get; init; }
    /// <summary>Campaign id → when the merchant was enrolled.</summary>
    [Id(5)] public IReadOnlyDictionary<string, DateTimeOffset> Enrollments { get; init; } = new Dictionary<string, DateTimeOffset>();

    public bool IsEnrolledIn(string campaignId) => Enrollments.ContainsKey(campaignId);

    public bool SameRegistrationAs(MerchantProfile other) =>
        Name == other.Name && District == other.District && Category == other.Category;

    public void Validate()
    {
        Identifiers.RequireName("merchant_id", MerchantId);
        RequireText("name", Name, 200);
        RequireText("district", District, 64);
        if (Category.Length > 64)
        {
            throw CampaignsException.Invalid("category", "must be at most 64 characters");
        }
    }

    private static void RequireText(string field, string value, int max)
    {
        if (string.IsNullOrWhiteSpace(value) || value.Length > max)
        {
            throw CampaignsException.Invalid(field, $"is required, at most {max} characters");
        }
    }
}

/// <summary>A merchant's participation in a campaign.</summary>
[GenerateSerializer, Immutable]
public sealed record Enrollment(
    [property: Id(0)] string CampaignId,
    [property: Id(1)] string MerchantId,
    [property: Id(2)] string District,
    [property: Id(3)] DateTimeOffset EnrolledAt);

/// <summary>A merchant grain's durable state.</summary>
[GenerateSerializer, Immutable]
public sealed record MerchantState([property: Id(0)] MerchantProfile? Profile);
