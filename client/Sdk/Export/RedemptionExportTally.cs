using System.Globalization;
using Campaigns.Proto;

namespace Campaigns.Client;

/// <summary>
/// Running totals of a redemption export, kept by whoever writes or reads the stream: the server
/// builds its closing <see cref="ExportSummary"/> from one, a client checks that summary against its own.
/// </summary>
/// <param name="afterSequence">Where the export starts (its request's after_sequence): the last sequence until an event comes.</param>
public sealed class RedemptionExportTally(long afterSequence = 0) : IDisposable
{
    private readonly RedemptionEventCsv.Hasher hasher = new();

    /// <summary>The sequence of the last event added; the export's after_sequence before any.</summary>
    public long LastSequence { get; private set; } = afterSequence;

    public long Events { get; private set; }

    public long Redemptions { get; private set; }

    public long Refunds { get; private set; }

    /// <summary>Σ discount_cents: refunds count negative, so this is the net subsidy.</summary>
    public long NetDiscountCents { get; private set; }

    /// <summary>Counts the event and returns its CSV line, already folded into the checksum.</summary>
    public string Add(RedemptionEvent e)
    {
        var line = RedemptionEventCsv.Line(e);
        hasher.Append(line);
        Events++;
        LastSequence = e.Sequence;
        NetDiscountCents += e.DiscountCents;
        switch (e.EventType)
        {
            case "REDEEMED":
                Redemptions++;
                break;
            case "REFUNDED":
                Refunds++;
                break;
        }

        return line;
    }

    /// <summary>The lower-case hex SHA-256 of the lines so far.</summary>
    public string ChecksumSha256 => hasher.Current();

    /// <summary>The summary of everything added so far.</summary>
    public ExportSummary ToSummary() => new()
    {
        Events = Events,
        Redemptions = Redemptions,
        Refunds = Refunds,
        NetDiscountCents = NetDiscountCents,
        ChecksumSha256 = ChecksumSha256,
        LastSequence = LastSequence,
    };

    /// <summary>Where <paramref name="summary"/> disagrees with what was received; empty when it all matches.</summary>
    public IReadOnlyList<string> Differences(ExportSummary summary)
    {
        var mine = ToSummary();
        var differences = new List<string>();
        Compare("events", summary.Events, mine.Events);
        Compare("redemptions", summary.Redemptions, mine.Redemptions);
        Compare("refunds", summary.Refunds, mine.Refunds);
        Compare("net_discount_cents", summary.NetDiscountCents, mine.NetDiscountCents);
        // A server from before resumable exports sends none.
        if (summary.LastSequence != 0)
        {
            Compare("last_sequence", summary.LastSequence, mine.LastSequence);
        }

        if (!string.Equals(summary.ChecksumSha256, mine.ChecksumSha256, StringComparison.OrdinalIgnoreCase))
        {
            differences.Add($"sha256: server {summary.ChecksumSha256}, received {mine.ChecksumSha256}");
        }

        return differences;

        void Compare(string name, long server, long received)
        {
            if (server != received)
            {
                differences.Add($"{name}: server {server.ToString(CultureInfo.InvariantCulture)}, received {received.ToString(CultureInfo.InvariantCulture)}");
            }
        }
    }

    /// <summary>The closing comment line of an export file: <c># events=N net_discount_cents=X sha256=…</c>.</summary>
    public string CommentLine() =>
        string.Create(CultureInfo.InvariantCulture, $"# events={Events} net_discount_cents={NetDiscountCents} sha256={ChecksumSha256}");

    public void Dispose() => hasher.Dispose();
}
