using Campaigns.Proto;

namespace Campaigns.Client;

/// <summary>Batches of issuance requests: the size the server takes, and the CSV file the CLI reads them from.</summary>
public static class VoucherBatch
{
    /// <summary>The most items one <c>IssueVouchers</c> call takes.</summary>
    public const int MaxItems = 1000;

    /// <summary>
    /// Reads lines <c>user_id,request_id[,district[,device_id]]</c> (RFC 4180 quoting allowed). Blank lines, lines
    /// starting with <c>#</c> and a first line starting with <c>user_id</c> (a header) are skipped.
    /// </summary>
    /// <exception cref="FormatException">A line is malformed; the message gives its number.</exception>
    public static IReadOnlyList<IssueVouchersItem> ParseCsv(TextReader reader)
    {
        var items = new List<IssueVouchersItem>();
        var number = 0;
        while (reader.ReadLine() is { } line)
        {
            number++;
            if (string.IsNullOrWhiteSpace(line) || line.TrimStart().StartsWith('#')
                || (number == 1 && line.StartsWith("user_id", StringComparison.OrdinalIgnoreCase)))
            {
                continue;
            }

            IReadOnlyList<string> fields;
            try
            {
                fields = Csv.Split(line);
            }
            catch (FormatException e)
            {
                throw new FormatException($"line {number}: {e.Message}", e);
            }

            if (fields.Count is < 2 or > 4)
            {
                throw new FormatException($"line {number}: expected user_id,request_id[,district[,device_id]] but found {fields.Count} field(s).");
            }

            var item = new IssueVouchersItem { UserId = fields[0].Trim(), RequestId = fields[1].Trim() };
            if (item.UserId.Length == 0 || item.RequestId.Length == 0)
            {
                throw new FormatException($"line {number}: user_id and request_id are both required.");
            }

            if (fields.Count >= 3)
            {
                item.District = fields[2].Trim();
            }

            if (fields.Count == 4)
            {
                item.DeviceId = fields[3].Trim();
            }

            items.Add(item);
        }

        return items;
    }
}
