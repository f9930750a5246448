using System.Security.Cryptography;
using Campaigns.Grains.Common;
using Campaigns.Grains.Issuance;
using Campaigns.Grains.Ledger;

namespace Campaigns.Tests.Rules;

public sealed class VoucherCodesTests
{
    private const string Alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    private static readonly VoucherCodes Codes = new([.. Enumerable.Range(0, 32).Select(i => (byte)i)]);
    private static readonly VoucherCodes OtherDeployment = new([.. Enumerable.Range(0, 32).Select(i => (byte)(255 - i))]);
    private static long s_seq;

    /// <summary>The code of the next voucher of shard 5 of campaign 7, as a shard would issue it.</summary>
    private static string NewCode(VoucherCodes? codes = null) => (codes ?? Codes).CodeFor(new VoucherKey(7, 5, Interlocked.Increment(ref s_seq)));

    private static string CodeContaining(params char[] wanted)
    {
        for (var i = 0; i < 100_000; i++)
        {
            var code = NewCode();
            if (wanted.All(code.Contains))
            {
                return code;
            }
        }

        throw new InvalidOperationException("no code with " + new string(wanted));
    }

    [Fact]
    public void A_new_code_is_24_characters_of_crockford_base32()
    {
        var code = NewCode();

        Assert.Equal(24, code.Length);
        Assert.All(code, c => Assert.Contains(c, Alphabet));
    }

    [Fact]
    public void Ten_thousand_new_codes_are_distinct_and_all_pass_their_own_check()
    {
        var codes = Enumerable.Range(0, 10_000).Select(_ => NewCode()).ToList();

        Assert.Equal(10_000, codes.Distinct(StringComparer.Ordinal).Count());
        Assert.All(codes, code =>
        {
            Assert.True(Codes.TryRead(code, out var read));
            Assert.Equal(code, read.Text);
        });
    }

    [Fact]
    public void A_code_typed_in_lower_case_is_accepted_as_the_canonical_code()
    {
        var code = NewCode();

        Assert.True(Codes.TryRead(code.ToLowerInvariant(), out var read));
        Assert.Equal(code, read.Text);
    }

    [Fact]
    public void A_code_typed_in_groups_with_dashes_and_spaces_is_accepted_as_the_canonical_code()
    {
        var code = NewCode();
        var typed = $"{code[..4]}-{code[4..8]} {code[8..12]} - {code[12..16]}  {code[16..20]}-{code[20..]}";

        Assert.True(Codes.TryRead(typed, out var read));
        Assert.Equal(code, read.Text);
    }

    [Fact]
    public void A_code_typed_with_O_for_0_and_I_or_L_for_1_is_accepted_as_the_canonical_code()
    {
        var code = CodeContaining('0', '1');
        var typed = code.Replace('0', 'O');
        var withI = typed.Replace('1', 'I');
        var withL = typed.Replace('1', 'l');

        Assert.True(Codes.TryRead(withI, out var read));
        Assert.Equal(code, read.Text);
        Assert.True(Codes.TryRead(withL, out read));
        Assert.Equal(code, read.Text);
        Assert.True(Codes.TryRead(code.Replace('0', 'o'), out read));
        Assert.Equal(code, read.Text);
    }

    [Fact]
    public void Changing_any_one_character_to_any_other_is_refused()
    {
        var code = NewCode();
        for (var position = 0; position < code.Length; position++)
        {
            foreach (var other in Alphabet.Where(c => c != code[position]))
            {
                var typo = string.Concat(code.AsSpan(0, position), other.ToString(), code.AsSpan(position + 1));
                Assert.False(Codes.TryRead(typo, out var read), $"{typo} (position {position}) passed the check");
                Assert.Null(read.Text);
            }
        }
    }

    [Fact]
    public void Swapping_two_neighbouring_characters_is_refused()
    {
        var code = NewCode();
        for (var position = 0; position < code.Length - 1; position++)
        {
            if (code[position] == code[position + 1])
            {
                continue;
            }

            var chars = code.ToCharArray();
            (chars[position], chars[position + 1]) = (chars[position + 1], chars[position]);
            Assert.False(Codes.TryRead(new string(chars), out _), $"swap at {position} passed the check");
        }
    }

