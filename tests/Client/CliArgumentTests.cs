using Campaigns.Cli;

namespace Campaigns.Tests.Client;

/// <summary>What the <c>campaigns</c> tool refuses before sending anything: exit 1 and a plain message.</summary>
public sealed class CliArgumentTests
{
    [Theory]
    [InlineData("campaign", "create", "--id", "", "--name", "Drop", "--kind", "amount-off", "--face-value", "2000", "--stock", "10", "--valid-days", "7")]
    [InlineData("campaign", "create", "--id", " ", "--name", "Drop", "--kind", "amount-off", "--face-value", "2000", "--stock", "10", "--valid-days", "7")]
    public async Task An_explicitly_empty_campaign_id_is_refused_not_replaced_by_a_generated_one(params string[] args)
    {
        var (exit, output, error) = await RunAsync(args);

        Assert.Equal((ExitCode.Usage, ""), (exit, output));
        Assert.StartsWith("error: INVALID_ARGUMENT: --id must not be empty; leave --id out instead.", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_empty_request_id_names_the_flag_without_NET_wording()
    {
        var (exit, _, error) = await RunAsync("voucher", "issue", "spring", "--user", "alice", "--request-id", "");

        Assert.Equal(ExitCode.Usage, exit);
        Assert.StartsWith("error: INVALID_ARGUMENT: --request-id must not be empty.", error, StringComparison.Ordinal);
        Assert.DoesNotContain("Parameter", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--stock", "99999999999999999999", "--stock: '99999999999999999999' is too large (at most 9223372036854775807).")]
    [InlineData("--stock", "ten", "--stock: 'ten' is not a whole number.")]
    [InlineData("--valid-days", "-3", "--valid-days: must be at least 1.")]
    [InlineData("--refund-days", "-1", "--refund-days: must not be negative.")]
    public async Task A_bad_count_is_named_in_the_flags_own_words(string flag, string value, string message)
    {
        List<string> args = ["campaign", "create", "--name", "Drop", "--kind", "amount-off", "--face-value", "2000", "--stock", "10", "--valid-days", "7"];
        if (args.IndexOf(flag) is var index and >= 0)
        {
            args[index + 1] = value;
        }
        else
        {
            args.AddRange([flag, value]);
        }

        var (exit, _, error) = await RunAsync([.. args]);

        Assert.Equal(ExitCode.Usage, exit);
        Assert.Equal([$"error: INVALID_ARGUMENT: {message}", "see: campaigns campaign create --help"], Lines(error));
    }

    [Fact]
    public async Task A_negative_top_up_says_so_rather_than_asking_for_stock()
    {
        var (exit, _, error) = await RunAsync("campaign", "add-stock", "spring", "--request-id", "top-up-1", "--stock", "-5");

        Assert.Equal(ExitCode.Usage, exit);
        Assert.Equal(["error: INVALID_ARGUMENT: --stock: must not be negative.", "see: campaigns campaign add-stock --help"], Lines(error));
    }

    [Fact]
    public async Task An_address_naming_no_host_is_refused_at_once_without_retries()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();

        var exit = await CampaignsCli.RunAsync(["--address", "not-a-url", "campaign", "list"], output, error);

        Assert.Equal(ExitCode.Usage, exit);
        Assert.Equal(["error: INVALID_ARGUMENT: --address: no host named 'not-a-url' (http://not-a-url/); give the silo's address, e.g. http://127.0.0.1:5000."],
            Lines(error.ToString()));
    }

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static async Task<(int Exit, string Out, string Error)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        // An address nothing listens on: a refusal before sending must not need a server.
        var exit = await CampaignsCli.RunAsync(["--address", "http://127.0.0.1:1", .. args], output, error);
        return (exit, output.ToString(), error.ToString());
    }
}
