using System.CommandLine;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using System.Text;
using Campaigns.Cli;

// `campaigns`: the command-line face of the Campaigns API. See client/README.md.
Console.OutputEncoding = Encoding.UTF8;

var root = new RootCommand("Campaigns: consumption-voucher campaigns over gRPC (organisers, partner platforms, merchants)")
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

var parse = root.Parse(args);
if (parse.Action is ParseErrorAction)
{
    // Errors in the same shape as the server's refusals, without a help page scrolling them away.
    var error = parse.InvocationConfiguration.Error;
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

return await parse.InvokeAsync();
