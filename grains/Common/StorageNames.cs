namespace Campaigns.Grains.Common;

/// <summary>Names of the Orleans storage providers grains persist to.</summary>
public static class StorageNames
{
    /// <summary>Grain state: campaigns, merchants, API keys.</summary>
    public const string Grains = "campaigns";
}
