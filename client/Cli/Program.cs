using System.Text;
using Campaigns.Cli;

// `campaigns`: the command-line face of the Campaigns API. See client/README.md.
Console.OutputEncoding = Encoding.UTF8;
// A dumb terminal cannot move the cursor, so it gets the plain progress lines a log would.
var dumb = Environment.GetEnvironmentVariable("TERM") == "dumb";
return await CampaignsCli.RunAsync(args, Console.Out, Console.Error, errorIsTerminal: !Console.IsErrorRedirected && !dumb, outputIsTerminal: !Console.IsOutputRedirected);
