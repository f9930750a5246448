using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Campaigns.Grains.Common;

/// <summary>
/// The service's own metrics and trace spans (meter and activity source "Campaigns"). The silo
/// exports them (Prometheus text on /metrics, OTLP when configured); recording costs next to
/// nothing while no exporter listens. Grains call it in one line, so their code stays theirs.
/// </summary>
public static class CampaignsTelemetry
{
    public const string Name = "Campaigns";

    public static readonly ActivitySource Source = new(Name);

    private static readonly Meter Meter = new(Name);

    private static readonly Counter<long> Claims = Meter.CreateCounter<long>(
        "campaigns.claims", "{claim}", "Claims answered: outcome issued, replayed or refused (with its reason)");

    private static readonly Counter<long> Redemptions = Meter.CreateCounter<long>(
        "campaigns.redemptions", "{call}", "Redemption calls answered successfully, by operation (reserve, confirm, cancel, redeem, refund)");

    private static readonly Histogram<int> BatchSizes = Meter.CreateHistogram(
        "campaigns.issue.batch_size", "{voucher}", "Vouchers per group commit of a pool shard",
        advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024] });

    private static readonly Histogram<double> CommitDurations = Meter.CreateHistogram(
        "campaigns.issue.commit.duration", "s", "Time a pool shard waits for the ledger to commit one issue batch",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] });

    private static readonly Counter<long> LeaseGrants = Meter.CreateCounter<long>(
        "campaigns.leases.granted", "{voucher}", "Stock the campaigns granted to their pool shards as leases");

    private static readonly Counter<long> Callbacks = Meter.CreateCounter<long>(
        "campaigns.callbacks", "{attempt}", "Event callback attempts, by event type and outcome (delivered, refused), and events parked after their retries");

    public static void CallbackAttempted(string campaignId, string type, bool acknowledged) =>
        Callbacks.Add(1, Tag("campaign", campaignId), Tag("type", type), Tag("outcome", acknowledged ? "delivered" : "refused"));

    public static void CallbackParked(string campaignId, string type) =>
        Callbacks.Add(1, Tag("campaign", campaignId), Tag("type", type), Tag("outcome", "parked"));

    public static void ClaimIssued(string campaignId, string channel, bool replayed) =>
        Claims.Add(1, Tag("campaign", campaignId), Tag("channel", channel), Tag("outcome", replayed ? "replayed" : "issued"));

    public static void ClaimRefused(string campaignId, string channel, string reason) =>
        Claims.Add(1, Tag("campaign", campaignId), Tag("channel", channel), Tag("outcome", "refused"), Tag("reason", reason));

    public static void Redeemed(string campaignId, string operation) =>
        Redemptions.Add(1, Tag("campaign", campaignId), Tag("operation", operation));

    public static void LeaseGranted(string campaignId, long vouchers) => LeaseGrants.Add(vouchers, Tag("campaign", campaignId));

    /// <summary>
    /// Starts timing one issue batch's ledger commit, as a span and as a duration; the batch's size
    /// and time are recorded when the returned value is disposed.
    /// </summary>
    public static IssueCommit StartIssueCommit(string campaignId, int shard, int vouchers)
    {
        var span = Source.StartActivity("ledger commit issue batch");
        span?.SetTag("campaign.id", campaignId);
        span?.SetTag("campaign.shard", shard);
        span?.SetTag("campaign.batch_size", vouchers);
        return new IssueCommit(campaignId, vouchers, span, Stopwatch.GetTimestamp());
    }

    private static KeyValuePair<string, object?> Tag(string name, object? value) => new(name, value);

    public readonly struct IssueCommit(string campaignId, int vouchers, Activity? span, long started) : IDisposable
    {
        public void Dispose()
        {
            var campaign = Tag("campaign", campaignId);
            BatchSizes.Record(vouchers, campaign);
            CommitDurations.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, campaign);
            span?.Dispose();
        }
    }
}
