using System.CommandLine;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;

namespace Campaigns.Cli;

/// <summary>
/// The whole command line: parse, run, write to the given streams and return the exit code.
/// Program runs it on the console; tests run it on string writers to see what a user would see.
/// </summary>
internal static class CampaignsCli
{
    public static RootCommand Root() => new("Campaigns: consumption-voucher campaigns over gRPC (organisers, partner platforms, merchants)")
    {
        Session.AddressOption,
        Session.KeyOption,
        Session.TrustCertOption,
        Session.ClientCertOption,
        Session.ClientKeyOption,
        Session.JsonOption,
        CampaignCommand.Create(),
        MerchantCommand.Create(),
        KeyCommand.Create(),
        VoucherCommand.Create(),
        RedeemCommand.Create(),
        ExportCommand.Create(),
        WatchCommand.Create(),
        SubscriptionCommand.Create(),
    };

    /// <param name="errorIsTerminal">
    /// Standard error is an interactive terminal, so long operations draw progress bars there
    /// instead of plain lines; tests set it to see both.
    /// </param>
    /// <param name="outputIsTerminal">Standard output is the same kind of terminal: no bar beside CSV written to it.</param>
    public static async Task<int> RunAsync(
        string[] args, TextWriter output, TextWriter error, bool errorIsTerminal = false, bool outputIsTerminal = false,
        CancellationToken cancellationToken = default)
    {
        var configuration = new Invocation { Output = output, Error = error, ErrorIsTerminal = errorIsTerminal, OutputIsTerminal = outputIsTerminal };
        var parse = Root().Parse(args);
        if (parse.Action is ParseErrorAction)
        {
            // Errors in the same shape as the server's refusals, without a help page scrolling them away.
            foreach (var message in parse.Errors.Select(e => e.Message).Distinct())
            {
                await error.WriteLineAsync($"error: INVALID_ARGUMENT: {message}");
            }

            var path = new List<string>();
            for (SymbolResult? result = parse.CommandResult; result is CommandResult command; result = command.Parent)
            {
                path.Insert(0, command.Command.Name);
            }

            path[0] = "campaigns";
            await error.WriteLineAsync($"see: {string.Join(' ', path)} --help");
            return ExitCode.Usage;
        }

        return await parse.InvokeAsync(configuration, cancellationToken);
    }
}

/// <summary>The invocation's streams, and what a writer cannot tell a command: whether it is a terminal.</summary>
internal sealed class Invocation : InvocationConfiguration
{
    public bool ErrorIsTerminal { get; init; }

    public bool OutputIsTerminal { get; init; }
}
