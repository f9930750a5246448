using Campaigns.Grains.Common;
using Campaigns.Grains.Issuance;
using Microsoft.Extensions.Time.Testing;

namespace Campaigns.Tests.Rules;

public sealed class VoucherCodesTests
{
    private const string Alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    private static readonly VoucherCodes Codes = new([.. Enumerable.Range(0, 32).Select(i => (byte)i)]);
    private static readonly VoucherCodes OtherDeployment = new([.. Enumerable.Range(0, 32).Select(i => (byte)(255 - i))]);

    private static string CodeContaining(params char[] wanted)
    {
        for (var i = 0; i < 100_000; i++)
        {
            var code = Codes.NewCode();
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
        var code = Codes.NewCode();

        Assert.Equal(24, code.Length);
        Assert.All(code, c => Assert.Contains(c, Alphabet));
    }

    [Fact]
    public void Ten_thousand_new_codes_are_distinct_and_all_pass_their_own_check()
    {
        var codes = Enumerable.Range(0, 10_000).Select(_ => Codes.NewCode()).ToList();

        Assert.Equal(10_000, codes.Distinct(StringComparer.Ordinal).Count());
        Assert.All(codes, code =>
        {
            Assert.True(Codes.TryNormalize(code, out var normal));
            Assert.Equal(code, normal);
        });
    }

    [Fact]
    public void A_code_typed_in_lower_case_is_accepted_as_the_canonical_code()
    {
        var code = Codes.NewCode();

        Assert.True(Codes.TryNormalize(code.ToLowerInvariant(), out var normal));
        Assert.Equal(code, normal);
    }

    [Fact]
    public void A_code_typed_in_groups_with_dashes_and_spaces_is_accepted_as_the_canonical_code()
    {
        var code = Codes.NewCode();
        var typed = $"{code[..4]}-{code[4..8]} {code[8..12]} - {code[12..16]}  {code[16..20]}-{code[20..]}";

        Assert.True(Codes.TryNormalize(typed, out var normal));
        Assert.Equal(code, normal);
    }

    [Fact]
    public void A_code_typed_with_O_for_0_and_I_or_L_for_1_is_accepted_as_the_canonical_code()
    {
        var code = CodeContaining('0', '1');
        var typed = code.Replace('0', 'O');
        var withI = typed.Replace('1', 'I');
        var withL = typed.Replace('1', 'l');

        Assert.True(Codes.TryNormalize(withI, out var normal));
        Assert.Equal(code, normal);
        Assert.True(Codes.TryNormalize(withL, out normal));
        Assert.Equal(code, normal);
        Assert.True(Codes.TryNormalize(code.Replace('0', 'o'), out normal));
        Assert.Equal(code, normal);
    }

    [Fact]
    public void Changing_any_one_character_to_any_other_is_refused()
    {
        var code = Codes.NewCode();
        for (var position = 0; position < code.Length; position++)
        {
            foreach (var other in Alphabet.Where(c => c != code[position]))
            {
                var typo = string.Concat(code.AsSpan(0, position), other.ToString(), code.AsSpan(position + 1));
                Assert.False(Codes.TryNormalize(typo, out var normal), $"{typo} (position {position}) passed the check");
                Assert.Equal("", normal);
            }
        }
    }

    [Fact]
    public void Swapping_two_neighbouring_characters_is_refused()
    {
        var code = Codes.NewCode();
        for (var position = 0; position < code.Length - 1; position++)
        {
            if (code[position] == code[position + 1])
            {
                continue;
            }

            var chars = code.ToCharArray();
            (chars[position], chars[position + 1]) = (chars[position + 1], chars[position]);
            Assert.False(Codes.TryNormalize(new string(chars), out _), $"swap at {position} passed the check");
        }
    }

    [Fact]
    public void Codes_made_under_another_deployments_key_are_refused()
    {
        for (var i = 0; i < 1_000; i++)
        {
            Assert.False(Codes.TryNormalize(OtherDeployment.NewCode(), out _));
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
        Assert.False(Codes.TryNormalize(input, out var normal));
        Assert.Equal("", normal);
    }

    [Fact]
    public void A_valid_code_with_one_character_more_is_refused() =>
        Assert.False(Codes.TryNormalize(Codes.NewCode() + "0", out _));

    [Fact]
    public void A_valid_code_with_one_character_fewer_is_refused() =>
        Assert.False(Codes.TryNormalize(Codes.NewCode()[..23], out _));

    [Fact]
    public void A_valid_code_padded_to_64_characters_is_accepted_but_to_65_is_refused_unread()
    {
        var code = Codes.NewCode();

        Assert.True(Codes.TryNormalize(code + new string('-', 40), out _));
        Assert.False(Codes.TryNormalize(code + new string('-', 41), out _));
    }

    [Fact]
    public void Require_returns_the_canonical_code()
    {
        var code = Codes.NewCode();

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
        var code = Codes.NewCode();
        var typo = (code[0] == 'A' ? "B" : "A") + code[1..];

        Refused.With(Refusal.VoucherNotFound, () => Codes.Require(typo));
    }

    [Fact]
    public void Codes_made_later_sort_after_codes_made_earlier_and_codes_of_one_millisecond_differ()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 11, 10, 0, 0, TimeSpan.Zero));
        var codes = new VoucherCodes([.. Enumerable.Range(0, 32).Select(i => (byte)i)], clock);
        var made = new List<string>();
        for (var step = 0; step < 200; step++)
        {
            made.AddRange(Enumerable.Range(0, 50).Select(_ => codes.NewCode()));
            clock.Advance(TimeSpan.FromMilliseconds(step % 3 == 0 ? 1 : 997));
        }

        // The ledger's code index grows at its end only if each millisecond's codes sort after the last one's.
        var byMillisecond = made.Chunk(50).ToList();
        for (var i = 1; i < byMillisecond.Count; i++)
        {
            Assert.True(string.CompareOrdinal(byMillisecond[i].Min(StringComparer.Ordinal), byMillisecond[i - 1].Max(StringComparer.Ordinal)) > 0);
        }

        Assert.Equal(made.Count, made.Distinct(StringComparer.Ordinal).Count());
        Assert.All(made, code => Assert.True(codes.TryNormalize(code, out _)));
    }

    [Fact]
    public void A_key_shorter_than_256_bits_is_refused() =>
        Assert.Throws<ArgumentException>(() => new VoucherCodes(new byte[31]));
}