    [Fact]
    public void Codes_made_under_another_deployments_key_are_refused()
    {
        for (var i = 0; i < 1_000; i++)
        {
            Assert.False(Codes.TryRead(NewCode(OtherDeployment), out _));
        }
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData("------------------------")]
    [InlineData("hello")]
    [InlineData("UUUUUUUUUUUUUUUUUUUUUUUU")]
    [InlineData("!@#$%^&*()_+=!@#$%^&*()_")]
    [InlineData("0000000000000000000000000")]
    [InlineData("00000000000000000000000")]
    [InlineData("000000000000000000000000")]
    [InlineData("ZZZZZZZZZZZZZZZZZZZZZZZZ")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAA\u00c5")]
    public void Garbage_is_refused(string? input)
    {
        Assert.False(Codes.TryRead(input, out var read));
        Assert.Null(read.Text);
    }

    [Fact]
    public void A_valid_code_with_one_character_more_is_refused() =>
        Assert.False(Codes.TryRead(NewCode() + "0", out _));

    [Fact]
    public void A_valid_code_with_one_character_fewer_is_refused() =>
        Assert.False(Codes.TryRead(NewCode()[..23], out _));

    [Fact]
    public void A_valid_code_padded_to_64_characters_is_accepted_but_to_65_is_refused_unread()
    {
        var code = NewCode();

        Assert.True(Codes.TryRead(code + new string('-', 40), out _));
        Assert.False(Codes.TryRead(code + new string('-', 41), out _));
    }

    [Fact]
    public void Require_returns_the_canonical_code()
    {
        var code = NewCode();

        Assert.Equal(code, Codes.Require(" " + code.ToLowerInvariant() + " "));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("not-a-code")]
    public void Require_refuses_anything_failing_the_check_with_VOUCHER_NOT_FOUND(string? input) =>
        Refused.With(Refusal.VoucherNotFound, () => Codes.Require(input));

    [Fact]
    public void Require_refuses_a_mistyped_code_with_VOUCHER_NOT_FOUND()
    {
        var code = NewCode();
        var typo = (code[0] == 'A' ? "B" : "A") + code[1..];

        Refused.With(Refusal.VoucherNotFound, () => Codes.Require(typo));
    }

    [Fact]
    public void A_code_names_the_row_it_was_made_for_and_the_same_key_always_gives_the_same_code()
    {
        foreach (var key in new[] { new VoucherKey(1, 0, 1), new VoucherKey(VoucherKey.MaxCampaignNumber, VoucherKey.MaxShard, VoucherKey.MaxSeq), new VoucherKey(4_242, 63, 200_000) })
        {
            var code = Codes.CodeFor(key);

            Assert.StartsWith("V", code);
            Assert.True(Codes.TryRead(code, out var read));
            Assert.Equal(key, read.Key);
            Assert.Equal(code, Codes.CodeFor(key));
        }
    }

    [Fact]
    public void Neighbouring_vouchers_codes_look_unrelated()
    {
        // The key is masked: a code shows neither how many vouchers came before it nor its neighbours' codes.
        var codes = Enumerable.Range(1, 1_000).Select(seq => Codes.CodeFor(new VoucherKey(3, 0, seq))).ToList();

        var sharedPrefixes = codes.Zip(codes.Skip(1), (a, b) => a.Zip(b).Skip(1).TakeWhile(p => p.First == p.Second).Count());
        Assert.True(sharedPrefixes.Average() < 0.2, $"neighbouring codes share {sharedPrefixes.Average():0.00} characters after the V on average");
        Assert.Equal(codes.Count, codes.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void A_code_made_before_keyed_rows_still_passes_its_check_and_names_no_key()
    {
        // The earlier format: 10 bytes of time and random bits, then the first 5 bytes of their HMAC.
        var key = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();
        var body = new byte[] { 0x06, 0x1B, 0x2C, 0x3D, 0x4E, 0x11, 0x22, 0x33, 0x44, 0x55 };
        var check = HMACSHA256.HashData(key, body)[..5];
        var legacy = Base32([.. body, .. check]);

        Assert.True(Codes.TryRead(legacy, out var read));
        Assert.Equal(legacy, read.Text);
        Assert.Null(read.Key);
        Assert.False(Codes.TryRead(Base32([.. body, .. check[..4], (byte)(check[4] ^ 1)]), out _));
    }

    private static string Base32(byte[] raw)
    {
        var chars = new char[24];
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

    [Fact]
    public void A_key_shorter_than_256_bits_is_refused() =>
        Assert.Throws<ArgumentException>(() => new VoucherCodes(new byte[31]));
}
