using System.Globalization;
using System.Text.RegularExpressions;
using Google.Protobuf.WellKnownTypes;

namespace Campaigns.Client;

/// <summary>Instants and durations as people type and read them.</summary>
public static partial class TimeText
{
    /// <summary>
    /// Reads a duration made of whole units: <c>7d</c>, <c>12h</c>, <c>30m</c>, <c>45s</c>, <c>2w</c>,
    /// or a sum of them, largest first (<c>1d12h</c>).
    /// </summary>
    /// <exception cref="FormatException">The text is not such a duration.</exception>
    public static TimeSpan ParseDuration(string text)
    {
        var match = DurationPattern().Match(text.Trim());
        if (!match.Success || match.Length == 0)
        {
            throw new FormatException($"'{text}' is not a duration like 7d, 12h, 30m, 45s or 1d12h.");
        }

        var total = TimeSpan.Zero;
        foreach (var (group, unit) in Units)
        {
            if (match.Groups[group].Success)
            {
                total += unit * long.Parse(match.Groups[group].Value, CultureInfo.InvariantCulture);
            }
        }

        return total;
    }

    /// <summary>
    /// Reads an instant: <c>now</c>; a duration after <paramref name="relativeTo"/> (<c>7d</c> or <c>+7d</c>);
    /// or an ISO-8601 date or date-time. A date-time with <c>Z</c> or an offset means exactly that;
    /// without one it is a time in <paramref name="zone"/> (default: the local zone), and a bare date is
    /// that day's midnight there.
    /// </summary>
    /// <param name="text">What was typed.</param>
    /// <param name="now">The current instant.</param>
    /// <param name="relativeTo">What a duration counts from; <paramref name="now"/> when null.</param>
    /// <param name="zone">The zone of times written without an offset.</param>
    /// <exception cref="FormatException">The text is none of these.</exception>
    public static DateTimeOffset ParseInstant(string text, DateTimeOffset now, DateTimeOffset? relativeTo = null, TimeZoneInfo? zone = null)
    {
        var trimmed = text.Trim();
        if (trimmed.Equals("now", StringComparison.OrdinalIgnoreCase))
        {
            return now;
        }

        if (!IsoStart().IsMatch(trimmed))
        {
            try
            {
                return (relativeTo ?? now) + ParseDuration(trimmed.StartsWith('+') ? trimmed[1..] : trimmed);
            }
            catch (FormatException)
            {
                // Neither a date nor a duration: the message below says what is accepted.
            }
        }
        else if (DateTime.TryParse(trimmed, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var parsed))
        {
            if (parsed.Kind != DateTimeKind.Unspecified)
            {
                return new DateTimeOffset(parsed.ToUniversalTime(), TimeSpan.Zero);
            }

            var local = zone ?? TimeZoneInfo.Local;
            return new DateTimeOffset(parsed, local.GetUtcOffset(parsed));
        }

        throw new FormatException($"'{text}' is not an instant: write now, a duration like 7d, or an ISO date such as 2026-10-01T10:00+08:00.");
    }

    /// <summary>An instant as a local ISO-8601 time with its offset, e.g. <c>2026-10-01T10:00:00+08:00</c>; <c>-</c> when absent.</summary>
    public static string Local(Timestamp? timestamp, TimeZoneInfo? zone = null)
    {
        if (timestamp is null)
        {
            return "-";
        }

        var instant = timestamp.ToDateTimeOffset();
        var local = TimeZoneInfo.ConvertTime(instant, zone ?? TimeZoneInfo.Local);
        return local.ToString("yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture);
    }

    /// <summary>A duration the way <see cref="ParseDuration"/> reads it, e.g. <c>1d12h</c>.</summary>
    public static string Format(TimeSpan duration)
    {
        if (duration <= TimeSpan.Zero)
        {
            return "0s";
        }

        var text = new System.Text.StringBuilder();
        var rest = duration;
        foreach (var (group, unit) in Units.Skip(1))
        {
            var count = rest.Ticks / unit.Ticks;
            if (count > 0)
            {
                text.Append(count.ToString(CultureInfo.InvariantCulture)).Append(group);
                rest -= unit * count;
            }
        }

        return text.Length == 0 ? $"{duration.TotalMilliseconds.ToString(CultureInfo.InvariantCulture)}ms" : text.ToString();
    }

    private static readonly (string Group, TimeSpan Unit)[] Units =
    [
        ("w", TimeSpan.FromDays(7)),
        ("d", TimeSpan.FromDays(1)),
        ("h", TimeSpan.FromHours(1)),
        ("m", TimeSpan.FromMinutes(1)),
        ("s", TimeSpan.FromSeconds(1)),
    ];

    [GeneratedRegex(@"^(?:(?<w>\d{1,4})w)?(?:(?<d>\d{1,5})d)?(?:(?<h>\d{1,6})h)?(?:(?<m>\d{1,7})m)?(?:(?<s>\d{1,9})s)?$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex DurationPattern();

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}", RegexOptions.CultureInvariant)]
    private static partial Regex IsoStart();
}
