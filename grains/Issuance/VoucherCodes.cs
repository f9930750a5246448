using System.Security.Cryptography;
using Campaigns.Grains.Common;

namespace Campaigns.Grains.Issuance;

/// <summary>
/// Makes and checks voucher codes: 80 random bits and a 40-bit keyed check (HMAC-SHA256 under
/// the deployment's secret), written as 24 characters of Crockford base32. A guessed or
/// mistyped code fails the check before any lookup; one in 2^40 random strings passes it.
/// Tills may type codes: dashes, spaces, lower case and the look-alikes O/I/L are accepted.
/// </summary>
public sealed class VoucherCodes
{
    public const int Length = 24;
    private const int RandomBytes = 10;
    private const int CheckBytes = 5;
    private const string Alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    private readonly byte[] _key;

    public VoucherCodes(byte[] key)
    {
        if (key.Length < 32)
        {
            throw new ArgumentException("the voucher code key needs at least 256 bits", nameof(key));
        }

        _key = key;
    }

    public string NewCode()
    {
        Span<byte> raw = stackalloc byte[RandomBytes + CheckBytes];
        RandomNumberGenerator.Fill(raw[..RandomBytes]);
        Check(raw[..RandomBytes], raw[RandomBytes..]);
        return Encode(raw);
    }

    /// <summary>The canonical form of a code a person or system typed, if its check holds.</summary>
    public bool TryNormalize(string? input, out string code)
    {
        code = "";
        if (string.IsNullOrEmpty(input) || input.Length > 64)
        {
            return false;
        }

        Span<char> chars = stackalloc char[Length];
        var n = 0;
        foreach (var c in input)
        {
            if (c is '-' or ' ')
            {
                continue;
            }

            var normal = char.ToUpperInvariant(c) switch { 'O' => '0', 'I' or 'L' => '1', var other => other };
            if (n == Length || Alphabet.IndexOf(normal, StringComparison.Ordinal) < 0)
            {
                return false;
            }

            chars[n++] = normal;
        }

        if (n != Length)
        {
            return false;
        }

        Span<byte> raw = stackalloc byte[RandomBytes + CheckBytes];
        Decode(chars, raw);
        Span<byte> expected = stackalloc byte[CheckBytes];
        Check(raw[..RandomBytes], expected);
        if (!CryptographicOperations.FixedTimeEquals(expected, raw[RandomBytes..]))
        {
            return false;
        }

        code = new string(chars);
        return true;
    }

    /// <summary>The canonical code, or VOUCHER_NOT_FOUND for anything that fails the check.</summary>
    public string Require(string? input) => TryNormalize(input, out var code)
        ? code
        : throw new CampaignsException(Refusal.VoucherNotFound, "no such voucher code (check the code for typing errors)");

    private void Check(ReadOnlySpan<byte> body, Span<byte> check)
    {
        Span<byte> mac = stackalloc byte[32];
        HMACSHA256.HashData(_key, body, mac);
        mac[..CheckBytes].CopyTo(check);
    }

    // 15 bytes = 120 bits = exactly 24 five-bit characters.
    private static string Encode(ReadOnlySpan<byte> raw)
    {
        Span<char> chars = stackalloc char[Length];
        int buffer = 0, bits = 0, n = 0;
        foreach (var b in raw)
        {
            buffer = (buffer << 8) | b;
            bits += 8;
            while (bits >= 5)
            {
                bits -= 5;
                chars[n++] = Alphabet[(buffer >> bits) & 31];
            }
        }

        return new string(chars);
    }

    private static void Decode(ReadOnlySpan<char> chars, Span<byte> raw)
    {
        int buffer = 0, bits = 0, n = 0;
        foreach (var c in chars)
        {
            buffer = (buffer << 5) | Alphabet.IndexOf(c, StringComparison.Ordinal);
            bits += 5;
            if (bits >= 8)
            {
                bits -= 8;
                raw[n++] = (byte)(buffer >> bits);
            }
        }
    }
}
