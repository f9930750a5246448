using System.Buffers.Binary;
using System.Security.Cryptography;
using Campaigns.Grains.Common;
using Campaigns.Grains.Ledger;

namespace Campaigns.Grains.Issuance;

/// <summary>A code as typed, once its keyed check holds: its canonical text and, unless it predates keyed rows, the row it names.</summary>
public readonly record struct VoucherCode(string Text, VoucherKey? Key);

/// <summary>
/// Makes and checks voucher codes: 24 characters of Crockford base32 (120 bits). A code carries
/// its voucher's row key (<see cref="VoucherKey"/>), so redemption reads the row by key, and a
/// 51-bit keyed check (HMAC-SHA256 under the deployment's secret), so a guessed or mistyped code
/// is refused before any read: one random string in 2^51 passes it, and the key never leaves the
/// silo. The row key is masked with a pad derived from the check, so codes do not show how many
/// vouchers a shard has issued, and neighbouring vouchers' codes look unrelated.
/// <para>
/// Layout: 'V' (5 bits), check (51 bits), row key XOR pad (64 bits). Codes issued before keyed
/// rows (time, random bits, 40-bit check) start with '0' or '1' and are still accepted: the
/// ledger finds their rows through the table the layout migration left for them.
/// </para>
/// Tills may type codes: dashes, spaces, lower case and the look-alikes O/I/L are accepted.
/// </summary>
public sealed class VoucherCodes
{
    public const int Length = 24;
    private const string Alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    private const int Marker = 27; // 'V'
    private const int CheckBits = 51;
    private const ulong CheckMask = (1UL << CheckBits) - 1;
    private const int LegacyBodyBytes = 10;
    private const int LegacyCheckBytes = 5;

    private readonly ThreadLocal<IncrementalHash> _macs;

    public VoucherCodes(byte[] key)
    {
        if (key.Length < 32)
        {
            throw new ArgumentException("the voucher code key needs at least 256 bits", nameof(key));
        }

        // One keyed HMAC per thread: a fresh one per code (key schedule included) cost more than the rest of making it.
        _macs = new ThreadLocal<IncrementalHash>(() => IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, key));
    }

    /// <summary>The code of the voucher stored under <paramref name="key"/>; the same key always gives the same code.</summary>
    public string CodeFor(VoucherKey key)
    {
        var packed = (ulong)key.Packed;
        var check = Check(packed);
        var value = ((UInt128)Marker << (CheckBits + 64)) | ((UInt128)check << 64) | (packed ^ Pad(check));
        Span<char> chars = stackalloc char[Length];
        for (var i = Length - 1; i >= 0; i--, value >>= 5)
        {
            chars[i] = Alphabet[(int)(value & 31)];
        }

        return new string(chars);
    }

    /// <summary>The code a person or system typed, if it is well formed and its check holds.</summary>
    public bool TryRead(string? input, out VoucherCode code)
    {
        code = default;
        Span<char> chars = stackalloc char[Length];
        if (!TryCanonical(input, chars))
        {
            return false;
        }

        UInt128 value = 0;
        foreach (var c in chars)
        {
            value = (value << 5) | (uint)Alphabet.IndexOf(c, StringComparison.Ordinal);
        }

        if (chars[0] != Alphabet[Marker])
        {
            if (!LegacyCheckHolds(value))
            {
                return false;
            }

            code = new VoucherCode(new string(chars), null);
            return true;
        }

        var check = (ulong)(value >> 64) & CheckMask;
        var packed = (ulong)value ^ Pad(check);
        Span<byte> expected = stackalloc byte[8];
        Span<byte> actual = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(expected, Check(packed));
        BinaryPrimitives.WriteUInt64BigEndian(actual, check);
        if (!CryptographicOperations.FixedTimeEquals(expected, actual) || packed > long.MaxValue
            || VoucherKey.Unpack((long)packed) is not { IsValid: true } key)
        {
            return false;
        }

        code = new VoucherCode(new string(chars), key);
        return true;
    }

    /// <summary>The code read, or VOUCHER_NOT_FOUND for anything that fails the check.</summary>
    public VoucherCode Read(string? input) => TryRead(input, out var code)
        ? code
        : throw new CampaignsException(Refusal.VoucherNotFound, "no such voucher code (check the code for typing errors)");

    /// <summary>The canonical text of a code, or VOUCHER_NOT_FOUND for anything that fails the check.</summary>
    public string Require(string? input) => Read(input).Text;

    private static bool TryCanonical(string? input, Span<char> chars)
    {
        if (string.IsNullOrEmpty(input) || input.Length > 64)
        {
            return false;
        }

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

        return n == Length;
    }

    /// <summary>The first 51 bits of HMAC(0x01 ‖ packed key).</summary>
    private ulong Check(ulong packed)
    {
        Span<byte> message = stackalloc byte[9];
        message[0] = 1;
        BinaryPrimitives.WriteUInt64BigEndian(message[1..], packed);
        return Mac(message) >> (64 - CheckBits);
    }

    /// <summary>64 bits of HMAC(0x02 ‖ check): what masks the row key.</summary>
    private ulong Pad(ulong check)
    {
        Span<byte> message = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(message, check);
        message[0] = 2; // the check has 51 bits, so its top byte is free for the domain tag
        return Mac(message);
    }

    private ulong Mac(ReadOnlySpan<byte> message)
    {
        Span<byte> mac = stackalloc byte[32];
        var hmac = _macs.Value!;
        hmac.AppendData(message);
        hmac.GetHashAndReset(mac);
        return BinaryPrimitives.ReadUInt64BigEndian(mac);
    }

    /// <summary>Codes before keyed rows: 10 bytes (time and random bits) and the first 5 bytes of their HMAC.</summary>
    private bool LegacyCheckHolds(UInt128 value)
    {
        Span<byte> raw = stackalloc byte[16];
        BinaryPrimitives.WriteUInt128BigEndian(raw, value);
        var body = raw.Slice(1, LegacyBodyBytes);
        Span<byte> mac = stackalloc byte[32];
        var hmac = _macs.Value!;
        hmac.AppendData(body);
        hmac.GetHashAndReset(mac);
        return CryptographicOperations.FixedTimeEquals(mac[..LegacyCheckBytes], raw.Slice(1 + LegacyBodyBytes, LegacyCheckBytes));
    }
}
