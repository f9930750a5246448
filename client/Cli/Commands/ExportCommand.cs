using System.CommandLine;
using System.Text;
using Campaigns.Client;
using Campaigns.Proto;

namespace Campaigns.Cli;

/// <summary>
/// <c>campaigns export</c>: the campaign's redemption and refund events as CSV, checked against the
/// server's closing summary (counts, net discount and the SHA-256 of the lines).
/// </summary>
internal static class ExportCommand
{
    public static Command Create()
    {
        var campaign = new Argument<string>("campaign") { Description = "The campaign to export" };
        var output = Flags.Text("--output", "Write the CSV to this file (written as <file>.partial, renamed once verified); default standard output", helpName: "file.csv");
        var progressEvery = Flags.Whole("--progress-every", "With --output: report progress on stderr every this many events (default 10000; 0 = never)", 0);
        progressEvery.DefaultValueFactory = _ => 10_000;
        var afterSequence = Flags.Whole("--after-sequence",
            "Only the events after this sequence: the last one an earlier export received (its summary's last sequence); default 0 = all", 0L);
        var command = new Command("export", "Export redemption events as CSV and verify the server's checksum (organiser key)") { campaign, output, progressEvery, afterSequence };
        command.SetSessionAction(async (session, parse, ct) =>
        {
            var path = parse.GetValue(output);
            var partial = path is null ? null : path + ".partial";
            int exitCode;
            try
            {
                await using var writer = partial is null ? null : new StreamWriter(partial, false, new UTF8Encoding(false));
                var export = new Export(parse.GetValue(campaign)!, parse.GetValue(afterSequence));
                exitCode = writer is null && session.Json
                    ? await ExportJsonAsync(session, export, ct)
                    : await ExportAsync(session, export, writer ?? session.Out, toFile: path is not null, parse.GetValue(progressEvery), ct);
            }
            catch (Exception) when (partial is not null)
            {
                // Refused or cut off: there is nothing to verify, so no file is left behind; an
                // interrupted export is run again from the start.
                File.Delete(partial);
                throw;
            }

            if (path is not null && partial is not null)
            {
                if (exitCode == ExitCode.Ok)
                {
                    File.Move(partial, path, overwrite: true);
                }
                else
                {
                    await session.Error.WriteLineAsync($"the unverified export was left in {partial}");
                }
            }

            return exitCode;
        });
        return command;
    }

    /// <param name="progressEvery">With a file, report progress on stderr every this many events; 0 = never.</param>
    private static async Task<int> ExportAsync(Session session, Export export, TextWriter csv, bool toFile, int progressEvery, CancellationToken ct)
    {
        using var tally = new RedemptionExportTally(export.AfterSequence);
        ExportSummary? summary = null;
        var lastSequence = export.AfterSequence;
        var outOfOrder = 0L;

        // Lines end in "\n" on every platform: the checksum covers exactly these bytes.
        await csv.WriteAsync(RedemptionEventCsv.Header + "\n");
        var afterSummary = await ProgressDisplay.For(session, writesToOutput: !toFile).RunAsync("exporting", "events", total: null, async progress =>
        {
            await foreach (var record in session.Client.ExportRedemptionEventsAsync(export.CampaignId, export.AfterSequence, ct))
            {
                switch (record.RecordCase)
                {
                    case ExportRecord.RecordOneofCase.Event when summary is null:
                        if (record.Event.Sequence <= lastSequence)
                        {
                            outOfOrder++;
                        }

                        lastSequence = record.Event.Sequence;
                        await csv.WriteAsync(tally.Add(record.Event) + "\n");
                        progress.Done(tally.Events);
                        if (toFile && progressEvery > 0 && tally.Events % progressEvery == 0)
                        {
                            progress.Line($"exported {Views.Count(tally.Events)} event{(tally.Events == 1 ? "" : "s")}");
                        }

                        break;
                    case ExportRecord.RecordOneofCase.Summary when summary is null:
                        summary = record.Summary;
                        progress.Finish(summary.Events);
                        break;
                    default:
                        return true;
                }
            }

            return false;
        });

        if (afterSummary)
        {
            await session.Error.WriteLineAsync("error: EXPORT_MISMATCH: the stream sent records after its summary.");
            return ExitCode.Mismatch;
        }

        await csv.WriteAsync(tally.CommentLine() + "\n");
        await csv.FlushAsync(ct);

        if (summary is null)
        {
            await session.Error.WriteLineAsync("error: EXPORT_INCOMPLETE: the stream ended without its summary; the export may be truncated.");
            return ExitCode.Mismatch;
        }

        var differences = tally.Differences(summary).ToList();
        if (outOfOrder > 0)
        {
            differences.Add($"{outOfOrder} event(s) arrived out of ledger sequence order");
        }

        if (differences.Count > 0)
        {
            await session.Error.WriteLineAsync($"error: EXPORT_MISMATCH: the export does not match the server's summary: {string.Join("; ", differences)}");
            return ExitCode.Mismatch;
        }

        if (toFile || session.Json)
        {
            session.Print(summary, report => report.Fields(SummaryFields(summary)));
        }
        else
        {
            new Report(session.Error).Fields(SummaryFields(summary));
        }

        return ExitCode.Ok;
    }

    /// <summary>
    /// <c>--json</c> without <c>--output</c>: every record as one line of JSON, events then the
    /// summary, so standard output is JSON throughout. Checked against the summary like the CSV.
    /// </summary>
    private static async Task<int> ExportJsonAsync(Session session, Export export, CancellationToken ct)
    {
        using var tally = new RedemptionExportTally(export.AfterSequence);
        ExportSummary? summary = null;
        await foreach (var record in session.Client.ExportRedemptionEventsAsync(export.CampaignId, export.AfterSequence, ct))
        {
            if (summary is not null)
            {
                await session.Error.WriteLineAsync("error: EXPORT_MISMATCH: the stream sent records after its summary.");
                return ExitCode.Mismatch;
            }

            if (record.RecordCase == ExportRecord.RecordOneofCase.Event)
            {
                tally.Add(record.Event);
            }
            else
            {
                summary = record.Summary;
            }

            session.Print(record, _ => { });
        }

        List<string> differences = summary is null ? ["the stream ended without its summary"] : [.. tally.Differences(summary)];
        if (differences.Count > 0)
        {
            await session.Error.WriteLineAsync($"error: EXPORT_MISMATCH: the export does not match the server's summary: {string.Join("; ", differences)}");
            return ExitCode.Mismatch;
        }

        return ExitCode.Ok;
    }

    private static IEnumerable<(string, string?)> SummaryFields(ExportSummary summary) =>
    [
        ("events", Views.Count(summary.Events)),
        ("redemptions", Views.Count(summary.Redemptions)),
        ("refunds", Views.Count(summary.Refunds)),
        ("net discount", Money.FormatWithCents(summary.NetDiscountCents)),
        ("last sequence", summary.LastSequence.ToString(System.Globalization.CultureInfo.InvariantCulture) + " (resume with --after-sequence)"),
        ("sha256", summary.ChecksumSha256 + " (verified)"),
    ];

    /// <summary>What to export: a campaign's events after a sequence (0 = all).</summary>
    private sealed record Export(string CampaignId, long AfterSequence);
}
