namespace Campaigns.Silo.Shared;

/// <summary>The "Campaigns:Redis" section: how the silos' shared services use Redis (production mode).</summary>
public sealed class SharedRedisOptions
{
    public const string Section = "Campaigns:Redis";

    /// <summary>Put before every key and channel name, so several deployments (or tests) can share one Redis.</summary>
    public string KeyPrefix { get; set; } = "campaigns:";

    /// <summary>How long one Redis call may take before the silo gives up on it and falls back to its in-process behaviour.</summary>
    public int TimeoutMilliseconds { get; set; } = 250;

    /// <summary>How long the circuit stays open (every call falls back at once) after Redis failed half of the recent calls.</summary>
    public int BreakSeconds { get; set; } = 5;

    /// <summary>Throws with the key's name when a value cannot work.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(KeyPrefix) || KeyPrefix.Any(char.IsWhiteSpace))
        {
            throw new InvalidOperationException($"{Section}:KeyPrefix must be a non-empty name without spaces (e.g. 'campaigns:'), not '{KeyPrefix}'");
        }

        if (TimeoutMilliseconds is < 1 or > 60_000)
        {
            throw new InvalidOperationException($"{Section}:TimeoutMilliseconds must be between 1 and 60000, not {TimeoutMilliseconds}");
        }

        if (BreakSeconds is < 1 or > 3_600)
        {
            throw new InvalidOperationException($"{Section}:BreakSeconds must be between 1 and 3600, not {BreakSeconds}");
        }
    }
}
