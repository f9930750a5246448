using System.CommandLine;
using Spectre.Console;

namespace Campaigns.Cli;

/// <summary><c>campaigns watch &lt;campaign&gt;</c>: a live terminal view of a campaign's stats until Ctrl-C (organiser key).</summary>
internal static class WatchCommand
{
    public static Command Create()
    {
        var campaign = new Argument<string>("campaign") { Description = "The campaign id" };
        var command = new Command("watch", "A live view of a campaign's figures: bars, counters, rates per second, until Ctrl-C (organiser key)") { campaign };
        command.SetSessionAction(async (session, parse, ct) =>
        {
            var stream = session.Client.WatchCampaignStatsAsync(parse.GetValue(campaign)!, ct);
            if (session.Json)
            {
                // Scripts get the snapshots as JSON lines, as `campaign watch --json` gives them.
                try
                {
                    await foreach (var stats in stream)
                    {
                        session.Print(stats, _ => { });
                        await session.Out.FlushAsync(ct);
                    }
                }
                catch (Exception e) when (ct.IsCancellationRequested && e is OperationCanceledException or Grpc.Core.RpcException)
                {
                }

                return ExitCode.Ok;
            }

            var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(session.Out) });
            await LiveStats.RunAsync(console, stream, TimeSpan.FromSeconds(1), ct);
            return ExitCode.Ok;
        });
        return command;
    }
}
