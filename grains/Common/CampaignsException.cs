namespace Campaigns.Grains.Common;

/// <summary>
/// A refusal with an API reason. Grains throw it for requests that are wrong or not allowed
/// now; it crosses grain calls intact and the silo turns it into the API's error model.
/// Nothing has changed when it is thrown.
/// </summary>
[GenerateSerializer]
public sealed class CampaignsException : Exception
{
    public CampaignsException(Refusal code, string message) : base(message) => Code = code;

    public CampaignsException() : base("refused") { }

    public CampaignsException(string message) : base(message) { }

    public CampaignsException(string message, Exception innerException) : base(message, innerException) { }

    [Id(0)]
    public Refusal Code { get; init; }

    public static CampaignsException Invalid(string field, string problem) =>
        new(Refusal.InvalidArgument, $"{field}: {problem}");
}
