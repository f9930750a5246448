using System.CommandLine;
using System.Globalization;
using Campaigns.Client;
using Campaigns.Proto;

namespace Campaigns.Cli;

/// <summary><c>campaigns voucher …</c>: issuing and looking up vouchers (partner key).</summary>
internal static class VoucherCommand
{
    public static Command Create()
    {
        var command = new Command("voucher", "Issue vouchers to users and look them up (partner key)");
        command.Add(Issue());
        command.Add(IssueBatch());
        command.Add(Show());
        command.Add(Wallet());
        return command;
    }

    private static Command Issue()
    {
        var campaign = new Argument<string>("campaign") { Description = "The campaign to issue from" };
        var user = Flags.Text("--user", "The user receiving the voucher", required: true);
        var requestId = Flags.Text("--request-id", "Idempotency key: a repeat returns the first voucher", required: true);
        var district = Flags.Text("--district", "The user's district (one of the campaign's)");
        var device = Flags.Text("--device", "The user's device id or phone hash, for a campaign's limit per device");
        var command = new Command("issue", "Issue one voucher") { campaign, user, requestId, district, device };
        command.SetSessionAction(async (session, parse, ct) =>
        {
            var response = await session.Client.IssueVoucherAsync(
                parse.GetValue(campaign)!, parse.GetValue(user)!, parse.GetValue(requestId)!, parse.GetValue(district), parse.GetValue(device), ct);
            session.Print(response, report => Views.Voucher(report, response.Voucher, response.Replayed));
            return ExitCode.Ok;
        });
        return command;
    }

    private static Command IssueBatch()
    {
        var campaign = new Argument<string>("campaign") { Description = "The campaign to issue from" };
        var file = Flags.Text("--file", "CSV lines user_id,request_id[,district[,device_id]]; - reads standard input", required: true, helpName: "users.csv");
        var command = new Command("issue-batch", $"Issue vouchers from a file, {VoucherBatch.MaxItems} per call; each line succeeds or fails on its own")
        {
            campaign, file,
        };
        command.SetSessionAction(async (session, parse, ct) =>
        {
            var path = parse.GetValue(file)!;
            IReadOnlyList<IssueVouchersItem> items;
            using (var reader = path == "-" ? TextReader.Synchronized(Console.In) : new StreamReader(path))
            {
                items = VoucherBatch.ParseCsv(reader);
            }

            if (items.Count == 0)
            {
                await session.Error.WriteLineAsync($"error: INVALID_ARGUMENT: {path} holds no lines to issue.");
                return ExitCode.Usage;
            }

            var campaignId = parse.GetValue(campaign)!;
            var response = await ProgressDisplay.For(session).RunAsync("issuing", "vouchers", items.Count, progress =>
            {
                var sent = new Tally(0, 0, 0);
                return session.Client.IssueVouchersAsync(
                    campaignId,
                    items,
                    batch =>
                    {
                        sent += Tally.Of(batch.Results);
                        progress.Done(sent.Total);
                        progress.Describe(sent.ToString());
                        if (items.Count > VoucherBatch.MaxItems)
                        {
                            progress.Line($"sent {sent.Total}/{items.Count}");
                        }
                    },
                    ct);
            });

            // Results come back one per item, in the order sent (a file may repeat a request id).
            session.Print(response, report =>
            {
                report.Table(
                    ["REQUEST_ID", "USER", "RESULT", "CODE_OR_REASON"],
                    response.Results.Zip(items, (result, item) => (IReadOnlyList<string>)
                    [
                        result.RequestId,
                        item.UserId,
                        result.ErrorReason.Length > 0 ? "refused" : result.Replayed ? "replayed" : "issued",
                        result.ErrorReason.Length > 0 ? Refusal(result) : result.Voucher?.Code ?? "",
                    ]));
                report.Line();
                report.Line(Summary(response));
            });
            return response.Results.Any(result => result.ErrorReason.Length > 0) ? ExitCode.Refused : ExitCode.Ok;
        });
        return command;
    }

    private static Command Show()
    {
        var code = new Argument<string>("code") { Description = "The voucher code (dashes, spaces and lower case are fine)" };
        var command = new Command("show", "One voucher issued on the key's channel") { code };
        command.SetSessionAction(async (session, parse, ct) =>
        {
            var voucher = await session.Client.Vouchers.GetVoucherAsync(new GetVoucherRequest { Code = parse.GetValue(code) }, cancellationToken: ct);
            session.Print(voucher, report => Views.Voucher(report, voucher));
            return ExitCode.Ok;
        });
        return command;
    }

    private static Command Wallet()
    {
        var user = new Argument<string>("user") { Description = "The user id" };
        var campaign = Flags.Text("--campaign", "Only this campaign's vouchers");
        var (pageSize, pageToken) = Flags.Paging(serverDefault: 100);
        var command = new Command("wallet", "A user's vouchers from the key's channel, newest first, a page at a time") { user, campaign, pageSize, pageToken };
        command.SetSessionAction(async (session, parse, ct) =>
        {
            var wallet = await session.Client.Vouchers.ListUserVouchersAsync(
                new ListUserVouchersRequest
                {
                    UserId = parse.GetValue(user),
                    CampaignId = parse.GetValue(campaign) ?? "",
                    PageSize = parse.GetValue(pageSize),
                    PageToken = parse.GetValue(pageToken) ?? "",
                },
                cancellationToken: ct);
            session.Print(wallet, report => Views.Wallet(report, wallet, parse.GetValue(user)!));
            return ExitCode.Ok;
        });
        return command;
    }

    private static string Refusal(IssueVouchersResult result) =>
        result.ErrorMessage.Length > 0 ? $"{result.ErrorReason}: {result.ErrorMessage}" : result.ErrorReason;

    private static string Summary(IssueVouchersResponse response)
    {
        var refusals = response.Results.Where(r => r.ErrorReason.Length > 0)
            .GroupBy(r => r.ErrorReason, StringComparer.Ordinal)
            .OrderByDescending(g => g.Count())
            .Select(g => $"{g.Key}×{g.Count().ToString(CultureInfo.InvariantCulture)}")
            .ToList();
        return Tally.Of(response.Results) + (refusals.Count > 0 ? $" ({string.Join(", ", refusals)})" : "");
    }

    /// <summary>Results by outcome: the summary line, and the progress bar's text as calls come back.</summary>
    private readonly record struct Tally(int Issued, int Replayed, int Refused)
    {
        public int Total => Issued + Replayed + Refused;

        public static Tally Of(IEnumerable<IssueVouchersResult> results)
        {
            var tally = new Tally(0, 0, 0);
            foreach (var result in results)
            {
                tally = result.ErrorReason.Length > 0 ? tally with { Refused = tally.Refused + 1 }
                    : result.Replayed ? tally with { Replayed = tally.Replayed + 1 }
                    : tally with { Issued = tally.Issued + 1 };
            }

            return tally;
        }

        public static Tally operator +(Tally a, Tally b) => new(a.Issued + b.Issued, a.Replayed + b.Replayed, a.Refused + b.Refused);

        public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"issued {Issued}, replayed {Replayed}, refused {Refused}");
    }
}
