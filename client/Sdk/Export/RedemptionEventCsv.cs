using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Campaigns.Proto;
using Google.Protobuf.WellKnownTypes;

namespace Campaigns.Client;

/// <summary>
/// The one definition of the reconciliation CSV: the header, each event's line, and the checksum over
/// the lines. The server computes <c>ExportSummary.checksum_sha256</c> with these very functions, so
/// a client that writes the same lines gets the same checksum, byte for byte.
/// </summary>
public static class RedemptionEventCsv
{
    /// <summary>The header line (not covered by the checksum).</summary>
    public const string Header =
        "sequence,event_type,code,campaign_id,merchant_id,order_id,refund_id,order_amount_cents,discount_cents,occurred_at";

    /// <summary>One event as a CSV line, without a line terminator; text fields quoted per RFC 4180 when needed.</summary>
    public static string Line(RedemptionEvent e) => string.Join(',',
        e.Sequence.ToString(CultureInfo.InvariantCulture),
        Csv.Field(e.EventType),
        Csv.Field(e.Code),
        Csv.Field(e.CampaignId),
        Csv.Field(e.MerchantId),
        Csv.Field(e.OrderId),
        Csv.Field(e.RefundId),
        e.OrderAmountCents.ToString(CultureInfo.InvariantCulture),
        e.DiscountCents.ToString(CultureInfo.InvariantCulture),
        OccurredAt(e.OccurredAt));

    /// <summary>UTC with milliseconds and <c>Z</c>, e.g. <c>2026-11-23T10:15:30.123Z</c>; empty when absent.</summary>
    public static string OccurredAt(Timestamp? occurredAt) =>
        occurredAt is null
            ? ""
            : occurredAt.ToDateTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    /// <summary>Lower-case hex SHA-256 over the UTF-8 of each line followed by <c>"\n"</c>, in order.</summary>
    public static string Checksum(IEnumerable<string> lines)
    {
        using var checksum = new Hasher();
        foreach (var line in lines)
        {
            checksum.Append(line);
        }

        return checksum.Current();
    }

    /// <summary>The same checksum, fed one line at a time, for streams too long to hold.</summary>
    public sealed class Hasher : IDisposable
    {
        private static readonly byte[] NewLine = [(byte)'\n'];

        private readonly IncrementalHash hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

        /// <summary>Adds one line (without its terminator; the <c>"\n"</c> is added here).</summary>
        public void Append(string line)
        {
            hash.AppendData(Encoding.UTF8.GetBytes(line));
            hash.AppendData(NewLine);
        }

        /// <summary>The checksum of the lines so far; more may still be appended.</summary>
        public string Current() => Convert.ToHexStringLower(hash.GetCurrentHash());

        public void Dispose() => hash.Dispose();
    }
}
