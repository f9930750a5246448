using System.Text;
using Campaigns.Cli;

// `campaigns`: the command-line face of the Campaigns API. See client/README.md.
Console.OutputEncoding = Encoding.UTF8;
return await CampaignsCli.RunAsync(args, Console.Out, Console.Error);
