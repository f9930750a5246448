namespace Campaigns.Grains.Events;

/// <summary>How callbacks are delivered: the "Campaigns:Events" configuration section.</summary>
public sealed class CallbackOptions
{
    public const string Section = "Campaigns:Events";

    /// <summary>How long a failing event is retried before it is parked (at least 24 h in production).</summary>
    public TimeSpan RetryWindow { get; set; } = TimeSpan.FromHours(24);

    /// <summary>The first retry's delay; each next one doubles, up to <see cref="MaxRetryDelay"/>, with jitter.</summary>
    public TimeSpan FirstRetryDelay { get; set; } = TimeSpan.FromSeconds(5);

    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How long one POST may take before it counts as failed.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How often an idle subscription looks at the ledger for new events.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Events one subscription has in flight at once (one voucher's always one at a time).</summary>
    public int MaxConcurrency { get; set; } = 8;

    /// <summary>Rows read from each of the ledger's orders per batch.</summary>
    public int BatchSize { get; set; } = 100;

    /// <summary>Parked events kept per subscription; the oldest go first beyond it.</summary>
    public int MaxParked { get; set; } = 10_000;

    /// <summary>
    /// Whether callbacks may go to loopback, private, link-local and other non-public addresses.
    /// Off: a subscriber must not be able to make the silo call into its own network. On for
    /// development and tests, whose receivers listen on loopback.
    /// </summary>
    public bool AllowPrivateAddresses { get; set; }
}
