using System.Globalization;

namespace Campaigns.Client;

/// <summary>Money as the contract carries it, <c>long</c> cents (fen) of CNY, shown and read as yuan.</summary>
public static class Money
{
    /// <summary>1234 → <c>¥12.34</c>; -50 → <c>-¥0.50</c>.</summary>
    public static string Format(long cents)
    {
        var magnitude = cents < 0 ? -(decimal)cents : cents;
        var text = "¥" + (magnitude / 100m).ToString("0.00", CultureInfo.InvariantCulture);
        return cents < 0 ? "-" + text : text;
    }

    /// <summary>1234 → <c>¥12.34 (1234)</c>: the yuan for people, the cents as the API has them.</summary>
    public static string FormatWithCents(long cents) =>
        $"{Format(cents)} ({cents.ToString(CultureInfo.InvariantCulture)})";

    /// <summary>
    /// Reads an amount: plain digits are cents (<c>1234</c>); yuan need the sign (<c>¥12.34</c>, <c>￥12</c>)
    /// or a unit (<c>12.34yuan</c>, <c>12.34元</c>), with at most two decimals. Never negative.
    /// </summary>
    /// <exception cref="FormatException">The text is not such an amount.</exception>
    public static long ParseCents(string text)
    {
        var trimmed = text.Trim().Replace("_", "", StringComparison.Ordinal);
        var yuan = false;
        if (trimmed.StartsWith('¥') || trimmed.StartsWith('￥'))
        {
            (trimmed, yuan) = (trimmed[1..], true);
        }
        else if (trimmed.EndsWith('元'))
        {
            (trimmed, yuan) = (trimmed[..^1], true);
        }
        else if (trimmed.EndsWith("yuan", StringComparison.OrdinalIgnoreCase))
        {
            (trimmed, yuan) = (trimmed[..^4], true);
        }

        if (!yuan)
        {
            if (long.TryParse(trimmed, NumberStyles.None, CultureInfo.InvariantCulture, out var cents))
            {
                return cents;
            }

            throw new FormatException(
                trimmed.Contains('.', StringComparison.Ordinal)
                    ? $"'{text}': amounts are in cents; write ¥{trimmed} for yuan."
                    : $"'{text}' is not an amount in cents.");
        }

        if (!decimal.TryParse(trimmed, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var amount))
        {
            throw new FormatException($"'{text}' is not an amount of yuan.");
        }

        var scaled = amount * 100m;
        if (scaled != decimal.Truncate(scaled))
        {
            throw new FormatException($"'{text}' has more than two decimals: the smallest unit is the cent (fen).");
        }

        return scaled <= long.MaxValue ? (long)scaled : throw new FormatException($"'{text}' is too large.");
    }
}
