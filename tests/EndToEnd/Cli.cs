using Campaigns.Cli;

namespace Campaigns.Tests.EndToEnd;

/// <summary>The <c>campaigns</c> tool run in-process against the test silo, as a user would type it.</summary>
internal static class Cli
{
    public sealed record Outcome(int ExitCode, string Out, string Error);

    public static Task<Outcome> RunAsync(this SiloFixture silo, string apiKey, params string[] args) =>
        RunAtAsync(silo.Host.GrpcAddress.ToString(), apiKey, args);

    /// <summary>As typed at an interactive terminal whose stdout is piped: progress bars on stderr.</summary>
    public static Task<Outcome> RunOnTerminalAsync(this SiloFixture silo, string apiKey, params string[] args) =>
        RunAtAsync(silo.Host.GrpcAddress.ToString(), apiKey, args, errorIsTerminal: true);

    public static Task<Outcome> RunAtAsync(string address, string apiKey, params string[] args) =>
        RunAtAsync(address, apiKey, args, errorIsTerminal: false);

    private static async Task<Outcome> RunAtAsync(string address, string apiKey, string[] args, bool errorIsTerminal)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await CampaignsCli.RunAsync(["--address", address, "--key", apiKey, .. args], output, error, errorIsTerminal);
        return new Outcome(exit, output.ToString(), error.ToString());
    }
}
