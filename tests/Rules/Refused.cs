using Campaigns.Grains.Common;

namespace Campaigns.Tests.Rules;

/// <summary>Asserts that a rule refused a call, and why.</summary>
internal static class Refused
{
    public static CampaignsException With(Refusal expected, Action call)
    {
        var refusal = Assert.Throws<CampaignsException>(call);
        Assert.Equal(expected, refusal.Code);
        return refusal;
    }

    /// <summary>INVALID_ARGUMENT whose message starts with the offending field's API name.</summary>
    public static CampaignsException InvalidField(string field, Action call)
    {
        var refusal = With(Refusal.InvalidArgument, call);
        Assert.StartsWith(field + ":", refusal.Message, StringComparison.Ordinal);
        return refusal;
    }
}
