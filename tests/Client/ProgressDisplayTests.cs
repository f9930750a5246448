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
    /// The last frame Spectre drew (after its last cursor-up), escapes and the bar removed and lines joined:
    /// what stays on the screen, however a narrow terminal wrapped it.
    /// </summary>
    internal static string LastFrame(string screen)
    {
        var frames = System.Text.RegularExpressions.Regex.Split(screen, @"\u001b\[\d+A");
        // Escapes, and the bar's box-drawing glyphs, leave the words.
        var plain = System.Text.RegularExpressions.Regex.Replace(frames[^1], @"\u001b\[[0-9;?]*[A-Za-z]|[\u2500-\u257F]", "");
        return System.Text.RegularExpressions.Regex.Replace(plain, @"\s+", " ");
    }
}
