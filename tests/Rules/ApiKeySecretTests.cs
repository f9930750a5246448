using Campaigns.Grains.Access;

namespace Campaigns.Tests.Rules;

public sealed class ApiKeySecretTests
{
    [Fact]
    public void A_new_key_parses_back_to_its_key_id_and_the_hash_of_its_secret()
    {
        var (keyId, token, storedHash) = ApiKeySecret.New();

        Assert.True(ApiKeySecret.TryParse(token, out var parsedId, out var hash));
        Assert.Equal(keyId, parsedId);
        Assert.Equal(storedHash, hash);
        Assert.StartsWith("key_", keyId, StringComparison.Ordinal);
        Assert.StartsWith(keyId + ".", token, StringComparison.Ordinal);
        Assert.Equal(ApiKeySecret.Hash(token[(keyId.Length + 1)..]), hash);
        Assert.Equal(32, hash.Length);
    }

    [Fact]
    public void New_key_ids_and_tokens_never_repeat()
    {
        var keys = Enumerable.Range(0, 1_000).Select(_ => ApiKeySecret.New()).ToList();

        Assert.Equal(1_000, keys.Select(k => k.KeyId).Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(1_000, keys.Select(k => k.Token).Distinct(StringComparer.Ordinal).Count());
        Assert.All(keys, k => Assert.InRange(k.Token.Length, 50, 200));
        Assert.All(keys, k => Assert.DoesNotContain(k.Token[(k.KeyId.Length + 1)..], Convert.ToHexString(k.SecretHash), StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public void A_token_with_a_changed_secret_parses_to_the_same_key_but_another_hash()
    {
        var (keyId, token, _) = ApiKeySecret.New();
        var forged = keyId + ".forged-secret";

        Assert.True(ApiKeySecret.TryParse(token, out _, out var genuine));
        Assert.True(ApiKeySecret.TryParse(forged, out var forgedId, out var forgedHash));
        Assert.Equal(keyId, forgedId);
        Assert.NotEqual(genuine, forgedHash);
    }

    [Fact]
    public void The_hash_of_a_secret_is_its_sha256() =>
        Assert.Equal(Convert.FromHexString("2CF24DBA5FB0A30E26E83B2AC5B9E29E1B161E5C1FA7425E73043362938B9824"), ApiKeySecret.Hash("hello"));

    [Theory]
    [InlineData("")]
    [InlineData("key_")]
    [InlineData("key_abc")]
    [InlineData("key_.secret")]
    [InlineData("key_abc.")]
    [InlineData(".secret")]
    [InlineData("abcd_xyz.secret")]
    [InlineData("KEY_abc.secret")]
    [InlineData("dev-organiser-key")]
    [InlineData("Bearer key_abc.secret")]
    public void A_token_not_shaped_like_one_of_ours_is_refused(string token)
    {
        Assert.False(ApiKeySecret.TryParse(token, out var keyId, out var hash));
        Assert.Equal("", keyId);
        Assert.Empty(hash);
    }

    [Fact]
    public void A_token_longer_than_200_characters_is_refused() =>
        Assert.False(ApiKeySecret.TryParse("key_abc." + new string('s', 193), out _, out _));

    [Fact]
    public void A_token_of_exactly_200_characters_is_read() =>
        Assert.True(ApiKeySecret.TryParse("key_abc." + new string('s', 192), out _, out _));
}
