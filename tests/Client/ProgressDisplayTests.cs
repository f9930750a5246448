using Campaigns.Cli;

namespace Campaigns.Tests.Client;

/// <summary>Progress on stderr: plain lines for logs and pipes, a Spectre.Console bar on a terminal.</summary>
public sealed class ProgressDisplayTests
{
    [Fact]
    public async Task Redirected_stderr_gets_only_the_plain_lines_and_no_escapes()
    {
        using var error = new StringWriter();
        var display = new ProgressDisplay(error, bars: false);

        var result = await display.RunAsync("exporting", "events", total: null, progress =>
        {
            progress.Done(1);
            progress.Line("exported 1 event");
            progress.Describe("2 so far");
            progress.Done(2);
            progress.Line("exported 2 events");
            progress.Finish(2);
            return Task.FromResult(42);
        });

        Assert.Equal(42, result);
        Assert.False(display.DrawsBars);
        Assert.Equal("exported 1 event\nexported 2 events\n", error.ToString().ReplaceLineEndings("\n"));
    }

    [Fact]
    public async Task On_a_terminal_the_bar_ends_showing_the_totals_and_no_plain_lines()
    {
        using var error = new StringWriter();
        var display = new ProgressDisplay(error, bars: true);

        await display.RunAsync("issuing", "vouchers", total: 1_500, progress =>
        {
            progress.Done(1_000);
            progress.Line("sent 1000/1500");
            progress.Done(1_500);
            progress.Describe("issued 1200, replayed 250, refused 50");
            return Task.FromResult(0);
        });

        var screen = error.ToString();
        Assert.True(display.DrawsBars);
        Assert.Contains('\u001b', screen);
        Assert.DoesNotContain("sent 1000/1500", screen, StringComparison.Ordinal);
        var last = LastFrame(screen);
        Assert.Contains("issuing 1500/1500 vouchers issued 1200, replayed 250, refused 50", last, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_export_bar_counts_without_a_total_and_is_full_once_the_summary_gives_it()
    {
        using var error = new StringWriter();
        var display = new ProgressDisplay(error, bars: true);

        await display.RunAsync("exporting", "events", total: null, async progress =>
        {
            for (var i = 1; i <= 3; i++)
            {
                progress.Done(i);
                await Task.Delay(150);
            }

            progress.Finish(3);
            return 0;
        });

        var last = LastFrame(error.ToString());
        Assert.Contains("3/3 events", last, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_retry_announced_during_a_bar_is_written_above_it_and_plainly_once_the_bar_is_gone()
    {
        using var error = new StringWriter();
        var notices = new Notices(error);
        var display = new ProgressDisplay(error, bars: true, notices);

        await display.RunAsync("issuing", "vouchers", total: 2, async progress =>
        {
            progress.Done(1);
            await Task.Delay(150);
            notices.Write("retrying: UNAVAILABLE from IssueVouchers; attempt 2 in 0.2s");
            progress.Done(2);
            return 0;
        });
        notices.Write("after");

        // Above the bar, on a line of its own that the redrawn bar did not overwrite, then the line after the bar.
        var screen = Screen(error.ToString()).Select(line => line.Trim()).Where(line => line.Length > 0).ToList();
        Assert.Equal("retrying: UNAVAILABLE from IssueVouchers; attempt 2 in 0.2s", screen[0]);
        Assert.Contains("issuing", screen[1], StringComparison.Ordinal);
        Assert.Contains("2/2 vouchers", screen[1], StringComparison.Ordinal);
        Assert.Equal("after", screen[^1]);
    }

    [Fact]
    public async Task Ctrl_C_on_a_terminal_ends_the_bar_and_gives_back_the_cursor()
    {
        using var error = new StringWriter();
        using var ctrlC = new CancellationTokenSource();
        var display = new ProgressDisplay(error, bars: true);

        var running = display.RunAsync("exporting", "events", total: null, async progress =>
        {
            progress.Done(7);
            await Task.Delay(Timeout.Infinite, ctrlC.Token);
            return 0;
        });
        await Task.Delay(200);
        ctrlC.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running.WaitAsync(TimeSpan.FromSeconds(10)));
        var screen = error.ToString();
        Assert.Contains("7 events", LastFrame(screen), StringComparison.Ordinal);
        Assert.EndsWith("\u001b[?25h", screen.TrimEnd(), StringComparison.Ordinal); // the cursor shown again
    }

    /// <summary>
    /// What stays on the screen once everything written has been drawn, as a terminal would: the
    /// lines, cursor moves and erasures applied, then the escapes, the bar's box-drawing glyphs and
    /// the line breaks of a narrow terminal dropped, so the words of each row read in a line.
    /// </summary>
    internal static string LastFrame(string written) => string.Join(" ", Screen(written)
        .Select(line => System.Text.RegularExpressions.Regex.Replace(line, @"[\u2500-\u257F\s]+", " ").Trim())
        .Where(line => line.Length > 0));

    /// <summary>A small terminal: cursor up/down/column, carriage return, line feed, erase line.</summary>
    internal static List<string> Screen(string written)
    {
        var lines = new List<System.Text.StringBuilder> { new() };
        var (row, column) = (0, 0);
        for (var i = 0; i < written.Length; i++)
        {
            var c = written[i];
            if (c == '\u001b' && i + 1 < written.Length && written[i + 1] == '[')
            {
                var end = i + 2;
                while (end < written.Length && !char.IsAsciiLetter(written[end]))
                {
                    end++;
                }

                var argument = written[(i + 2)..end].TrimStart('?');
                var n = int.TryParse(argument, out var parsed) ? parsed : 1;
                switch (written[end])
                {
                    case 'A': row = Math.Max(0, row - n); break;
                    case 'B': row += n; break;
                    case 'G': column = n - 1; break;
                    case 'K': lines[row].Length = argument == "2" ? 0 : Math.Min(lines[row].Length, column); break;
                }

                i = end;
            }
            else if (c == '\r')
            {
                column = 0;
            }
            else if (c == '\n')
            {
                (row, column) = (row + 1, 0);
            }
            else
            {
                var line = lines[row];
                while (line.Length <= column)
                {
                    line.Append(' ');
                }

                line[column++] = c;
            }

            while (lines.Count <= row)
            {
                lines.Add(new());
            }
        }

        return [.. lines.Select(line => line.ToString())];
    }
}
