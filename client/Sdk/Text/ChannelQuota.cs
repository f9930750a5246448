using System.Globalization;

namespace Campaigns.Client;

/// <summary>A channel quota as typed: <c>partner-id=stock</c>.</summary>
public static class ChannelQuota
{
    /// <summary>Reads <c>meituan=5000</c> into the partner id and the stock reserved for it.</summary>
    /// <exception cref="FormatException">The text is not <c>partner=N</c> with N ≥ 0.</exception>
    public static KeyValuePair<string, long> Parse(string text)
    {
        var separator = text.LastIndexOf('=');
        if (separator > 0)
        {
            var partner = text[..separator].Trim();
            if (partner.Length > 0
                && long.TryParse(text[(separator + 1)..].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var stock))
            {
                return new(partner, stock);
            }
        }

        throw new FormatException($"'{text}' is not a channel quota like partner-id=5000.");
    }
}
