using System.Globalization;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Campaigns.Cli;

/// <summary>
/// How a long operation (<c>export</c>, <c>voucher issue-batch</c>) shows its progress on stderr:
/// a Spectre.Console bar when stderr is an interactive terminal and the output is not JSON, and
/// otherwise the plain lines that scripts and logs have always read. The one place that decides.
/// </summary>
internal sealed class ProgressDisplay
{
    private readonly TextWriter _error;
    private readonly IAnsiConsole? _console;
    private readonly Notices? _notices;

    /// <param name="error">Standard error, where progress goes.</param>
    /// <param name="bars">Draw a bar (an interactive terminal) rather than write plain lines.</param>
    /// <param name="notices">Messages that may come during the operation, written above the bar while it is drawn.</param>
    public ProgressDisplay(TextWriter error, bool bars, Notices? notices = null)
    {
        _error = error;
        _notices = notices;
        // The caller has already decided this is a terminal; a writer is never one to Spectre's detection.
        _console = bars
            ? AnsiConsole.Create(new AnsiConsoleSettings
            {
                Out = new AnsiConsoleOutput(error),
                Ansi = AnsiSupport.Yes,
                Interactive = InteractionSupport.Yes,
            })
            : null;
    }

    public bool DrawsBars => _console is not null;

    /// <param name="writesToOutput">
    /// The operation writes to standard output as it goes (an export without --output): a bar
    /// redrawn between its lines would garble a terminal that shows both.
    /// </param>
    public static ProgressDisplay For(Session session, bool writesToOutput = false) =>
        new(session.Error, session.ErrorIsTerminal && !session.Json && !(writesToOutput && session.OutputIsTerminal), session.Notices);

    /// <summary>
    /// Runs <paramref name="body"/> with one progress task: <paramref name="total"/> items when known
    /// (a determinate bar), otherwise an indeterminate one until <see cref="ProgressTicker.Finish"/>.
    /// The bar is gone from the screen's live region before this returns, so messages written
    /// afterwards land below it; on Ctrl-C the exception passes through once the cursor is restored.
    /// </summary>
    public async Task<T> RunAsync<T>(string description, string unit, long? total, Func<ProgressTicker, Task<T>> body)
    {
        if (_console is null)
        {
            return await body(new ProgressTicker(_error));
        }

        // Short columns, so that a row fits 80 columns: the verb, the bar, the count, then the
        // counts by outcome (issue-batch) or the rate (export).
        var detail = new DetailColumn(unit);
        return await _console.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(
                new TaskDescriptionColumn { Alignment = Justify.Left },
                new ProgressBarColumn { Width = 16 },
                new CountColumn(unit),
                detail)
            .StartAsync(async context =>
            {
                var task = context.AddTask(Markup.Escape(description), maxValue: total ?? double.MaxValue);
                task.IsIndeterminate = total is null;
                task.State.Update<long>(ProgressTicker.TotalKey, _ => total ?? 0);
                // Written through the console, a line goes above the bar; straight to stderr, the next redraw would overwrite it.
                using var diverted = _notices?.Divert(line => _console.WriteLine(line));
                var result = await body(new ProgressTicker(null, task, text => detail.Text = text));
                task.StopTask();
                return result;
            });
    }

    /// <summary><c>1234 events</c>, or <c>1234/5000 vouchers</c> once the total is known.</summary>
    private sealed class CountColumn(string unit) : ProgressColumn
    {
        protected override bool NoWrap => true;

        public override IRenderable Render(RenderOptions options, ProgressTask task, TimeSpan deltaTime)
        {
            var done = Views.Count(task.State.Get<long>(ProgressTicker.DoneKey));
            return new Text(task.IsIndeterminate ? $"{done} {unit}" : $"{done}/{Views.Count(task.State.Get<long>(ProgressTicker.TotalKey))} {unit}");
        }
    }

    /// <summary>What the operation said last (<see cref="ProgressTicker.Describe"/>), or else items per second over Spectre's recent samples.</summary>
    private sealed class DetailColumn(string unit) : ProgressColumn
    {
        public volatile string? Text;

        public override IRenderable Render(RenderOptions options, ProgressTask task, TimeSpan deltaTime) =>
            Text is { } text ? new Text(text)
            : task.Speed is { } speed ? new Text($"{speed.ToString("0", CultureInfo.InvariantCulture)} {unit}/s", new Style(Color.Grey))
            : new Text("");
    }
}

/// <summary>What a long operation reports as it goes; each call means something in one of the two modes only.</summary>
internal sealed class ProgressTicker
{
    // The counts as the user reads them; the bar's own value and maximum are doubles, and a
    // maximum of zero would draw an empty bar for a finished export of no events.
    internal const string DoneKey = "done";
    internal const string TotalKey = "total";

    private readonly TextWriter? _lines;
    private readonly ProgressTask? _task;
    private readonly Action<string>? _describe;

    internal ProgressTicker(TextWriter? lines, ProgressTask? task = null, Action<string>? describe = null)
    {
        _lines = lines;
        _task = task;
        _describe = describe;
    }

    /// <summary>A plain progress line (redirected stderr); a bar shows the same through the counts.</summary>
    public void Line(string text) => _lines?.WriteLine(text);

    /// <summary>How many items are done so far.</summary>
    public void Done(long count)
    {
        if (_task is not null)
        {
            _task.State.Update<long>(DoneKey, _ => count);
            _task.Value = count;
        }
    }

    /// <summary>The text after the count, e.g. the counts issued, replayed and refused.</summary>
    public void Describe(string text) => _describe?.Invoke(text);

    /// <summary>The total once it is known (the export's summary): the bar ends full when all of it was done.</summary>
    public void Finish(long total)
    {
        if (_task is null)
        {
            return;
        }

        var done = _task.State.Get<long>(DoneKey);
        _task.State.Update<long>(TotalKey, _ => total);
        _task.IsIndeterminate = false;
        _task.MaxValue = Math.Max(total, 1);
        _task.Value = total == 0 ? 1 : Math.Min(done, total);
    }
}

/// <summary>Messages for stderr that can come at any moment, such as retry announcements: plain lines, or above a progress bar while one is drawn.</summary>
internal sealed class Notices(TextWriter error)
{
    private volatile Action<string>? _divert;

    public void Write(string line)
    {
        if (_divert is { } divert)
        {
            divert(line);
        }
        else
        {
            error.WriteLine(line);
        }
    }

    /// <summary>Sends the messages to <paramref name="to"/> until disposed.</summary>
    public IDisposable Divert(Action<string> to)
    {
        _divert = to;
        return new Undivert(this);
    }

    private sealed class Undivert(Notices notices) : IDisposable
    {
        public void Dispose() => notices._divert = null;
    }
}
