using Campaigns.Cli;

namespace Campaigns.Tests.EndToEnd;

/// <summary>The <c>campaigns</c> tool run in-process against the test silo, as a user would type it.</summary>
internal static class Cli
{
    public sealed record Outcome(int ExitCode, string Out, string Error);

    public static Task<Outcome> RunAsync(this SiloFixture silo, string apiKey, params string[] args) =>
        RunAtAsync(silo.Host.GrpcAddress.ToString(), apiKey, args);

    public static async Task<Outcome> RunAtAsync(string address, string apiKey, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await CampaignsCli.RunAsync(["--address", address, "--key", apiKey, .. args], output, error);
        return new Outcome(exit, output.ToString(), error.ToString());
    }
}
