using System.Security.Cryptography;
using Campaigns.Grains.Common;

namespace Campaigns.Grains.Issuance;

/// <summary>
/// Makes and checks voucher codes: the issue time in milliseconds (40 bits), 40 random bits and
/// a 40-bit keyed check (HMAC-SHA256 under the deployment's secret), written as 24 characters of
/// Crockford base32. A guessed or mistyped code fails the check before any lookup; one in 2^40
/// random strings passes it, and the key never leaves the silo, so knowing other codes does not
/// help to forge one.
/// <para>
/// Why the time leads: the ledger's primary key is the code. Random codes land on random pages
/// of that index, and every page a commit touches is written out again (to the WAL, then to the
/// database at a checkpoint), which made the code index one of the costliest parts of issuing.
/// Time-ordered codes append at the index's end instead. Codes of one millisecond differ in their
/// 40 random bits; should two ever coincide, the ledger's primary key refuses the batch, its
/// callers get UNAVAILABLE, and their retries (same request ids) draw new codes.
/// </para>
/// Tills may type codes: dashes, spaces, lower case and the look-alikes O/I/L are accepted.
/// </summary>
public sealed class VoucherCodes
{
    public const int Length = 24;
    private const int TimeBytes = 5;
    private const int BodyBytes = 10;
    private const int CheckBytes = 5;
    private const string Alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

    /// <summary>Milliseconds are counted from here; 40 bits of them last until 2059.</summary>
    private static readonly DateTimeOffset Epoch = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly byte[] _key;
    private readonly TimeProvider _clock;

    // Each thread keeps its own keyed HMAC and a stock of random bytes: a fresh HMAC per code (key
    // schedule included) and a call into the system's generator per code were most of the cost
    // of making one, and a batch of a thousand makes a thousand.
    private readonly ThreadLocal<Scratch> _scratch;

    public VoucherCodes(byte[] key, TimeProvider? clock = null)
    {
        if (key.Length < 32)
        {
            throw new ArgumentException("the voucher code key needs at least 256 bits", nameof(key));
        }

        _key = key;
        _clock = clock ?? TimeProvider.System;
        _scratch = new ThreadLocal<Scratch>(() => new Scratch(_key));
    }

    public string NewCode()
    {
        Span<byte> raw = stackalloc byte[BodyBytes + CheckBytes];
        var millis = (ulong)Math.Max(0, (_clock.GetUtcNow() - Epoch).Ticks / TimeSpan.TicksPerMillisecond);
        for (var i = TimeBytes - 1; i >= 0; i--, millis >>= 8)
        {
            raw[i] = (byte)millis;
        }

        var scratch = _scratch.Value!;
        scratch.TakeRandom(raw[TimeBytes..BodyBytes]);
        scratch.Check(raw[..BodyBytes], raw[BodyBytes..]);
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

        Span<byte> raw = stackalloc byte[BodyBytes + CheckBytes];
        Decode(chars, raw);
        Span<byte> expected = stackalloc byte[CheckBytes];
        _scratch.Value!.Check(raw[..BodyBytes], expected);
        if (!CryptographicOperations.FixedTimeEquals(expected, raw[BodyBytes..]))
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

    /// <summary>One thread's HMAC (HMAC-SHA256 under the key) and its unused random bytes.</summary>
    private sealed class Scratch(byte[] key)
    {
        private readonly IncrementalHash _mac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, key);
        private readonly byte[] _random = new byte[4096];
        private int _used = 4096;

        public void Check(ReadOnlySpan<byte> body, Span<byte> check)
        {
            Span<byte> mac = stackalloc byte[32];
            _mac.AppendData(body);
            _mac.GetHashAndReset(mac);
            mac[..CheckBytes].CopyTo(check);
        }

        /// <summary>Fresh bytes from the system's cryptographic generator, drawn 4 KiB at a time; none is handed out twice.</summary>
        public void TakeRandom(Span<byte> into)
        {
            if (_used + into.Length > _random.Length)
            {
                RandomNumberGenerator.Fill(_random);
                _used = 0;
            }

            _random.AsSpan(_used, into.Length).CopyTo(into);
            _random.AsSpan(_used, into.Length).Clear();
            _used += into.Length;
        }
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
