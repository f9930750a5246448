using System.Diagnostics;
using System.Globalization;
using Campaigns.Client;
using Campaigns.Proto;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Campaigns.Cli;

/// <summary>
/// <c>campaigns watch</c>'s live terminal view: remaining stock and budget as bars, the counters,
/// claims and redemptions per second with a sparkline each, by channel and by district. It is
/// drawn again every <c>every</c> (so the rates fall to zero when nothing happens) and whenever
/// the server pushes new figures; it ends, with the last figures left on screen, when cancelled.
/// </summary>
public static class LiveStats
{
    /// <returns>Once <paramref name="cancellationToken"/> is cancelled (Ctrl-C). A failure of the stream is thrown.</returns>
    public static async Task RunAsync(
        IAnsiConsole console, IAsyncEnumerable<CampaignStats> stream, TimeSpan every, CancellationToken cancellationToken)
    {
        await using var snapshots = stream.GetAsyncEnumerator(cancellationToken);
        // The first snapshot outside the live view, so a refusal (an unknown campaign, a wrong key) prints plainly.
        if (!await snapshots.MoveNextAsync())
        {
            return;
        }

        var latest = snapshots.Current;
        var claims = new RateHistory();
        var redemptions = new RateHistory();
        var clock = Stopwatch.StartNew();
        void Sample()
        {
            claims.Sample(latest.Issued, clock.Elapsed.TotalSeconds);
            redemptions.Sample(latest.Redeemed, clock.Elapsed.TotalSeconds);
        }

        Sample();
        await console.Live(Render(latest, claims, redemptions)).AutoClear(false).StartAsync(async live =>
        {
            using var ticks = new PeriodicTimer(every);
            var next = snapshots.MoveNextAsync().AsTask();
            var tick = ticks.WaitForNextTickAsync(cancellationToken).AsTask();
            try
            {
                while (true)
                {
                    var done = await Task.WhenAny(next, tick);
                    if (done == next)
                    {
                        if (!await next)
                        {
                            return;
                        }

                        latest = snapshots.Current;
                        next = snapshots.MoveNextAsync().AsTask();
                    }
                    else
                    {
                        await tick;
                        Sample();
                        tick = ticks.WaitForNextTickAsync(cancellationToken).AsTask();
                    }

                    live.UpdateTarget(Render(latest, claims, redemptions));
                }
            }
            catch (Exception e) when (cancellationToken.IsCancellationRequested && e is OperationCanceledException or Grpc.Core.RpcException)
            {
                // Ctrl-C: the view stays as it was last drawn. The stream's pending read ends with
                // the cancelled call; it must end before the stream is disposed.
                await next.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
            }
        });
    }

    public static IRenderable Render(CampaignStats s, RateHistory claims, RateHistory redemptions)
    {
        var header = new Markup(
            $"[bold]{Markup.Escape(s.CampaignId)}[/]  {Markup.Escape(EnumText.Display(s.Status))}  [grey]as of {Markup.Escape(TimeText.Local(s.AsOf))} · Ctrl-C to stop[/]");

        var bars = new BarChart().Width(60).UseValueFormatter(v => v.ToString("N0", CultureInfo.InvariantCulture))
            .AddItem("remaining stock", s.Remaining, Color.Green)
            .AddItem("issued", s.Issued, Color.Blue)
            .AddItem("redeemed", s.Redeemed, Color.Gold1)
            .AddItem("refunded", s.Refunded, Color.Grey);

        var counters = new Grid().AddColumns(4);
        counters.AddRow("[grey]stock[/]", Count(s.TotalStock), "[grey]reserved[/]", Count(s.Reserved));
        counters.AddRow("[grey]budget used[/]", Markup.Escape(Budget(s)), "[grey]spending driven[/]", Markup.Escape(Money.Format(s.RedeemedOrderTotalCents)));
        counters.AddRow("[grey]claims/s[/]", $"[bold]{claims.Current:0.#}[/] [blue]{claims.Sparkline()}[/]", "[grey]redemptions/s[/]", $"[bold]{redemptions.Current:0.#}[/] [gold1]{redemptions.Sparkline()}[/]");

        var channels = new Table().Border(TableBorder.Simple).Title("by channel").AddColumns("partner", "issued", "quota", "redeemed");
        foreach (var (channel, c) in s.ByChannel.OrderByDescending(c => c.Value.Issued).ThenBy(c => c.Key, StringComparer.Ordinal))
        {
            channels.AddRow(Markup.Escape(channel), Count(c.Issued), c.Quota > 0 ? Count(c.Quota) : "shared", Count(c.Redeemed));
        }

        var districts = new Table().Border(TableBorder.Simple).Title("by district").AddColumns("district", "issued", "redeemed");
        foreach (var (district, d) in s.ByDistrict.OrderByDescending(d => d.Value.Issued).ThenBy(d => d.Key, StringComparer.Ordinal))
        {
            districts.AddRow(Markup.Escape(district.Length == 0 ? "(any)" : district), Count(d.Issued), Count(d.Redeemed));
        }

        return new Rows(header, new Text(""), bars, new Text(""), counters, new Columns(channels, districts).Collapse());
    }

    private static string Budget(CampaignStats s) => s.BudgetCents == 0
        ? Money.Format(s.IssuedLiabilityCents) + " (no cap)"
        : $"{Money.Format(s.IssuedLiabilityCents)} of {Money.Format(s.BudgetCents)}";

    private static string Count(long value) => value.ToString("N0", CultureInfo.InvariantCulture);
}
