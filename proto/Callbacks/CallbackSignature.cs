using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Campaigns.Proto.Callbacks;

/// <summary>
/// The signature of an event callback, part of the contract: header <c>Campaigns-Signature:
/// t=&lt;unix seconds&gt;,v1=&lt;hex HMAC-SHA256 of "&lt;t&gt;.&lt;body&gt;" with the subscription's secret&gt;</c>.
/// The silo signs with it; the SDK's verifier reads it.
/// </summary>
public static class CallbackSignature
{
    public const string HeaderName = "Campaigns-Signature";

    /// <summary>The header's value for <paramref name="body"/> sent at <paramref name="unixSeconds"/>.</summary>
    public static string Header(string secret, long unixSeconds, ReadOnlySpan<byte> body) =>
        $"t={unixSeconds.ToString(CultureInfo.InvariantCulture)},v1={Hex(secret, unixSeconds, body)}";

    /// <summary>Lower-case hex of HMAC-SHA256(secret, "&lt;t&gt;." + body).</summary>
    public static string Hex(string secret, long unixSeconds, ReadOnlySpan<byte> body)
    {
        var prefix = Encoding.UTF8.GetBytes(unixSeconds.ToString(CultureInfo.InvariantCulture) + ".");
        var signed = new byte[prefix.Length + body.Length];
        prefix.CopyTo(signed, 0);
        body.CopyTo(signed.AsSpan(prefix.Length));
        return Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), signed));
    }

    /// <summary>Reads "t=…,v1=…[,v1=…]": the time and every v1 signature; false if it is not shaped so.</summary>
    public static bool TryParse(string? header, out long unixSeconds, out IReadOnlyList<string> signatures)
    {
        unixSeconds = 0;
        var found = new List<string>();
        signatures = found;
        var hasTime = false;
        foreach (var part in (header ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                return false;
            }

            var (name, value) = (part[..eq], part[(eq + 1)..]);
            if (name == "t")
            {
                hasTime = long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out unixSeconds);
            }
            else if (name == "v1")
            {
                found.Add(value);
            }
        }

        return hasTime && found.Count > 0;
    }
}
