using System.CommandLine;
using Google.Protobuf;

namespace Campaigns.Cli;

/// <summary>A <c>list</c> command over a paged listing: --page-size, --page-token, and a readable view.</summary>
internal static class Listing
{
    public static Command Create<TResponse>(
        string description,
        Func<Session, int, string, CancellationToken, Task<TResponse>> page,
        Action<Report, TResponse> view)
        where TResponse : IMessage
    {
        var (pageSize, pageToken) = Flags.Paging();
        var command = new Command("list", description) { pageSize, pageToken };
        command.SetSessionAction(async (session, parse, ct) =>
        {
            var list = await page(session, parse.GetValue(pageSize), parse.GetValue(pageToken) ?? "", ct);
            session.Print(list, report => view(report, list));
            return ExitCode.Ok;
        });
        return command;
    }
}
