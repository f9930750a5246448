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
        Session.JsonOption,
        CampaignCommand.Create(),
        MerchantCommand.Create(),
        KeyCommand.Create(),
        VoucherCommand.Create(),
        RedeemCommand.Create(),
        ExportCommand.Create(),
        WatchCommand.Create(),
    };

    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken = default)
    {
        var configuration = new InvocationConfiguration { Output = output, Error = error };
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
