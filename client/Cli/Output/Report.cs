using System.Globalization;
using System.Text;

namespace Campaigns.Cli;

/// <summary>Readable output: aligned <c>key: value</c> blocks and column-aligned tables.</summary>
internal sealed class Report(TextWriter output)
{
    /// <summary>Writes <c>key: value</c> lines with the values aligned; null values are left out.</summary>
    public void Fields(IEnumerable<(string Key, string? Value)> fields)
    {
        var present = fields.Where(field => field.Value is not null).ToList();
        if (present.Count == 0)
        {
            return;
        }

        var width = present.Max(field => DisplayWidth(field.Key)) + 2;
        foreach (var (key, value) in present)
        {
            output.WriteLine(Pad(key + ":", width) + value);
        }
    }

    /// <summary>Writes a table; columns whose cells all look numeric or like money are right-aligned.</summary>
    public void Table(IReadOnlyList<string> headers, IEnumerable<IReadOnlyList<string>> rows)
    {
        var body = rows.ToList();
        var widths = headers.Select((header, column) =>
            body.Select(row => DisplayWidth(row[column])).Append(DisplayWidth(header)).Max()).ToArray();
        var rightAligned = headers.Select((_, column) =>
            body.Count > 0 && body.All(row => LooksNumeric(row[column]))).ToArray();

        WriteRow(headers);
        foreach (var row in body)
        {
            WriteRow(row);
        }

        void WriteRow(IReadOnlyList<string> cells)
        {
            var line = new StringBuilder();
            for (var column = 0; column < cells.Count; column++)
            {
                var last = column == cells.Count - 1;
                var cell = rightAligned[column] ? PadLeft(cells[column], widths[column]) : last ? cells[column] : Pad(cells[column], widths[column]);
                line.Append(cell);
                if (!last)
                {
                    line.Append("  ");
                }
            }

            output.WriteLine(line.ToString().TrimEnd());
        }
    }

    public void Line(string text = "") => output.WriteLine(text);

    /// <summary>Terminal columns a text takes: East Asian wide characters (CJK names, districts) take two.</summary>
    public static int DisplayWidth(string text)
    {
        var width = 0;
        foreach (var rune in text.EnumerateRunes())
        {
            width += IsWide(rune.Value) ? 2 : CharUnicodeInfo.GetUnicodeCategory(rune.Value) is UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark or UnicodeCategory.Format ? 0 : 1;
        }

        return width;
    }

    private static bool IsWide(int c) =>
        c is (>= 0x1100 and <= 0x115F) or (>= 0x2E80 and <= 0x303E) or (>= 0x3041 and <= 0x33FF)
            or (>= 0x3400 and <= 0x4DBF) or (>= 0x4E00 and <= 0x9FFF) or (>= 0xA000 and <= 0xA4CF)
            or (>= 0xAC00 and <= 0xD7A3) or (>= 0xF900 and <= 0xFAFF) or (>= 0xFE30 and <= 0xFE4F)
            or (>= 0xFF00 and <= 0xFF60) or (>= 0xFFE0 and <= 0xFFE6) or (>= 0x1F300 and <= 0x1F64F)
            or (>= 0x20000 and <= 0x3FFFD);

    private static bool LooksNumeric(string cell) =>
        cell.Length > 0 && cell.TrimStart('-', '¥').Length > 0 && cell.TrimStart('-', '¥').All(c => char.IsAsciiDigit(c) || c is '.' or ',' or '%');

    private static string Pad(string text, int width) => text + new string(' ', Math.Max(0, width - DisplayWidth(text)));

    private static string PadLeft(string text, int width) => new string(' ', Math.Max(0, width - DisplayWidth(text))) + text;
}
