namespace Campaigns.Cli;

/// <summary>
/// A per-second rate from a cumulative count sampled now and then (vouchers issued, redeemed),
/// with the last <see cref="Capacity"/> rates kept for a sparkline.
/// </summary>
public sealed class RateHistory(int capacity = 60)
{
    private const string Levels = "▁▂▃▄▅▆▇█";

    private readonly Queue<double> _rates = new();
    private (long Count, double At)? _last;

    public int Capacity { get; } = capacity;

    public IReadOnlyCollection<double> Rates => _rates;

    /// <summary>The latest rate, or 0 before two samples.</summary>
    public double Current { get; private set; }

    /// <summary>Takes the count as it was <paramref name="atSeconds"/> (any monotonic clock, in seconds).</summary>
    public void Sample(long count, double atSeconds)
    {
        if (_last is { } last && atSeconds > last.At)
        {
            Current = Math.Max(0, (count - last.Count) / (atSeconds - last.At));
            _rates.Enqueue(Current);
            while (_rates.Count > Capacity)
            {
                _rates.Dequeue();
            }
        }

        if (_last is null || atSeconds > _last.Value.At)
        {
            _last = (count, atSeconds);
        }
    }

    /// <summary>One character a sample, scaled to the highest rate shown; empty before two samples.</summary>
    public string Sparkline()
    {
        var peak = _rates.Count == 0 ? 0 : _rates.Max();
        return string.Concat(_rates.Select(r => peak <= 0 ? Levels[0] : Levels[(int)Math.Round(r / peak * (Levels.Length - 1))]));
    }
}
