using Campaigns.LoadTests;

namespace Campaigns.Tests.LoadTool;

/// <summary>The load tool's ids: partner-like by default, and never shared by two claims.</summary>
public sealed class LoadIdsTests
{
    [Fact]
    public void Random_ids_are_distinct_opaque_and_the_same_on_every_run()
    {
        var users = Enumerable.Range(0, 100_000).Select(n => LoadIds.User(IdStyle.Random, "user", n)).ToList();

        Assert.Equal(users.Count, users.Distinct(StringComparer.Ordinal).Count());
        Assert.All(users, id => Assert.Matches("^[0-9a-f]{32}$", id));
        Assert.Equal(users[42], LoadIds.User(IdStyle.Random, "user", 42));
        Assert.NotEqual(LoadIds.User(IdStyle.Random, "user", 42), LoadIds.Request(IdStyle.Random, "claim", 42));
    }

    [Fact]
    public void Consecutive_random_ids_are_scattered_and_sequential_ones_are_neighbours()
    {
        var random = Enumerable.Range(1_000, 1_000).Select(n => LoadIds.User(IdStyle.Random, "user", n)).ToList();
        var sequential = Enumerable.Range(1_000, 1_000).Select(n => LoadIds.User(IdStyle.Sequential, "user", n)).ToList();

        // In index order, how often the next claim's id is also the next key: what makes an index friendly.
        static double InOrder(List<string> ids) =>
            ids.Zip(ids.Skip(1), (a, b) => string.CompareOrdinal(a, b) < 0).Count(x => x) / (double)(ids.Count - 1);

        Assert.Equal(1.0, InOrder(sequential));
        Assert.InRange(InOrder(random), 0.4, 0.6);
        Assert.Equal("user-1000", sequential[0]);
    }

    [Theory]
    [InlineData(new string[0], IdStyle.Random)]
    [InlineData(new[] { "--ids", "sequential" }, IdStyle.Sequential)]
    [InlineData(new[] { "issue", "--ids", "random" }, IdStyle.Random)]
    public void The_command_line_chooses_the_ids(string[] args, IdStyle expected)
    {
        Assert.True(Args.TryParse(args, ["issue"], out var parsed, out var problem), problem);
        Assert.Equal(expected, parsed.Ids);
    }

    [Theory]
    [InlineData("uuid")]
    [InlineData("1")]
    [InlineData("Random ")]
    public void An_unknown_id_style_is_named_before_any_silo_starts(string value)
    {
        Assert.False(Args.TryParse(["--ids", value], ["issue"], out _, out var problem));
        Assert.Equal($"--ids takes 'random' or 'sequential', not '{value}'", problem);
    }
}
